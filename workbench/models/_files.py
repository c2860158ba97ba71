"""Files the models package writes: whole or not at all.

Every file is written under a temporary name in its final folder and moved
into place with ``os.replace``, so a crash never leaves a partial file under
the real name, and two processes building the same file both end with a
whole one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workbench._atomic import write_atomic
from workbench._paths import cache_dir
from workbench.errors import ModelError


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    return write_atomic(path, data, error=ModelError, make_parents=True)


def _copy(source: Path, target: Path) -> None:
    # onnxruntime resolves symlinks and refuses data outside the model's folder,
    # and onnx refuses data files with several hard links ("hardlink attack"),
    # so the data must be a real copy beside the renamed model.
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def runnable_copy(data: bytes, base_dir: Path | None, locations: Sequence[str]) -> Path:
    """Write a serialized model into the cache once, content-addressed; return its path.

    Without external data: ``<cache>/models/<sha256>.onnx``. With external
    data: ``<cache>/models/<key>/model.onnx`` with a copy of each data file
    beside it (neither symlinks nor hard links are accepted by onnxruntime and
    onnx), where ``key`` hashes the model bytes and the data files' sizes and
    modification times, so a re-exported data file never meets a stale copy.
    The copy is made once per model and only for models whose nodes had to
    be renamed or whose dims were fixed.
    """
    folder = cache_dir() / "models"
    digest = hashlib.sha256(data)
    if not locations or base_dir is None:
        path = folder / f"{digest.hexdigest()}.onnx"
        return path if path.is_file() else atomic_write(path, data)
    for location in locations:
        stat = (base_dir / location).stat()
        digest.update(f"\0{location}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    target = folder / digest.hexdigest()
    path = target / "model.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{target.name}.", suffix=".partial"))
    try:
        for location in locations:
            _copy(base_dir / location, staging / location)
        atomic_write(staging / "model.onnx", data)
        try:
            os.replace(staging, target)  # the folder appears whole, or not at all
        except OSError:
            if not path.is_file():  # another process won the race only if the file is there
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path
