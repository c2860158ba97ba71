"""Measurement conditions: where threads run, CPU frequency, temperature, load.

Read from sysfs/procfs under a root folder (``/`` on a device; tests point it
at a fake tree). Readings a device does not expose (containers, emulators)
are recorded as None — unavailable — never invented. A background thread
samples at a fixed rate while the job runs.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from workbench_agent.sysinfo import read_text

SAMPLE_HZ = 4.0
BUSY_OTHERS = 0.2  # others' share of the CPU above which a warning is raised
#: two readings, the first and last of a stretch the CPU shares are taken over
Window = Tuple[Dict[str, Any], Dict[str, Any]]
#: timed runs shorter than this give CPU shares of too few clock ticks: the whole job's then
MIN_WINDOW_S = 0.4


class Sysfs:
    """Readings under ``root``."""

    def __init__(self, root: str = "/") -> None:
        self.root = root

    def path(self, relative: str) -> str:
        return os.path.join(self.root, relative.lstrip("/"))

    def text(self, relative: str) -> Optional[str]:
        return read_text(self.path(relative))

    def number(self, relative: str) -> Optional[int]:
        value = self.text(relative)
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    def write(self, relative: str, value: str) -> None:
        with open(self.path(relative), "w") as handle:
            handle.write(value)

    def policies(self) -> Dict[str, List[int]]:
        """cpufreq policy folder -> its cpus."""
        found = {}
        for folder in sorted(glob.glob(self.path("sys/devices/system/cpu/cpufreq/policy*"))):
            related = read_text(os.path.join(folder, "related_cpus")) or ""
            found[folder] = [int(c) for c in related.split() if c.isdigit()]
        return found


def _policy_reading(folder: str) -> Dict[str, Any]:
    def number(name: str) -> Optional[int]:
        value = read_text(os.path.join(folder, name))
        return int(value) if value and value.isdigit() else None

    return {"governor": read_text(os.path.join(folder, "scaling_governor")),
            "cur_khz": number("scaling_cur_freq"), "min_khz": number("scaling_min_freq"),
            "max_khz": number("scaling_max_freq")}


def _thermal(sysfs: Sysfs) -> Dict[str, float]:
    zones = {}
    for folder in sorted(glob.glob(sysfs.path("sys/class/thermal/thermal_zone*"))):
        temp = read_text(os.path.join(folder, "temp"))
        kind = read_text(os.path.join(folder, "type")) or os.path.basename(folder)
        if temp and temp.lstrip("-").isdigit():
            zones[kind] = int(temp) / 1000.0
    return zones


def _throttle_count(sysfs: Sysfs) -> Optional[int]:
    counts = [int(v) for v in (read_text(p) for p in glob.glob(sysfs.path(
        "sys/devices/system/cpu/cpu*/thermal_throttle/core_throttle_count"))) if v and v.isdigit()]
    pi = sysfs.text("sys/devices/platform/soc/soc:firmware/get_throttled")
    if pi is not None:
        try:
            counts.append(int(pi, 16))
        except ValueError:
            pass
    return sum(counts) if counts else None


def _busy(fields: List[str]) -> Optional[int]:
    values = [int(v) for v in fields if v.isdigit()]
    return sum(values[:3]) + sum(values[5:8]) if len(values) >= 8 else None  # busy time


def _cpu_jiffies(sysfs: Sysfs) -> Tuple[Optional[int], Dict[int, int]]:
    """Busy jiffies of all CPUs together (the first line of /proc/stat, None without it)
    and of each CPU (its cpuN lines), from one reading of the file."""
    total = None
    per_cpu = {}
    for number, line in enumerate((sysfs.text("proc/stat") or "").splitlines()):
        fields = line.split()
        if number == 0 and fields and fields[0] == "cpu":
            total = _busy(fields[1:])
        elif fields and fields[0].startswith("cpu") and fields[0][3:].isdigit():
            busy = _busy(fields[1:])
            if busy is not None:
                per_cpu[int(fields[0][3:])] = busy
    return total, per_cpu


def _process_jiffies(pid: str, children: bool) -> Optional[int]:
    """CPU jiffies of process ``pid`` (``"self"`` or a number): its threads' user and system
    time, and with ``children`` that of the children it waited for."""
    fields = (read_text("/proc/%s/stat" % pid) or "").rsplit(")", 1)[-1].split()
    try:
        return sum(int(fields[i]) for i in ((11, 12, 13, 14) if children else (11, 12)))
    except (IndexError, ValueError):
        return None


def _clock_ticks() -> int:
    """Clock ticks (jiffies) per second, the unit of /proc's CPU times."""
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _own_jiffies() -> int:
    """The agent's own CPU jiffies: its threads' user and system time and that of the
    children it waited for. Read with times(2), not /proc/self/stat: qemu-user makes up
    /proc/self/stat with zeros there, which counted the job's own time as others', while
    it passes times(2) on from the kernel (for the emulator's process, the job's)."""
    spent = os.times()
    seconds = spent.user + spent.system + spent.children_user + spent.children_system
    return round(seconds * _clock_ticks())


