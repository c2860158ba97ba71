"""What needs a live device to learn about a target: detecting a device's board, calibrating it.

``targets`` stays data plus pure functions of text; these two run a probe or
jobs on a device and hand the results to it.

    from workbench import jobs
    jobs.detect_target("pi5")              # clusters, features, closest catalog board
    pi5.estimate(m, ceilings=jobs.calibrate("pi5"))
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import onnx

    from workbench.devices.base import Device, DeviceInfo
    from workbench.profiling import Profile
    from workbench.targets.calibration import Calibration, Ceiling
    from workbench.targets.detection import Detection


def detect_target(device: Device | DeviceInfo | str = "local") -> Detection:
    """Detection for a device (a Device, its DeviceInfo, or a name such as ``"local"``).

    Probes the device when needed, then reads its /proc/cpuinfo text and the
    clusters the probe reported (:func:`workbench.targets.detection.from_probe`).
    """
    from workbench.devices import connect
    from workbench.devices.base import Device, DeviceInfo
    from workbench.targets.detection import from_probe

    if isinstance(device, DeviceInfo):
        info = device
    elif isinstance(device, (str, Device)):
        info = connect(device).probe()
    else:
        raise TypeError(f"detect_target takes a Device, DeviceInfo or name, not "
                        f"{type(device).__name__}")
    return from_probe(info.cpu, info.name)


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    import numpy as np

    p10, p50, p90 = np.percentile(np.asarray(samples, dtype=float), [10, 50, 90])
    return float(p10), float(p50), float(p90)


def _class_ceiling(kernel_class: str, jobs: list[Profile], work: float,
                   attempts: int) -> Ceiling:
    """The ceiling a class's calibration jobs give: the median of their stretches' ceilings,
    how far those fall apart, and the fast-against-slow spread of all their runs."""
    import statistics

    from workbench.targets.calibration import (
        BLOCKS,
        Ceiling,
        block_rates,
        rates_spread_pct,
        spread_pct,
    )

    samples = [ms for job in jobs for ms in job.latency_samples]
    fast, median, slow = _percentiles(samples)
    per_job = max(1, BLOCKS // len(jobs))
    each = [block_rates(job.latency_samples, work, per_job) for job in jobs]
    blocks = tuple(rate for rates in each for rate in rates)

    def share(key: str) -> float | None:
        found = [value for job in jobs for value in [
            ((job.document.get("environment") or {}).get("conditions") or {}).get(key)]
            if isinstance(value, (int, float))]
        return float(max(found)) if found else None

    return Ceiling(kernel_class=kernel_class, rate=statistics.median(blocks), fast_ms=fast,
                   median_ms=median, slow_ms=slow, spread_pct=rates_spread_pct(blocks),
                   runs=len(samples), attempts=attempts,
                   others_cpu_share=share("other_processes_cpu_share"),
                   run_spread_pct=spread_pct(fast, slow), block_rates=blocks,
                   others_share_on_cores=share("other_processes_share_of_cores_used"),
                   job_rates=tuple(statistics.median(rates) for rates in each))


def _shared(ceiling: Ceiling, most: float) -> bool:
    """Whether other processes took more than ``most`` of the cores the ceiling's job ran on."""
    share = ceiling.others_share_on_cores
    return share is not None and share > most


def _worse(kept: Ceiling, new: Ceiling, most: float) -> bool:
    """Whether ``new`` is a better ceiling to keep than ``kept``: unshared cores first, then
    the narrower spread."""
    return (_shared(kept, most), kept.spread_pct) > (_shared(new, most), new.spread_pct)


