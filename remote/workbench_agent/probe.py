"""What this device is: arch, OS, CPU clusters, memory, disk, Python, runtimes.

Standard library only (numpy and runtimes are looked for, not required), so a
board with nothing of ours installed can be probed with plain Python 3.8+.
Readings that are not available are None, never guessed.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import platform
import shutil
import socket
import sys
from typing import Any, Dict, List, Optional

from workbench_agent.sysinfo import cpu_count, read_text


def parse_cpuinfo(text: str) -> List[Dict[str, str]]:
    """One dict per 'processor' block of /proc/cpuinfo (keys as printed)."""
    blocks: List[Dict[str, str]] = []
    current: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip()] = value.strip()
    if current:
        blocks.append(current)
    return [b for b in blocks if "processor" in b and b["processor"].isdigit()]


def _core_identity(block: Dict[str, str]) -> Dict[str, Optional[str]]:
    return {
        "model": block.get("model name") or block.get("Processor") or block.get("cpu model"),
        "implementer": block.get("CPU implementer"),
        "part": block.get("CPU part"),
        "variant": block.get("CPU variant"),
        "revision": block.get("CPU revision"),
    }


def _max_mhz(core: int) -> Optional[float]:
    khz = read_text("/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq" % core)
    return round(int(khz) / 1000.0, 1) if khz and khz.isdigit() else None


def clusters(blocks: List[Dict[str, str]]) -> List[Dict[str, Any]]:
    """Group cores into clusters: by cpufreq policy where sysfs has it, else by core identity."""
    by_core = {int(b["processor"]): b for b in blocks}
    groups: List[List[int]] = []
    for policy in sorted(glob.glob("/sys/devices/system/cpu/cpufreq/policy*")):
        related = read_text(os.path.join(policy, "related_cpus"))
        if related:
            cores = [int(c) for c in related.split() if c.isdigit() and int(c) in by_core]
            if cores:
                groups.append(cores)
    if not groups:
        keyed: Dict[Any, List[int]] = {}
        for core, block in sorted(by_core.items()):
            identity = _core_identity(block)
            keyed.setdefault((identity["implementer"], identity["part"], identity["model"]),
                             []).append(core)
        groups = list(keyed.values())
    result = []
    for cores in groups:
        identity = _core_identity(by_core[cores[0]])
        result.append(dict(identity, cores=cores, max_mhz=_max_mhz(cores[0])))
    return result


def _os_name() -> str:
    pretty = None
    text = read_text("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip().strip('"')
    kernel = "%s %s" % (platform.system(), platform.release())
    return "%s (%s)" % (pretty, kernel) if pretty else kernel


def _memory_bytes() -> Optional[int]:
    for line in (read_text("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _disk_free_bytes(path: str) -> Optional[int]:
    try:
        os.makedirs(path, exist_ok=True)
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _version_of(module_name: str) -> Optional[str]:
    if importlib.util.find_spec(module_name) is None:
        return None
    try:
        module = __import__(module_name)
        return str(getattr(module, "__version__", "unknown"))
    except Exception:  # a broken install is reported as missing
        return None


def _runtimes() -> Dict[str, Any]:
    """Ask each built-in runner what its runtime offers on this device."""
    from workbench_agent.agent import load_runner
    from workbench_agent.runners import BUILTIN

    found: Dict[str, Any] = {}
    for name in BUILTIN:
        try:
            info = load_runner("builtin:" + name).probe()
        except Exception as exc:  # report, do not hide, a runner that cannot probe
            info = {"error": "%s: %s" % (type(exc).__name__, exc)}
        if info is not None:
            found[name] = info
    return found


def probe(cache_dir: Optional[str] = None) -> Dict[str, Any]:
    """This device's info as a JSON-able dict (the profile's device_info, without name/kind)."""
    cpuinfo_text = read_text("/proc/cpuinfo") or ""
    blocks = parse_cpuinfo(cpuinfo_text)
    features = None
    if blocks:
        flags = blocks[0].get("Features") or blocks[0].get("flags")
        features = flags.split() if flags else None
    cache = cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "workbench")
    return {
        "arch": platform.machine(),
        "os": _os_name(),
        "hostname": socket.gethostname(),
        "cpu": {"clusters": clusters(blocks), "features": features,
                "cpuinfo": cpuinfo_text[:65536]},
        "cores": cpu_count(),
        "memory_bytes": _memory_bytes(),
        "disk_free_bytes": _disk_free_bytes(cache),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": _version_of("numpy"),
        "runtimes": _runtimes(),
    }
