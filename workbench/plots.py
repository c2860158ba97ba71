"""Matplotlib figures drawn from a :class:`~workbench.profiling.Profile` (or several).

Every function takes the profile(s) and an optional ``ax`` to draw into, and
returns the :class:`~matplotlib.figure.Figure`. Titles name the profile, axis
labels carry units, and a profile whose times are not hardware times
(emulated board, catalog estimate) says so in the title. matplotlib loads on
first use; without a display it draws with the Agg backend.
"""

from __future__ import annotations

import io
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.profiling._text import fmt_number, fmt_si, is_number, shorten
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.layer_diff import LayerDiff
    from workbench.profiling.profile import Profile
    from workbench.sweeps import Sweep

LABEL_WIDTH = 28
TIME_LABEL = "median time per run (µs)"


def _pyplot() -> Any:
    import matplotlib

    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _script_fonts(matplotlib)
    return plt


#: families that cover Chinese, Japanese and Korean, where installed (fonts-noto-cjk, ...)
_WIDE_FONTS = ("Noto Sans CJK", "Noto Sans SC", "Noto Sans JP", "Source Han Sans", "WenQuanYi",
               "Droid Sans Fallback", "Unifont")


def _script_fonts(matplotlib: Any) -> None:
    """Let labels in other scripts (a model named in CJK) fall back to an installed font that
    has their glyphs: matplotlib tries the families of ``font.family`` glyph by glyph."""
    # A glyph no installed font has draws as a box; a warning per glyph and per draw says no
    # more (the label's text stays whole in the HTML report and the tables). Set on every use:
    # whoever restores the warning filters (a test runner, catch_warnings) drops it.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
    if getattr(_script_fonts, "done", False):
        return
    _script_fonts.done = True  # type: ignore[attr-defined]
    from matplotlib import font_manager

    wide = sorted({f.name for f in font_manager.fontManager.ttflist
                   if f.name.startswith(_WIDE_FONTS)})
    if wide and matplotlib.rcParams["font.family"] == ["sans-serif"]:
        matplotlib.rcParams["font.family"] = ["sans-serif", *wide]


def _axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new_ax = _pyplot().subplots(figsize=(width, height))
    return fig, new_ax


def _title(text: str, profiles: Sequence[Profile]) -> str:
    if len(profiles) == 1:
        caveat = profiles[0].caveat
        return f"{text} — {profiles[0].label}" + (f"\n[{caveat}]" if caveat else "")
    # Several profiles: the legend or tick labels tag each; the title warns once.
    tags = [tag for tag, flag in (("EMULATED", any(p.is_emulated for p in profiles)),
                                  ("ESTIMATE", any(p.is_estimate and not p.is_emulated
                                                   for p in profiles))) if flag]
    return text + (f"\n[includes {' and '.join(tags)} profiles: not hardware times]"
                   if tags else "")


def _tagged_label(profile: Profile, label: str) -> str:
    if profile.is_emulated:
        return f"{label} [EMULATED]"
    return f"{label} [ESTIMATE]" if profile.is_estimate else label


