"""Small readings of this process and machine that need only the standard library."""

from __future__ import annotations

import os
from typing import Optional


def _status_field(name: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_bytes() -> Optional[int]:
    """The process's peak resident set size (VmHWM), in bytes, or None where unknown."""
    value = _status_field("VmHWM")
    if value is not None:
        return value
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except (ImportError, OSError):
        return None


def read_text(path: str) -> Optional[str]:
    """A small sysfs/procfs file's text, stripped, or None if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
