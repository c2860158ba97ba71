"""Sweeps: one model over a grid of settings, all points in one agent process.

    s = wb.sweep("zoo:mlp-dynamic", device="pi5",
                 over={"threads": [1, 2, 4], "cluster": ["little", "big"], "batch": [1, 4]})
    s.to_dataframe()      # one row per point: latency, CI, throughput, memory
    s.plot()              # latency and throughput vs threads per cluster, memory vs batch
    s.plot_drift()        # latency against run index: drift and throttling

    s = wb.sweep("zoo:digits", over={"model": ["fp32", "int8"], "threads": [1, 4]})
    s.accuracy()          # per point: agreement with the fp32 model on the host, latency
    s.plot_accuracy()     # accuracy against latency, one point per variant

The agent keeps every finished point in the job's folder on the device, so a
sweep interrupted by a dropped link continues where it stopped when it is run
again with the same arguments.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from typing_extensions import Unpack

    from workbench.devices.base import Device, EventCallback
    from workbench.jobs import RunKeywords, RunSettings
    from workbench.models import Model
    from workbench.profiling import Profile

#: sweep axes that are run settings rather than backend options
RUN_AXES = ("cluster", "cores")
#: sweep axes that change the model itself
MODEL_AXES = ("batch", "model")
#: columns of :meth:`Sweep.accuracy`
ACCURACY_COLUMNS = ("point", "model", "median_ms", "metric", "accuracy", "reference")
#: axes with a name of their own
ALIASES = {"threads": "intra_op_threads"}


@dataclass
class Sweep:
    """The points of a sweep and their profiles."""

    axes: list[str]
    points: list[dict[str, Any]]
    profiles: list[Profile] = field(default_factory=list)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per point: its settings, latency with CI, throughput, memory, cores used."""
        import pandas as pd

        rows = []
        for point, profile in zip(self.points, self.profiles, strict=True):
            document = profile.to_dict()
            stats = document["latency"]["stats"]
            batch = int(point.get("batch", 1))
            ci = stats.get("median_ci") or [None, None]
            memory = document.get("memory") or {}
            rows.append({**point, "median_ms": stats["median"], "median_ci_low": ci[0],
                         "median_ci_high": ci[1], "p90_ms": stats["p90"],
                         "throughput_per_s": batch * 1000.0 / stats["median"]
                         if stats["median"] else None,
                         "peak_rss_mb": (memory.get("peak_rss_after_runs_bytes") or 0) / 2**20,
                         "cores_used": (document.get("environment") or {}).get("cores_used"),
                         "warnings": len(document.get("warnings") or [])})
        return pd.DataFrame(rows)

    def plot(self) -> Figure:
        from workbench.plots import sweep_overview

        return sweep_overview(self)

    def plot_drift(self) -> Figure:
        from workbench.plots import latency_drift

        return latency_drift(self.profiles, [self.label(p) for p in self.points])

    def accuracy(self) -> pd.DataFrame:
        """Per point: its median latency and how well its outputs agree with the fp32 model
        on the host (:func:`workbench.compare_outputs`: a quantised variant against its
        fp32 source, others against themselves on the host): top-1 agreement for a
        classifier's output, else cosine similarity. Needs kept outputs (a sweep with a
        ``model`` axis keeps them)."""
        import pandas as pd

        from workbench.accuracy import compare_outputs

        rows = []
        for point, profile in zip(self.points, self.profiles, strict=True):
            figures = compare_outputs(profile)
            first = figures.rows[0]
            top1 = first.get("top1_agreement")
            rows.append({"point": self.label(point), "model": profile.document["model"]["name"],
                         "median_ms": profile.latency.get("median"),
                         "metric": "top-1 agreement" if top1 is not None else "cosine",
                         "accuracy": top1 if top1 is not None else first.get("cosine"),
                         "reference": figures.reference})
        return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS))

    def plot_accuracy(self) -> Figure:
        """Accuracy (see :meth:`accuracy`) against median latency, one point per variant."""
        from workbench.plots import accuracy_latency

        return accuracy_latency(self.accuracy())

    def label(self, point: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in point.items())

    def _repr_html_(self) -> str:
        return str(self.to_dataframe().to_html(index=False))


def _grid(over: dict[str, list[Any]]) -> list[dict[str, Any]]:
    for axis, values in over.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise errors.InvalidOptionValue(f"Sweep axis {axis!r} needs a non-empty list",
                                            where="sweep over=",
                                            hint='e.g. over={"threads": [1, 2, 4]}')
    axes = list(over)
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*over.values())]


