"""The HTML report's figures: inline SVG drawn by the project, read back as XML.

Each figure is parsed and its shapes measured: bars against the layers' times, the
histogram's bins against the runs, points against the layers with MACs.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from workbench.profiling import Profile
from workbench.profiling.profile import layer_time_us
from workbench.views.figures import (
    histogram,
    latency_svg,
    time_by_op_type_svg,
    time_vs_macs_svg,
    top_layers_svg,
)
from workbench.views.svg import decade_ticks, linear_ticks


def _shapes(svg: str, tag: str, css: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter(tag) if e.get("class") == css]


def _tip(element: ET.Element) -> str:
    title = element.find("title")
    assert title is not None and title.text is not None
    return title.text


def test_the_report_holds_its_four_figures_as_svg_that_parses(profile: Profile) -> None:
    html = profile.to_html()
    figures = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    labels = [ET.fromstring(svg).get("aria-label") for svg in figures]
    assert [label.split(" — ")[0] for label in labels if label] == [
        "Latency distribution", "Top 7 layers by time", "Time by op type",
        "Layer time vs MACs"]
    assert "data:image/png" not in html


def test_top_layers_draw_one_bar_per_layer_with_widths_proportional_to_time(
        profile: Profile) -> None:
    bars = _shapes(top_layers_svg(profile), "rect", "bar")
    layers = profile.top_layers()
    assert len(bars) == len(layers)
    widths = [float(bar.get("width", 0)) for bar in bars]
    times = [layer_time_us(layer) or 0.0 for layer in layers]
    for width, time in zip(widths, times, strict=True):
        assert width / widths[0] == pytest.approx(time / times[0], abs=0.01)
    assert [_tip(bar).split(" (")[0] for bar in bars] == [layer["name"] for layer in layers]


def test_an_op_type_has_one_colour_in_every_figure_and_in_the_png_figures(
        profile: Profile) -> None:
    from matplotlib.colors import to_hex

    from workbench.plots.layers import time_by_op_type

    def op_of(tip: str) -> str:
        return tip.split(" (")[1].split(")")[0] if " (" in tip else tip.split(":")[0]

    seen: dict[str, set[str]] = {}
    for svg, css in ((top_layers_svg(profile), "bar"), (time_by_op_type_svg(profile), "bar"),
                     (time_vs_macs_svg(profile), "layer")):
        for shape in _shapes(svg, "rect", css) + _shapes(svg, "circle", css):
            seen.setdefault(op_of(_tip(shape)), set()).add(str(shape.get("fill")))
    assert len(seen) >= 3 and all(len(fills) == 1 for fills in seen.values())
    colours = {op: fills.pop() for op, fills in seen.items()}
    assert len(set(colours.values())) == len(colours)
    # the PNG figure's bars, as matplotlib drew them
    ax = time_by_op_type(profile).axes[0]
    drawn = {label.get_text(): to_hex(bar.get_facecolor())
             for label, bar in zip(ax.get_yticklabels(), ax.patches, strict=True)}
    assert colours == {op: c for op, c in drawn.items() if op in colours}


def test_time_by_op_type_sums_the_layers_of_each_type(profile: Profile) -> None:
    bars = _shapes(time_by_op_type_svg(profile), "rect", "bar")
    conv = sum(layer_time_us(la) or 0.0 for la in profile.layers if la["op_type"] == "Conv")
    softmax = sum(layer_time_us(la) or 0.0 for la in profile.layers
                  if la["op_type"] == "Softmax")
    widths = {_tip(bar).split(":")[0]: float(bar.get("width", 0)) for bar in bars}
    assert len(bars) == len({layer["op_type"] for layer in profile.layers})
    assert widths["Softmax"] / widths["Conv"] == pytest.approx(softmax / conv, abs=0.005)


def test_the_latency_histogram_counts_every_run_once(profile: Profile) -> None:
    svg = latency_svg(profile)
    bins = _shapes(svg, "rect", "bin")
    counts = [int(_tip(rect).split(" runs")[0]) for rect in bins]
    assert sum(counts) == len(profile.latency_samples) == 40
    tallest = max(range(len(bins)), key=lambda i: counts[i])
    for rect, count in zip(bins, counts, strict=True):
        assert float(rect.get("height", 0)) == pytest.approx(
            float(bins[tallest].get("height", 0)) * count / counts[tallest], abs=0.02)
    assert len(_shapes(svg, "circle", "run")) == 40


def test_a_histogram_of_equal_runs_puts_them_all_in_one_bin() -> None:
    edges, counts = histogram([3.0] * 7, 5)
    assert sum(counts) == 7 and max(counts) == 7
    assert edges[0] < 3.0 < edges[-1]


def test_a_nan_or_infinite_run_is_left_out_of_the_latency_figure(
        profile_document: dict[str, Any]) -> None:
    samples = profile_document["latency"]["samples_ms"]
    samples[3], samples[7] = float("nan"), float("inf")
    profile = Profile(profile_document)
    html = profile.to_html()
    svg = next(s for s in re.findall(r"<svg .*?</svg>", html, flags=re.S)
               if "Latency distribution" in s)
    counts = [int(_tip(rect).split(" runs")[0]) for rect in _shapes(svg, "rect", "bin")]
    assert sum(counts) == len(samples) - 2
    runs = [_tip(dot).split(":")[0] for dot in _shapes(svg, "circle", "run")]
    assert "run 3" not in runs and "run 7" not in runs and "run 8" in runs
    assert not re.search(r'="[^"]*(nan|inf)', svg)


def test_a_profile_whose_runs_are_all_nan_says_it_has_no_latency_samples(
        profile_document: dict[str, Any]) -> None:
    profile_document["latency"]["samples_ms"] = [float("nan")] * 3
    assert "no latency samples" in latency_svg(Profile(profile_document))


def test_runs_that_differ_in_the_last_bit_draw_a_few_ticks(
        profile_document: dict[str, Any]) -> None:
    assert linear_ticks(5.0, 5.000000000000001) == [5.0]
    edges, counts = histogram([5.0, 5.000000000000001] * 4, 5)
    assert sum(counts) == 8 and edges[0] < 5.0 < edges[-1]
    profile_document["latency"]["samples_ms"] = [5.0, 5.000000000000001] * 20
    svg = latency_svg(Profile(profile_document))
    assert len(ET.fromstring(svg).findall("text")) < 60


def test_control_characters_in_a_name_keep_the_figure_well_formed(
        profile_document: dict[str, Any]) -> None:
    profile_document["layers"][0]["name"] = "a\x00b\x0bc"
    figures = re.findall(r"<svg .*?</svg>", Profile(profile_document).to_html(), flags=re.S)
    for svg in figures:
        ET.fromstring(svg)
    assert any("a\ufffdb\ufffdc" in svg for svg in figures)


def test_time_vs_macs_places_each_layer_with_macs(profile: Profile) -> None:
    points = _shapes(time_vs_macs_svg(profile), "circle", "layer")
    with_macs = [la for la in profile.layers if la["macs"]]
    assert sorted(_tip(p).split(" (")[0] for p in points) == sorted(la["name"]
                                                                    for la in with_macs)
    slow, fast = (next(p for p in points if _tip(p).startswith(name))
                  for name in ("Conv_2", "GlobalAveragePool_0"))
    # more MACs to the right, more time further up (smaller y)
    assert float(slow.get("cx", 0)) > float(fast.get("cx", 0))
    assert float(slow.get("cy", 0)) < float(fast.get("cy", 0))


def test_a_layer_name_with_markup_stays_text_in_the_report(
        profile_document: dict[str, Any]) -> None:
    name = 'conv<&"1>'
    profile_document["layers"][3]["name"] = name
    html = Profile(profile_document).to_html()
    assert 'conv<&"1>' not in html
    for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S):
        ET.fromstring(svg)
    texts = [e.text for e in ET.fromstring(top_layers_svg(Profile(profile_document))).iter(
        "text")]
    assert name in texts


def test_a_profile_without_layers_or_runs_draws_figures_that_say_so(
        profile_document: dict[str, Any]) -> None:
    profile_document["layers"] = []
    profile_document["latency"]["samples_ms"] = []
    profile = Profile(profile_document)
    assert "no per-layer times" in top_layers_svg(profile)
    assert "no latency samples" in latency_svg(profile)
    assert "no layers with both MACs and times" in time_vs_macs_svg(profile)


def test_ticks_fall_on_round_values_covering_the_range() -> None:
    assert linear_ticks(0, 1150) == [0, 200, 400, 600, 800, 1000]
    assert linear_ticks(2.44, 2.76) == pytest.approx([2.5, 2.6, 2.7])
    assert decade_ticks(30, 2e6) == [100, 1e3, 1e4, 1e5, 1e6]


def test_the_report_is_written_without_matplotlib(monkeypatch: pytest.MonkeyPatch,
                                                  profile: Profile) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any import of it now fails
    assert profile.to_html().count("<svg ") == 4
