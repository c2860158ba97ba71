"""Build a job, run it on a device, and turn the result into a Profile.

``profile()`` is the one way to measure: the CLI, the widgets and the lab
server all call it (or ``submit()``, its background form).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from workbench import errors, formats

if TYPE_CHECKING:
    from workbench.backends.base import Backend
    from workbench.devices.base import Device, DeviceInfo, EventCallback
    from workbench.models import Model
    from workbench.profiling import Profile

MIN_STABLE_RUNS = 10


def _as_model(model: Model | str | Path) -> Model:
    from workbench.models import Model, load_model

    return model if isinstance(model, Model) else load_model(model)


def build_job(model: Model, device: Device, backend: Backend, options: dict[str, Any],
              inputs: dict[str, Any] | None, *, warmup: int, runs: int | str, profile_runs: int,
              timeout: float | None, on_event: EventCallback | None = None,
              keep_outputs: bool = False, conditions: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """The workbench.job/1 document for one run, with every file ensured on the device."""
    from workbench.inputs import job_inputs

    for name, value in (("warmup", warmup), ("runs", runs), ("profile_runs", profile_runs)):
        if name == "runs" and value == "auto":
            continue
        if not isinstance(value, int) or value < (1 if name == "runs" else 0):
            raise errors.InvalidOptionValue(f"{name}={value!r} is not allowed",
                                            where="run settings",
                                            hint="runs >= 1 or 'auto', warmup and "
                                            "profile_runs >= 0")
    def upload(done: int, total: int, rate: float) -> None:
        if on_event is not None:
            on_event({"event": "progress", "phase": "upload", "done": done, "total": total,
                      "rate": rate})

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
        "backend": {"name": backend.name, "runner": runner,
                    "options": options},
        "inputs": entries,
        "run": {"warmup": warmup, "runs": runs, "profile_runs": profile_runs,
                "timeout_s": timeout, "keep_outputs": keep_outputs, **(conditions or {})},
        "workdir": device.workdir(),
        "lock": {"path": device.lock_path(), "holder": _holder()},
    }
    formats.validate(job, formats.JOB, where="job")
    return job


def _holder() -> str:
    """Who runs a job, as shown to jobs waiting for the device."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _tensor_bytes(model: Model) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for node in model.nodes:
        names = list(node.inputs) + list(node.outputs)
        shapes = list(node.input_shapes or [None] * len(node.inputs)) + list(
            node.output_shapes or [None] * len(node.outputs))
        dtypes = list(node.input_dtypes or [None] * len(node.inputs)) + list(
            node.output_dtypes or [None] * len(node.outputs))
        for name, shape, dtype in zip(names, shapes, dtypes, strict=False):
            if name and shape and dtype and all(isinstance(d, int) for d in shape):
                import numpy as np

                count = 1
                for d in shape:
                    count *= cast(int, d)  # all ints: checked above
                sizes[name] = count * np.dtype(dtype).itemsize
    return sizes


def layer_table(rows: list[dict[str, Any]], model: Model) -> list[dict[str, Any]]:
    """Profile layer rows: duration statistics, share, MACs, bytes moved and GMAC/s."""
    from workbench.profiling.stats import summarize

    nodes = {n.name: n for n in model.nodes}
    sizes = _tensor_bytes(model)
    means = [sum(r["durations_us"]) / max(1, len(r["durations_us"])) for r in rows]
    total = sum(means) or 1.0
    table = []
    for row, mean in zip(rows, means, strict=True):
        covered = [nodes[n] for n in row.get("original_nodes", []) if n in nodes]
        written = {t for n in covered for t in n.outputs}
        read = {t for n in covered for t in n.inputs} - written
        consumed_inside = {t for n in covered for t in n.inputs}
        leaving = {t for n in covered for t in n.outputs if t not in consumed_inside} or written
        macs = sum(n.macs for n in covered) if covered else None
        moved = sum(sizes.get(t, 0) for t in read | leaving) if covered else None
        stats = summarize(row["durations_us"])
        median = stats.get("median") or 0.0
        table.append({
            "name": row["name"], "op_type": row["op_type"], "kind": row.get("kind", "compute"),
            "original_nodes": row.get("original_nodes", []), "provider": row.get("provider"),
            "calls": int(row.get("calls", 0)), "duration_us": stats, "share": mean / total,
            "input_shapes": row.get("input_shapes"), "output_shapes": row.get("output_shapes"),
            "macs": macs, "bytes": moved,
            "gmacs_per_s": (macs / (median * 1e3)) if macs and median > 0 else None,
            **({"reference_nodes": row["reference_nodes"]} if "reference_nodes" in row else {}),
        })
    return table


