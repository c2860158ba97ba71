"""Jobs: a model, a backend with options, inputs and run settings, sent to a device.

``profile()`` is the one way to measure: the CLI, the widgets and the lab
server all call it, or ``submit()``, its background form with a handle.

Modules, one concept each:

* :mod:`~workbench.jobs.settings`: :class:`RunSettings`, shared by every entry point;
* :mod:`~workbench.jobs.build`: the job document, preparing (connect, probe,
  upload) and running it, and the Profile from the result;
* :mod:`~workbench.jobs.document`: the profile document assembled from a result;
* :mod:`~workbench.jobs.handle`: :class:`Job`, ``submit()`` and ``profile()``;
* :mod:`~workbench.jobs.measure`: what needs a live device to learn about a target:
  ``detect_target()``, ``calibrate()`` and ``stored_calibration()``;
  :mod:`~workbench.jobs.estimate`: which board an estimate is for (named, or a device's
  detected board) and the estimate itself.
"""

from __future__ import annotations

from workbench.jobs.build import Prepared, as_model, build_job, execute, finish, prepare
from workbench.jobs.document import detected_target, layer_table, profile_document
from workbench.jobs.estimate import estimate, estimate_target
from workbench.jobs.handle import FINAL_STATES, STATES, Job, profile, submit
from workbench.jobs.measure import calibrate, detect_target, stored_calibration
from workbench.jobs.settings import (
    MIN_STABLE_RUNS,
    RunKeywords,
    RunSettings,
    cluster_choices,
    parse_cluster,
)

__all__ = [
    "FINAL_STATES",
    "MIN_STABLE_RUNS",
    "STATES",
    "Job",
    "Prepared",
    "RunKeywords",
    "RunSettings",
    "as_model",
    "build_job",
    "calibrate",
    "cluster_choices",
    "detect_target",
    "detected_target",
    "estimate",
    "estimate_target",
    "execute",
    "finish",
    "layer_table",
    "parse_cluster",
    "prepare",
    "profile",
    "profile_document",
    "stored_calibration",
    "submit",
]
