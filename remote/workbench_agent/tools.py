"""Small file tools the host runs on a board through the agent (JSON out).

    hash FILE...                  sha256 of each file (null when missing)
    free DIR                      free bytes where DIR is (made if missing)
    link SRC DST                  hard-link SRC at DST (replacing it): files that must sit together
    evict CACHE LIMIT [KEEP...]   remove least recently used artifacts until under LIMIT bytes;
                                  never KEEP nor what a job or an upload uses (cache.py)
    clean LOCK CACHE WAIT_S HOLDER  holding the board lock, remove what no job uses (cache.py)
    install-bundle [--link NAME] [--shared] DEST ZIP...
                                  unzip wheels into DEST atomically; then the link NAME beside
                                  DEST (a backend's name; "current" unless given) -> DEST, so
                                  the runtimes of different backends stay side by side;
                                  --shared: DEST's folder is made 1777 and the bundle read-only
                                  for everyone (one runtime for every account on the board)
    remove PATH...                remove files or folders
    collect JOBDIR                a job's status and outcome (see record.py)
    status BOARD_LOCK JOBS_DIR    who holds the board and who waits (lock.py); the login's job
                                  folders (record.py), after removing week-old ones
    conditions DIR                the board's clock, CPU governors and load now
                                  (conditions.py), and the free bytes where DIR is
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import zipfile
from typing import Any, Dict, List


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash(args: List[str]) -> Any:
    return {path: sha256_of(path) if os.path.isfile(path) else None for path in args}


def _free(args: List[str]) -> Any:
    os.makedirs(args[0], exist_ok=True)
    return {"free": shutil.disk_usage(args[0]).free}


def _link(args: List[str]) -> Any:
    source, target = args
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.exists(target):
        os.remove(target)
    os.link(source, target)
    return {"linked": target}


def _folder_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def _evict(args: List[str]) -> Any:
    """Least recently used first; 'used' is the folder's mtime, touched on every use."""
    artifacts = os.path.join(args[0], "artifacts")
    limit = int(args[1])
    from workbench_agent.cache import in_use

    keep = set(args[2:]) | in_use(args[0])
    entries = []
    for name in os.listdir(artifacts) if os.path.isdir(artifacts) else []:
        path = os.path.join(artifacts, name)
        entries.append((os.path.getmtime(path), path, _folder_size(path)))
    total = sum(size for _, _, size in entries)
    removed = []
    for _, path, size in sorted(entries):
        if total <= limit:
            break
        if os.path.basename(path) in keep:
            continue
        shutil.rmtree(path, ignore_errors=True)
        total -= size
        removed.append(os.path.basename(path))
    return {"removed": removed, "total": total}


def _read_only_for_all(top: str) -> None:
    """Everyone may read (and enter, and run what was runnable); only the owner may change."""
    for root, _folders, files in os.walk(top):
        os.chmod(root, 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                runnable = os.stat(path).st_mode & 0o111
                os.chmod(path, 0o755 if runnable else 0o644)


def _install_bundle(args: List[str]) -> Any:
    link, shared = "current", False
    while args[:1] in (["--link"], ["--shared"]):
        if args[0] == "--shared":
            shared, args = True, args[1:]
        else:
            link, args = args[1], args[2:]
    destination, archives = args[0], args[1:]
    if shared:
        from workbench_agent.lock import _shared_dir

        _shared_dir(os.path.dirname(destination))
    if not os.path.isdir(destination):
        partial = destination + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        try:
            for archive in archives:
                with zipfile.ZipFile(archive) as bundle:
                    bundle.extractall(partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # a full disk leaves no half runtime
            raise
        if shared:
            _read_only_for_all(partial)
        os.rename(partial, destination)
    current = os.path.join(os.path.dirname(destination), link)
    temporary = current + ".new"
    if os.path.lexists(temporary):
        os.remove(temporary)
    os.symlink(os.path.basename(destination), temporary)
    os.replace(temporary, current)
    return {"installed": destination}


def _remove(args: List[str]) -> Any:
    for path in args:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
    return {"removed": args}


def _clean(args: List[str]) -> Any:
    from workbench_agent.cache import clean

    lock_path, cache, wait_s, holder = args
    return clean(lock_path, cache, float(wait_s), holder)


def _collect(args: List[str]) -> Any:
    from workbench_agent.record import collect

    return collect(args[0])


def board_status(lock_path: str, jobs_dir: str) -> Dict[str, Any]:
    """The board's lock (holder, waiters) and the job folders in ``jobs_dir``.

    Job folders older than a week whose agent is not running are removed first.
    Returns ``{"lock": board_state(...), "jobs": list_jobs(...), "pruned": [ids]}``.
    """
    from workbench_agent.lock import board_state
    from workbench_agent.record import list_jobs, prune

    pruned = prune(os.path.expanduser(jobs_dir))
    return {"lock": board_state(lock_path), "jobs": list_jobs(os.path.expanduser(jobs_dir)),
            "pruned": pruned}


def _conditions(args: List[str]) -> Any:
    from workbench_agent.conditions import Sysfs, snapshot

    return dict(snapshot(Sysfs()), free=_free(args)["free"])


def _status(args: List[str]) -> Any:
    lock_path, jobs_dir = args
    return board_status(lock_path, jobs_dir)


TOOLS: Dict[str, Any] = {"clean": _clean, "collect": _collect, "hash": _hash, "free": _free,
                         "link": _link, "evict": _evict, "status": _status,
                         "install-bundle": _install_bundle, "remove": _remove,
                         "conditions": _conditions}


def main(argv: List[str]) -> int:
    if not argv or argv[0] not in TOOLS:
        sys.stderr.write("usage: tool {%s} ARGS...\n" % "|".join(sorted(TOOLS)))
        return 64
    try:
        result = TOOLS[argv[0]](argv[1:])
    except OSError as exc:
        print(json.dumps({"error": str(exc), "errno": exc.errno}))
        return 2
    print(json.dumps(result))
    return 0