def _variant_model(base: Model, value: Any) -> Model:
    """A ``model`` axis value as a model: "fp32" is the sweep's model, "int8" its static
    int8 quantisation (generated calibration inputs); else a Model, a path or a zoo name."""
    from workbench.jobs import as_model
    from workbench.models.quantize import quantize

    if value == "fp32":
        return base
    if value == "int8":
        return quantize(base)
    return as_model(value)



def sweep(model: Model | str | Path, device: Device | str = "local",
          backend: str = "onnxruntime", over: dict[str, list[Any]] | None = None, *,
          options: dict[str, Any] | None = None, settings: RunSettings | None = None,
          on_event: EventCallback | None = None, **run: Unpack[RunKeywords]) -> Sweep:
    """Run ``model`` at every point of the grid ``over`` in one agent process.

    Axes: ``threads`` (intra-op threads), ``cluster``, ``cores``, ``batch`` (the
    model's symbolic ``batch`` dim), ``model`` (variants of the model: "fp32",
    "int8", Models, paths; outputs are kept so :meth:`Sweep.accuracy` can
    check them) and any option of the backend. ``settings``
    and keyword run settings are those of :func:`workbench.profile`; without
    them a sweep runs 5 warm-up and 20 timed runs a point, no profiled runs.
    """
    from workbench import backends
    from workbench.devices import connect
    from workbench.inputs import job_inputs
    from workbench.jobs import Prepared, RunSettings, as_model, build_job, profile_document

    # many points, so fewer runs each unless asked
    the_settings = RunSettings.of(settings or RunSettings(warmup=5, runs=20, profile_runs=0),
                                  **run)
    if over and "model" in over and "keep_outputs" not in run and settings is None:
        the_settings = the_settings.updated(keep_outputs=True)
    warmup, runs, profile_runs = (the_settings.warmup, the_settings.runs,
                                  the_settings.profile_runs)
    timeout = the_settings.timeout
    points = _grid(over or {"threads": [0]})
    base_model = as_model(model)
    the_device = connect(device)
    the_backend = backends.get(backend)
    info = the_device.probe()
    base_options = the_backend.validate_options(options)
    the_backend.check_device(info, base_options)
    models: dict[str, Model] = {}
    variants: dict[Any, Model] = {}
    specs = []
    for point in points:
        point_options = {ALIASES.get(k, k): v for k, v in point.items()
                         if k not in RUN_AXES and k not in MODEL_AXES}
        checked = the_backend.validate_options({**(options or {}), **point_options})
        source = base_model
        if "model" in point:
            key = point["model"] if isinstance(point["model"], str) else str(id(point["model"]))
            if key not in models:
                models[key] = _variant_model(base_model, point["model"])
            source = models[key]
            point["model"] = source.name  # points and labels name the variant
        batch = point.get("batch")
        if (source.sha256, batch) not in variants:
            variants[(source.sha256, batch)] = source.with_shapes(batch=batch) if batch \
                else source
        specs.append((point, checked, variants[(source.sha256, batch)]))
    first_model = specs[0][2]
    job = build_job(first_model, the_device, the_backend, specs[0][1], None, the_settings,
                    on_event=on_event)
    # A stable folder on the device per sweep: running it again resumes.
    key = hashlib.sha256(json.dumps([base_model.sha256, the_backend.name, points, options,
                                     warmup, runs, profile_runs], sort_keys=True,
                                    default=str).encode()).hexdigest()[:12]
    job["workdir"] = job["workdir"].rsplit("/", 1)[0] + f"/sweep-{key}"
    job["id"] = f"sweep-{key}"
    sweep_points: list[dict[str, Any]] = []
    for point, checked, variant in specs:
        path = the_device.ensure_together(the_backend.prepare(variant, checked))[0]
        entries, _ = job_inputs(variant, None)  # random inputs: no files to send
        sweep_points.append({
            "options": checked,
            "run": {k: point[k] for k in RUN_AXES if k in point},
            "model": {"name": variant.name, "path": path, "sha256": variant.sha256},
            "inputs": entries})
    job["sweep"] = sweep_points
    result = the_device.run(job, on_event, timeout=timeout)
    the_device.remove_workdir(job["workdir"])
    result_points = result.get("sweep") or []
    done = Sweep(list(over or {"threads": [0]}), points)
    for (point, checked, variant), point_result, point_job in zip(
            specs, result_points, sweep_points, strict=True):
        job_view = dict(job, run={**job["run"], **point_job["run"]})
        prepared = Prepared(variant, the_device, the_backend, checked, info, job_view,
                            done.label(point))
        from workbench.profiling import Profile

        done.profiles.append(Profile(profile_document(
            prepared.model, info, the_backend, checked, job_view, point_result,
            prepared.label)))
    return done
