"""What needs a live device to learn about a target: detecting a device's board, calibrating it.

``targets`` stays data plus pure functions of text; these two run a probe or
jobs on a device and hand the results to it.

    from workbench import jobs
    jobs.detect_target("pi5")              # clusters, features, closest catalog board
    pi5.estimate(m, ceilings=jobs.calibrate("pi5"))
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.devices.base import Device, DeviceInfo
    from workbench.targets.calibration import Calibration
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


def calibrate(device: Device | str = "local", *, backend: str = "onnxruntime",
              options: dict[str, Any] | None = None, runs: int = 15,
              warmup: int = 3) -> Calibration:
    """Measure the device's achieved GFLOP/s and GB/s with two tiny models.

    Both run through :func:`workbench.profile` (same agent, backend and
    options as real jobs), without per-layer profiling.
    """
    from workbench.jobs.handle import profile
    from workbench.models import load_model
    from workbench.targets.calibration import (
        ADD_ELEMENTS,
        MATMUL_K,
        MATMUL_M,
        MATMUL_N,
        Calibration,
        add_model,
        matmul_model,
    )

    flops = 2 * MATMUL_M * MATMUL_K * MATMUL_N
    moved = 3 * 4 * ADD_ELEMENTS
    results = []
    for proto, name in ((matmul_model(), "calibrate-matmul"), (add_model(), "calibrate-add")):
        model = load_model(proto)
        model.name = name
        results.append(profile(model, device=device, backend=backend, options=options,
                               warmup=warmup, runs=runs, profile_runs=0, label=name))
    matmul_ms = float(results[0].latency["median"])
    add_ms = float(results[1].latency["median"])
    used = results[0].document.get("environment", {}).get("cores_used")
    return Calibration(device=results[0].device_name, gflops=flops / (matmul_ms * 1e6),
                       gbs=moved / (add_ms * 1e6), matmul_ms=matmul_ms, add_ms=add_ms,
                       threads=len(used) if used else None,
                       created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