def _parent_jiffies() -> Optional[int]:
    """The jiffies of the process that started the agent (on this machine's device: the
    host's Python, whose threads run beside the job), not counting its children: the agent
    of an earlier job is one."""
    parent = os.getppid()
    return _process_jiffies(str(parent), children=False) if parent > 1 else None


def snapshot(sysfs: Sysfs) -> Dict[str, Any]:
    """One reading of everything available."""
    load = (sysfs.text("proc/loadavg") or "").split()
    busy, busy_per_cpu = _cpu_jiffies(sysfs)
    return {
        "time": time.time(),
        "policies": {os.path.basename(k): dict(_policy_reading(k), cpus=v)
                     for k, v in sysfs.policies().items()},
        "thermal_c": _thermal(sysfs) or None,
        "throttle_count": _throttle_count(sysfs),
        "loadavg_1m": float(load[0]) if load else None,
        "busy_jiffies": busy,
        "busy_per_cpu": busy_per_cpu,
        "own_jiffies": _own_jiffies(),
        "parent_jiffies": _parent_jiffies(),
    }


class Sampler:
    """Samples conditions in a background thread while a job runs."""

    def __init__(self, sysfs: Sysfs, hz: float = SAMPLE_HZ) -> None:
        self.sysfs = sysfs
        self.interval = 1.0 / hz
        self.samples: List[Dict[str, Any]] = []
        #: readings where the runner marked its timed runs' start ("timed") and end ("end")
        self.marks: Dict[str, Dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conditions", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(snapshot(self.sysfs))

    def mark(self, name: str) -> None:
        """A reading now, under ``name`` (the timed runs' ``"timed"`` and ``"end"``)."""
        self.marks[name] = snapshot(self.sysfs)

    def _window(self) -> Window:
        """The readings the CPU shares are taken between: the timed runs when the runner
        marked them, else the whole job."""
        start, end = self.marks.get("timed"), self.marks.get("end")
        if start is not None and end is not None and end["time"] - start["time"] >= MIN_WINDOW_S:
            return start, end
        return self.before, self.after

    def __enter__(self) -> "Sampler":
        self.before = snapshot(self.sysfs)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.after = snapshot(self.sysfs)

    def summary(self, cores: List[int]) -> Dict[str, Any]:
        """Conditions before, during and after, and warnings about them."""
        readings = [self.before, *self.samples, self.after]
        frequencies = {}
        for name, policy in self.before["policies"].items():
            seen = [r["policies"].get(name, {}).get("cur_khz") for r in readings]
            seen = [s for s in seen if s is not None]
            frequencies[name] = {"cpus": policy["cpus"], "governor": policy["governor"],
                                 "min_seen_khz": min(seen) if seen else None,
                                 "max_seen_khz": max(seen) if seen else None,
                                 "max_khz": policy["max_khz"]}
        temps = [max(r["thermal_c"].values()) for r in readings if r["thermal_c"]]
        throttles = [r["throttle_count"] for r in readings if r["throttle_count"] is not None]
        others = self._others_share(len(cores))
        on_cores = self._others_share_on(cores)
        parent = self._share("parent_jiffies", len(cores))
        warnings = []
        for name, reading in frequencies.items():
            used = set(reading["cpus"]) & set(cores)
            if used and reading["min_seen_khz"] != reading["max_seen_khz"]:
                warnings.append("CPU frequency changed during the run (%s: %s-%s kHz)" % (
                    name, reading["min_seen_khz"], reading["max_seen_khz"]))
        if len(throttles) >= 2 and throttles[-1] > throttles[0]:
            warnings.append("thermal throttling during the run")
        if others is not None and others > BUSY_OTHERS:
            warnings.append("other processes took %.0f%% of the CPU during the run"
                            % (100 * others))
        if parent is not None and parent > BUSY_OTHERS:
            warnings.append("the process that started the agent (pid %d) took %.0f%% of the "
                            "cores used during the run" % (os.getppid(), 100 * parent))
        return {"frequency": frequencies or None,
                "temperature_c": {"before": temps[0] if temps else None,
                                  "max": max(temps) if temps else None,
                                  "after": temps[-1] if temps else None},
                "throttle_count": {"before": throttles[0] if throttles else None,
                                   "after": throttles[-1] if throttles else None},
                "loadavg_1m": {"before": self.before["loadavg_1m"],
                               "after": self.after["loadavg_1m"]},
                "other_processes_cpu_share": others,
                "other_processes_share_of_cores_used": on_cores,
                "parent_process_share_of_cores_used": parent,
                "own_share_of_cores_used": self._share("own_jiffies", len(cores)),
                "cpu_shares_over": ("timed runs" if self._window()[0] is not self.before
                                    else "whole job"),
                # the whole job's, cold start included, beside the timed runs'
                "other_processes_share_of_cores_used_whole_job": self._others_share_on(
                    cores, (self.before, self.after)),
                "samples": len(self.samples), "sample_hz": 1.0 / self.interval,
                "warnings": warnings}

    def _ticks(self, cpus: int, window: Optional[Window] = None) -> float:
        """Jiffies that ``cpus`` CPUs had between the window's two readings."""
        start, end = window or self._window()
        ticks = _clock_ticks()
        return max(end["time"] - start["time"], 1e-3) * ticks * cpus

    def _spent(self, key: str, window: Optional[Window] = None) -> Optional[int]:
        """The growth of a jiffies reading over the window (None: unread)."""
        start, end = (reading.get(key) for reading in window or self._window())
        return None if start is None or end is None else end - start

    def _others_share(self, cores_used: int) -> Optional[float]:
        """Other processes' share of every CPU (neither the agent nor its parent)."""
        busy, own = self._spent("busy_jiffies"), self._spent("own_jiffies")
        if busy is None or own is None:
            return None
        others = busy - own - (self._spent("parent_jiffies") or 0)
        return max(0.0, min(1.0, others / self._ticks(os.cpu_count() or 1)))

    def _others_share_on(self, cores: List[int],
                         window: Optional[Window] = None) -> Optional[float]:
        """Other processes' share of the cores the job ran on (its own threads run only there).

        The agent's parent is counted apart (:meth:`_share`), wherever its
        threads ran: with cores left to others, this is then a lower bound.
        """
        window = window or self._window()
        own = self._spent("own_jiffies", window)
        if not cores or own is None:
            return None
        before, after = (reading["busy_per_cpu"] for reading in window)
        if not all(c in before and c in after for c in cores):
            return None
        busy = sum(after[c] - before[c] for c in cores)
        others = busy - own - (self._spent("parent_jiffies", window) or 0)
        return max(0.0, min(1.0, others / self._ticks(len(cores), window)))

    def _share(self, key: str, cores_used: int) -> Optional[float]:
        """A process's CPU time over the window (``own_jiffies``: the agent's, the job's;
        ``parent_jiffies``: the process that started the agent, whose threads compete with
        the job's on this machine's device), as a share of the cores used."""
        spent = self._spent(key)
        if spent is None or not cores_used:
            return None
        return max(0.0, min(1.0, spent / self._ticks(cores_used)))


def choose_cores(clusters: List[Dict[str, Any]], cluster: Any = "big",
                 cores: Optional[List[int]] = None) -> List[int]:
    """The cores a job runs on: explicit cores, a cluster (big / little / index), or all."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cores:
        return sorted(cores)
    if cluster in (None, "all") or not clusters:
        return available
    def speed(c: Dict[str, Any]) -> float:
        return float(c.get("max_mhz") or 0)
    if cluster == "big":
        chosen = max(clusters, key=speed)
    elif cluster == "little":
        chosen = min(clusters, key=speed)
    else:
        chosen = clusters[int(cluster)]
    return [c for c in chosen["cores"] if not available or c in available]


class Governor:
    """Set the cpufreq governor of the policies covering ``cores`` for a run; restore it after.

    Restores also when the run fails. Without the rights (or the sysfs files)
    it records why and changes nothing.
    """

    def __init__(self, sysfs: Sysfs, cores: List[int], wanted: Optional[str]) -> None:
        self.sysfs = sysfs
        self.cores = set(cores)
        self.wanted = wanted
        self.saved: Dict[str, str] = {}
        self.note: Optional[str] = None

    def __enter__(self) -> "Governor":
        if not self.wanted:
            return self
        for folder, cpus in self.sysfs.policies().items():
            if not self.cores & set(cpus):
                continue
            path = os.path.join(folder, "scaling_governor")
            current = read_text(path)
            try:
                with open(path, "w") as handle:
                    handle.write(self.wanted)
                if current is not None:
                    self.saved[path] = current
            except OSError as exc:
                self.note = "governor not set: %s (%s)" % (exc.strerror or exc, path)
        if not self.saved and self.note is None:
            self.note = "governor not set: no cpufreq policy for the cores used"
        return self

    def __exit__(self, *exc: Any) -> None:
        for path, value in self.saved.items():
            try:
                with open(path, "w") as handle:
                    handle.write(value)
            except OSError:
                pass


def cool_down(sysfs: Sysfs, below_c: Optional[float], timeout_s: float = 300.0) -> Optional[str]:
    """Wait until every thermal zone is below ``below_c``; a warning when it did not happen."""
    if below_c is None:
        return None
    deadline = time.monotonic() + timeout_s
    while True:
        zones = _thermal(sysfs)
        if not zones:
            return "cool-down asked for, but no thermal zone is readable here"
        if max(zones.values()) < below_c:
            return None
        if time.monotonic() > deadline:
            return "still %.1f C after %g s of cool-down (wanted below %g C)" % (
                max(zones.values()), timeout_s, below_c)
        time.sleep(1.0)
