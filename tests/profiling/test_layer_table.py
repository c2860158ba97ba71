"""The per-layer table: time and share come from one statistic, the median, named in the header."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.jobs.document import layer_table
from workbench.profiling import Profile

#: per-run durations (µs) with a skewed first row: its mean (300) is above the
#: second row's (150) while its median (100) is below it
DURATIONS = {"conv1": [100.0, 100.0, 700.0], "relu1": [150.0, 150.0, 150.0],
             "conv2": [40.0, 60.0, 50.0, 45.0]}


def _rows() -> list[dict[str, Any]]:
    return [{"name": name, "op_type": "Conv" if name.startswith("conv") else "Relu",
             "original_nodes": [name], "calls": 1, "durations_us": durations}
            for name, durations in DURATIONS.items()]


def _median_shares(medians: dict[str, float]) -> dict[str, float]:
    total = sum(medians.values())
    return {name: median / total for name, median in medians.items()}


def test_a_layers_share_is_its_median_over_the_sum_of_the_medians(conv_model: Path) -> None:
    table = layer_table(_rows(), wb.load_model(conv_model))
    expected = _median_shares({name: statistics.median(durations)
                               for name, durations in DURATIONS.items()})
    assert {row["name"]: row["share"] for row in table} == pytest.approx(expected)
    assert {row["name"]: row["duration_us"]["median"] for row in table} == pytest.approx(
        {name: statistics.median(durations) for name, durations in DURATIONS.items()})


def test_a_slower_median_never_shows_a_smaller_share_whatever_the_mean(conv_model: Path) -> None:
    table = {row["name"]: row for row in layer_table(_rows(), wb.load_model(conv_model))}
    skewed, steady = table["conv1"], table["relu1"]
    assert skewed["duration_us"]["mean"] > steady["duration_us"]["mean"]
    assert skewed["duration_us"]["median"] < steady["duration_us"]["median"]
    assert skewed["share"] < steady["share"]


def test_a_measured_profiles_shares_come_from_its_layer_medians(conv_model: Path) -> None:
    profile = wb.profile(conv_model, warmup=1, runs=3, profile_runs=3)
    medians = {row["name"]: row["duration_us"]["median"] for row in profile.layers}
    assert {row["name"]: row["share"] for row in profile.layers} == pytest.approx(
        _median_shares(medians))


def test_an_estimates_shares_come_from_its_layer_medians(conv_model: Path) -> None:
    estimate = wb.targets.get("raspberry-pi-5").estimate(wb.load_model(conv_model))
    medians = {row["name"]: row["duration_us"]["median"] for row in estimate.layers}
    assert {row["name"]: row["share"] for row in estimate.layers} == pytest.approx(
        _median_shares(medians))


def test_the_text_summary_header_names_the_statistic_of_time_and_share(
        profile: Profile) -> None:
    text = profile.summary()
    header = next(line for line in text.splitlines() if line.startswith("#  layer"))
    assert re.search(r"median µs\s+share of all layers", header)
    assert "by median time per run" in text


def test_the_html_report_header_names_the_statistic_of_time_and_share(profile: Profile) -> None:
    assert '<th class="n">median µs</th><th class="n">share of all layers</th>' in profile.to_html()


def test_the_sum_the_shares_are_of_shows_beside_the_latency_in_every_view(
        profile: Profile) -> None:
    from workbench.profiling import _text as fmt

    total = fmt.fmt_number(sum(row["duration_us"]["median"] for row in profile.layers) / 1000)
    assert total != fmt.fmt_number(profile.latency["median"])  # not the latency
    summary = profile.summary().splitlines()
    latency = next(i for i, line in enumerate(summary) if line.startswith("latency"))
    assert summary[latency + 1].startswith(f"layers    all {total} ms per run")
    assert f"<th>all layers</th><td>{total} ms per run" in profile.to_html()
    assert f"all layers {total} ms (what the shares are of)" in \
        profile._repr_mimebundle_()["text/html"]


def _header_cells(html: str) -> list[str]:
    return re.findall(r"<th(?: class=\"n\")?>(.*?)</th>", html.split("</thead>")[0])


def test_a_page_of_the_html_table_numbers_its_rows_from_the_pages_first(
        profile: Profile) -> None:
    from workbench.views.layers import layer_html

    page = layer_html(profile.layers[1:3], first=1, row_css="row")
    numbers = re.findall(r'<tr class="row"><td class="n">(\d+)</td><td>(.*?)</td>', page)
    assert numbers == [("2", profile.layers[1]["name"]), ("3", profile.layers[2]["name"])]
    assert _header_cells(page)[0] == "#"


def test_the_provider_column_sits_after_the_op_type_with_the_rows_provider(
        profile: Profile) -> None:
    from workbench.views.layers import HEADERS, layer_html

    table = layer_html(profile.layers[:1], with_provider=True)
    assert _header_cells(table) == [*HEADERS[:2], "provider", *HEADERS[2:]]
    cells = re.findall(r"<td(?: class=\"n\")?>(.*?)</td>", table)
    assert cells[2] == profile.layers[0]["provider"] == "CPUExecutionProvider"


def test_the_sort_choices_are_worded_as_the_headers_of_their_columns() -> None:
    from workbench.profiling.layer_query import SORT_KEYS
    from workbench.views.layers import HEADERS, PROVIDER_HEADER, SORT_CHOICES

    labels = dict(SORT_CHOICES)
    assert labels["median µs"] == "time" and labels["share of all layers"] == "share"
    assert {key for _label, key in SORT_CHOICES} <= set(SORT_KEYS)
    assert set(labels) - {"execution order"} <= {*HEADERS, PROVIDER_HEADER}