def _op_colors(op_types: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    names = list(dict.fromkeys(op_types))
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")


def _timed_layers(profile: Profile, n: int | None = None) -> list[dict[str, Any]]:
    return [layer for layer in profile.top_layers(n) if layer_time_us(layer) is not None]


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes; the figure is closed afterwards."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()


def latency_distribution(profile: Profile, ax: Axes | None = None) -> Figure:
    """Histogram of the timed runs' latency with median and p90 lines, plus a run-order strip.

    With ``ax`` only the histogram is drawn, into that axes.
    """
    samples = profile.latency_samples
    stats = profile.latency
    fig: Figure
    if ax is None:
        fig, axes = _pyplot().subplots(1, 2, figsize=(10, 3.8),
                                       gridspec_kw={"width_ratios": [3, 2]})
        hist_ax, strip_ax = axes
    else:
        (fig, hist_ax), strip_ax = _axes(ax, 10, 3.8), None
    lines = [(key, stats.get(key), style) for key, style in (("median", "-"), ("p90", "--"))
             if is_number(stats.get(key))]
    if samples:
        bins = max(5, min(40, int(math.sqrt(len(samples)) * 2)))
        hist_ax.hist(samples, bins=bins, color="#4c72b0", alpha=0.85)
    else:
        _empty(hist_ax, "no latency samples")
    for key, value, style in lines:
        hist_ax.axvline(value, color="#c44e52", linestyle=style,
                        label=f"{key} {fmt_number(value)} ms")
    hist_ax.set_title(_title("Latency distribution", [profile]))
    hist_ax.set_xlabel("latency per run (ms)")
    hist_ax.set_ylabel("runs")
    if lines:
        hist_ax.legend(loc="upper right", fontsize="small")
    if strip_ax is not None:
        if samples:
            strip_ax.plot(range(len(samples)), samples, ".", color="#4c72b0", markersize=4)
        else:
            _empty(strip_ax, "no latency samples")
        for key, value, style in lines:
            strip_ax.axhline(value, color="#c44e52", linestyle=style, label=key)
        strip_ax.set_title("Latency by run order")
        strip_ax.set_xlabel("timed run (index)")
        strip_ax.set_ylabel("latency (ms)")
    fig.tight_layout()
    return fig


def top_layers(profile: Profile, n: int = 15, ax: Axes | None = None) -> Figure:
    """Horizontal bars of the ``n`` slowest layers' median time, coloured by op type."""
    layers = _timed_layers(profile, n)
    fig, ax = _axes(ax, 9, 1.6 + 0.32 * max(len(layers), 3))
    colors = _op_colors([str(layer["op_type"]) for layer in layers])
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
    totals: dict[str, float] = {}
    for layer in _timed_layers(profile):
        op = str(layer["op_type"])
        totals[op] = totals.get(op, 0.0) + (layer_time_us(layer) or 0.0)
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    fig, ax = _axes(ax, 8, 1.6 + 0.32 * max(len(ranked), 3))
    colors = _op_colors([op for op, _ in ranked])
    ax.barh(range(len(ranked)), [t for _, t in ranked], color=[colors[op] for op, _ in ranked])
    ax.set_yticks(range(len(ranked)), [shorten(op, LABEL_WIDTH) for op, _ in ranked])
    ax.invert_yaxis()
    grand = sum(totals.values())
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
        colors = _op_colors([str(layer["op_type"]) for layer in layers])
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


def compare_layers(profiles: Sequence[Profile], n: int = 15, ax: Axes | None = None) -> Figure:
    """Grouped bars of the ``n`` slowest matched layers across profiles (see ``compare``)."""
    from workbench.profiling.compare import compare

    comparison = compare(profiles)
    frame = comparison.to_dataframe().head(n)
    fig, ax = _axes(ax, 9, 1.8 + 0.22 * max(len(frame), 3) * max(len(profiles), 1))
    height = 0.8 / max(len(profiles), 1)
    for index, (label, profile) in enumerate(zip(comparison.labels, profiles, strict=True)):
        times = [t if is_number(t) else 0.0 for t in frame[comparison.time_column(index)]]
        positions = [y - 0.4 + height * (index + 0.5) for y in range(len(frame))]
        ax.barh(positions, times, height=height, label=_tagged_label(profile, label))
    ax.set_yticks(range(len(frame)), [shorten(str(v), LABEL_WIDTH) for v in frame["layer"]],
                  fontsize="small")
    ax.invert_yaxis()
    if len(frame):
        ax.legend(fontsize="small", loc="lower right")
    else:
        _empty(ax, "no per-layer times")
    ax.set_title(_title(f"Top {len(frame)} layers across profiles", profiles))
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("layer (matched by original nodes)")
    fig.tight_layout()
    return fig


def compare_latency(profiles: Sequence[Profile], ax: Axes | None = None) -> Figure:
    """End-to-end latency per profile: median bar, p90 marker and the timed runs as dots."""
    from workbench.profiling.compare import unique_labels

    labels = unique_labels(profiles)
    fig, ax = _axes(ax, 9, 1.8 + 0.6 * max(len(profiles), 2))
    medians = [p.latency.get("median") for p in profiles]
    ax.barh(range(len(profiles)), [m if is_number(m) else 0.0 for m in medians],
            color="#4c72b0", alpha=0.6, label="median")
    legend: set[str] = set()
    for y, profile in enumerate(profiles):
        samples = profile.latency_samples
        if samples:  # a deterministic jitter, so the dots of one profile do not overlap
            offsets = [((i * 0.618) % 1 - 0.5) * 0.5 for i in range(len(samples))]
            ax.scatter(samples, [y + o for o in offsets], s=6, color="#222", alpha=0.5,
                       label=None if "runs" in legend else "timed runs")
            legend.add("runs")
        p90 = profile.latency.get("p90")
        if is_number(p90):
            ax.plot([p90, p90], [y - 0.35, y + 0.35], color="#c44e52",
                    label=None if "p90" in legend else "p90")
            legend.add("p90")
    ax.set_yticks(range(len(profiles)),
                  [textwrap.fill(shorten(_tagged_label(p, la), 60), 30)
                   for p, la in zip(profiles, labels, strict=True)], fontsize="small")
    ax.invert_yaxis()
    if profiles:
        ax.legend(fontsize="small", loc="best")
    ax.set_title(_title("End-to-end latency", profiles))
    ax.set_xlabel("latency per run (ms)")
    ax.set_ylabel("profile")
    fig.tight_layout()
    return fig


def delegation(profiles: Profile | Sequence[Profile], ax: Axes | None = None) -> Figure:
    """Share of the model's MACs per execution provider or delegate: one stacked bar per profile.

    CPU kernels are grey, nodes not seen are hatched; a model without MACs is
    shared by node count instead, and its bar says so.
    """
    from workbench.profiling.compare import unique_labels
    from workbench.profiling.delegation import UNSEEN_LABEL, is_cpu, shares

    many = list(profiles) if isinstance(profiles, Sequence) else [profiles]
    labels = unique_labels(many)
    fig, ax = _axes(ax, 9, 1.8 + 0.6 * max(len(many), 2))
    split = [shares(p.document.get("delegation")) for p in many]
    names = list(dict.fromkeys(name for found in split if found for name, _ in found[0]))
    accelerators = [n for n in names if n != UNSEEN_LABEL and not is_cpu(n)]
    colors = {**_op_colors(accelerators), UNSEEN_LABEL: "#eeeeee"}
    greys = ["#7f7f7f", "#a5a5a5", "#5f5f5f"]
    for index, name in enumerate(n for n in names if n != UNSEEN_LABEL and is_cpu(n)):
        colors[name] = greys[index % len(greys)]
    drawn: set[str] = set()
    ticks = []
    for y, (profile, label, found) in enumerate(zip(many, labels, split, strict=True)):
        tick = _tagged_label(profile, label) if len(many) > 1 else ""
        if found is None:
            ax.text(1, y, "no delegation data", va="center", fontsize="small", color="grey")
            ticks.append(tick)
            continue
        left = 0.0
        for name, share in found[0]:
            if share <= 0:
                continue
            unseen = name == UNSEEN_LABEL
            ax.barh(y, 100 * share, left=left, height=0.6, color=colors[name],
                    edgecolor="#999999" if unseen else "white", hatch="//" if unseen else None,
                    label=None if name in drawn else name)
            drawn.add(name)
            if share >= 0.08:
                ax.text(left + 50 * share, y, f"{100 * share:.0f} %", ha="center",
                        va="center", fontsize="x-small")
            left += 100 * share
        ticks.append(tick + ("\n(share of nodes: no MACs)" if found[1] == "nodes" else ""))
    ax.set_yticks(range(len(many)), [textwrap.fill(shorten(t, 60), 30) for t in ticks],
                  fontsize="small")
    ax.set_ylim(len(many) - 0.5, -0.5)  # first profile on top
    ax.set_xlim(0, 100)
    if drawn:
        ax.legend(title="provider / delegate", fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.25), ncol=min(4, len(drawn)))
    ax.set_title(_title("Share of MACs per provider or delegate", many))
    ax.set_xlabel("share of the model's MACs (%)")
    ax.set_ylabel("profile")
    fig.tight_layout()
    return fig


