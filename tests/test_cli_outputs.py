"""Where a command writes its files: checked before the long work, and a file that cannot be
written after it never takes the printed summary with it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.test_cli import workbench

QUICK = ("--runs", "2", "--warmup", "0", "--profile-runs", "1", "-q")


def test_a_missing_out_folder_fails_before_the_job_runs(
        conv_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    done = workbench("profile", str(conv_model), *QUICK,
                     "--out", str(tmp_path / "nowhere" / "r.html"))
    assert done.returncode == 2
    assert "--out" in done.stderr and "does not exist" in done.stderr
    assert "mkdir -p" in done.stderr and "Traceback" not in done.stderr
    listed = workbench("history", "--json")
    assert json.loads(listed.stdout) == []  # no job ran, so none was saved


def test_a_json_path_that_is_a_folder_fails_before_the_job_and_writes_no_report(
        conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), *QUICK, "--out", str(tmp_path / "r.html"),
                     "--json", str(tmp_path))
    assert done.returncode == 2
    assert "--json" in done.stderr and "is a folder" in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_a_json_that_cannot_be_written_after_the_job_still_prints_the_summary_and_report(
        conv_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The JSON's folder is there when checked and gone by the time the files are written:
    # a fake of a folder removed (or a disk unmounted) mid-job, run through the command's
    # own entry point in this process.
    import shutil

    from workbench.cli import main
    from workbench.profiling import Profile

    gone = tmp_path / "gone"
    gone.mkdir()
    real_to_html = Profile.to_html

    def folder_removed_by_then(self: Profile,
                               path: str | os.PathLike[str] | None = None) -> str:
        shutil.rmtree(gone, ignore_errors=True)
        return real_to_html(self, path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Profile, "to_html", folder_removed_by_then)
        code = main(["profile", str(conv_model), *QUICK, "--no-persist",
                     "--out", str(tmp_path / "r.html"), "--json", str(gone / "p.json")])
    printed = capsys.readouterr()
    assert code == 2
    assert "conv1" in printed.out and "latency" in printed.out.lower()
    assert f"report: {tmp_path / 'r.html'}" in printed.out
    assert (tmp_path / "r.html").exists()
    assert "p.json" in printed.err and "Traceback" not in printed.err


def test_estimate_checks_its_out_folder_before_estimating(tmp_path: Path) -> None:
    done = workbench("estimate", "zoo:small-cnn", "--target", "raspberry-pi-5",
                     "--json", str(tmp_path / "missing" / "e.json"))
    assert done.returncode == 2
    assert "--json" in done.stderr and "latency" not in done.stdout.lower()


def test_history_export_and_jobs_collect_check_their_paths_first(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing" / "x.json")
    for command in (("history", "export", "some-id", "--out", missing),
                    ("jobs", "collect", "some-id", "--json", missing)):
        done = workbench(*command)
        assert done.returncode == 2 and "does not exist" in done.stderr, command


def test_jobs_ending_at_once_claim_different_report_names_and_keep_the_users_file(
        tmp_path: Path) -> None:
    import threading

    from workbench.jobs.request import free_report_name

    earlier = tmp_path / "m-pi5.html"
    earlier.write_text("the user's earlier report")
    start = threading.Barrier(6)
    names: list[str] = []

    def job_ends() -> None:
        start.wait()
        names.append(free_report_name(str(tmp_path), "m-pi5.html"))

    threads = [threading.Thread(target=job_ends) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(names) == [f"m-pi5-{n}.html" for n in range(2, 8)]
    assert earlier.read_text() == "the user's earlier report"


def test_a_report_that_cannot_be_written_leaves_no_empty_file_under_its_name(
        conv_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A fake of a disk that fills up as the report is written, run through the command's
    # own entry point in this process.
    from workbench import errors
    from workbench.cli import main
    from workbench.profiling import Profile

    def disk_full(self: Profile, path: str | os.PathLike[str] | None = None) -> str:
        raise errors.ProfileError("Cannot write the file: No space left on device",
                                  where=str(path))

    earlier = tmp_path / "conv_relu-local.html"
    earlier.write_text("the user's earlier report")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Profile, "to_html", disk_full)
    code = main(["profile", str(conv_model), *QUICK, "--no-persist"])
    assert code == 2 and "No space left" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob("conv_relu-local*")) == [earlier.name]
    assert earlier.read_text() == "the user's earlier report"
