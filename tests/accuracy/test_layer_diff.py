"""The per-layer numerical diff: tensors between layers, from the device, against the host."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from tests.accuracy.conftest import EXTENDED
from workbench import errors
from workbench.profiling.layer_diff import first_jump, relative_error


def test_a_layer_whose_weights_were_edited_is_found_and_named(
        edited_profile: wb.Profile, models: tuple[Path, Path]) -> None:
    diff = wb.diff_layers(edited_profile, reference=models[0])
    jump = diff.first_jump
    assert jump is not None
    # the runtime fused conv1 and relu1 into one node; the diff names the model's nodes
    assert "conv1" in jump["original_nodes"]
    assert jump["tensor"] == "relu1.y"
    before = [r for r in diff.rows if r["depth"] < jump["depth"]]
    assert before and all(r["rel_error"] < 1e-5 for r in before)
    assert "conv1" in repr(diff)


def test_the_diff_runs_the_graph_the_timed_runs_ran(edited_profile: wb.Profile) -> None:
    found = edited_profile.intermediates
    assert found is not None and found["graph_equals_timed"] is True
    executed = [n["op_type"] for n in found["executed_graph"]["nodes"]]
    assert "FusedConv" in executed and "Relu" not in executed  # exposing kept the fusion
    assert edited_profile.document["executed_graph"]["nodes"] == found["executed_graph"]["nodes"]


def test_against_itself_on_the_host_no_layer_jumps(edited_profile: wb.Profile) -> None:
    diff = wb.diff_layers(edited_profile)
    assert diff.first_jump is None
    assert len(diff.rows) >= 4 and all(r["rel_error"] < 1e-5 for r in diff.rows)
    assert list(diff.to_dataframe()["depth"]) == sorted(r["depth"] for r in diff.rows)


def test_large_tensors_are_summarised_on_the_board_and_compared_by_hash(
        models: tuple[Path, Path]) -> None:
    profile = wb.profile(str(models[0]), options=EXTENDED, warmup=0, runs=1, profile_runs=0,
                         diff=True, max_output_values=100)
    tensors = profile.intermediates["tensors"]  # type: ignore[index]
    big = [t for t in tensors if t["stats"]["count"] > 100]
    assert big and all(t.get("values_dropped") and "values" not in t for t in big)
    diff = wb.diff_layers(profile)
    by_tensor = {r["tensor"]: r for r in diff.rows}
    assert {by_tensor[t["name"]]["compared"] for t in big} <= {"hash", "statistics"}


def test_blocked_layout_tensors_are_listed_as_skipped_with_the_reason() -> None:
    from workbench_agent.intermediates import choose

    chosen, skipped = choose([
        {"name": "c_nchwc", "op_type": "Conv", "domain": "com.microsoft.nchwc",
         "outputs": ["t0"]},
        {"name": "ReorderOutput", "op_type": "ReorderOutput", "domain": "com.microsoft.nchwc",
         "outputs": ["y"]}])
    assert [c["name"] for c in chosen] == ["y"]
    assert skipped[0]["name"] == "t0" and "NCHWc" in skipped[0]["reason"]


def test_a_runner_of_api_1_says_plainly_it_cannot(models: tuple[Path, Path]) -> None:
    profile = wb.profile(str(models[0]), backend="reference", warmup=0, runs=1,
                         profile_runs=0, diff=True)
    found = profile.intermediates
    assert found is not None and found["available"] is False
    assert "runner API 1" in found["reason"]
    with pytest.raises(errors.LayerDiffUnavailable, match="runner API 1"):
        wb.diff_layers(profile)


def test_a_profile_without_diff_says_how_to_get_one(models: tuple[Path, Path]) -> None:
    profile = wb.profile(str(models[0]), warmup=0, runs=1, profile_runs=0)
    with pytest.raises(errors.LayerDiffUnavailable) as caught:
        wb.diff_layers(profile)
    assert "diff=True" in str(caught.value)


def test_the_first_jump_is_where_the_error_starts_not_where_it_is_largest() -> None:
    rows = [{"rel_error": e} for e in (0.0, 2e-7, 0.05, 0.3, 0.9)]
    assert first_jump(rows) == 2
    assert first_jump([{"rel_error": 1e-6}, {"rel_error": 5e-6}]) is None
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert relative_error(np.array([3.0, 5.0]), np.array([3.0, 4.0])) == pytest.approx(0.2)


def test_the_plot_marks_the_first_jump(edited_profile: wb.Profile,
                                       models: tuple[Path, Path]) -> None:
    diff = wb.diff_layers(edited_profile, reference=models[0])
    from workbench import plots

    fig = plots.layer_diff_plot(diff)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert any(diff.first_jump["layer"] in label for label in labels)  # type: ignore[index]


def test_litert_exposes_every_tensor_without_delegates_and_says_the_timed_graph_differs(
) -> None:
    twin = wb.load_model("zoo:small-cnn.tflite")
    profile = wb.profile(twin, backend="litert", warmup=0, runs=1, profile_runs=0, diff=True)
    found = profile.intermediates
    assert found is not None and found["available"]
    assert found["graph_equals_timed"] is False and "XNNPACK" in found["method"]
    diff = wb.diff_layers(profile)
    assert len(diff.rows) >= 3 and diff.first_jump is None
    assert all(r["rel_error"] < 1e-5 for r in diff.rows)


def test_redacting_keeps_the_tensors_between_layers_and_the_executed_graph(
        edited_profile: wb.Profile) -> None:
    redacted = edited_profile.redact()
    assert redacted.intermediates == edited_profile.intermediates
    assert redacted.document["executed_graph"] == edited_profile.document["executed_graph"]
