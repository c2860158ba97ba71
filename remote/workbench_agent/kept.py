"""What a warm agent keeps between its jobs: small documents its runners derived from a model.

A job forked from a warm agent cannot hand anything back to the agent's memory, so
what is kept lives in a folder the agent made for itself (its path in
``WORKBENCH_AGENT_KEEP``, which the job processes inherit) and removed when it
stops. A cold agent has no such folder: nothing is kept and everything is
derived again, as before.

A document is kept under a key made from everything it was derived from: the
model file's path, size, modification time and inode, the runtime's version and
the job's options. A model changed at the same path (or other options) gets a
new key, so a job is never served what another model or option produced.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Optional

#: the environment variable naming the warm agent's folder
ENV = "WORKBENCH_AGENT_KEEP"


def folder() -> Optional[str]:
    """The warm agent's folder; None in a cold agent."""
    found = os.environ.get(ENV)
    return found if found and os.path.isdir(found) else None


def key(kind: str, model_path: str, **derived_from: Any) -> Optional[str]:
    """A key for what ``kind`` derives from the model at ``model_path`` and ``derived_from``
    (JSON values); None when the model cannot be looked at (nothing is kept then)."""
    try:
        stat = os.stat(model_path)
    except OSError:
        return None
    what = {"kind": kind, "path": os.path.realpath(model_path), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino, "from": derived_from}
    text = json.dumps(what, sort_keys=True, default=str)
    return kind + "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def load(name: Optional[str]) -> Optional[Dict[str, Any]]:
    """The document kept under ``name``; None when there is none (or no folder)."""
    where = folder()
    if where is None or name is None:
        return None
    try:
        with open(os.path.join(where, name + ".json"), encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def save(name: Optional[str], document: Dict[str, Any]) -> None:
    """Keep ``document`` under ``name`` (written whole or not at all); nothing in a cold
    agent."""
    where = folder()
    if where is None or name is None:
        return
    path = os.path.join(where, name + ".json")
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        os.replace(temporary, path)
    except OSError:  # a full disk costs the next job the derivation, nothing more
        try:
            os.remove(temporary)
        except OSError:
            pass
