"""Targets: the catalog of Arm cores and boards, detection from /proc/cpuinfo, estimates.

    from workbench import targets
    pi5 = targets.get("raspberry-pi-5")          # a Target; targets.get("cortex-a76") a Core
    pi5.peak_gops("int8", threads=4)             # peak GOP/s (MAC = 2)
    targets.detect(open("/proc/cpuinfo").read()) # clusters, features, closest board
    targets.from_probe(device_info.cpu)          # the same, from a device's probe
                                                 # (workbench.jobs.detect_target probes one)
    pi5.estimate(model, threads=4)               # a roofline Profile of kind "estimate"
    targets.fits(model, "raspberry-pi-zero-2-w") # does it fit the board's RAM?

The names below load on first use; importing this package reads no data file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import attach

__all__ = ["Calibration", "Core", "Detection", "EstimateComparison", "Fit", "Target",
           "catalog", "compare_estimate", "detect", "fits", "from_probe", "get", "names"]

_LAZY: dict[str, str] = {
    "Core": "workbench.targets.target",
    "Target": "workbench.targets.target",
    "catalog": "workbench.targets.target",
    "get": "workbench.targets.target",
    "names": "workbench.targets.target",
    "Detection": "workbench.targets.detection",
    "detect": "workbench.targets.detection",
    "from_probe": "workbench.targets.detection",
    "EstimateComparison": "workbench.targets.roofline",
    "Fit": "workbench.targets.roofline",
    "compare_estimate": "workbench.targets.roofline",
    "fits": "workbench.targets.roofline",
    "Calibration": "workbench.targets.calibration",
}

if TYPE_CHECKING:
    from workbench.targets.calibration import Calibration
    from workbench.targets.detection import Detection, detect, from_probe
    from workbench.targets.roofline import EstimateComparison, Fit, compare_estimate, fits
    from workbench.targets.target import Core, Target, catalog, get, names


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
