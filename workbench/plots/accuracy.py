"""Accuracy: a per-layer diff's error against depth, and accuracy against latency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.plots._figure import LABEL_WIDTH, _axes, _empty
from workbench.profiling._text import shorten

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.layer_diff import LayerDiff


def layer_diff_plot(diff: LayerDiff, ax: Axes | None = None) -> Figure:
    """Relative error of each tensor against its depth in the executed graph (log scale), the
    first layer where the error jumps (for int8 against fp32: the layer that adds the most)
    marked and named."""
    fig, ax = _axes(ax, 9, 4.2)
    rows = [r for r in diff.rows if r.get("rel_error") is not None]
    if not rows:
        _empty(ax, "no tensor could be compared")
        return fig
    # an exact match has no place on a log axis: draw it at the floor, hollow
    floor = min([r["rel_error"] for r in rows if r["rel_error"] > 0] or [1e-9]) / 10
    depths = [r["depth"] for r in rows]
    values = [max(r["rel_error"], floor) for r in rows]
    ax.plot(depths, values, color="tab:blue", linewidth=0.8)
    exact = [(d, v) for d, v, r in zip(depths, values, rows, strict=True) if r["rel_error"] == 0]
    ax.scatter([d for d, _ in exact], [v for _, v in exact], facecolors="none",
               edgecolors="tab:blue", label="exact match", zorder=3)
    inexact = [(d, v) for d, v, r in zip(depths, values, rows, strict=True) if r["rel_error"] > 0]
    ax.scatter([d for d, _ in inexact], [v for _, v in inexact], color="tab:blue", zorder=3)
    jump = diff.first_jump
    if jump is not None:
        ax.scatter([jump["depth"]], [jump["rel_error"]], s=120, color="tab:red", zorder=4,
                   label="adds the most error" if diff.dequantised else "error jumps")
        ax.annotate(shorten(f"{jump['layer']} ({jump['op_type']})", LABEL_WIDTH),
                    (jump["depth"], jump["rel_error"]), textcoords="offset points",
                    xytext=(8, 8), color="tab:red")
    ax.set_yscale("log")
    ax.set(title=shorten(f"Per-layer error: {diff.profile}", 80),
           xlabel="depth (node in the executed graph)",
           ylabel="relative error ‖device − ref‖ / ‖ref‖")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_latency(frame: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Accuracy against median latency, one labelled point per variant
    (``Sweep.accuracy()``'s table): up and to the left is better."""
    fig, ax = _axes(ax, 7, 4.5)
    if frame.empty:
        _empty(ax, "no points")
        return fig
    for _, row in frame.iterrows():
        ax.scatter([row["median_ms"]], [row["accuracy"]], s=50, zorder=3)
        ax.annotate(shorten(str(row["point"]), LABEL_WIDTH), (row["median_ms"], row["accuracy"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    metric = " / ".join(sorted(set(frame["metric"])))
    ax.set(title="Accuracy against latency, one point per variant",
           xlabel="median latency (ms)", ylabel=f"{metric} with the fp32 model on the host")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
