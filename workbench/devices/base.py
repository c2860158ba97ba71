"""The Device seam: probe / ensure / run, shared by local and SSH devices.

Everything above a device (jobs, front ends) is written once against this
class. A device runs the agent with a job, streams its events and returns its
result; jobs on one device are serialised by the device's lock.
"""

from __future__ import annotations

import html
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import errors

#: Called with each event of a job (stage, log; see workbench.events/2).
EventCallback = Callable[[dict[str, Any]], None]
#: Called with (bytes done, bytes total, bytes per second) during an upload.
ProgressCallback = Callable[[int, int, float], None]


@dataclass
class DeviceInfo:
    """What a probe found on a device (the profile's ``device`` section)."""

    name: str
    kind: str
    arch: str
    os: str | None = None
    hostname: str | None = None
    cpu: dict[str, Any] | None = None
    cores: int | None = None
    memory_bytes: int | None = None
    disk_free_bytes: int | None = None
    python: str | None = None
    numpy: str | None = None
    runtimes: dict[str, Any] = field(default_factory=dict)
    emulated: bool = False
    #: the farm place the board was reserved as (labgrid: name, coordinator, tags), if any
    place: dict[str, Any] | None = None

    @classmethod
    def from_probe(cls, name: str, kind: str, probe: dict[str, Any],
                   emulated: bool = False) -> DeviceInfo:
        """Build from the agent's ``probe`` output."""
        known = {k: probe.get(k) for k in ("os", "hostname", "cpu", "cores", "memory_bytes",
                                           "disk_free_bytes", "python", "numpy")}
        return cls(name=name, kind=kind, arch=str(probe.get("arch", "unknown")),
                   runtimes=dict(probe.get("runtimes") or {}), emulated=emulated, **known)

    def to_dict(self, *, with_cpuinfo: bool = False) -> dict[str, Any]:
        """JSON-able dict; the raw /proc/cpuinfo text only when asked for."""
        data = {k: v for k, v in self.__dict__.items() if k != "place" or v is not None}
        if self.cpu and not with_cpuinfo:
            data["cpu"] = {k: v for k, v in self.cpu.items() if k != "cpuinfo"}
        return data

    def runtime_version(self, runtime: str) -> str | None:
        info = self.runtimes.get(runtime)
        return info.get("version") if isinstance(info, dict) else None

    def providers(self, runtime: str) -> list[str]:
        info = self.runtimes.get(runtime)
        return list(info.get("providers", [])) if isinstance(info, dict) else []

    @property
    def cpu_model(self) -> str | None:
        clusters = (self.cpu or {}).get("clusters") or []
        names = [c.get("model") or f"part {c.get('part')}" for c in clusters]
        return " + ".join(dict.fromkeys(n for n in names if n)) or None

    def summary(self) -> str:
        """One line: name, arch, CPU, cores, memory, runtimes."""
        memory = f"{self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else "? GiB"
        runtimes = ", ".join(f"{k} {v.get('version')}" for k, v in self.runtimes.items()
                             if isinstance(v, dict) and v.get("version")) or "no runtime"
        tag = " [EMULATED]" if self.emulated else ""
        return (f"{self.name} ({self.kind}{tag}): {self.arch}, {self.cpu_model or 'unknown CPU'}, "
                f"{self.cores} cores, {memory}, Python {self.python}, {runtimes}")

    def facts(self) -> list[tuple[str, str]]:
        """The probe as (label, text) rows a person reads: sizes with their units, the CPU by
        its clusters, each runtime with its version and execution providers (or why it
        cannot be used). A field of an unexpected type (an older or a foreign agent) is
        shown as it came, never fails the whole table."""
        def size(value: Any) -> str | None:
            return f"{value / 2**30:.1f} GiB" if isinstance(value, (int, float)) and value else (
                str(value) if value else None)

        def cluster(c: Any) -> str:
            if not isinstance(c, dict):
                return str(c)
            name = c.get("model") or f"part {c.get('part')}"
            mhz = c.get("max_mhz")
            fastest = f" up to {mhz:.0f} MHz" if isinstance(mhz, (int, float)) and mhz else ""
            cores = c.get("cores")
            count = len(cores) if isinstance(cores, (list, tuple)) else cores or 0
            return f"{count} × {name}{fastest}"

        def runtime(name: str, info: dict[str, Any]) -> str:
            if info.get("error"):  # the agent found it but could not load it
                return f"{name} (unusable: {info['error']})"
            providers = info.get("providers")
            return (f"{name} {info.get('version') or ''}".rstrip()
                    + (f" ({', '.join(map(str, providers))})"
                       if isinstance(providers, (list, tuple)) and providers else ""))

        cpu_record = self.cpu if isinstance(self.cpu, dict) else {}
        cpu = "; ".join(cluster(c) for c in cpu_record.get("clusters") or []) or None
        runtimes = "; ".join(runtime(name, info) for name, info in self.runtimes.items()
                             if isinstance(info, dict)) or None
        place = self.place.get("name") if isinstance(self.place, dict) else self.place
        rows: list[tuple[str, Any]] = [
            ("name", self.name), ("kind", self.kind + (" (emulated)" if self.emulated else "")),
            ("arch", self.arch), ("os", self.os), ("hostname", self.hostname), ("CPU", cpu),
            ("cores", str(self.cores) if self.cores else None),
            ("memory", size(self.memory_bytes)), ("disk free", size(self.disk_free_bytes)),
            ("Python", self.python), ("numpy", self.numpy), ("runtimes", runtimes),
            ("place", place)]
        return [(label, str(text)) for label, text in rows if text]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
            for label, text in self.facts())
        return f"<table>{rows}</table>"