def _conditions(profiles: list[Profile]) -> dict[str, Any]:
    """The worst of the calibration jobs' conditions: load, others' CPU share, frequencies."""
    loads: list[float] = []
    khz: list[float] = []
    cores: list[int] = []
    for found in profiles:
        environment = found.document.get("environment") or {}
        cores = environment.get("cores_used") or cores
        conditions = environment.get("conditions") or {}
        loads += [v for v in (conditions.get("loadavg_1m") or {}).values()
                  if isinstance(v, (int, float))]
        for policy in (conditions.get("frequency") or {}).values():
            khz += [v for k, v in policy.items() if k.endswith("_seen_khz")
                    and isinstance(v, (int, float))]

    def worst(key: str) -> float | None:
        found = [v for v in (((p.document.get("environment") or {}).get("conditions") or {})
                             .get(key) for p in profiles) if isinstance(v, (int, float))]
        return max(found, default=None)

    return {"cores_used": cores, "loadavg_1m": max(loads, default=None),
            "others_cpu_share": worst("other_processes_cpu_share"),
            "others_share_of_cores_used": worst("other_processes_share_of_cores_used"),
            # the host's Python on this machine's device, counted apart from other processes
            "parent_share_of_cores_used": worst("parent_process_share_of_cores_used"),
            "frequency_khz": [min(khz), max(khz)] if khz else None}