def _warnings(runs: int, result: dict[str, Any], info: DeviceInfo) -> list[str]:
    found = list(result.get("warnings") or [])
    if runs < MIN_STABLE_RUNS:
        found.append(f"only {runs} timed runs: the median is not stable; use {MIN_STABLE_RUNS} "
                     "or more")
    if info.emulated:
        found.append("emulated board: times are not hardware times")
    return found


def detected_target(info: DeviceInfo) -> dict[str, Any] | None:
    """What target detection makes of the device's CPU, for the profile's ``target`` section.

    ``name`` is the closest catalog board (None when there is none, e.g. on
    x86, which ``summary`` then says plainly). Detection reads only text the
    probe already carried; when it cannot read it, the section says so rather
    than failing the job.
    """
    from workbench.targets import for_device

    if not (info.cpu or {}).get("cpuinfo"):
        return {"name": None, "summary": "not detected: the probe carried no /proc/cpuinfo",
                "detected": False}
    try:
        found = for_device(info)
    except (errors.WorkbenchError, ValueError, KeyError, TypeError) as exc:
        return {"name": None, "summary": f"target detection failed: {exc}", "detected": False}
    return {"name": found.board, "summary": found.summary(), "detected": True,
            **found.to_dict()}


def profile_document(model: Model, info: DeviceInfo, backend: Backend, options: dict[str, Any],
                     job: dict[str, Any], result: dict[str, Any],
                     label: str | None = None) -> dict[str, Any]:
    """The workbench.profile/1 document from a job and its runner result."""
    from workbench import __version__
    from workbench.profiling.delegation import delegation_section, requested_accelerators
    from workbench.profiling.stats import latency_stats

    run = job["run"]
    samples = [float(x) for x in result["latency_ms"]]
    runtime = result["runtime"]
    profile_runs = int(result.get("profile_runs", 0))
    layers = layer_table(backend.layer_rows(result, model), model)
    return {
        "schema": formats.PROFILE,
        "kind": "emulated" if info.emulated else "measured",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "label": label,
        "model": {"name": model.name, "sha256": model.sha256, "format": model.format,
                  "source": model.source, "opset": model.opset, "params": model.params,
                  "macs": model.macs, "weight_bytes": model.weight_bytes,
                  "peak_activation_bytes": model.peak_activation_bytes},
        "device": info.to_dict(),
        "target": detected_target(info),
        "environment": {**(result.get("environment") or {"conditions": None, "cores_used": None}),
                        "emulated": info.emulated},
        "backend": {"name": backend.name, "version": runtime.get("version"), "options": options,
                    "providers": list(runtime.get("providers") or [])},
        "run": {"warmup": run["warmup"], "runs": run["runs"], "profile_runs": profile_runs,
                "timeout_s": run.get("timeout_s"),
                **{k: run.get(k) for k in ("cluster", "cores", "governor", "cooldown_c")}},
        "versions": {"workbench": __version__, "agent": result.get("agent_version"),
                     runtime["name"]: runtime.get("version"), "python": info.python,
                     "numpy": info.numpy, "host_python": platform.python_version()},
        "inputs": result.get("inputs") or [],
        "latency": {"samples_ms": samples, "stats": latency_stats(samples),
                    "source": f"{len(samples)} timed runs with profiling off",
                    "cold_ms": result.get("cold_ms"),
                    "session_create_ms": result.get("session_create_ms"),
                    "model_load_ms": result.get("model_load_ms")},
        "memory": {**(result.get("memory") or {}), "arena_bytes": result.get("arena_bytes")},
        "layers": layers,
        "layer_source": (result.get("layer_source") or backend.description or
                         f"{runtime['name']} per-layer timer") + f" ({profile_runs} profiled runs)"
        if profile_runs else None,
        "trace": result.get("trace"),
        "topology": model.topology(),
        "delegation": delegation_section([(n.name, n.macs) for n in model.nodes],
                                         placement=result.get("placement"), layers=layers,
                                         requested=requested_accelerators(options)),
        "outputs": result.get("outputs"),
        "warnings": _warnings(len(samples), result, info),
    }


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
            backend: str = "onnxruntime", options: dict[str, Any] | None = None, *,
            inputs: dict[str, Any] | None = None, warmup: int = 10, runs: int | str = 50,
            profile_runs: int = 10, timeout: float | None = None, label: str | None = None,
            on_event: EventCallback | None = None, keep_outputs: bool = False,
            cluster: str | int = "big", cores: list[int] | None = None,
            governor: str | None = None, cooldown_c: float | None = None,
            auto_ci_pct: float = 2.0, time_budget_s: float = 30.0,
            flush_cache: bool = False) -> Prepared:
    """Check everything that can be checked before running, and deploy the job's files."""
    from workbench import backends
    from workbench.devices import connect

    the_model = _as_model(model)
    the_device = connect(device)
    the_backend = backends.get(backend)
    checked = the_backend.validate_options(options)
    info = the_device.probe()
    the_backend.check_device(info, checked)
    conditions = {"cluster": cluster, "cores": cores, "governor": governor,
                  "cooldown_c": cooldown_c, "flush_cache": flush_cache}
    if runs == "auto":
        conditions.update(auto_ci_pct=auto_ci_pct, time_budget_s=time_budget_s)
    job = build_job(the_model, the_device, the_backend, checked, inputs, warmup=warmup,
                    runs=runs, profile_runs=profile_runs, timeout=timeout, on_event=on_event,
                    keep_outputs=keep_outputs, conditions=conditions)
    return Prepared(the_model, the_device, the_backend, checked, info, job, label)


