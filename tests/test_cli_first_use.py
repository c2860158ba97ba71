"""What a first-time user of the command sees: each thing said once, in the command's words."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from workbench import errors


def auto_runs_at_their_limit() -> list[dict[str, Any]]:
    """The events the agent's runs=auto loop sends when it stops at its run limit."""
    from workbench_agent.runner_api import Context, EventWriter
    from workbench_agent.timing import until_stable

    stream = io.StringIO()
    ctx = Context(EventWriter(stream), workdir=".")
    # a goal no interval meets: the loop stops at its limit of 10 runs
    until_stable(lambda: None, {"max_runs": 10, "auto_ci_pct": -1.0}, ctx)
    assert any("runs=auto stopped" in warning for warning in ctx.warnings)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_warning_the_profile_keeps_is_not_printed_live_by_the_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli.profile import _progress

    events = auto_runs_at_their_limit()
    kept = [e for e in events if e.get("event") == "log" and e.get("kept")]
    assert len(kept) == 1 and "runs=auto stopped" in kept[0]["message"]
    with _progress(argparse.Namespace(quiet=False)) as on_event:
        for event in events:
            on_event(event)
    assert "runs=auto stopped" not in capsys.readouterr().err  # the summary's warnings say it


def test_a_failed_job_prints_the_warnings_it_kept_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli.profile import _progress

    events = auto_runs_at_their_limit()
    with pytest.raises(errors.JobFailed), _progress(argparse.Namespace(quiet=False)) as on_event:
        for event in events:
            on_event(event)
        raise errors.JobFailed("The job failed after its timed runs")
    assert capsys.readouterr().err.count("runs=auto stopped") == 1


def test_profile_without_out_writes_beside_an_earlier_report_and_says_where(
        conv_model: Path) -> None:
    from tests.test_cli import workbench

    folder = conv_model.parent
    earlier = folder / "conv_relu-local.html"
    earlier.write_text("the user's earlier report")
    done = workbench("profile", conv_model.name, "--runs", "2", "--warmup", "0",
                     "--profile-runs", "1", "-q", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert earlier.read_text() == "the user's earlier report"
    assert (folder / "conv_relu-local-2.html").read_text().startswith("<!DOCTYPE html>")
    assert "report: conv_relu-local-2.html (conv_relu-local.html was there and is kept)" \
        in done.stdout
