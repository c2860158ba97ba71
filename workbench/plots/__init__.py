"""Matplotlib figures drawn from a :class:`~workbench.profiling.Profile` (or several).

Every function takes the profile(s) and an optional ``ax`` to draw into, and
returns the :class:`~matplotlib.figure.Figure`. Titles name the profile, axis
labels carry units, and a profile whose times are not hardware times
(emulated board, catalog estimate) says so in the title. matplotlib loads on
first use; without a display it draws with the Agg backend.

The figures live in modules by subject: ``latency`` (one profile's runs),
``layers`` (one profile's layers), ``comparison`` (several profiles, a
sweep), ``providers`` (where the nodes ran) and ``accuracy`` (a per-layer
diff, accuracy against latency); every name is importable from here.
"""

from __future__ import annotations

from workbench.plots._figure import LABEL_WIDTH, TIME_LABEL, figure_png
from workbench.plots.accuracy import accuracy_latency, layer_diff_plot
from workbench.plots.comparison import compare_latency, compare_layers, sweep_overview
from workbench.plots.latency import latency_distribution, latency_drift
from workbench.plots.layers import time_by_op_type, time_vs_macs, top_layers
from workbench.plots.providers import delegation

__all__ = [
    "LABEL_WIDTH",
    "TIME_LABEL",
    "accuracy_latency",
    "compare_latency",
    "compare_layers",
    "delegation",
    "figure_png",
    "latency_distribution",
    "latency_drift",
    "layer_diff_plot",
    "sweep_overview",
    "time_by_op_type",
    "time_vs_macs",
    "top_layers",
]
