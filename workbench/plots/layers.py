"""One profile's layers: the slowest, the time per op type, and time against MACs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from workbench.plots._figure import (
    LABEL_WIDTH,
    TIME_LABEL,
    _axes,
    _empty,
    _timed_layers,
    _title,
)
from workbench.plots.palette import colors_of, op_times, op_totals
from workbench.profiling._text import fmt_number, fmt_si, is_number, shorten
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile


def top_layers(profile: Profile, n: int = 15, ax: Axes | None = None) -> Figure:
    """Horizontal bars of the ``n`` slowest layers' median time, coloured by op type."""
    layers = _timed_layers(profile, n)
    fig, ax = _axes(ax, 9, 1.6 + 0.32 * max(len(layers), 3))
    colors = colors_of(profile, layers)
    times = [layer_time_us(layer) or 0.0 for layer in layers]
    names = [shorten(str(layer["name"]), LABEL_WIDTH) for layer in layers]
    ax.barh(range(len(layers)), times, color=[colors[str(la["op_type"])] for la in layers])
    ax.set_yticks(range(len(layers)), names, fontsize="small")
    ax.invert_yaxis()
    for y, layer in enumerate(layers):
        if is_number(layer.get("share")):
            ax.text(times[y], y, f" {100 * layer['share']:.1f} %", va="center",
                    fontsize="x-small")
    if layers:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=c, label=op) for op, c in colors.items()],
                  title="op type", fontsize="small", loc="lower right")
        ax.set_xlim(0, max(times) * 1.15 or 1)
    else:
        _empty(ax, "no per-layer times")
    ax.set_title(_title(f"Top {len(layers)} layers by time", [profile]))
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("layer")
    fig.tight_layout()
    return fig


def time_by_op_type(profile: Profile, ax: Axes | None = None) -> Figure:
    """Summed median time per op type, slowest first, with its share of the total."""
    ranked = op_totals(op_times(profile))
    fig, ax = _axes(ax, 8, 1.6 + 0.32 * max(len(ranked), 3))
    colors = colors_of(profile)
    ax.barh(range(len(ranked)), [t for _, t in ranked], color=[colors[op] for op, _ in ranked])
    ax.set_yticks(range(len(ranked)), [shorten(op, LABEL_WIDTH) for op, _ in ranked])
    ax.invert_yaxis()
    grand = sum(total for _, total in ranked)
    for y, (_, total) in enumerate(ranked):
        ax.text(total, y, f" {100 * total / grand:.1f} %" if grand else "", va="center",
                fontsize="x-small")
    if ranked:
        ax.set_xlim(0, ranked[0][1] * 1.15 or 1)
    else:
        _empty(ax, "no per-layer times")
    ax.set_title(_title("Time by op type", [profile]))
    ax.set_xlabel(f"summed {TIME_LABEL}")
    ax.set_ylabel("op type")
    fig.tight_layout()
    return fig


def time_vs_macs(profile: Profile, ax: Axes | None = None) -> Figure:
    """Per-layer median time against MACs on log axes, with constant-GMAC/s guide lines."""
    layers = [layer for layer in _timed_layers(profile)
              if is_number(layer.get("macs")) and layer["macs"] > 0
              and (layer_time_us(layer) or 0) > 0]
    fig, ax = _axes(ax, 8, 5.5)
    title = "Layer time vs MACs"
    if layers:
        macs = [float(layer["macs"]) for layer in layers]
        times = [layer_time_us(layer) or 0.0 for layer in layers]
        colors = colors_of(profile, layers)
        for op, color in colors.items():
            picked = [i for i, layer in enumerate(layers) if layer["op_type"] == op]
            ax.scatter([macs[i] for i in picked], [times[i] for i in picked], color=color,
                       label=op, s=28, alpha=0.85)
        ax.set_xscale("log")
        ax.set_yscale("log")
        low, high = min(macs) / 2, max(macs) * 2
        bottom, top = min(times) / 3, max(times) * 3
        rates = [macs[i] / (times[i] * 1e3) for i in range(len(layers))]
        for exponent in range(math.floor(math.log10(min(rates))),
                              math.ceil(math.log10(max(rates))) + 1):
            rate = 10.0 ** exponent  # GMAC/s: time_us = macs / (rate * 1e3)
            ax.plot([low, high], [low / (rate * 1e3), high / (rate * 1e3)], color="grey",
                    linewidth=0.6, linestyle=":")
            # Label where the line leaves the plot: the right edge, else the top edge.
            x, y, where = high, high / (rate * 1e3), "bottom"
            if y > top:
                x, y, where = top * rate * 1e3, top, "top"
            if low <= x <= high and bottom <= y <= top:
                ax.text(x, y, f"{fmt_si(rate * 1e9)}MAC/s ", fontsize="x-small", color="grey",
                        ha="right", va=where, clip_on=True)
        ax.set_xlim(low, high)
        ax.set_ylim(bottom, top)
        ax.legend(title="op type", fontsize="small", loc="upper left")
        achieved = sum(macs) / (sum(times) * 1e3)
        title += f"\nachieved {fmt_number(achieved)} GMAC/s over these layers"
    else:
        _empty(ax, "no layers with both MACs and times")
    title = _title(title.split("\n")[0], [profile]) + "".join(
        f"\n{line}" for line in title.split("\n")[1:])
    ax.set_title(title)
    ax.set_xlabel("MACs per run (multiply-accumulates)")
    ax.set_ylabel(TIME_LABEL)
    fig.tight_layout()
    return fig
