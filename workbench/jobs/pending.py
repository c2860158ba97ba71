"""Jobs sent to a board and not collected yet, kept on the host so any process can collect them.

When a job goes to a board, the host writes what it needs to build the job's
Profile later into ``<data folder>/jobs/<id>.json`` (atomically, owner-only,
no secrets): the device's name, the model's source and sha256, the probe, the
label and the job document (backend, options, run settings, job folder). The
record goes once the outcome is collected. After a dropped link,
``workbench jobs`` lists the records and ``workbench jobs collect ID`` (or
:func:`collect`) reads the outcome from the job's folder on the board.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    from workbench.jobs.build import Prepared
    from workbench.profiling import Profile

#: the schema name of a record
SCHEMA = "workbench.pending-job/1"
#: how often ``collect(wait=True)`` asks the board (seconds)
POLL_S = 1.0
_SHAPED = " with_shapes("


def folder() -> Path:
    """Where the records are: ``jobs/`` in the workbench data folder."""
    from workbench._paths import data_dir

    return data_dir() / "jobs"


def _path(job_id: str) -> Path:
    if not job_id.isalnum():
        raise errors.JobNotFound(f"{job_id!r} is not a job id", where="workbench jobs")
    return folder() / f"{job_id}.json"


@dataclass
class Pending:
    """One job waiting to be collected, as ``workbench jobs`` lists it."""

    id: str
    device: str
    model: str
    backend: str
    created: float
    label: str | None


def _model_section(prepared: Prepared) -> dict[str, Any]:
    model = prepared.model
    base = model.source.split(_SHAPED, 1)[0]
    source = base if base.startswith("zoo:") else str(Path(model.files()[0]).resolve())
    section: dict[str, Any] = {"source": source, "name": model.name, "sha256": model.sha256,
                               "upgrade_opset": model.converted_from_opset is not None}
    if _SHAPED in model.source:  # the fixed inputs, whole, as with_shapes takes them
        section["shapes"] = {t.name: list(t.shape or []) for t in model.inputs}
    return section


def keep(prepared: Prepared) -> None:
    """Record a job about to run on a board; a record that cannot be written only warns."""
    from workbench._atomic import write_atomic

    if prepared.device.kind == "local":
        return  # this machine's jobs end with the process that runs them
    job = prepared.job
    document = {"schema": SCHEMA, "id": job["id"], "device": prepared.device.name,
                "created": time.time(), "model": _model_section(prepared),
                "label": prepared.label, "info": prepared.info.to_dict(with_cpuinfo=True),
                "job": job}
    try:
        write_atomic(_path(job["id"]), json.dumps(document), error=errors.DeviceError,
                     make_parents=True, mode=0o600)
    except errors.WorkbenchError as exc:
        warnings.warn(f"The job cannot be collected by another process after a dropped "
                      f"link: {exc}", stacklevel=2)


def forget(job_id: str) -> None:
    """Remove a job's record (its outcome was collected, or no longer can be)."""
    _path(job_id).unlink(missing_ok=True)


def _load(job_id: str) -> dict[str, Any]:
    path = _path(job_id)
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise errors.JobNotFound(f"No job {job_id!r} waits to be collected on this host",
                                 where=str(folder())) from None
    except (OSError, ValueError) as exc:
        raise errors.JobNotFound(f"The record of job {job_id!r} cannot be read: {exc}",
                                 where=str(path), hint="Delete the file and run the job "
                                 "again") from None
    return document


def pending() -> list[Pending]:
    """This host's jobs sent to a board and never collected, by device, oldest first."""
    found = []
    for path in sorted(folder().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found.append(Pending(data["id"], data["device"], data["model"]["name"],
                                 data["job"]["backend"]["name"], float(data["created"]),
                                 data.get("label")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # half a record cannot be collected: `collect` says why
    return sorted(found, key=lambda p: (p.device, p.created, p.id))


def _rebuild(record: dict[str, Any]) -> Prepared:
    """The prepared job as the original run had it, the model loaded again and checked."""
    from workbench import backends
    from workbench.devices import connect
    from workbench.devices.base import DeviceInfo
    from workbench.jobs.build import Prepared
    from workbench.models import load_model

    wanted = record["model"]
    where = f"job {record['id']}"
    try:
        model = load_model(wanted["source"], upgrade_opset=bool(wanted.get("upgrade_opset")))
        if wanted.get("shapes"):
            model = model.with_shapes(wanted["shapes"])
    except errors.ModelError as exc:
        raise errors.JobModelChanged(
            f"The model the job ran cannot be loaded again ({exc.what})",
            where=f"{where}: {wanted['source']}") from None
    if model.sha256 != wanted["sha256"]:
        raise errors.JobModelChanged(
            f"The model changed since the job ran (sha256 {wanted['sha256'][:12]}, now "
            f"{model.sha256[:12]})", where=f"{where}: {wanted['source']}")
    if model.name != wanted["name"]:
        model.name = wanted["name"]
    job = record["job"]
    return Prepared(model, connect(record["device"]), backends.get(job["backend"]["name"]),
                    job["backend"]["options"], DeviceInfo(**record["info"]), job,
                    record.get("label"))


def settle(prepared: Prepared, status: dict[str, Any]) -> Profile:
    """The Profile from a collected job status, or the error the job ended with.

    A job that has ended leaves neither its folder on the board nor its record here.
    """
    from workbench.jobs.build import finish

    device, job = prepared.device, prepared.job
    state = status.get("state")
    if state == "running":
        raise errors.JobStillRunning(f"Job {job['id']} is still running on {device.name}",
                                     where=job["workdir"])
    if state == "unknown":
        forget(job["id"])
        raise errors.JobGone(f"{device.name} no longer has job {job['id']}; its record on "
                             "this host was removed", where=job["workdir"])
    outcome = status.get("outcome") or {}
    try:
        if outcome.get("event") == "result":
            return finish(prepared, outcome["result"])
        if outcome.get("event") == "error":
            from workbench.devices.base import error_from_event

            raise error_from_event(outcome["error"], where=device.name, exit_code=None,
                                   stderr_tail="")
        raise errors.DeviceError(
            f"The job did not finish on {device.name}: {state}"
            f" ({status.get('reason', 'no reason recorded')})", where=job["workdir"],
            hint="Run the job again")
    finally:
        device.remove_workdir(job["workdir"])
        forget(job["id"])


def collect(job_id: str, *, wait: bool = False, timeout: float = 3600.0) -> Profile:
    """Collect job ``job_id`` from its board: its Profile, built as the run would have
    built it and kept in the history.

    ``wait`` waits up to ``timeout`` seconds for a job still running; without
    it such a job raises JobStillRunning. An unknown id raises JobNotFound, a
    job the board no longer has JobGone, a model that changed or is gone since
    the run JobModelChanged.
    """
    prepared = _rebuild(_load(job_id))
    device, workdir = prepared.device, prepared.job["workdir"]
    deadline = time.monotonic() + timeout
    status = device.collect(workdir)
    while wait and status.get("state") == "running" and time.monotonic() < deadline:
        time.sleep(POLL_S)
        status = device.collect(workdir)
    return settle(prepared, status)
