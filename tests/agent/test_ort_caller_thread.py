"""Where the onnxruntime runner keeps the thread that calls the session."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from workbench_agent.runners import onnxruntime as runner

needs_two_cores = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or not {0, 1} <= os.sched_getaffinity(0),
    reason="needs cores 0 and 1")


def _affinity_inside(options: dict[str, Any], cores: list[int]) -> tuple[set[int], set[int]]:
    """The calling thread's cores inside the runner's pinning, and after it (in a thread of its
    own, so the test's process keeps its cores whatever happens)."""
    seen: list[set[int]] = []

    def body() -> None:
        with runner._caller_pinned(options, cores):
            seen.append(set(os.sched_getaffinity(0)))
        seen.append(set(os.sched_getaffinity(0)))

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    return seen[0], seen[1]


@needs_two_cores
def test_the_calling_thread_runs_on_the_first_core_while_workers_hold_the_others() -> None:
    before = set(os.sched_getaffinity(0))
    inside, after = _affinity_inside({}, [1, 0])
    assert inside == {1}
    assert after == before


@needs_two_cores
@pytest.mark.parametrize("options, cores", [
    ({"intra_op_threads": 1}, [0, 1]),            # fewer threads than cores: none is placed
    ({"thread_affinity": "2"}, [0, 1]),           # the user placed the threads
    ({}, [1]),                                    # one core: nothing to share
])
def test_the_calling_thread_is_left_alone_when_the_runner_places_no_thread(
        options: dict[str, Any], cores: list[int]) -> None:
    before = set(os.sched_getaffinity(0))
    inside, after = _affinity_inside(options, cores)
    assert inside == before == after


def test_the_caller_keeps_the_first_core_only_when_every_core_has_a_thread() -> None:
    assert runner._caller_core({}, [2, 3, 5]) == 2
    assert runner._caller_core({"intra_op_threads": 3}, [2, 3, 5]) == 2
    assert runner._caller_core({"intra_op_threads": 2}, [2, 3, 5]) is None