def calibrate(device: Device | str = "local", *, backend: str = "onnxruntime",
              options: dict[str, Any] | None = None,
              classes: tuple[str, ...] | list[str] | None = None, attempts: int = 2,
              time_budget_s: float = 1.0, max_spread_pct: float | None = None,
              max_others_share: float | None = None, store: bool = True,
              shapes: bool = True, **run: Any) -> Calibration:
    """Measure the device's ceiling per kernel class, and keep it when it reproduces.

    Each class's model (:func:`workbench.targets.calibration.class_model`) runs
    through :func:`workbench.profile` (same agent, backend and options as real
    jobs, no per-layer profiling) with ``runs="auto"`` for at most
    ``time_budget_s`` seconds in all, split between two jobs, each after 20
    warm-up runs (an emulated board's lowered count, 2, where each run takes
    a large share of a second). Each job's runs
    are cut into consecutive stretches; each stretch's ceiling is the rate of
    its fast runs (10th percentile of latency), the class's ceiling is their
    median and its spread how far they fall from each other, within a job and
    between the two (:mod:`workbench.targets.calibration`). A class whose
    spread is wider than ``max_spread_pct``, or whose cores other processes
    shared, is run again, up to ``attempts`` jobs, and the narrowest is kept.
    ``max_others_share`` (default
    :data:`~workbench.targets.calibration.MAX_OTHERS_SHARE`) is the share of
    those cores other processes may take. ``run`` takes run settings such as
    ``cores=[2]`` or ``cluster``.

    With ``shapes`` (the default), the GEMM and convolution classes are also
    measured at the other shapes of
    :data:`~workbench.targets.calibration.SHAPES` (two each, as two jobs
    sharing half the time budget): an estimate then gives each layer the ceiling
    of its arithmetic intensity, on a line fitted through the shapes measured
    (:meth:`~workbench.targets.calibration.Calibration.rate_at`). That is 18
    jobs instead of 10 and seven time budgets instead of five: about 1.5
    times as long (at most ``attempts`` times that when classes are run
    again).

    An accepted calibration is kept as the device's (:func:`stored_calibration`)
    when ``store``; one whose spread stays too wide is returned with a
    warning and not kept.
    """
    import warnings
    from dataclasses import replace

    from workbench.devices import connect
    from workbench.jobs.build import is_emulated
    from workbench.jobs.handle import profile
    from workbench.models import load_model
    from workbench.targets.calibration import (
        JOBS_PER_CLASS,
        MAX_OTHERS_SHARE,
        MAX_SPREAD_PCT,
        Calibration,
        class_model,
        class_work,
        describe,
        shape_models,
    )
    from workbench.targets.kernels import CLASSES
    from workbench.targets.roofline import group_bytes

    limit = MAX_SPREAD_PCT if max_spread_pct is None else float(max_spread_pct)
    most = MAX_OTHERS_SHARE if max_others_share is None else float(max_others_share)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise errors.InvalidOptionValue(f"attempts={attempts!r} is not a whole number >= 1",
                                        where="calibrate", hint="Give attempts=2, the default")
    if not 0.0 <= most <= 1.0:
        raise errors.InvalidOptionValue(
            f"max_others_share={max_others_share!r} is not a share between 0 and 1",
            where="calibrate", hint=f"Leave it out for the default ({MAX_OTHERS_SHARE:g})")
    chosen = tuple(classes or CLASSES)
    unknown = [c for c in chosen if c not in CLASSES]
    if unknown:
        raise errors.InvalidOptionValue(
            f"{', '.join(map(repr, unknown))} is not a kernel class", where="calibrate",
            hint=f"Kernel classes: {', '.join(CLASSES)}")
    the_device = connect(device)
    # 20 warm-up runs settle a board's clocks and caches; on an emulated board they cost
    # seconds each, and the job's own lowered count (2) is left to apply
    warmup = {} if is_emulated(the_device) else {"warmup": 20}
    ceilings: dict[str, Ceiling] = {}
    at_shapes: dict[str, tuple[Ceiling, ...]] = {}
    profiles: list[Profile] = []

    def measured(kernel_class: str, proto: onnx.ModelProto, name: str,
                 budget: float = time_budget_s) -> Ceiling:
        """The ceiling of one calibration model: up to ``attempts`` times
        :data:`JOBS_PER_CLASS` jobs sharing ``budget`` seconds."""
        model = load_model(proto)
        model.name = name
        moved = group_bytes(list(model.nodes), "fp32")
        work = class_work(kernel_class, model.macs, moved)
        best: Ceiling | None = None
        for attempt in range(1, attempts + 1):
            jobs = [profile(model, device=the_device, backend=backend, options=options,
                            **{**warmup, "runs": "auto", "auto_ci_pct": 1.0,
                               "time_budget_s": budget / JOBS_PER_CLASS,
                               "profile_runs": 0, "label": model.name, **run})
                    for _ in range(JOBS_PER_CLASS)]
            profiles.extend(jobs)
            ceiling = _class_ceiling(kernel_class, jobs, work, attempt)
            if best is None or _worse(best, ceiling, most):
                best = ceiling
            if best.spread_pct <= limit and not _shared(best, most):
                break
        assert best is not None  # attempts >= 1
        return replace(best, intensity=2.0 * model.macs / moved if moved else None,
                       shape=describe(proto))

    for kernel_class in chosen:
        ceilings[kernel_class] = measured(kernel_class, class_model(kernel_class),
                                          f"calibrate-{kernel_class}")
        if shapes:
            # two jobs each as well, of half the runs: one job's stretches agreed with each
            # other while the whole job ran 40 % below the next calibration's
            found = tuple(measured(kernel_class, proto, f"calibrate-{kernel_class}-{place}",
                                   budget=time_budget_s / 2)
                          for place, proto in enumerate(shape_models(kernel_class), 2))
            if found:
                at_shapes[kernel_class] = found
    used = (profiles[0].document.get("environment") or {}).get("cores_used")
    threads = (options or {}).get("intra_op_threads")
    calibration = Calibration(
        device=profiles[0].device_name, ceilings=ceilings,
        threads=threads if isinstance(threads, int) and threads > 0 else (
            len(used) if used else None),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        conditions=_conditions(profiles), max_spread_pct=limit, max_others_share=most,
        shapes=at_shapes)
    if not calibration.accepted:
        warnings.warn(f"The calibration of {calibration.device} is not kept as its ceilings: "
                      f"{calibration.reason()}. Stop what else runs there, or pin it to a "
                      "quiet core (cores=[N]), and calibrate again", stacklevel=2)
    elif store:
        _store(calibration)
    return calibration


def _calibration_path(device: str) -> Path:
    from workbench._paths import data_dir

    return data_dir() / "calibrations" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', device)}.json"


def _store(calibration: Calibration) -> Path:
    import json

    from workbench._atomic import write_atomic

    return write_atomic(_calibration_path(calibration.device),
                        json.dumps(calibration.to_dict(), indent=1) + "\n",
                        error=errors.HistoryError, make_parents=True)


def stored_calibration(device: Device | str = "local") -> Calibration | None:
    """The device's last accepted calibration, or None (none kept, or a file that does not read)."""
    import json

    from workbench.targets.calibration import Calibration

    name = device if isinstance(device, str) else device.name
    try:
        data = json.loads(_calibration_path(name).read_text(encoding="utf-8"))
        return Calibration.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
