"""The board's cache folder: what in it is in use, and cleaning it without harming a job.

A file of ``<cache>/artifacts`` is in use when

* a live process names it on its command line (the agent zip of a running or
  queued job, or of this very tool),
* the job folder of a live agent lists it in its status (``uses``), or
* its upload is under way: its partial file or writer marker changed within
  ``UPLOAD_IDLE_S`` seconds.

Cleaning takes the board's lock first, as a job does, so no job runs while
files go; jobs already waiting in line go first. Whatever is in use stays.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Dict, Iterable, List, Set

#: An upload whose partial file and marker stayed unchanged this long is no longer under way.
UPLOAD_IDLE_S = 60.0


def _named_on_command_lines(artifacts: str) -> Set[str]:
    prefix = (artifacts.rstrip("/") + "/").encode()
    names: Set[str] = set()
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                arguments = handle.read().split(b"\0")
        except OSError:
            continue
        for argument in arguments:
            at = argument.find(prefix)
            if at >= 0:
                names.add(argument[at + len(prefix):].split(b"/", 1)[0].decode("utf-8", "replace"))
    return names


def _used_by_live_jobs(artifacts: str, jobs_dir: str) -> Set[str]:
    from workbench_agent.record import collect

    prefix = artifacts.rstrip("/") + "/"
    names: Set[str] = set()
    for name in os.listdir(jobs_dir) if os.path.isdir(jobs_dir) else []:
        status = collect(os.path.join(jobs_dir, name))
        if status.get("state") != "running":
            continue
        for path in status.get("uses") or []:
            if isinstance(path, str) and path.startswith(prefix):
                names.add(path[len(prefix):].split("/", 1)[0])
    return names


def _uploading(artifacts: str) -> Set[str]:
    names: Set[str] = set()
    now = time.time()
    for name in os.listdir(artifacts) if os.path.isdir(artifacts) else []:
        folder = os.path.join(artifacts, name)
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith((".partial", ".writer")):
                try:
                    if now - os.stat(os.path.join(folder, entry)).st_mtime < UPLOAD_IDLE_S:
                        names.add(name)
                except OSError:
                    pass
    return names


def in_use(cache: str) -> Set[str]:
    """The artifact folders (sha256 names) of ``cache`` that must stay (see the docstring)."""
    artifacts = os.path.join(cache, "artifacts")
    return (_named_on_command_lines(artifacts) | _used_by_live_jobs(artifacts,
                                                                     os.path.join(cache, "jobs"))
            | _uploading(artifacts))


def artifacts_in(document: Any) -> List[str]:
    """Every path under an ``artifacts`` folder that a job document names."""
    found: List[str] = []
    if isinstance(document, dict):
        document = list(document.values())
    if isinstance(document, list):
        for value in document:
            found += artifacts_in(value)
    elif isinstance(document, str) and "/artifacts/" in document:
        found.append(document)
    return found


def _remove_all(paths: Iterable[str]) -> List[str]:
    removed = []
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def clean(lock_path: str, cache: str, wait_s: float, holder: str) -> Dict[str, Any]:
    """Remove what earlier runs left in ``cache``, holding the board's lock.

    Goes: artifacts not in use, job folders whose agent is gone and whose
    outcome was collected (or never written), unfinished runtime unpacks
    (``runtime/*.partial``). Stays: what is in use, uncollected outcomes,
    installed runtimes. Returns ``{"removed": [...], "kept": [...]}``, or
    ``{"busy": holder record, "waited_s": s}`` when the board stayed locked
    for ``wait_s`` seconds.
    """
    from workbench_agent.lock import DeviceLock, LockWaitTimeout
    from workbench_agent.record import collect

    cache = os.path.expanduser(cache)
    lock = DeviceLock(lock_path, "clean", holder)
    try:
        lock.acquire(timeout=wait_s)
    except LockWaitTimeout as busy:
        return {"busy": busy.holder, "waited_s": busy.waited_s}
    try:
        keep = in_use(cache)
        artifacts = os.path.join(cache, "artifacts")
        doomed = [os.path.join(artifacts, name) for name in
                  (os.listdir(artifacts) if os.path.isdir(artifacts) else []) if name not in keep]
        jobs = os.path.join(cache, "jobs")
        for name in os.listdir(jobs) if os.path.isdir(jobs) else []:
            status = collect(os.path.join(jobs, name))
            if status.get("state") != "running" and status.get("outcome") is None:
                doomed.append(os.path.join(jobs, name))
        runtime = os.path.join(cache, "runtime")
        doomed += [os.path.join(runtime, name) for name in
                   (os.listdir(runtime) if os.path.isdir(runtime) else [])
                   if name.endswith(".partial")]
        return {"removed": _remove_all(doomed), "kept": sorted(keep)}
    finally:
        lock.release()
