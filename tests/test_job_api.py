"""The job API front ends drive: stages, states, callbacks, waiting, cancel and run settings."""

from __future__ import annotations

import asyncio
import itertools
import threading
import typing
import warnings
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import sleepy_job
from workbench import errors, formats
from workbench.devices import LocalDevice
from workbench.jobs import FINAL_STATES, STATES, Job, RunKeywords, RunSettings


def _stages(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["stage"]) for e in events if e["event"] == "stage"]


def test_a_local_job_reports_every_stage_in_order_with_timestamps(conv_model: Path) -> None:
    events: list[dict[str, Any]] = []
    wb.profile(conv_model, warmup=1, runs=3, profile_runs=1, on_event=events.append)
    stages = list(dict.fromkeys(_stages(events)))  # first appearance of each
    assert stages == ["connect", "probe", "upload", "create", "warmup", "timed", "profile",
                      "aggregate", "download", "done"]
    times = [e["time"] for e in events if e["event"] == "stage"]
    assert times == sorted(times)
    for event in events:
        formats.validate(event, formats.EVENTS)


def test_the_job_state_follows_its_stages_and_ends_done(conv_model: Path) -> None:
    job = Job(conv_model, warmup=0, runs=2, profile_runs=0)
    assert job.state == "queued" and not job.done  # built, not started: no thread yet
    seen: list[str] = []
    job._on_event = lambda event: seen.append(job.state)
    job.start()
    job.result(timeout=120)
    assert job.state == "done"
    assert [s for s in dict.fromkeys(seen)] == ["connecting", "uploading", "running",
                                                "finishing", "done"]
    assert set(STATES.values()) >= set(FINAL_STATES)


def test_done_callbacks_run_once_on_the_jobs_thread_or_at_once_when_done(
        conv_model: Path) -> None:
    calls: list[tuple[str, str]] = []
    job = wb.submit(conv_model, warmup=0, runs=1, profile_runs=0)
    job.add_done_callback(lambda j: calls.append((j.state, threading.current_thread().name)))
    job.result(timeout=120)
    job.wait(10)
    late: list[str] = []
    job.add_done_callback(lambda j: late.append(threading.current_thread().name))
    assert calls == [("done", "workbench-job")]
    assert late == [threading.current_thread().name]


def test_a_failing_callback_becomes_a_warning_and_the_job_goes_on(conv_model: Path) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise ValueError("a bug in the user's callback")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = wb.submit(conv_model, warmup=0, runs=2, profile_runs=0, on_event=broken)
        job.add_done_callback(lambda j: 1 / 0)
        profile = job.result(timeout=120)
        job.wait(10)
    assert len(profile.latency_samples) == 2
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("on_event callback raised ValueError" in m for m in messages)
    assert any("done callback raised ZeroDivisionError" in m for m in messages)
    assert job.state == "done"


def test_progress_reaches_callbacks_at_most_ten_times_a_second_per_stage(
        conv_model: Path) -> None:
    events: list[dict[str, Any]] = []
    profile = wb.profile(conv_model, warmup=0, runs="auto", time_budget_s=2,
                         auto_ci_pct=0.0001, profile_runs=0, on_event=events.append)
    timed = [e for e in events if e.get("stage") == "timed"]
    middle = [e["time"] for e in timed if 0 < e["done"] < e["total"]]
    assert len(middle) >= 5, f"too few progress events to judge: {timed}"
    gaps = [b - a for a, b in itertools.pairwise(middle)]
    # a little slack: the agent's clock stamps them, the host merges them
    assert all(gap >= 0.09 for gap in gaps), gaps
    # the stage's last event says how many runs it took
    assert timed[-1]["done"] == timed[-1]["total"] == len(profile.latency_samples)


def test_result_with_a_timeout_says_still_running_and_the_job_goes_on(conv_model: Path) -> None:
    job = wb.submit(conv_model, warmup=0, runs=1_000_000, profile_runs=0)
    try:
        with pytest.raises(TimeoutError, match="still running") as caught:
            job.result(timeout=0.5)
        assert not isinstance(caught.value, errors.JobTimeout)
        assert not job.done
    finally:
        job.cancel()
    with pytest.raises(errors.JobCancelled):
        job.result(timeout=60)
    assert job.state == "cancelled"


def test_a_job_can_be_awaited_from_notebook_code(conv_model: Path) -> None:
    async def main() -> wb.Profile:
        return await wb.submit(conv_model, warmup=0, runs=2, profile_runs=0)

    profile = asyncio.run(main())
    assert len(profile.latency_samples) == 2


def test_run_settings_are_shared_and_keywords_win(conv_model: Path) -> None:
    base = RunSettings(warmup=0, runs=2, profile_runs=0)
    profile = wb.profile(conv_model, settings=base, runs=3)
    assert len(profile.latency_samples) == 3
    assert profile.to_dict()["run"]["warmup"] == 0
    assert base.runs == 2  # the shared object is never changed


