"""The results store: every profile kept, listed, filtered, loaded; the CLI over it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.profiling.conftest import make_document
from workbench import history
from workbench.cli import main
from workbench.errors import HistoryError
from workbench.profiling import Profile

#: the stages of a job that the agent reports after its hello (the host's come before)
AGENT_STAGES = ("queue", "load", "create", "warmup", "timed")
HOST_STAGES = ("connect", "probe", "upload")


@pytest.fixture(autouse=True)
def own_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WORKBENCH_HISTORY", raising=False)
    yield tmp_path / "data" / "history"


def saved(*, created: str = "2026-11-01T10:00:00Z", device: str = "pi5", scale: float = 1.0,
          kind: str = "measured", model: str = "tinycnn") -> history.Entry:
    document: dict[str, Any] = make_document(kind, scale=scale)
    document["created"], document["device"]["name"] = created, device
    document["model"]["name"] = model
    return history.save(Profile(document))


def test_a_profiled_job_is_kept_in_the_history(conv_model: Path) -> None:
    profile = wb.profile(conv_model, runs=5, warmup=1, profile_runs=1)
    [entry] = history.entries()
    assert entry.model == profile.model_name and entry.device == "local"
    assert entry.median_ms == pytest.approx(profile.latency["median"])
    peak = profile.document["memory"]["peak_rss_after_runs_bytes"]
    assert peak and entry.peak_rss_mib == pytest.approx(peak / 2**20)  # memory beside latency
    assert history.load(entry.id).document == profile.document


def test_history_can_be_turned_off(conv_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_HISTORY", "off")
    wb.profile(conv_model, runs=3, warmup=0, profile_runs=0)
    assert history.entries() == []


def test_entries_are_newest_first_and_filtered() -> None:
    old = saved(created="2026-10-01T09:00:00Z", device="pi4")
    new = saved(created="2026-11-20T09:00:00Z", device="pi5")
    estimate = saved(created="2026-11-21T09:00:00Z", kind="estimate", model="other")
    assert [e.id for e in history.entries()] == [estimate.id, new.id, old.id]
    assert [e.id for e in history.entries(device="pi4")] == [old.id]
    assert [e.id for e in history.entries(since="2026-11-01")] == [estimate.id, new.id]
    assert [e.id for e in history.entries(kind="estimate")] == [estimate.id]
    assert [e.id for e in history.entries(model="tinycnn", limit=1)] == [new.id]
    assert len(history.dataframe()) == 3


def test_an_index_from_an_older_version_is_rebuilt_with_the_new_columns(
        own_history: Path) -> None:
    import sqlite3

    entry = saved()
    index = own_history / "index.sqlite"
    index.unlink()
    with sqlite3.connect(index) as old:  # the first version had no peak memory column
        old.execute("CREATE TABLE profiles (id, created, kind, model, model_sha256, device, "
                    "backend, label, median_ms, runs, PRIMARY KEY (id))")
    [found] = history.entries()
    assert found.id == entry.id and found.peak_rss_mib == entry.peak_rss_mib is not None


def test_a_damaged_index_is_rebuilt_from_the_files(own_history: Path) -> None:
    entry = saved()
    (own_history / "index.sqlite").write_bytes(b"this is not a database")
    assert [e.id for e in history.entries()] == [entry.id]


def test_a_partial_file_in_the_folder_is_not_listed(own_history: Path) -> None:
    entry = saved()
    (own_history / "20261101T1000-cut.json").write_text('{"schema": "workbench.pro')
    assert history.rebuild() == 1
    assert [e.id for e in history.entries()] == [entry.id]


def test_an_unknown_or_ambiguous_id_says_so() -> None:
    first, second = saved(scale=1.0), saved(scale=2.0)
    with pytest.raises(HistoryError, match="No saved profile"):
        history.load("nope")
    with pytest.raises(HistoryError, match="2 saved profiles match"):
        history.load(first.id[:10])
    assert history.load(second.id[-8:]).latency["median"] > history.load(first.id).latency[
        "median"]


def test_remove_deletes_file_and_row() -> None:
    entry = saved()
    history.remove(entry.id)
    assert not entry.path.exists() and history.entries() == []


def test_cli_history_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    entry = saved()
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == entry.id
    assert main(["history", "show", entry.id]) == 0
    assert "tinycnn" in capsys.readouterr().out
    assert main(["history", "show"]) == 2  # an id is needed
    assert "needs a profile id" in capsys.readouterr().err


def test_cli_history_exports_a_redacted_copy(tmp_path: Path) -> None:
    entry = saved()
    out = tmp_path / "share.json"
    assert main(["history", "export", entry.id, "--redact", "--out", str(out)]) == 0
    assert Profile.load(out).document["device"]["hostname"] == "<host>"


def test_cli_compare_with_baseline_exits_non_zero_only_when_slower(tmp_path: Path) -> None:
    base = Profile(make_document(seed=1)).save(tmp_path / "base.json")
    same = Profile(make_document(seed=2)).save(tmp_path / "same.json")
    slow = Profile(make_document(scale=1.5, seed=3)).save(tmp_path / "slow.json")
    assert main(["compare", str(same), "--baseline", str(base)]) == 0
    assert main(["compare", str(slow), "--baseline", str(base)]) == 1
    assert main(["compare", str(same), str(slow)]) == 0
    assert main(["compare", str(same)]) == 2  # nothing to compare with


def test_cli_compare_takes_history_ids(capsys: pytest.CaptureFixture[str]) -> None:
    base, slow = saved(), saved(scale=1.5)
    assert main(["compare", slow.id, "--baseline", base.id, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "slower"


def test_an_index_of_another_shape_is_rebuilt_from_the_files(own_history: Path) -> None:
    import sqlite3

    entry = saved()
    (own_history / "index.sqlite").unlink()
    with sqlite3.connect(own_history / "index.sqlite") as connection:
        connection.execute("CREATE TABLE profiles (id, created)")
    assert [e.id for e in history.entries()] == [entry.id]
    assert saved(scale=2.0).id in {e.id for e in history.entries()}


def test_an_index_that_cannot_be_opened_or_replaced_still_lists_the_files(
        own_history: Path) -> None:
    entry = saved()
    (own_history / "index.sqlite").unlink()
    (own_history / "index.sqlite").mkdir()  # neither a database nor removable as a file
    assert [e.id for e in history.entries()] == [entry.id]
    assert history.load(entry.id).document["model"]["name"] == "tinycnn"


def _read_only_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open the index read-only, as for a user who may read but not write it."""
    import sqlite3

    connect = sqlite3.connect

    def read_only(path: Any, timeout: float = 5.0) -> sqlite3.Connection:
        if str(path) == ":memory:":
            return connect(path, timeout=timeout)
        return connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)

    monkeypatch.setattr(history.sqlite3, "connect", read_only)


