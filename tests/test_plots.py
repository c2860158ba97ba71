"""Plots: each returns a titled figure with labelled axes, and marks non-hardware times."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench import plots
from workbench.profiling import Profile

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "formats" / "profile-1-synthetic.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def profile(document: dict[str, Any]) -> Profile:
    return Profile(copy.deepcopy(document))


@pytest.fixture
def emulated(document: dict[str, Any]) -> Profile:
    variant = copy.deepcopy(document)
    variant["kind"] = "emulated"
    variant["label"] = "on qemu"
    return Profile(variant)


@pytest.fixture
def estimate(document: dict[str, Any]) -> Profile:
    variant = copy.deepcopy(document)
    variant.update(kind="estimate", label="estimate", trace=None)
    variant["latency"] = {"samples_ms": [], "stats": {"count": 0, "mean": 2.0, "median": 2.0}}
    for layer in variant["layers"]:
        median = layer["duration_us"]["median"]
        layer["duration_us"] = {"count": 0, "mean": median, "median": median}
    return Profile(variant)


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


SINGLE: list[Callable[..., Any]] = [plots.latency_distribution, plots.top_layers,
                                    plots.time_by_op_type, plots.time_vs_macs]
MULTI: list[Callable[..., Any]] = [plots.compare_layers, plots.compare_latency]


def _assert_titled_and_labelled(fig: Any) -> None:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    for ax in fig.axes:
        assert ax.get_title()
        assert ax.get_xlabel()
        assert ax.get_ylabel()


@pytest.mark.parametrize("plot", SINGLE, ids=lambda f: f.__name__)
def test_single_profile_plot_returns_a_titled_figure_with_axis_labels(
        plot: Callable[..., Any], profile: Profile) -> None:
    fig = plot(profile)
    _assert_titled_and_labelled(fig)
    assert profile.label in fig.axes[0].get_title()


@pytest.mark.parametrize("plot", MULTI, ids=lambda f: f.__name__)
def test_comparison_plot_returns_a_titled_figure_with_axis_labels(
        plot: Callable[..., Any], profile: Profile, estimate: Profile) -> None:
    _assert_titled_and_labelled(plot([profile, estimate]))


@pytest.mark.parametrize("plot", SINGLE, ids=lambda f: f.__name__)
def test_plot_of_an_emulated_profile_says_so_in_the_title(plot: Callable[..., Any],
                                                          emulated: Profile) -> None:
    assert "EMULATED" in plot(emulated).axes[0].get_title()


@pytest.mark.parametrize("plot", SINGLE, ids=lambda f: f.__name__)
def test_plot_of_an_estimate_says_so_in_the_title(plot: Callable[..., Any],
                                                  estimate: Profile) -> None:
    assert "ESTIMATE" in plot(estimate).axes[0].get_title()


@pytest.mark.parametrize("plot", MULTI, ids=lambda f: f.__name__)
def test_comparison_including_an_emulated_profile_says_so_in_the_title(
        plot: Callable[..., Any], profile: Profile, emulated: Profile) -> None:
    assert "EMULATED" in plot([profile, emulated]).axes[0].get_title()


def test_plots_draw_into_a_given_axes(profile: Profile) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3)
    assert plots.top_layers(profile, ax=axes[0]) is fig
    assert plots.latency_distribution(profile, ax=axes[1]) is fig
    assert plots.compare_latency([profile], ax=axes[2]) is fig
    assert all(ax.get_title() for ax in axes)


def test_top_layers_draws_at_most_n_bars_with_short_labels(profile: Profile) -> None:
    fig = plots.top_layers(profile, n=3)
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert labels == ["Conv_2", "Conv_0", "Conv_1"]


def test_long_layer_names_are_truncated(document: dict[str, Any]) -> None:
    variant = copy.deepcopy(document)
    variant["layers"][3]["name"] = "model/backbone/stage4/block2/conv_pointwise/Conv2D"
    fig = plots.top_layers(Profile(variant), n=1)
    label = fig.axes[0].get_yticklabels()[0].get_text()
    assert len(label) <= plots.LABEL_WIDTH
    assert label.endswith("…")


def test_top_layers_has_a_legend_of_op_types(profile: Profile) -> None:
    legend = plots.top_layers(profile).axes[0].get_legend()
    assert {text.get_text() for text in legend.get_texts()} >= {"Conv", "Gemm"}


def test_time_vs_macs_uses_log_axes_and_reports_achieved_rate(profile: Profile) -> None:
    ax = plots.time_vs_macs(profile).axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert "GMAC/s" in ax.get_title()


def test_latency_distribution_without_samples_still_draws(estimate: Profile) -> None:
    _assert_titled_and_labelled(plots.latency_distribution(estimate))


def test_figure_png_returns_png_bytes_and_closes_the_figure(profile: Profile) -> None:
    import matplotlib.pyplot as plt

    fig = plots.top_layers(profile)
    data = plots.figure_png(fig)
    assert data.startswith(PNG_MAGIC)
    assert not plt.fignum_exists(fig.number)


def _delegated(document: dict[str, Any], label: str, placement: dict[str, str]) -> Profile:
    from workbench.profiling.delegation import delegation_section

    variant = copy.deepcopy(document)
    variant["label"] = label
    macs = {layer["original_nodes"][0]: layer["macs"] or 0 for layer in variant["layers"]
            if layer["original_nodes"]}
    nodes = [(node["name"], macs.get(node["name"], 0)) for node in variant["topology"]["nodes"]]
    variant["delegation"] = delegation_section(nodes, placement=placement, requested=["NPU"])
    return Profile(variant)


def _bar_rows(fig: Any) -> set[float]:
    return {round(patch.get_y() + patch.get_height() / 2, 3) for patch in fig.axes[0].patches}


def test_delegation_draws_one_stacked_bar_per_profile(document: dict[str, Any]) -> None:
    names = [node["name"] for node in document["topology"]["nodes"]]
    split = _delegated(document, "half", {n: "NPU" if i % 2 else "CPU"
                                          for i, n in enumerate(names)})
    whole = _delegated(document, "all", {n: "NPU" for n in names})
    fig = plots.delegation([split, whole])
    _assert_titled_and_labelled(fig)
    assert _bar_rows(fig) == {0.0, 1.0}
    widths = {}
    for patch in fig.axes[0].patches:
        row = round(patch.get_y() + patch.get_height() / 2)
        widths[row] = widths.get(row, 0.0) + patch.get_width()
    assert widths == {0: pytest.approx(100.0), 1: pytest.approx(100.0)}
    legend = fig.axes[0].get_legend()
    assert {text.get_text() for text in legend.get_texts()} == {"NPU", "CPU"}


def test_delegation_of_a_profile_without_the_section_draws_no_bar(profile: Profile) -> None:
    fig = plots.delegation(profile)
    _assert_titled_and_labelled(fig)
    assert not fig.axes[0].patches
    assert profile.label in fig.axes[0].get_title()


def test_a_model_named_in_cjk_draws_without_missing_glyph_warnings(
        document: dict[str, Any]) -> None:
    import warnings

    variant = copy.deepcopy(document)
    variant["model"]["name"] = "画像分類モデル"
    variant["label"] = "模型 v2"
    with warnings.catch_warnings(record=True) as caught:
        data = plots.figure_png(plots.latency_distribution(Profile(variant)))
    assert data.startswith(PNG_MAGIC)
    assert not [w for w in caught if "Glyph" in str(w.message)], [str(w.message) for w in caught]


@pytest.mark.parametrize("count", [3, 14])
def test_op_type_colours_are_matplotlibs_qualitative_maps(count: int) -> None:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from workbench.plots.palette import op_colors

    names = [f"Op{i}" for i in range(count)]
    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    assert op_colors(names) == {name: to_hex(cmap(i)) for i, name in enumerate(names)}
