"""A profile asked for as plain data, run into the lines a command prints and the files it writes.

``workbench profile`` turns its arguments into a request (JSON: the model's
source, the run settings, the inputs, where the report goes) and hands it to
:func:`run_request`, either in its own process or, when a kept connection runs,
in the keeper's (:mod:`workbench.devices.kept`): the keeper has its
connection, its warm agent, the runtimes of the host side imported and the
models it loaded, so the command only prints what comes back. The two give
the same output and write the same files.

Relative paths in a request are read against its ``cwd`` (the command's
folder), as the keeper runs in another folder; the printed lines keep the
paths as typed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.devices.base import Device, EventCallback
    from workbench.models import Model
    from workbench.profiling import Profile

#: models a long-lived process keeps loaded: (path, size, mtime, shapes, upgrade) -> Model
_MODELS: dict[tuple[Any, ...], Model] = {}
_MODELS_LOCK = threading.Lock()
#: at most this many models stay loaded in a keeper
MODELS_KEPT = 4


def _absolute(cwd: str, path: str) -> str:
    return str(Path(cwd, path))


def _inputs(request: dict[str, Any]) -> dict[str, Any]:
    """The request's inputs, file paths read against its ``cwd``."""
    cwd = str(request["cwd"])
    inputs: dict[str, Any] = {}
    for name, value in dict(request.get("inputs") or {}).items():
        if isinstance(value, str):
            value = _absolute(cwd, value)
        elif isinstance(value, dict) and isinstance(value.get("path"), str):
            value = {**value, "path": _absolute(cwd, value["path"])}
        inputs[name] = value
    return inputs


def load_requested(request: dict[str, Any], *, keep: bool = False) -> Model:
    """The request's model with its ``--shape`` dims fixed; with ``keep``, a model loaded
    before from the same unchanged file is reused."""
    from workbench.models import load_model as load
    from workbench.models.loading import ZOO_PREFIX

    source, shapes = str(request["model"]), dict(request.get("shapes") or {})
    upgrade = bool(request.get("upgrade_opset"))
    path = source if source.startswith(ZOO_PREFIX) else _absolute(str(request["cwd"]), source)
    key: tuple[Any, ...] | None = None
    if keep:
        stat = None
        if not source.startswith(ZOO_PREFIX):
            with contextlib.suppress(OSError):  # load() says what is wrong with the path
                stat = Path(path).stat()
        key = (path, stat and stat.st_size, stat and stat.st_mtime_ns,
               tuple(sorted(shapes.items())), upgrade)
        with _MODELS_LOCK:
            if key in _MODELS:
                return _MODELS[key]
    model = load(path, upgrade_opset=upgrade)
    model = model.with_shapes(**shapes) if shapes else model
    if key is not None:
        with _MODELS_LOCK:
            while len(_MODELS) >= MODELS_KEPT:
                _MODELS.pop(next(iter(_MODELS)))
            _MODELS[key] = model
    return model


