"""A job's state on the device, kept in its job folder until the host collects it.

``status.json`` says running (with the agent's pid), done, failed or stopped;
``outcome.json`` holds the final event (result or error). Both are written
atomically, so a host that lost the link mid-job (or a lab server without a
kernel) reads a whole document or none.

The host removes a job's folder once it has the result (the job is then
collected). A folder whose outcome nobody collected stays until ``prune``
removes it, ``MAX_AGE_S`` (7 days) after the job's last status, unless its
agent still runs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Any, Dict, List, Optional

#: How long a job folder is kept after the job's last status when nobody collects it.
MAX_AGE_S = 7 * 86400


def _write(path: str, document: Dict[str, Any], text: Optional[str] = None) -> None:
    """Write ``document`` atomically; ``text`` is its JSON when the caller has it already."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        if text is None:
            json.dump(document, handle)
        else:
            handle.write(text)
    os.replace(temporary, path)


class JobRecord:
    """Status and outcome files of one job in ``folder``."""

    def __init__(self, folder: str, job_id: str) -> None:
        self.folder = folder
        self.job_id = job_id
        os.makedirs(folder, exist_ok=True)
        try:  # a job's inputs, outputs and traces are the account's own, not the board's
            os.chmod(folder, 0o700)
        except OSError:
            pass

    def status(self, state: str, **details: Any) -> None:
        document = {"job": self.job_id, "state": state, "pid": os.getpid(), "time": time.time()}
        document.update(details)
        try:
            _write(os.path.join(self.folder, "status.json"), document)
        except OSError:
            pass  # a full disk must not hide the job's own outcome on the stream

    def outcome(self, event: Dict[str, Any], text: Optional[str] = None) -> None:
        """Keep the job's final event (``text``: its JSON, when already made)."""
        try:
            _write(os.path.join(self.folder, "outcome.json"), event, text)
        except OSError:
            pass
        self.status("done" if event.get("event") == "result" else "failed")


def collect(folder: str) -> Dict[str, Any]:
    """What the host can learn about a job from its folder (the agent's `collect` tool)."""
    def read(name: str) -> Optional[Dict[str, Any]]:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                loaded: Dict[str, Any] = json.load(handle)
                return loaded
        except (OSError, ValueError):
            return None

    status = read("status.json")
    if status is None:
        return {"state": "unknown"}
    if status.get("state") == "running":
        try:
            os.kill(int(status["pid"]), 0)
        except (ProcessLookupError, ValueError, KeyError):
            status["state"] = "stopped"
            status.setdefault("reason", "the agent is gone")
        except PermissionError:
            pass
    status["outcome"] = read("outcome.json")
    return status


def _job_folders(jobs_dir: str) -> List[str]:
    try:
        names = os.listdir(jobs_dir)
    except OSError:
        return []
    return sorted(name for name in names if os.path.isdir(os.path.join(jobs_dir, name)))


def _last_seen(folder: str, status: Dict[str, Any]) -> float:
    """When the job last said anything: its status time, else the folder's mtime."""
    stamp = status.get("time")
    if isinstance(stamp, (int, float)):
        return float(stamp)
    try:
        return os.path.getmtime(folder)
    except OSError:
        return 0.0


def list_jobs(jobs_dir: str) -> List[Dict[str, Any]]:
    """The job folders in ``jobs_dir``, oldest first.

    Each is ``{"id", "state", "time", "uncollected"}``: state is running,
    done, failed or stopped (unknown before the agent wrote a status), time
    the epoch seconds of the last status, and uncollected whether an outcome
    waits in the folder for the host.
    """
    jobs = []
    for name in _job_folders(jobs_dir):
        folder = os.path.join(jobs_dir, name)
        status = collect(folder)
        jobs.append({"id": name, "state": status.get("state", "unknown"),
                     "time": _last_seen(folder, status),
                     "uncollected": status.get("outcome") is not None})
    jobs.sort(key=lambda job: (job["time"], job["id"]))
    return jobs


def prune(jobs_dir: str, max_age_s: float = MAX_AGE_S) -> List[str]:
    """Remove job folders older than ``max_age_s`` whose agent is not running; their ids."""
    removed = []
    now = time.time()
    for name in _job_folders(jobs_dir):
        folder = os.path.join(jobs_dir, name)
        status = collect(folder)
        if status.get("state") == "running" or now - _last_seen(folder, status) <= max_age_s:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder):
            removed.append(name)
    return removed
