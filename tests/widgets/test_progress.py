"""Stage lines in words, and the throttle that keeps widget updates to ten a second."""

from __future__ import annotations

import threading

from workbench.widgets._base import Throttle
from workbench.widgets.run import stage_detail


def test_an_upload_says_bytes_done_of_total_and_its_rate() -> None:
    event = {"stage": "upload", "done": 3 * 2**20, "total": 12 * 2**20, "rate": 2**21}
    assert stage_detail(event) == "3 MiB of 12 MiB (2 MiB/s)"


def test_the_queue_says_the_jobs_place_and_who_holds_the_board() -> None:
    event = {"stage": "queue", "place": 2, "length": 3, "holder": "ana@host-1"}
    assert stage_detail(event) == "place 2 of 3, held by ana@host-1"


def test_runs_are_counted_and_a_stage_without_counts_says_nothing() -> None:
    assert stage_detail({"stage": "timed", "done": 7, "total": 50}) == "7 of 50 runs"
    assert stage_detail({"stage": "connect"}) == ""


def test_requests_within_the_interval_fold_into_one_later_update() -> None:
    applied = threading.Event()
    calls: list[int] = []

    def apply() -> None:
        calls.append(1)
        if len(calls) == 2:
            applied.set()

    throttle = Throttle(apply, per_second=10)
    for _ in range(50):
        throttle.request()
    assert applied.wait(5)
    assert len(calls) == 2  # the first at once, the other 49 folded into one
    assert throttle.applied[1] - throttle.applied[0] >= 0.099


def test_flush_applies_the_final_state_even_right_after_an_update() -> None:
    calls: list[int] = []
    throttle = Throttle(lambda: calls.append(1), per_second=10)
    throttle.request()
    throttle.request()  # pending on a timer
    throttle.flush()
    assert len(calls) == 2
    assert throttle.applied[1] - throttle.applied[0] >= 0.099
