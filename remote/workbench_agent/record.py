"""A job's state on the device, kept in its job folder until the host collects it.

``status.json`` says running (with the agent's pid), done, failed or stopped;
``outcome.json`` holds the final event (result or error). Both are written
atomically, so a host that lost the link mid-job (or a lab server without a
kernel) reads a whole document or none.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Optional


def _write(path: str, document: Dict[str, Any]) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    os.replace(temporary, path)


class JobRecord:
    """Status and outcome files of one job in ``folder``."""

    def __init__(self, folder: str, job_id: str) -> None:
        self.folder = folder
        self.job_id = job_id
        os.makedirs(folder, exist_ok=True)

    def status(self, state: str, **details: Any) -> None:
        document = {"job": self.job_id, "state": state, "pid": os.getpid(), "time": time.time()}
        document.update(details)
        try:
            _write(os.path.join(self.folder, "status.json"), document)
        except OSError:
            pass  # a full disk must not hide the job's own outcome on the stream

    def outcome(self, event: Dict[str, Any]) -> None:
        try:
            _write(os.path.join(self.folder, "outcome.json"), event)
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
