"""Several profiles side by side: matched layers, end-to-end latency, and a sweep's points."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.plots._figure import (
    LABEL_WIDTH,
    TIME_LABEL,
    _axes,
    _empty,
    _pyplot,
    _tagged_label,
    _title,
)
from workbench.profiling._text import is_number, shorten

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile
    from workbench.sweeps import Sweep


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
