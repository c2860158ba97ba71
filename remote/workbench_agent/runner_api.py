"""The runner API (version 2): what the agent offers a backend's runner module.

A runner module is one Python file with ``RUNNER_API = 2`` (or 1) and
``run(job, ctx) -> result``. Version 2 adds one optional function,
``intermediates(job, ctx) -> dict``, called after ``run`` when the job's run
settings ask for ``diff``: it runs the model once more with the tensors
between its layers exposed and describes them (see
:mod:`workbench_agent.intermediates`). A version 1 runner keeps working; a
diff job on it records that it cannot expose intermediates.

``ctx`` is a :class:`Context`; a failure the job caused (a missing file, an
option the runtime refuses) is raised as :class:`AgentFailure`, which the
host turns into its error class of that name. Plug-ins import from this module only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from workbench_agent import RUNNER_API
from workbench_agent.inputs import make_inputs
from workbench_agent.record import JobRecord
from workbench_agent.sysinfo import peak_rss_bytes

__all__ = ["RUNNER_API", "AgentFailure", "Context", "EventWriter"]


class AgentFailure(Exception):
    """A failure the job caused, reported to the host as an error event.

    ``kind`` names the host's error class (see workbench/errors.py), e.g.
    ``"BackendUnavailable"`` or ``"InputSpecError"``.
    """

    def __init__(self, kind: str, what: str, where: Optional[str] = None,
                 hint: Optional[str] = None) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what
        self.where = where
        self.hint = hint

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.kind, "what": self.what, "where": self.where, "hint": self.hint}


class EventWriter:
    """Writes events as JSON lines, thread-safe, flushed per line.

    With a job record, the final event is also kept in the job's folder.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.record: Optional[JobRecord] = None

    @staticmethod
    def line(event: Dict[str, Any]) -> str:
        """The event as one JSON line (without the newline)."""
        return json.dumps(event, separators=(",", ":"), allow_nan=False)

    def emit(self, event: Dict[str, Any], line: Optional[str] = None) -> None:
        """Write ``event``; ``line`` is its JSON when the caller made it already (a large
        result is serialised once)."""
        if line is None:
            line = self.line(event)
        if self.record is not None and event.get("event") in ("result", "error"):
            self.record.outcome(event, line)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass  # the host is gone; the outcome waits in the job folder


class Context:
    """What the agent offers a runner module (runner API 2; the same for version 1)."""

    runner_api = RUNNER_API

    def __init__(self, writer: EventWriter, workdir: str) -> None:
        self._writer = writer
        self.workdir = workdir
        #: the cores the job is pinned to (a runner sizes its thread pool to them)
        self.cores: List[int] = []
        #: warnings of the agent's own helpers (the timed loop): logged, and kept in the result
        self.warnings: List[str] = []
        self._last_progress = 0.0
        #: set by the agent while it samples conditions: ``mark("timed")`` as the timed runs
        #: begin and ``mark("end")`` as they end, so the share other processes took is that
        #: of the timed runs (not of imports and session creation, cold starts that disk
        #: reads and the kernel's work on them slow)
        self.conditions_mark: Optional[Callable[[str], None]] = None

    def progress(self, phase: str, done: int, total: int) -> None:
        """Report progress in a stage (create, warmup, timed, profile, aggregate, point);
        throttled to ~10 events per second except sweep points and a stage's first and last
        event."""
        now = time.monotonic()
        if 0 < done < total and phase != "point" and now - self._last_progress < 0.1:
            return
        self._last_progress = now
        self.stage(phase, done=done, total=total)

    def stage(self, stage: str, **details: Any) -> None:
        """Say the job entered (or moved on in) ``stage``, with a timestamp."""
        event = {"event": "stage", "stage": stage, "time": time.time()}
        event.update(details)
        self._writer.emit(event)

    def log(self, level: str, message: str) -> None:
        self._writer.emit({"event": "log", "level": level, "message": message})

    def warn(self, message: str) -> None:
        """Log a warning and keep it: the agent adds it to the result's warnings, so the
        profile still says it after the run's log is gone."""
        self.warnings.append(message)
        # "kept": a front end that shows the result's warnings need not print it twice
        self._writer.emit({"event": "log", "level": "warning", "message": message, "kept": True})

    @staticmethod
    def model_path(job: Dict[str, Any]) -> str:
        """The job's model file on this device; ModelNotFound when it is not there."""
        path = str(job["model"]["path"])
        if not os.path.isfile(path):
            raise AgentFailure("ModelNotFound", "The model file is not on the device",
                               where=path, hint="Deploy the model again")
        return path

    def make_inputs(self, specs: List[Dict[str, Any]]
                    ) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
        """Arrays for the input specs of a job, and a record of each (spec + sha256)."""
        return make_inputs(specs)

    @staticmethod
    def peak_rss_bytes() -> Optional[int]:
        return peak_rss_bytes()
