"""A job's step breakdown: where its time went, from its stages and the host's marks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import workbench as wb
from workbench import formats
from workbench.jobs.steps import STEPS, job_steps


def test_a_job_accounts_for_its_time_step_by_step(conv_model: Path) -> None:
    started = time.time()
    job = wb.submit(conv_model, runs=3, warmup=1, profile_runs=1)
    job.result(timeout=300)
    ended = time.time()
    steps = job.steps()
    assert list(steps) == [s for s in STEPS if s in steps], "steps out of order"
    for step in ("connect", "probe", "upload", "agent start", "python start", "queue",
                 "session create", "warmup", "timed", "profiled", "aggregate", "download",
                 "host assembly"):
        assert steps.get(step, -1.0) >= 0.0, (step, steps)
    # the steps follow one another: together no longer than the job, which they cover, but
    # for the agent's hello in transit, which both agent start (host clock) and queue (board
    # clock) hold: a few milliseconds on one machine
    assert sum(steps.values()) <= ended - started + 0.05
    assert steps["timed"] > 0.0 and steps["python start"] > 0.0
    # the job builds its profile without validating it again: the builder's document is valid
    document = job.result().to_dict()
    formats.validate(document, document["schema"])


def test_steps_a_job_did_not_report_are_left_out() -> None:
    events = [{"event": "stage", "stage": "connect", "time": 10.0},
              {"event": "stage", "stage": "probe", "time": 10.5},
              {"event": "stage", "stage": "failed", "time": 11.0}]
    assert job_steps(events, {}) == {"connect": 0.5}


def test_board_steps_use_the_boards_clock_and_crossing_steps_the_hosts() -> None:
    # the board's clock is 1000 s behind the host's: no step may show that gap
    events = [{"event": "stage", "stage": "connect", "time": 2000.0},
              {"event": "stage", "stage": "probe", "time": 2000.1},
              {"event": "stage", "stage": "upload", "time": 2000.2},
              {"event": "hello", "time": 1000.6, "started": 1000.4, "received": 2000.7},
              {"event": "stage", "stage": "create", "time": 1000.7, "received": 2000.8},
              {"event": "stage", "stage": "timed", "time": 1001.0, "received": 2001.1},
              {"event": "stage", "stage": "download", "time": 1002.0, "received": 2002.1}]
    marks = {"prepared": 2000.3, "result": 2002.2, "done": 2002.5}
    steps = job_steps(events, marks)
    expected = {"connect": 0.1, "probe": 0.1, "upload": 0.1, "agent start": 0.2,
                "python start": 0.2, "queue": 0.1, "session create": 0.3, "timed": 1.0,
                "download": 0.1, "host assembly": 0.3}
    assert steps.keys() == expected.keys()
    for name, seconds in expected.items():
        assert abs(steps[name] - seconds) < 1e-6, (name, steps[name])


def test_an_upload_beside_the_probe_counts_only_what_it_took_after_the_probe() -> None:
    events = [{"event": "stage", "stage": "connect", "time": 10.0},
              {"event": "stage", "stage": "probe", "time": 10.1},
              {"event": "stage", "stage": "upload", "time": 10.2, "done": 0, "total": 0}]
    steps = job_steps(events, {"probed": 11.0, "prepared": 11.5})
    assert steps["probe"] == pytest.approx(0.9) and steps["upload"] == pytest.approx(0.5)
    # an upload that ended first waited for the probe: nothing of it shows after
    steps = job_steps(events, {"probed": 11.0, "prepared": 11.0})
    assert steps["probe"] == pytest.approx(0.9) and steps["upload"] == 0.0
