"""A job's folder on the board is private to the account that runs it."""

from __future__ import annotations

import stat
from pathlib import Path

from workbench_agent.record import JobRecord


def test_a_job_folder_is_readable_by_its_account_only(tmp_path: Path) -> None:
    record = JobRecord(str(tmp_path / "jobs" / "abc123"), "abc123")
    record.status("running")
    folder = tmp_path / "jobs" / "abc123"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "status.json").exists()
