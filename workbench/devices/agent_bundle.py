"""The agent as one file for boards: a zip Python runs directly (``python3 agent.pyz run``).

Built deterministically from the ``workbench_agent`` sources (fixed timestamps,
sorted names), so its sha256 names the agent version: a board keeps it in the
content-addressed cache and a changed agent is a new file.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from functools import cache
from pathlib import Path

from workbench._atomic import write_atomic
from workbench._paths import agent_root, cache_dir

_MAIN = b"import sys\nfrom workbench_agent.command import main\nsys.exit(main(sys.argv[1:]))\n"
_EPOCH = (2020, 1, 1, 0, 0, 0)


def _sources() -> list[tuple[str, bytes]]:
    root = agent_root()
    files = sorted((root / "workbench_agent").rglob("*.py"))
    return [(f.relative_to(root).as_posix(), f.read_bytes()) for f in files]


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [("__main__.py", _MAIN), *entries]:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@cache
def agent_zip() -> Path:
    """Path of the zipped agent on the host (built once per process, cached on disk)."""
    data = _zip(_sources())
    digest = hashlib.sha256(data).hexdigest()
    path = cache_dir() / "agent" / f"workbench_agent-{digest[:16]}.pyz"
    if not path.exists():
        write_atomic(path, data, make_parents=True)
    return path
