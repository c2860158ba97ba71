"""Building a job and running it: connect, probe, upload, run, and the Profile from the result.

Each step reports a stage event (workbench.events/2) to ``on_event``; the
agent adds its own (queue, create, warmup, timed, profile, aggregate,
download). :mod:`workbench.jobs.handle` runs these steps on a job's thread.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workbench import errors, formats
from workbench.jobs.document import profile_document
from workbench.jobs.settings import RunSettings

if TYPE_CHECKING:
    from workbench.backends.base import Backend
    from workbench.devices.base import Device, DeviceInfo, EventCallback
    from workbench.models import Model
    from workbench.profiling import Profile


def is_emulated(device: Device) -> bool:
    """Whether ``device`` is an emulated board (qemu): its runs are slow and its times qemu's."""
    return bool(getattr(device, "emulated", False)) or device.kind == "emulated"


def stage_event(stage: str, **details: Any) -> dict[str, Any]:
    """A stage event written on the host (connect, probe, upload, done, ...)."""
    return {"event": "stage", "stage": stage, "time": time.time(), **details}


def as_model(model: Model | str | Path) -> Model:
    """``model`` loaded, unless it already is a Model."""
    from workbench.models import Model, load_model

    return model if isinstance(model, Model) else load_model(model)


def with_dim_overrides(model: Model, backend: Backend,
                       options: dict[str, Any] | None) -> dict[str, Any] | None:
    """``options`` plus the model's fixed dim names as ``free_dimension_overrides``, for a
    backend that takes them; sizes the user gave in the options win."""
    overrides = model.free_dimension_overrides
    if not overrides or not any(o.name == "free_dimension_overrides" for o in backend.options):
        return options
    given = dict((options or {}).get("free_dimension_overrides") or {})
    return {**(options or {}), "free_dimension_overrides": {**overrides, **given}}


def build_job(model: Model, device: Device, backend: Backend, options: dict[str, Any],
              inputs: dict[str, Any] | str | Path | None, settings: RunSettings, *,
              on_event: EventCallback | None = None) -> dict[str, Any]:
    """The workbench.job/1 document for one run, with every file ensured on the device.

    The upload stage reports bytes done and total to ``on_event``.
    """
    from workbench.inputs import job_inputs

    def upload(done: int, total: int, rate: float) -> None:
        if on_event is not None:
            on_event(stage_event("upload", done=done, total=total, rate=rate))

    files = backend.prepare(model, options)
    entries, input_files = job_inputs(model, inputs)
    # One batch: a board checks every file's hash with a single command.
    deployed = device.ensure_many([*files, backend.runner_path(), *input_files], upload)
    remote = device.ensure_together(files, upload) if len(files) > 1 else deployed[:1]
    runner = deployed[len(files)]
    remote_inputs = dict(zip(map(str, input_files), deployed[len(files) + 1:], strict=True))
    for entry in entries:
        if entry["kind"] == "npy":
            entry["path"] = remote_inputs[entry["path"]]
    job = {
        "schema": formats.JOB,
        "id": uuid.uuid4().hex[:12],
        "model": {"name": model.name, "path": remote[0], "sha256": model.sha256,
                  "format": model.format},
        "backend": {"name": backend.name, "runner": runner, "options": options},
        "inputs": entries,
        "run": settings.job_section(),
        "workdir": device.workdir(),
        "lock": {"path": device.lock_path(), "holder": _holder(), "wait_s": settings.lock_wait_s},
    }
    formats.validate(job, formats.JOB, where="job")
    return job


def _holder() -> str:
    """Who runs a job, as shown to jobs waiting for the device."""
    from workbench.devices.board_cache import holder_name

    return holder_name()


@dataclass
class Prepared:
    """Everything a job needs before and after it runs (kept for Job.reattach)."""

    model: Model
    device: Device
    backend: Backend
    options: dict[str, Any]
    info: DeviceInfo
    job: dict[str, Any]
    label: str | None


def prepare(model: Model | str | Path, device: Device | str = "local",
            backend: str | Backend = "onnxruntime", options: dict[str, Any] | None = None, *,
            inputs: dict[str, Any] | str | Path | None = None, settings: RunSettings | None = None,
            label: str | None = None, on_event: EventCallback | None = None,
            marks: dict[str, float] | None = None, **run: Any) -> Prepared:
    """Check everything that can be checked before running, and deploy the job's files.

    Stages: connect, probe, upload; the probe runs beside the upload (``marks``
    gets ``probed``, when it ended). ``backend`` is a plug-in's name or a Backend
    object (a plug-in under test, not registered yet).
    """
    from workbench import backends
    from workbench.devices import connect
    from workbench.devices._cancel import raise_if_cancelled

    the_settings = RunSettings.of(settings, **run)
    the_model = as_model(model)
    the_backend = backends.get(backend) if isinstance(backend, str) else backend
    # the options are read (their text forms too) before the model's fixed dims join them
    checked = the_backend.validate_options(with_dim_overrides(
        the_model, the_backend, the_backend.validate_options(options)))
    the_backend.check_model(the_model, checked)  # before connecting: an upload would be wasted
    the_device = connect(device)
    emit = on_event or (lambda event: None)
    the_settings, lowered = the_settings.for_device(is_emulated(the_device))
    if lowered:
        emit({"event": "log", "level": "info", "message": lowered, "time": time.time()})
    raise_if_cancelled(the_device.name, "connecting")
    emit(stage_event("connect", device=the_device.name))
    the_device.open()
    raise_if_cancelled(the_device.name, "probing")
    emit(stage_event("probe", device=the_device.name))

    def upload() -> dict[str, Any]:
        raise_if_cancelled(the_device.name, "uploading")
        emit(stage_event("upload", done=0, total=0))
        return build_job(the_model, the_device, the_backend, checked, inputs, the_settings,
                         on_event=on_event)

    info, job = _probe_beside(the_device, upload, marks, the_backend.name)
    the_backend.check_device(info, checked)
    return Prepared(the_model, the_device, the_backend, checked, info, job, label)