def finish(prepared: Prepared, result: dict[str, Any]) -> Profile:
    """The Profile from a runner result."""
    from workbench.profiling import Profile

    formats.validate(result, formats.RUNNER, where=f"{prepared.backend.name} runner result")
    profile = Profile(profile_document(prepared.model, prepared.info, prepared.backend,
                                       prepared.options, prepared.job, result, prepared.label))
    _keep(profile)
    return profile


def _keep(profile: Profile) -> None:
    """Save the profile in the history; a store that cannot be written only warns."""
    from workbench import history

    if not history.enabled():
        return
    try:
        history.save(profile)
    except (errors.WorkbenchError, OSError) as exc:
        warnings.warn(f"The profile was not kept in the history: {exc}", stacklevel=3)


def execute(prepared: Prepared, on_event: EventCallback | None = None,
            cancel: threading.Event | None = None) -> Profile:
    """Run a prepared job. After a dropped link its folder stays on the device for reattach."""
    job = prepared.job
    try:
        result = prepared.device.run(job, on_event, timeout=job["run"].get("timeout_s"),
                                     cancel=cancel)
    except errors.LinkDropped:
        raise
    except BaseException:
        prepared.device.remove_workdir(job["workdir"])
        raise
    prepared.device.remove_workdir(job["workdir"])
    return finish(prepared, result)


