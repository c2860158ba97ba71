"""A comparison says how each profile's numbers differ, not only how fast they came: accuracy
columns, delegation differences, and an int8 model's layers lined up with its fp32 source's."""

from __future__ import annotations

import json
from pathlib import Path

import workbench as wb
from tests.accuracy.conftest import EXTENDED
from workbench import formats
from workbench.profiling.comparison_accuracy import delegation_summary


def test_layers_of_two_runs_line_up_and_the_edited_one_shows_its_error(
        clean_profile: wb.Profile, edited_profile: wb.Profile) -> None:
    comparison = wb.compare([clean_profile, edited_profile])
    frame = comparison.to_dataframe()
    column = f"{comparison.labels[1]}: rel_error"
    by_nodes = {row["original_nodes"]: row for _, row in frame.iterrows()}
    # each fused Conv+Relu of one run is matched with the same fused node of the other
    assert {"conv0, relu0", "conv1, relu1", "conv2, relu2"} <= set(by_nodes)
    for nodes in ("conv0, relu0", "conv1, relu1"):
        row = by_nodes[nodes]
        assert all(row[comparison.time_column(i)] > 0 for i in range(2))
    assert by_nodes["conv0, relu0"][column] < 1e-6
    assert by_nodes["conv1, relu1"][column] > 1e-2


def test_the_accuracy_columns_name_the_layer_where_the_error_jumps(
        clean_profile: wb.Profile, edited_profile: wb.Profile) -> None:
    comparison = wb.compare([clean_profile, edited_profile])
    accuracy = comparison.accuracy()
    record = accuracy.iloc[0]
    assert record["output"] == "logits" and record["cosine"] < 0.9999
    assert "conv1" in record["first_jump"]
    document = comparison.to_dict()
    formats.validate(json.loads(json.dumps(document)), formats.COMPARISON)
    assert "error jumps at" in str(comparison) and "Accuracy" in comparison.to_html()


def test_an_int8_models_layers_line_up_with_its_fp32_sources(
        models: tuple[Path, Path], clean_profile: wb.Profile) -> None:
    int8 = wb.quantize(str(models[0]))
    quantised = wb.profile(int8, options=EXTENDED, warmup=0, runs=1, profile_runs=1,
                           keep_outputs=True)
    comparison = wb.compare([clean_profile, quantised])
    frame = comparison.to_dataframe()
    for conv in ("conv0", "conv1", "conv2"):
        rows = frame[frame["original_nodes"].str.split(", ").apply(lambda n, c=conv: c in n)]
        assert len(rows) == 1, conv  # one group holds the fp32 FusedConv and the QLinearConv
        assert rows.iloc[0][comparison.time_column(1)] > 0
        assert rows.iloc[0][comparison.time_column(0)] > 0
    record = comparison.accuracy_records()[0]  # type: ignore[index]
    assert record["output"] == "logits" and record["cosine"] > 0.9


def test_nodes_placed_on_other_providers_are_listed(clean_profile: wb.Profile) -> None:
    other = wb.Profile(clean_profile.to_dict())
    section = other.document["delegation"]
    entry = section["per_provider"][0]
    moved = entry["nodes"][0]
    entry["nodes"] = entry["nodes"][1:]
    section["per_provider"].append({"name": "XnnpackExecutionProvider", "accelerator": True,
                                    "node_count": 1, "nodes": [moved], "macs": 0,
                                    "mac_share": 0.0})
    section["providers"].append("XnnpackExecutionProvider")
    summary = delegation_summary([clean_profile, other], ["a", "b"])
    assert summary is not None
    assert summary["differing_nodes"] == [{"node": moved, "providers": [
        entry["name"], "XnnpackExecutionProvider"]}]
