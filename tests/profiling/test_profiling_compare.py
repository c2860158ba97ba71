"""compare() matches layers across profiles by the original nodes they cover.

These tests read the per-layer table, ``compare(...).to_dataframe()``; speed-ups,
winners, labels and the views are in test_comparison.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from workbench.profiling import Profile, compare, compare_latency


def _split_fused_conv(document: dict[str, Any]) -> dict[str, Any]:
    """Another backend: runs conv1+bn1 and relu1 as two kernels, with other names."""
    layers = document["layers"]
    fused = layers[1]
    conv = {**fused, "name": "fused_conv1_bn1", "original_nodes": ["conv1", "bn1"],
            "duration_us": {"count": 1, "mean": 700.0, "median": 700.0}}
    relu = {**fused, "name": "relu1_kernel", "op_type": "Relu", "original_nodes": ["relu1"],
            "duration_us": {"count": 1, "mean": 50.0, "median": 50.0}, "macs": None}
    document["layers"] = [layers[0], conv, relu, *layers[2:]]
    return document


@pytest.fixture
def pair(document_factory: Any) -> list[Profile]:
    first = Profile(document_factory(label="fused"))
    second = Profile(_split_fused_conv(document_factory(label="split", scale=2.0)))
    return [first, second]


def _row(frame: Any, node: str) -> Any:
    matches = frame[frame["original_nodes"].str.split(", ").apply(lambda nodes: node in nodes)]
    assert len(matches) == 1
    return matches.iloc[0]


def test_layers_covering_the_same_original_nodes_are_one_row(pair: list[Profile]) -> None:
    frame = compare(pair).to_dataframe()
    row = _row(frame, "relu1")
    assert row["original_nodes"] == "conv1, bn1, relu1"
    assert row["fused: time_us_median"] == pair[0].layers[1]["duration_us"]["median"]
    assert row["split: time_us_median"] == 700.0 + 50.0


def test_layers_are_matched_by_nodes_not_by_name(pair: list[Profile]) -> None:
    row = _row(compare(pair).to_dataframe(), "conv2_pw")  # same name in both here; nodes decide
    assert not math.isnan(row["split: time_us_median"])
    assert row["split: time_us_median"] == pytest.approx(2 * row["fused: time_us_median"],
                                                         rel=0.2)


def test_rows_without_original_nodes_match_by_name(pair: list[Profile]) -> None:
    frame = compare(pair).to_dataframe()
    layout = frame[frame["layer"] == "input_nchwc"]
    assert len(layout) == 1
    assert layout.iloc[0][["fused: time_us_median", "split: time_us_median"]].notna().all()


def test_compare_has_time_share_and_speedup_columns_per_profile_label(
        pair: list[Profile]) -> None:
    columns = list(compare(pair).to_dataframe().columns)
    assert columns == ["layer", "op_type", "original_nodes", "fused: time_us_median",
                       "fused: share", "split: time_us_median", "split: share",
                       "split: speedup", "winner"]


def test_compare_sorts_the_slowest_groups_first(pair: list[Profile]) -> None:
    frame = compare(pair).to_dataframe()
    slowest = frame[["fused: time_us_median", "split: time_us_median"]].max(axis=1)
    assert list(slowest) == sorted(slowest, reverse=True)


def test_a_layer_missing_from_one_profile_shows_nan(pair: list[Profile],
                                                    document_factory: Any) -> None:
    document = document_factory(label="no softmax")
    document["layers"] = [la for la in document["layers"] if la["name"] != "Softmax_0"]
    row = _row(compare([pair[0], Profile(document)]).to_dataframe(), "softmax")
    assert math.isnan(row["no softmax: time_us_median"])


def test_compare_handles_an_estimate_with_missing_fields(profile: Profile,
                                                         estimate_profile: Profile) -> None:
    estimate_profile.document["layers"][2]["duration_us"]["median"] = None
    del estimate_profile.document["layers"][3]["share"]  # not schema-valid, but tolerated
    frame = compare([profile, estimate_profile]).to_dataframe()
    assert len(frame) == len(profile.layers)
    label = estimate_profile.label
    assert frame[f"{label}: time_us_median"].isna().sum() == 1


def test_repeated_labels_get_numbered(profile: Profile) -> None:
    frame = compare([profile, profile]).to_dataframe()
    assert f"{profile.label} #2: share" in frame.columns


def test_the_column_helpers_name_the_frame_columns(pair: list[Profile]) -> None:
    comparison = compare(pair)
    frame = comparison.to_dataframe()
    for index, label in enumerate(comparison.labels):
        assert comparison.time_column(index) in frame.columns
        assert comparison.share_column(label) in frame.columns
    assert comparison.speedup_column("split") in frame.columns


def test_compare_latency_puts_the_headline_numbers_side_by_side(
        profile: Profile, estimate_profile: Profile) -> None:
    frame = compare_latency([profile, estimate_profile])
    assert list(frame.columns) == ["label", "kind", "count", "median_ms", "p90_ms", "mean_ms",
                                   "std_ms", "peak_rss_mib"]
    assert list(frame["kind"]) == ["measured", "estimate"]
    assert frame.loc[0, "median_ms"] == profile.latency["median"]
    assert math.isnan(frame.loc[1, "std_ms"])
    peak = profile.document["memory"]["peak_rss_after_runs_bytes"]
    assert frame.loc[0, "peak_rss_mib"] == peak / 2**20  # memory next to latency
    assert math.isnan(frame.loc[1, "peak_rss_mib"])