def test_an_unknown_run_setting_is_refused_with_the_known_names(conv_model: Path) -> None:
    with pytest.raises(errors.UnknownOption, match="'run' is not a run setting") as caught:
        wb.profile(conv_model, run=3)  # type: ignore[call-arg]
    assert "runs" in (caught.value.hint or "")


@pytest.mark.parametrize("changes", [{"runs": 0}, {"warmup": -1}, {"runs": "often"},
                                     {"lock_wait_s": -2}])
def test_run_settings_out_of_range_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidOptionValue):
        RunSettings(**changes)


def test_an_emulated_device_lowers_only_the_run_counts_nobody_set() -> None:
    lowered, line = RunSettings(cluster="all").for_device(emulated=True)
    assert (lowered.warmup, lowered.runs, lowered.profile_runs) == (2, 5, 1)
    assert lowered.cluster == "all"
    assert line is not None and "emulated board: 2 warm-up, 5 timed, 1 profiled run" in line
    # a count the caller set, even to the default's value, stays; the others are lowered
    kept, line = RunSettings(runs=50).for_device(emulated=True)
    assert (kept.warmup, kept.runs, kept.profile_runs) == (2, 50, 1)
    assert line is not None and "2 warm-up, 1 profiled" in line and "timed" not in line
    every, line = RunSettings(runs=50, warmup=10, profile_runs=10).for_device(emulated=True)
    assert (every.warmup, every.runs, every.profile_runs, line) == (10, 50, 10, None)
    assert RunSettings().for_device(emulated=False) == (RunSettings(), None)


def test_the_keyword_form_names_exactly_the_run_settings() -> None:
    assert sorted(typing.get_type_hints(RunKeywords)) == sorted(RunSettings.names())


def _hold_the_board(device: LocalDevice, tmp_path: Path) -> tuple[threading.Thread,
                                                                    threading.Event]:
    """Run a sleepy job holding ``device``'s board lock until the returned event is set."""
    holding = threading.Event()
    stop = threading.Event()
    job = sleepy_job(tmp_path, seconds=60)
    job["lock"] = {"path": device.lock_path(), "holder": "the first user"}

    def run() -> None:
        try:
            device.run(job, lambda e: holding.set() if e.get("message") == "sleeping" else None,
                       cancel=stop)
        except errors.JobCancelled:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert holding.wait(60), "the first job never took the board"
    return thread, stop


def test_a_job_waiting_for_the_board_reports_its_place_and_can_be_cancelled(
        conv_model: Path, tmp_path: Path) -> None:
    from workbench_agent.lock import board_state

    device = LocalDevice()
    holder, stop = _hold_the_board(device, tmp_path)
    try:
        queued = threading.Event()
        events: list[dict[str, Any]] = []

        def on_event(event: dict[str, Any]) -> None:
            events.append(event)
            if event.get("stage") == "queue":
                queued.set()

        job = wb.submit(conv_model, device=device, warmup=0, runs=1, profile_runs=0,
                        on_event=on_event)
        assert queued.wait(60)
        assert job.state == "waiting"
        queue = next(e for e in events if e.get("stage") == "queue")
        assert (queue["place"], queue["length"], queue["holder"], queue["source"]) == (
            1, 1, "the first user", "board")
        assert isinstance(queue["since"], float)
        job.cancel()
        with pytest.raises(errors.JobCancelled):
            job.result(timeout=30)
        assert _stages(job.events)[-1] == "cancelled"
        assert board_state(device.lock_path())["waiters"] == []
    finally:
        stop.set()
        holder.join(30)


def test_a_lock_wait_limit_gives_up_with_device_busy_naming_the_holder(
        conv_model: Path, tmp_path: Path) -> None:
    device = LocalDevice()
    holder, stop = _hold_the_board(device, tmp_path)
    try:
        with pytest.raises(errors.DeviceBusy, match="the first user") as caught:
            wb.profile(conv_model, device=device, warmup=0, runs=1, profile_runs=0,
                       lock_wait_s=0.5)
        assert "has held it for" in str(caught.value)
        assert caught.value.hint
    finally:
        stop.set()
        holder.join(30)


def test_runs_auto_stopped_by_its_time_budget_says_so_in_the_profile(conv_model: Path) -> None:
    profile = wb.profile(conv_model, warmup=0, runs="auto", time_budget_s=0.2,
                         auto_ci_pct=0.0001, profile_runs=0)
    said = [w for w in profile.document["warnings"] if w.startswith("runs=auto stopped")]
    assert len(said) == 1 and "still" in said[0] and "0.0001%" in said[0]