def test_a_read_only_index_raises_history_error_and_the_file_is_kept(
        own_history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved()
    _read_only_index(monkeypatch)
    with pytest.raises(HistoryError, match="index cannot be updated") as caught:
        saved(scale=2.0)
    assert "delete index.sqlite" in caught.value.hint
    assert len(list(own_history.glob("*.json"))) == 2


def test_a_job_returns_its_profile_when_the_history_index_is_read_only(
        conv_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved()
    _read_only_index(monkeypatch)
    with pytest.warns(UserWarning, match="not kept in the history"):
        profile = wb.profile(conv_model, runs=3, warmup=0, profile_runs=0)
        history.wait_saved()  # the save runs after the job returned its profile
    assert profile.latency["median"] > 0


def test_remove_in_a_folder_that_cannot_be_written_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = saved()

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(HistoryError, match="Cannot remove the saved profile: Permission denied"):
        history.remove(entry.id)


def test_a_hand_edited_profile_with_odd_sections_is_still_listed(own_history: Path) -> None:
    document: dict[str, Any] = make_document()
    document["model"], document["latency"] = "tinycnn", []
    own_history.mkdir(parents=True, exist_ok=True)
    (own_history / "20261101T1000-odd.json").write_text(json.dumps(document))
    [entry] = history.entries()
    assert entry.id == "20261101T1000-odd" and entry.model == "" and entry.median_ms is None


def test_entries_refuse_a_since_that_is_not_a_date_and_a_negative_limit() -> None:
    from workbench.errors import InvalidOptionValue

    saved()
    with pytest.raises(InvalidOptionValue, match="not an ISO date"):
        history.entries(since="last week")
    with pytest.raises(InvalidOptionValue, match="negative"):
        history.entries(limit=-1)
    assert len(history.entries(since="2026-10-01T00:00Z")) == 1


def test_cli_history_with_a_bad_since_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--since", "yesterday"]) == 2
    assert "not an ISO date" in capsys.readouterr().err


def test_cli_compare_names_a_folder_given_as_a_profile(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = Profile(make_document(seed=1)).save(tmp_path / "base.json")
    assert main(["compare", str(tmp_path), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err
    assert "Cannot read the profile" in err and "No saved profile" not in err


@pytest.mark.parametrize("created", ["2026-11-29T17:40:13+00:00", "2026-11-29T17:40:13.250Z",
                                     "2026-11-29T17:40:13-05:00"])
def test_history_ids_hold_the_creation_time_without_its_offset(created: str) -> None:
    entry = saved(created=created)
    assert entry.id.startswith("20261129T174013-tinycnn-")
    assert "+" not in entry.id


def test_saves_handed_over_by_jobs_share_one_thread_and_are_done_before_exit(
        tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = """
import json, sys, threading
from workbench import history
from workbench.profiling import Profile
for document in json.loads(sys.argv[1]):
    history.save_later(Profile(document), print)
print(sum(t.name == "history-save" for t in threading.enumerate()))
"""
    documents = []
    for index in range(3):
        document: dict[str, Any] = make_document("measured", scale=1.0 + index)
        document["created"] = f"2026-11-01T10:0{index}:00Z"
        documents.append(document)
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(documents)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["1"], done.stderr  # one thread for the three saves
    # the process returned before its saves ran; exit waited for them all
    assert len(list((tmp_path / "data" / "history").glob("*.json"))) == 3


def test_a_local_job_starts_only_once_the_host_has_saved_earlier_jobs_profiles(
        conv_model: Path, own_history: Path) -> None:
    # on this machine's device the saving thread would run beside the job's timed runs
    release = threading.Event()

    class HeldProfile(Profile):
        """A profile whose saving lasts until ``release``: a save still under way."""

        def to_json(self, indent: int | None = 1) -> str:
            release.wait(60)
            return super().to_json(indent)

    history.save_later(HeldProfile(make_document("measured")), print)
    kept_when_the_agent_began: list[int] = []
    timers: list[threading.Timer] = []

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "hello" or event.get("stage") in AGENT_STAGES:
            if not kept_when_the_agent_began:  # an agent beside the save ends the save here
                kept_when_the_agent_began.append(len(list(own_history.glob("*.json"))))
                release.set()
        elif event.get("stage") in HOST_STAGES:
            # an agent that waits for the save: the save ends a while after the host's steps
            for timer in timers:
                timer.cancel()
            timers.append(threading.Timer(4.0, release.set))
            timers[-1].start()

    try:
        wb.profile(conv_model, runs=1, warmup=0, profile_runs=0, on_event=on_event)
    finally:
        release.set()
        for timer in timers:
            timer.cancel()
    assert timers and kept_when_the_agent_began == [1]
