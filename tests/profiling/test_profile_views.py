"""What a Profile tells about itself: properties, text summary, DataFrames and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from workbench.profiling import Profile

LAYER_COLUMNS = ["name", "op_type", "kind", "original_nodes", "provider", "calls",
                 "time_us_median", "time_us_mean", "time_us_std", "time_us_min", "time_us_p90",
                 "share", "macs", "bytes", "gmacs_per_s"]


def test_properties_read_the_document(profile: Profile) -> None:
    assert (profile.kind, profile.model_name, profile.device_name, profile.backend_name) == (
        "measured", "tinycnn", "pi5", "onnxruntime")
    assert profile.latency is profile.document["latency"]["stats"]
    assert profile.layers is profile.document["layers"]
    assert not profile.is_emulated
    assert not profile.is_estimate
    assert profile.caveat is None


def test_label_defaults_to_model_on_device_with_backend(profile: Profile) -> None:
    assert profile.label == "tinycnn on pi5 (onnxruntime)"


def test_label_comes_from_the_document_when_set(document_factory: Any) -> None:
    assert Profile(document_factory(label="baseline")).label == "baseline"


def test_an_emulated_device_marks_the_profile_emulated_whatever_its_kind(
        document_factory: Any) -> None:
    document = document_factory()
    document["environment"]["emulated"] = True
    profile = Profile(document)
    assert profile.is_emulated
    assert "EMULATED" in (profile.caveat or "")


def test_summary_names_model_device_backend_and_latency(profile: Profile) -> None:
    text = profile.summary()
    for expected in ("tinycnn", "pi5", "onnxruntime 1.18.0", "measured", "median",
                     "p90", "cold", "session create"):
        assert expected in text


def test_summary_lists_the_slowest_layers_first(profile: Profile) -> None:
    text = profile.summary(top=3)
    assert "Top 3 of 7 layers" in text
    table = text.split("Top 3 of 7 layers")[1]
    assert table.index("Conv_2") < table.index("Conv_0") < table.index("Conv_1")
    assert "Softmax_0" not in table


def test_summary_shows_layout_rows_and_original_nodes(profile: Profile) -> None:
    text = profile.summary()
    assert "input_nchwc [layout]" in text
    assert "conv1, bn1, relu1" in text


def test_summary_of_an_emulated_profile_says_so_loudly(emulated_profile: Profile) -> None:
    assert "EMULATED — times are not hardware times" in emulated_profile.summary()
    assert "EMULATED" in repr(emulated_profile)


def test_summary_of_an_estimate_says_so(estimate_profile: Profile) -> None:
    assert "ESTIMATE" in estimate_profile.summary()


def test_dataframe_has_one_row_per_layer_in_execution_order(profile: Profile) -> None:
    frame = profile.to_dataframe()
    assert list(frame.columns) == LAYER_COLUMNS
    assert list(frame["name"]) == [layer["name"] for layer in profile.layers]


def test_dataframe_values_come_from_the_layer_rows(profile: Profile) -> None:
    frame = profile.to_dataframe().set_index("name")
    conv = next(layer for layer in profile.layers if layer["name"] == "Conv_0")
    assert frame.loc["Conv_0", "original_nodes"] == "conv1, bn1, relu1"
    assert frame.loc["Conv_0", "time_us_median"] == conv["duration_us"]["median"]
    assert frame.loc["Conv_0", "macs"] == conv["macs"]
    assert frame.loc["input_nchwc", "kind"] == "layout"
    assert frame["share"].sum() == pytest.approx(1.0)


def test_dataframe_marks_missing_values_as_missing(profile: Profile) -> None:
    frame = profile.to_dataframe().set_index("name")
    assert frame["macs"].isna()["Softmax_0"]
    assert frame["gmacs_per_s"].isna()["input_nchwc"]


def test_dataframe_of_an_estimate_has_nan_where_stats_are_missing(
        estimate_profile: Profile) -> None:
    frame = estimate_profile.to_dataframe()
    assert frame["time_us_std"].isna().all()
    assert frame["time_us_median"].notna().all()
    assert frame["provider"].isna().all()


def test_latency_dataframe_lists_the_timed_runs(profile: Profile) -> None:
    frame = profile.latency_dataframe()
    assert list(frame.columns) == ["run", "latency_ms"]
    assert list(frame["latency_ms"]) == profile.document["latency"]["samples_ms"]
    assert list(frame["run"]) == list(range(len(frame)))


def test_csv_parses_back_with_the_csv_module(tmp_path: Path, profile: Profile) -> None:
    text = profile.to_csv(tmp_path / "layers.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == LAYER_COLUMNS
    assert [row["name"] for row in rows] == [layer["name"] for layer in profile.layers]
    conv = rows[[layer["name"] for layer in profile.layers].index("Conv_0")]
    assert conv["original_nodes"] == "conv1, bn1, relu1"
    assert float(conv["time_us_median"]) == profile.layers[1]["duration_us"]["median"]
    assert int(conv["macs"]) == profile.layers[1]["macs"]
    assert (tmp_path / "layers.csv").read_text(encoding="utf-8") == text