T = TypeVar("T")


def _probe_beside(device: Device, work: Callable[[], T], marks: dict[str, float] | None,
                  backend: str) -> tuple[DeviceInfo, T]:
    """``device.probe()`` on a thread of its own while ``work()`` (the upload) runs here: a
    board's probe (its Python importing the runtimes) and the sending of the job's files
    overlap; then, still beside the upload, the device starts the agent for ``backend``'s
    job (a probe kept from before leaves that to do). The probe's error wins (it says
    more: no Python, no runtime), but for the upload's JobCancelled; ``marks`` gets
    ``probed`` and ``uploaded``, the host times the probe and the upload ended."""
    import contextvars

    outcome: dict[str, Any] = {}

    def probe() -> None:
        try:
            outcome["info"] = device.probe()
            if marks is not None:
                marks["probed"] = time.time()
            device.start_agent(backend)
        except BaseException as exc:  # handed to the job's thread below
            outcome["error"] = exc
        if marks is not None:
            marks.setdefault("probed", time.time())

    # the job's cancel event goes with it (a context variable)
    prober = threading.Thread(target=contextvars.copy_context().run, args=(probe,),
                              name="workbench-probe", daemon=True)
    prober.start()
    try:
        result = work()
        if marks is not None:
            marks["uploaded"] = time.time()
    except BaseException as exc:
        prober.join()
        # a cancel says where it stopped the job (the probe it cut fails as it ends)
        if "error" in outcome and not isinstance(exc, errors.JobCancelled):
            raise outcome["error"] from None
        raise
    prober.join()
    if "error" in outcome:
        raise outcome["error"]
    info: DeviceInfo = outcome["info"]
    return info, result


def finish(prepared: Prepared, result: dict[str, Any]) -> Profile:
    """The Profile from a runner result, kept in the history."""
    from workbench.profiling import Profile

    formats.validate_runner(result, where=f"{prepared.backend.name} runner result")
    profile = Profile.built(profile_document(prepared.model, prepared.info, prepared.backend,
                                             prepared.options, prepared.job, result,
                                             prepared.label))
    _keep(profile)
    return profile


def _keep(profile: Profile) -> None:
    """Save the profile in the history, off the job's path: the caller has its profile
    first (readers of the history wait for the save); a store that cannot be written
    only warns."""
    from workbench import history

    if not history.enabled():
        return

    def warn(exc: Exception) -> None:
        warnings.warn(f"The profile was not kept in the history: {exc}", stacklevel=2)

    history.save_later(profile, warn)


def execute(prepared: Prepared, on_event: EventCallback | None = None,
            cancel: threading.Event | None = None,
            marks: dict[str, float] | None = None) -> Profile:
    """Run a prepared job. After a dropped link its folder stays on the device for reattach.

    ``marks`` receives host times for the step breakdown (:mod:`workbench.jobs.steps`):
    ``result`` when the result was back, ``done`` when the profile was built.
    """
    from workbench.jobs import pending

    job = prepared.job
    marks = {} if marks is None else marks
    if prepared.device.kind == "local":
        from workbench import history

        # this machine's cores are the job's: the saving of earlier jobs' profiles ends first,
        # so that the host's saving thread does not run beside the job's timed runs
        history.wait_saved()
    # A job whose link drops can then be collected by another process (`workbench jobs`).
    pending.keep(prepared)
    try:
        result = prepared.device.run(job, on_event, timeout=job["run"].get("timeout_s"),
                                     cancel=cancel)
    except errors.LinkDropped:
        raise
    except BaseException as exc:
        prepared.device.remove_workdir(job["workdir"])
        pending.forget(job["id"])
        if isinstance(exc, errors.UnsupportedOperator):
            # the board names its copy of the file (a cache path); the user knows their own
            raise errors.UnsupportedOperator(
                exc.what, where=f"{prepared.model.source}, on {prepared.device.name}",
                hint=exc.hint) from None
        raise
    marks["result"] = time.time()
    # The result is collected: its records on the device and here have served their purpose.
    prepared.device.remove_workdir(job["workdir"])
    pending.forget(job["id"])
    profile = finish(prepared, result)
    marks["done"] = time.time()
    return profile
