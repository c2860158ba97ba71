"""Write a file so that readers see the old content or the new, never a part.

The text goes to a temporary file in the destination's folder (same file
system, so the rename is atomic), is flushed to disk, and only then replaces
the destination. If anything fails before the rename, the temporary file is
removed and an existing destination is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from workbench.errors import WorkbenchError


def _new_file_mode() -> int:
    # os.umask can only be read by setting it; set it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *,
                 error: type[WorkbenchError] = WorkbenchError, make_parents: bool = False,
                 mode: int | None = None) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; return the path.

    Raises ``error`` when the folder is missing or not writable, or the disk
    is full; the destination is then untouched. ``mode`` sets the file's
    permissions (else an existing file's are kept, a new file gets the umask's).
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = target.parent if str(target.parent) else Path(".")
    try:
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"Cannot write the file: {exc.strerror or exc}", where=str(target),
                    hint="Check that the folder exists and is writable") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode)
            except FileNotFoundError:
                mode = _new_file_mode()
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise error(f"Cannot write the file: {exc.strerror or exc}", where=str(target),
                        hint="Check the free space and permissions of the folder") from exc
        raise
    return target


def check_writable(path: str | os.PathLike[str], *, error: type[WorkbenchError] = WorkbenchError,
                   option: str | None = None) -> None:
    """Raise ``error`` unless :func:`write_atomic` can write ``path``: its folder exists, is a
    folder and takes new files, and the path is not itself a folder.

    Commands call it before long work, so that a mistyped ``--out`` fails in a moment
    instead of after the job. ``option`` names the option the path came from.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    where = f"{option} {target}" if option else str(target)
    problem = None
    if not folder.exists():
        problem = f"The folder {folder} does not exist"
        hint = f"Make it first (mkdir -p {folder}) or give a path in an existing folder"
    elif not folder.is_dir():
        problem = f"{folder} is a file, not a folder"
        hint = "Give a path inside a folder"
    elif target.is_dir():
        problem = f"{target} is a folder, not a file"
        hint = "Give a file name inside it"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"The folder {folder} is not writable"
        hint = "Give a path in a folder you can write, or change its permissions"
    if problem is not None:
        raise error(f"Cannot write there: {problem}", where=where, hint=hint)


def check_outputs(paths: dict[str, str | None], *, cwd: str | os.PathLike[str] = ".",
                  error: type[WorkbenchError] = WorkbenchError) -> None:
    """:func:`check_writable` for each path a command was given, by the option that gave it
    (``{"--out": "r.html", "--json": None}``); relative paths are read against ``cwd``."""
    for option, path in paths.items():
        if path:
            check_writable(Path(cwd, path), error=error, option=option)
