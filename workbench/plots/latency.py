"""One profile's latency: its distribution over the timed runs, and several runs' drift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.plots._figure import _axes, _empty, _pyplot, _title
from workbench.plots.palette import LATENCY_COLOR, MARKER_COLOR, histogram_bins
from workbench.profiling._text import fmt_number, is_number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile


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
        hist_ax.hist(samples, bins=histogram_bins(len(samples)), color=LATENCY_COLOR, alpha=0.85)
    else:
        _empty(hist_ax, "no latency samples")
    for key, value, style in lines:
        hist_ax.axvline(value, color=MARKER_COLOR, linestyle=style,
                        label=f"{key} {fmt_number(value)} ms")
    hist_ax.set_title(_title("Latency distribution", [profile]))
    hist_ax.set_xlabel("latency per run (ms)")
    hist_ax.set_ylabel("runs")
    if lines:
        hist_ax.legend(loc="upper right", fontsize="small")
    if strip_ax is not None:
        if samples:
            strip_ax.plot(range(len(samples)), samples, ".", color=LATENCY_COLOR, markersize=4)
        else:
            _empty(strip_ax, "no latency samples")
        for key, value, style in lines:
            strip_ax.axhline(value, color=MARKER_COLOR, linestyle=style, label=key)
        strip_ax.set_title("Latency by run order")
        strip_ax.set_xlabel("timed run (index)")
        strip_ax.set_ylabel("latency (ms)")
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
