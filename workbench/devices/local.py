"""This machine as a device: the very same agent, run in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._paths import agent_root, board_dir, cache_dir
from workbench.devices._stream import HEARTBEAT_S, AgentStream, Heartbeat
from workbench.devices._watch import AgentWatch
from workbench.devices.base import Device, DeviceInfo, EventCallback, ProgressCallback

KILL_GRACE_S = 5.0


class LocalDevice(Device):
    """Runs jobs on this machine with the agent in a subprocess of ``python``."""

    kind = "local"

    def __init__(self, name: str = "local", python: str | None = None) -> None:
        super().__init__(name)
        self.python = python or sys.executable

    def _command(self, *args: str) -> list[str]:
        return [self.python, "-m", "workbench_agent", *args]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        root = str(agent_root())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _probe(self) -> DeviceInfo:
        try:
            done = subprocess.run(self._command("probe"), capture_output=True, text=True,
                                  env=self._env(), timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise errors.AgentError(f"Cannot run the agent's probe: {exc}",
                                    where=f"{self.name}: {self.python}",
                                    hint=f"Check that {self.python} exists and starts") from None
        if done.returncode != 0:
            raise errors.AgentError("The agent's probe failed", where=f"{self.name}: {self.python}",
                                    hint=f"Its stderr tail shows why; check that {self.python} "
                                    "is Python 3.8 or newer",
                                    exit_code=done.returncode, stderr_tail=done.stderr[-4000:])
        return DeviceInfo.from_probe(self.name, self.kind, json.loads(done.stdout))

    def ensure(self, artifact: Path, progress: ProgressCallback | None = None) -> str:
        """Files on this machine are already on the device: the path itself."""
        path = Path(artifact).resolve()
        if not path.is_file():
            raise errors.DeviceError("The file to deploy does not exist", where=str(path),
                                     hint="It was moved or removed after the job was prepared; "
                                     "prepare the job again")
        if progress is not None:
            size = path.stat().st_size
            progress(size, size, 0.0)
        return str(path)

    def workdir(self) -> str:
        """A new job folder's path, ``<cache>/jobs/<id>`` (the agent makes it): kept until the
        host collects the job's outcome, or for a week."""
        return str(cache_dir() / "jobs" / uuid.uuid4().hex[:12])

    def lock_path(self) -> str:
        """This machine's board lock, shared by every account: ``<board dir>/board.lock``."""
        return str(board_dir() / "board.lock")

    def status(self) -> dict[str, Any]:
        """The board lock's holder and waiters, and this account's job folders (in process)."""
        from workbench_agent.tools import board_status

        try:
            state: dict[str, Any] = board_status(self.lock_path(), str(cache_dir() / "jobs"))
        except OSError as exc:
            raise errors.DeviceError(f"Cannot read the board's lock and jobs: {exc}",
                                     where=f"{self.name}: {self.lock_path()}",
                                     hint="Check that the board folder is readable "
                                     "(WORKBENCH_BOARD_DIR)") from None
        return state

    def run(self, job: dict[str, Any], on_event: EventCallback | None = None, *,
            timeout: float | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        from workbench.devices._cancel import current

        where = f"{self.name}: job {job.get('id', '?')}"
        process = subprocess.Popen(
            self._command("run", "-", "--watch-stdin", "--heartbeat", str(HEARTBEAT_S)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=self._env(), start_new_session=True)
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        stdin = process.stdin
        stream = AgentStream(where, on_event)
        # The agent's whole process group dies on cancel or timeout: a runner's children too.
        watch = AgentWatch(lambda: _kill_group(process), process.stderr,
                           cancel=cancel or current(), timeout=timeout)
        heartbeat: Heartbeat | None = None
        try:
            try:
                # The job is one line; stdin then stays open: the agent stops if we go away.
                stdin.write(json.dumps(job) + "\n")
                stdin.flush()
            except BrokenPipeError:
                pass  # the agent died at once; its exit code and stderr tell why

            def beat() -> None:
                stdin.write("\n")
                stdin.flush()

            heartbeat = Heartbeat(beat)
            for line in process.stdout:
                stream.feed(line)
            exit_code = process.wait()
        finally:
            watch.finish()
            if heartbeat is not None:
                heartbeat.stop()
            with contextlib.suppress(OSError):
                stdin.close()
            if process.poll() is None:
                _kill_group(process)
        tail = watch.stderr_tail(wait=KILL_GRACE_S)
        watch.raise_if_stopped(where, waiting=stream.waiting)
        return stream.finish(exit_code, tail)

    def collect(self, workdir: str) -> dict[str, Any]:
        from workbench_agent.record import collect

        collected: dict[str, Any] = collect(workdir)
        return collected

    def remove_workdir(self, workdir: str) -> None:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