def free_report_name(cwd: str, name: str) -> str:
    """``NAME``, or ``NAME`` numbered (``m-pi5-2.html``, the next free number) when a file of
    that name is in ``cwd``: a report written without ``--out`` never replaces an earlier
    one.

    The name is claimed as it is chosen: an empty file of that name is created
    exclusively, so two jobs ending at once get two names. The report's atomic
    write then replaces that placeholder; :func:`claimed_report_name` removes it
    when the report is not written. In a folder that takes no new file nothing is
    claimed, and the report's own write says why it failed."""
    stem, suffix = Path(name).stem, Path(name).suffix
    free, number = name, 1
    while True:
        try:
            os.close(os.open(Path(cwd, free), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            number += 1
            free = f"{stem}-{number}{suffix}"
            continue
        except OSError:
            pass  # a folder that takes no new file: the report's own write says so
        return free


@contextlib.contextmanager
def claimed_report_name(cwd: str, out: str | None, default: str) -> Iterator[str]:
    """The report's name as shown: ``out`` when given, else a free name claimed by
    :func:`free_report_name`. When the body fails, the placeholder of a claimed name is
    removed if it is still the empty file made for it, so no empty report is left."""
    if out:
        yield out
        return
    shown = free_report_name(cwd, default)
    path = Path(cwd, shown)
    try:
        placeholder = path.stat()
    except OSError:  # nothing was claimed
        placeholder = None
    try:
        yield shown
    except BaseException:
        with contextlib.suppress(OSError):
            now = path.stat()
            if (placeholder is not None and now.st_size == 0
                    and (now.st_ino, now.st_dev, now.st_ctime_ns)
                    == (placeholder.st_ino, placeholder.st_dev, placeholder.st_ctime_ns)):
                path.unlink()
        raise


def check_outputs(request: dict[str, Any]) -> None:
    """Raise ReportNotWritten now, before any job, when the request's ``out`` or ``json``
    path cannot be written (a missing folder, a file in its place, no permission)."""
    from workbench._atomic import check_outputs as check
    from workbench.errors import ReportNotWritten

    check({"--out": request.get("out"), "--json": request.get("json")},
          cwd=str(request["cwd"]), error=ReportNotWritten)


def profile_lines(profile: Profile, *, out: Path, shown: str, json_path: Path | None,
                  json_shown: str | None, top: int,
                  steps: dict[str, float] | None = None, beside: str | None = None) -> list[str]:
    """Write a profile's HTML report to ``out`` (and its JSON to ``json_path``); the lines a
    command prints for it, the paths as ``shown``. With ``steps`` (a job's, see
    :mod:`workbench.jobs.steps`), a line says where the time went, the report's writing
    included. ``beside`` names an earlier report the new one was written beside (the
    default name was taken), which the report's line then says is kept.

    The summary comes first: when a file cannot be written, the
    :class:`~workbench.errors.ReportNotWritten` raised carries the lines so far, so
    the job's result is shown even then.
    """
    from workbench.errors import ReportNotWritten, WorkbenchError
    from workbench.jobs.steps import format_steps

    lines = [profile.summary(top=top)]
    written: list[str] = []
    started = time.perf_counter()
    try:
        profile.to_html(out)
        written.append(f"report: {shown}" + (f" ({beside} was there and is kept)"
                                              if beside else ""))
        if json_path is not None:
            profile.save(json_path)
            written.append(f"profile: {json_shown}")
    except WorkbenchError as exc:
        raise ReportNotWritten(exc.what, where=exc.where, hint=exc.hint,
                               lines=lines + written) from exc
    if steps is not None:
        steps = {**steps, "report": time.perf_counter() - started}
        lines.append(f"where the time went: {format_steps(steps)}")
    return lines + written


def run_request(request: dict[str, Any], device: Device, on_event: EventCallback | None = None,
                cancel: threading.Event | None = None, *, keep: bool = False) -> list[str]:
    """Profile as ``request`` asks on ``device``; the lines to print (the summary, where the
    time went unless ``quiet``, the files written). Ctrl-C or ``cancel`` cancels the job.

    ``keep`` keeps the model loaded for the next request of this process (a keeper).
    """
    from workbench.jobs.handle import submit, wait_for

    check_outputs(request)
    started = time.perf_counter()
    model = load_requested(request, keep=keep)
    loaded = time.perf_counter() - started
    cwd = str(request["cwd"])
    job = submit(model, device=device, backend=str(request.get("backend", "onnxruntime")),
                 options=dict(request.get("options") or {}), inputs=_inputs(request),
                 label=request.get("label"), on_event=on_event, cancel=cancel,
                 **dict(request.get("run") or {}))
    profile = wait_for(job)
    steps = {"model load": loaded, **job.steps()}
    # the report is named after the device as typed (MODEL-DEVICE.html)
    default = f"{model.name}-{request['device']}.html"
    out = request.get("out")
    json_shown = request.get("json")
    with claimed_report_name(cwd, str(out) if out else None, default) as shown:
        return profile_lines(profile, out=Path(cwd, shown), shown=shown,
                             json_path=Path(cwd, json_shown) if json_shown else None,
                             json_shown=json_shown, top=int(request.get("top", 15)),
                             steps=None if request.get("quiet") else steps,
                             beside=default if shown != default and not out else None)