def profile(model: Model | str | Path, device: Device | str = "local",
            backend: str = "onnxruntime", options: dict[str, Any] | None = None, *,
            inputs: dict[str, Any] | None = None, warmup: int = 10, runs: int | str = 50,
            profile_runs: int = 10, timeout: float | None = None, label: str | None = None,
            on_event: EventCallback | None = None, cancel: threading.Event | None = None,
            keep_outputs: bool = False, cluster: str | int = "big", cores: list[int] | None = None,
            governor: str | None = None, cooldown_c: float | None = None,
            auto_ci_pct: float = 2.0, time_budget_s: float = 30.0,
            flush_cache: bool = False) -> Profile:
    """Run ``model`` on ``device`` with ``backend`` and return its Profile.

    Latency comes from ``runs`` timed runs with profiling off (after a cold
    run and ``warmup`` runs); per-layer times from ``profile_runs`` further
    runs with the runtime's profiler on (0 skips them). ``runs="auto"`` runs
    until the 95% bootstrap interval of the median is within ``auto_ci_pct``
    percent, or ``time_budget_s`` ends. ``keep_outputs``
    brings the output values back too (small outputs), for numerical checks.

    Threads run on ``cluster`` ("big", "little", "all" or an index) or on
    explicit ``cores``; with ``intra_op_threads`` left at 0 there is one thread
    per core used. ``governor`` (e.g. "performance") is set for the run and
    restored after, where the device allows; ``cooldown_c`` waits until the
    device is cooler than that before starting; ``flush_cache`` evicts the caches
    between timed runs (outside the timed region). The profile records the cores
    used and the conditions sampled during the run, with warnings.
    """
    prepared = prepare(model, device, backend, options, inputs=inputs, warmup=warmup, runs=runs,
                       profile_runs=profile_runs, timeout=timeout, label=label, on_event=on_event,
                       keep_outputs=keep_outputs, cluster=cluster, cores=cores, governor=governor,
                       cooldown_c=cooldown_c, auto_ci_pct=auto_ci_pct, time_budget_s=time_budget_s,
                       flush_cache=flush_cache)
    return execute(prepared, on_event, cancel)


class Job:
    """A profile running in the background: ``result()``, ``cancel()``, ``done``, ``events``.

    If the link to a board drops, ``reattach()`` collects the job's outcome from
    its folder on the board once the link is back.
    """

    POLL_S = 0.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.prepared: Prepared | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._profile: Profile | None = None
        self._error: BaseException | None = None
        user_callback = kwargs.pop("on_event", None)

        def on_event(event: dict[str, Any]) -> None:
            self.events.append(event)
            if user_callback is not None:
                user_callback(event)

        def work() -> None:
            try:
                self.prepared = prepare(*args, on_event=on_event, **kwargs)
                self._profile = execute(self.prepared, on_event, self._cancel)
            except BaseException as exc:  # handed to the caller of result()
                self._error = exc
            finally:
                self._done.set()

        self._thread = threading.Thread(target=work, name="workbench-job", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        """Stop the job; ``result()`` then raises JobCancelled."""
        self._cancel.set()

    def result(self, timeout: float | None = None) -> Profile:
        """Wait for the profile (or the job's error)."""
        if not self._done.wait(timeout):
            raise errors.JobTimeout(f"The job is still running after {timeout:g} s",
                                    where="Job.result", hint="Wait longer or cancel it")
        if self._error is not None:
            raise self._error
        assert self._profile is not None
        return self._profile

    def reattach(self, timeout: float = 600.0) -> Profile:
        """Collect the outcome of a job whose link dropped, from its folder on the device."""
        self._done.wait()
        if self._profile is not None:
            return self._profile
        if self.prepared is None:
            raise errors.DeviceError("The job never reached the device", where="Job.reattach",
                                     hint="Run it again")
        device, workdir = self.prepared.device, self.prepared.job["workdir"]
        deadline = time.monotonic() + timeout
        while True:
            status = device.collect(workdir)
            if status.get("state") != "running" or time.monotonic() > deadline:
                break
            time.sleep(self.POLL_S)
        outcome = status.get("outcome") or {}
        if outcome.get("event") == "result":
            self._profile = finish(self.prepared, outcome["result"])
            self._error = None
            device.remove_workdir(workdir)
            return self._profile
        if outcome.get("event") == "error":
            from workbench.devices.base import error_from_event

            raise error_from_event(outcome["error"], where=device.name, exit_code=None,
                                   stderr_tail="")
        raise errors.DeviceError(
            f"The job did not finish on {device.name}: {status.get('state')}"
            f" ({status.get('reason', 'no reason recorded')})", where=workdir,
            hint="Run the job again")


def submit(*args: Any, **kwargs: Any) -> Job:
    """Start ``profile(...)`` in the background and return its :class:`Job` handle."""
    return Job(*args, **kwargs)
