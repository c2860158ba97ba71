"""What PNG figures and the report's SVG figures share, without matplotlib: the colour
of each op type (matplotlib's ``tab10`` and ``tab20`` maps as hex), the latency colours
and the latency histogram's number of bins, so both draw the same profile alike."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#7f7f7f", "#bcbd22", "#17becf")
TAB20 = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728",
         "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2",
         "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")

#: latency bars and points, and the median / p90 lines drawn over them
LATENCY_COLOR = "#4c72b0"
MARKER_COLOR = "#c44e52"


def op_colors(op_types: Sequence[str]) -> dict[str, str]:
    """A colour per distinct op type, in order of first appearance (``tab10``, or
    ``tab20`` past ten types; past twenty they repeat)."""
    names = list(dict.fromkeys(op_types))
    colors = TAB10 if len(names) <= len(TAB10) else TAB20
    return {name: colors[i % len(colors)] for i, name in enumerate(names)}


def op_totals(times: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Each op type's summed time from ``(op type, time)`` pairs, slowest first."""
    totals: dict[str, float] = {}
    for op, time in times:
        totals[op] = totals.get(op, 0.0) + time
    return sorted(totals.items(), key=lambda item: -item[1])


def profile_op_colors(times: Iterable[tuple[str, float]],
                      shown: Iterable[str] | None = None) -> dict[str, str]:
    """One colour per op type for every figure of a profile, from its layers'
    ``(op type, time)`` pairs: the slowest type first, so a type has the same colour in
    the top layers, the time by op type and the time against MACs. With ``shown``, only
    those types, in their order (a figure's legend)."""
    colors = op_colors([op for op, _ in op_totals(times)])
    if shown is None:
        return colors
    return {op: colors[op] for op in dict.fromkeys(shown) if op in colors}


def op_times(profile: Profile) -> list[tuple[str, float]]:
    """Each timed layer's ``(op type, median time in µs)``, in the profile's layer order."""
    return [(str(layer.get("op_type")), time) for layer in profile.layers
            if (time := layer_time_us(layer)) is not None]


def colors_of(profile: Profile,
              shown: Iterable[dict[str, Any]] | None = None) -> dict[str, str]:
    """The profile's op-type colours (:func:`profile_op_colors` of its :func:`op_times`),
    alike in its PNG and SVG figures; with ``shown``, only those layers' types, for a
    legend."""
    types = None if shown is None else [str(layer.get("op_type")) for layer in shown]
    return profile_op_colors(op_times(profile), types)


def histogram_bins(samples: int) -> int:
    """How many bins a latency histogram of ``samples`` runs has: twice the square root,
    between 5 and 40."""
    return max(5, min(40, int(math.sqrt(samples) * 2)))
