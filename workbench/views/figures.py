"""The HTML report's figures as inline SVG: latency distribution, top layers by time, time
by op type, and layer time against MACs.

They show what the matplotlib figures of :mod:`workbench.plots` show, in the same
colours (:mod:`workbench.plots.palette`), drawn by :mod:`workbench.views.svg`
without matplotlib. Every shape carries its full name and values as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.plots.palette import (
    LATENCY_COLOR,
    MARKER_COLOR,
    colors_of,
    histogram_bins,
    op_times,
    op_totals,
)
from workbench.profiling._text import fmt_number, fmt_si, is_number, shorten
from workbench.profiling.profile import layer_time_us
from workbench.views.svg import Axis, Canvas, frame, same_value, text_width

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

WIDTH = 760.0
LABEL_WIDTH = 28
TIME_LABEL = "median time per run (µs)"
ROW = 22.0
#: the slowest layers the report's bar figure shows
TOP_LAYERS = 15


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, length, colour, the note after it and its tooltip."""

    name: str
    value: float
    color: str
    note: str
    tip: str


def _titled(profile: Profile, text: str, *more: str) -> tuple[Canvas, float]:
    canvas = Canvas(WIDTH, 0, f"{text} — {profile.label}")
    return canvas, canvas.title([f"{text} — {profile.label}", *more], profile.caveat)


def _empty(canvas: Canvas, top: float, message: str) -> str:
    canvas.text(WIDTH / 2, top + 40, message, anchor="middle", color="grey")
    canvas.height = top + 80
    return canvas.svg()


def bar_figure(profile: Profile, text: str, bars: list[Bar], x_label: str, y_label: str,
               legend: dict[str, str] | None = None) -> str:
    """Horizontal bars from the top, longest first as given, each labelled on the left."""
    canvas, top = _titled(profile, text)
    if not bars:
        return _empty(canvas, top, "no per-layer times")
    names = [shorten(bar.name, LABEL_WIDTH) for bar in bars]
    left = 30 + max(text_width(name) for name in names) + 10
    x = Axis(0, max(bar.value for bar in bars) * 1.15 or 1, left, WIDTH - 20)
    bottom = top + ROW * len(bars) + 4
    y = Axis(0, 1, bottom, top)  # not drawn: the names are the vertical axis
    frame(canvas, x, y, x_label, y_label, y_ticks=False, y_label_x=14)
    for i, (bar, name) in enumerate(zip(bars, names, strict=True)):
        middle = top + ROW * i + ROW / 2 + 2
        canvas.rect(left, middle - 8, x(bar.value) - left, 16, bar.color, tip=bar.tip,
                    css="bar")
        canvas.text(left - 6, middle, name, anchor="end", tip=bar.name)
        canvas.text(x(bar.value) + 4, middle, bar.note, size=11)
    height = bottom + 50
    if legend:
        height += canvas.legend(list(legend.items()), left, height, "op type")
    canvas.height = height
    return canvas.svg()


def top_layers_svg(profile: Profile, n: int = TOP_LAYERS) -> str:
    """Bars of the ``n`` slowest layers' median time, coloured by op type, with their share."""
    layers = [layer for layer in profile.top_layers(n) if layer_time_us(layer) is not None]
    colors = colors_of(profile, layers)
    bars = []
    for layer in layers:
        time, op = layer_time_us(layer) or 0.0, str(layer.get("op_type"))
        share = f"{100 * layer['share']:.1f} %" if is_number(layer.get("share")) else ""
        bars.append(Bar(str(layer.get("name")), time, colors[op], share,
                        f"{layer.get('name')} ({op}): {fmt_number(time)} µs"
                        + (f", {share} of the run" if share else "")))
    return bar_figure(profile, f"Top {len(bars)} layers by time", bars, TIME_LABEL, "layer",
                      colors)


def time_by_op_type_svg(profile: Profile) -> str:
    """Bars of the summed median time per op type, slowest first, with its share."""
    ranked = op_totals(op_times(profile))
    colors = colors_of(profile)
    grand = sum(total for _, total in ranked)
    bars = [Bar(op, total, colors[op], f"{100 * total / grand:.1f} %" if grand else "",
                f"{op}: {fmt_number(total)} µs in all") for op, total in ranked]
    return bar_figure(profile, "Time by op type", bars, f"summed {TIME_LABEL}", "op type")


def histogram(samples: list[float], bins: int) -> tuple[list[float], list[int]]:
    """Equal-width bins over the finite samples' range: the ``bins + 1`` edges and each
    bin's count (the last bin holds its upper edge)."""
    samples = [value for value in samples if math.isfinite(value)]
    low, high = min(samples), max(samples)
    if same_value(low, high):
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    counts = [0] * bins
    for value in samples:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return [low + i * width for i in range(bins + 1)], counts