def sweep_overview(sweep: Sweep) -> Figure:
    """Latency and throughput against threads (one line per cluster), memory against batch."""
    plt = _pyplot()
    frame = sweep.to_dataframe()
    fig: Figure
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    x_axis = "threads" if "threads" in frame else frame.columns[0]
    groups = frame.groupby("cluster") if "cluster" in frame else [("all", frame)]
    for name, group in groups:
        group = group.sort_values(x_axis)
        low = group["median_ci_low"].fillna(group["median_ms"])
        high = group["median_ci_high"].fillna(group["median_ms"])
        axes[0].errorbar(group[x_axis], group["median_ms"],
                         yerr=[group["median_ms"] - low, high - group["median_ms"]],
                         marker="o", capsize=3, label=f"cluster {name}")
        axes[1].plot(group[x_axis], group["throughput_per_s"], marker="o", label=f"cluster {name}")
    axes[0].set(title="Median latency (95% CI)", xlabel=x_axis, ylabel="latency (ms)")
    axes[1].set(title="Throughput", xlabel=x_axis, ylabel="inferences per second")
    if "batch" in frame:
        memory = frame.groupby("batch")["peak_rss_mb"].max()
        axes[2].plot(memory.index, memory.values, marker="o")
        axes[2].set(title="Peak memory vs batch", xlabel="batch", ylabel="peak RSS (MB)")
    else:
        axes[2].bar(range(len(frame)), frame["peak_rss_mb"])
        axes[2].set(title="Peak memory per point", xlabel="point", ylabel="peak RSS (MB)")
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def latency_drift(profiles: Sequence[Profile], labels: Sequence[str]) -> Figure:
    """Latency against run index for several runs: drift and throttling show as slopes."""
    plt = _pyplot()
    fig: Figure
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for profile, label in zip(profiles, labels, strict=True):
        samples = profile.to_dict()["latency"]["samples_ms"]
        ax.plot(range(1, len(samples) + 1), samples, marker=".", linewidth=0.8, label=label)
    ax.set(title="Latency over the run (drift, throttling)", xlabel="run index",
           ylabel="latency (ms)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


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