class Device(ABC):
    """One reachable machine that runs jobs (this machine, or a board over SSH)."""

    kind: str = "abstract"

    def __init__(self, name: str) -> None:
        self.name = name
        self._info: DeviceInfo | None = None

    def open(self) -> None:
        """Connect now (a job's connect stage); devices without a link have nothing to do."""
        return None

    def close(self) -> None:
        """Close what the device holds open (connections); it reopens on next use."""
        return None

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def probe(self, refresh: bool = False) -> DeviceInfo:
        """The device's info; cached after the first call unless ``refresh``."""
        if self._info is None or refresh:
            self._info = self._probe()
        return self._info

    @abstractmethod
    def _probe(self) -> DeviceInfo:
        """Ask the device what it is (runs the agent's probe)."""

    @abstractmethod
    def ensure(self, artifact: Path, progress: ProgressCallback | None = None) -> str:
        """Make a file available on the device; return its path there."""

    @abstractmethod
    def run(self, job: dict[str, Any], on_event: EventCallback | None = None, *,
            timeout: float | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        """Run the agent with ``job``; stream events to ``on_event``; return the result."""

    @abstractmethod
    def workdir(self) -> str:
        """A fresh scratch folder on the device for one job."""

    def ensure_many(self, files: list[Path],
                    progress: ProgressCallback | None = None) -> list[str]:
        """Ensure several files; devices with costly round trips check them in one go."""
        return [self.ensure(f, progress) for f in files]

    def ensure_together(self, files: list[Path],
                        progress: ProgressCallback | None = None) -> list[str]:
        """Ensure files that must sit in one folder (a model and its external data)."""
        return [self.ensure(f, progress) for f in files]

    @abstractmethod
    def collect(self, workdir: str) -> dict[str, Any]:
        """A job's status and outcome from its folder on the device (state, outcome)."""

    @abstractmethod
    def remove_workdir(self, workdir: str) -> None:
        """Remove a job's scratch folder from the device."""

    @abstractmethod
    def lock_path(self) -> str:
        """Path of the device's job lock on the device (the agent holds it while it runs)."""

    def status(self) -> dict[str, Any]:
        """The board's state without running a job: who holds its lock, who waits, its jobs.

        ``{"lock": {"lock", "held", "holder", "since", "waiters": [...]}, "jobs": [{"id",
        "state", "time", "uncollected"}, ...]}`` (the agent's ``status`` tool); job
        folders older than a week whose agent is not running are removed on the way.
        """
        raise errors.DeviceError(f"{self.name} is a {self.kind} device: it cannot report its "
                                 "lock and jobs", where=self.name,
                                 hint="Ask the machine that runs its jobs")

    def trust_host_key(self, fingerprint: str) -> Path:
        """Trust a host key (devices reached over SSH)."""
        raise errors.DeviceError(f"{self.name} is a {self.kind} device: it has no host key",
                                 where=self.name,
                                 hint="Nothing to trust: only boards reached over SSH have one")

    def start_agent(self, backend: str) -> None:
        """Start what will run a job of ``backend`` ahead of the job (beside its upload): a
        device with a warm agent starts it now; others have nothing to do."""
        return None

    def clean_cache(self, wait_s: float = 60.0) -> dict[str, Any]:
        """Remove cached artifacts and job folders no job uses, waiting up to ``wait_s``
        seconds for a running job."""
        raise errors.DeviceError(f"{self.name} keeps no cache of uploads", where=self.name,
                                 hint="Nothing to clean: it uses files where they are")

    def setup(self, backend: str = "onnxruntime", *, bundle: list[str | Path] | None = None,
              progress: ProgressCallback | None = None, shared: bool = False,
              apt: bool = False) -> dict[str, Any]:
        """Install what ``backend`` needs on the device; a report of what is there now.

        Boards reached over SSH take the runtime's wheels, or a ``bundle`` of a
        user's own wheels or SDK folders (:func:`workbench.devices.setup.setup_device`);
        ``shared`` installs it once, read-only, for every account on the board;
        ``apt`` installs the board's own Debian packages (Arm NN), with root rights.
        Other devices run the agent with a Python the user installs into, so
        they raise DeviceError that says so.
        """
        raise errors.DeviceError(f"{self.name} is a {self.kind} device: setup installs runtimes "
                                 "on boards reached over SSH", where=self.name,
                                 hint="Install the runtime into this Python with pip instead")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def error_from_event(error: dict[str, Any], *, where: str, exit_code: int | None,
                     stderr_tail: str) -> errors.WorkbenchError:
    """Turn an agent's error event into the host's WorkbenchError subclass of the same name.

    Only the classes of :data:`workbench.errors.__all__` are looked up, so a name
    the tree does not know becomes an AgentError rather than any module attribute.
    """
    name = str(error.get("type", "AgentError"))
    what = str(error.get("what", "The agent failed"))
    hint = error.get("hint") or None  # an empty hint gets the class's default
    error_where = error.get("where") or where
    cls = getattr(errors, name) if name in errors.__all__ else None
    if isinstance(cls, type) and issubclass(cls, errors.AgentError):
        return cls(what, where=error_where, hint=hint, exit_code=exit_code,
                   stderr_tail=stderr_tail)
    if isinstance(cls, type) and issubclass(cls, errors.WorkbenchError):
        return cls(what, where=error_where, hint=hint)
    return errors.AgentError(what, where=error_where, hint=hint, exit_code=exit_code,
                             stderr_tail=stderr_tail)