def latency_svg(profile: Profile) -> str:
    """A histogram of the timed runs' latency with its median and p90, beside the runs in
    the order they ran."""
    # a NaN or infinite run (a broken clock) has no place on an axis: the finite ones are drawn
    runs = [(i, value) for i, value in enumerate(profile.latency_samples)
            if math.isfinite(value)]
    samples = [value for _, value in runs]
    canvas, top = _titled(profile, "Latency distribution")
    if not samples:
        return _empty(canvas, top, "no latency samples")
    stats = profile.latency
    markers = [(key, float(stats[key]), dash) for key, dash in (("median", None), ("p90", "5 3"))
               if is_number(stats.get(key))]
    bottom = top + 220
    edges, counts = histogram(samples, histogram_bins(len(samples)))
    x = Axis(edges[0], edges[-1], 70, 440)
    y = Axis(0, max(counts) * 1.1, bottom, top, whole=True)
    frame(canvas, x, y, "latency per run (ms)", "runs")
    for count, start, end in zip(counts, edges, edges[1:], strict=False):
        canvas.rect(x(start), y(count), x(end) - x(start) - 0.5, bottom - y(count),
                    LATENCY_COLOR, tip=f"{count} runs from {fmt_number(start)} to "
                    f"{fmt_number(end)} ms", css="bin")
    for _, value, dash in markers:
        canvas.line(x(value), top, x(value), bottom, MARKER_COLOR, width=1.5, dash=dash)
    order = Axis(0, max(runs[-1][0], 1), 540, WIDTH - 20)
    low, high = min(samples), max(samples)
    pad = (high - low) * 0.08 or max(abs(high) * 0.01, 0.01)
    value_axis = Axis(low - pad, high + pad, bottom, top)
    frame(canvas, order, value_axis, "timed run (index)", "latency (ms)")
    for i, value in runs:
        canvas.circle(order(i), value_axis(value), 2.2, LATENCY_COLOR,
                      tip=f"run {i}: {fmt_number(value)} ms", css="run")
    for _, value, dash in markers:
        canvas.line(540, value_axis(value), WIDTH - 20, value_axis(value), MARKER_COLOR,
                    width=1.5, dash=dash)
    legend = [(f"{key} {fmt_number(value)} ms", MARKER_COLOR) for key, value, _ in markers]
    canvas.height = bottom + 50 + canvas.legend(legend, 70, bottom + 50,
                                                dashes=[dash for _, _, dash in markers])
    return canvas.svg()


def time_vs_macs_svg(profile: Profile) -> str:
    """Per-layer median time against MACs on log axes, with lines of constant GMAC/s."""
    layers = [(layer, float(layer["macs"]), layer_time_us(layer) or 0.0)
              for layer in profile.layers if is_number(layer.get("macs"))
              and layer["macs"] > 0 and (layer_time_us(layer) or 0) > 0]
    if not layers:
        canvas, top = _titled(profile, "Layer time vs MACs")
        return _empty(canvas, top, "no layers with both MACs and times")
    macs, times = [m for _, m, _ in layers], [t for _, _, t in layers]
    achieved = sum(macs) / (sum(times) * 1e3)
    canvas, top = _titled(profile, "Layer time vs MACs",
                          f"achieved {fmt_number(achieved)} GMAC/s over these layers")
    bottom = top + 340
    x = Axis(min(macs) / 2, max(macs) * 2, 80, WIDTH - 20, log=True)
    y = Axis(min(times) / 3, max(times) * 3, bottom, top, log=True)
    frame(canvas, x, y, "MACs per run (multiply-accumulates)", TIME_LABEL)
    _rate_lines(canvas, x, y, [m / (t * 1e3) for m, t in zip(macs, times, strict=True)])
    colors = colors_of(profile, [layer for layer, _, _ in layers])
    for layer, mac, time in layers:
        op = str(layer.get("op_type"))
        canvas.circle(x(mac), y(time), 4, colors[op], css="layer",
                      tip=f"{layer.get('name')} ({op}): {fmt_si(mac)}MAC, "
                      f"{fmt_number(time)} µs, {fmt_number(mac / (time * 1e3))} GMAC/s")
    canvas.height = bottom + 50 + canvas.legend(list(colors.items()), 80, bottom + 50,
                                                "op type")
    return canvas.svg()


def _rate_lines(canvas: Canvas, x: Axis, y: Axis, rates: list[float]) -> None:
    """Dotted lines of constant GMAC/s, a power of ten apart around the layers' rates, each
    cut to the plot and labelled where it leaves it."""
    for exponent in range(math.floor(math.log10(min(rates))),
                          math.ceil(math.log10(max(rates))) + 1):
        # time_us = macs / (rate * 1e3): on log axes, log(time) = log(macs) - shift
        shift = exponent + 3
        start = max(x.low, y.low + shift)
        end = min(x.high, y.high + shift)
        if not end > start:
            continue
        points = [(x(10.0 ** v), y(10.0 ** (v - shift))) for v in (start, end)]
        (x1, y1), (x2, y2) = points
        canvas.line(x1, y1, x2, y2, "grey", width=0.8, dash="2 3", css="rate")
        canvas.text(x2 - 3, y2 + (9 if end < x.high else -8), f"{fmt_si(10.0 ** exponent * 1e9)}"
                    "MAC/s", anchor="end", size=10, color="grey")


def report_figures(profile: Profile) -> list[tuple[str, str]]:
    """The figures that have data to show, as (alt text, SVG)."""
    timed = [layer for layer in profile.layers if layer_time_us(layer) is not None]
    chosen: list[tuple[str, Callable[[Profile], str]]] = []
    if profile.latency_samples:
        chosen.append(("latency distribution", latency_svg))
    if timed:
        chosen += [("top layers by time", top_layers_svg),
                   ("time by op type", time_by_op_type_svg)]
    if any(is_number(layer.get("macs")) and layer["macs"] > 0 for layer in timed):
        chosen.append(("time vs MACs", time_vs_macs_svg))
    return [(alt, draw(profile)) for alt, draw in chosen]
