"""The per-layer numerical diff: tensors between layers, from the device, against the host."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from tests.accuracy.conftest import EXTENDED
from workbench import errors
from workbench.profiling.layer_diff import LayerDiff, first_jump, relative_error


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


def _outlier_mlp(path: Path) -> Path:
    """x → MatMul a → Relu → MatMul b → Relu → MatMul c. Feature 5 of ``a`` is always zero, and
    ``b`` has a huge weight on it: harmless in fp32 (it multiplies zero), ruinous in int8 with
    one scale per weight tensor (that scale rounds every other weight of ``b`` to zero)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(23)
    a = (rng.standard_normal((16, 16)) * 0.3).astype(np.float32)
    a[:, 5] = 0.0
    b = (rng.standard_normal((16, 16)) * 0.3).astype(np.float32)
    b[5, :] = 1000.0
    c = (rng.standard_normal((16, 8)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "a.weight"], ["a.y"], name="a"),
             helper.make_node("Relu", ["a.y"], ["a.relu"], name="a.relu"),
             helper.make_node("MatMul", ["a.relu", "b.weight"], ["b.y"], name="b"),
             helper.make_node("Relu", ["b.y"], ["b.relu"], name="b.relu"),
             helper.make_node("MatMul", ["b.relu", "c.weight"], ["logits"], name="c")]
    graph = helper.make_graph(
        nodes, "outlier_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [4, 8])],
        [numpy_helper.from_array(w, f"{n}.weight") for n, w in (("a", a), ("b", b), ("c", c))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _int8_diff_run(model: wb.Model) -> wb.Profile:
    return wb.profile(model, options=EXTENDED, warmup=0, runs=1, profile_runs=0, diff=True,
                      max_output_values=None)


@pytest.fixture(scope="module")
def small_cnn_int8_profile() -> tuple[wb.Model, wb.Profile]:
    int8 = wb.quantize("zoo:small-cnn")
    return int8, _int8_diff_run(int8)


@pytest.fixture(scope="module")
def small_cnn_int8_diff(small_cnn_int8_profile: tuple[wb.Model, wb.Profile]
                        ) -> tuple[wb.Model, LayerDiff]:
    int8, profile = small_cnn_int8_profile
    return int8, wb.diff_layers(profile)  # the default reference: its fp32 source


def test_against_the_same_int8_model_both_sides_are_dequantised(
        small_cnn_int8_profile: tuple[wb.Model, wb.Profile]) -> None:
    _, profile = small_cnn_int8_profile
    diff = wb.diff_layers(profile, reference="host")
    assert diff.same_model and not diff.skipped
    integer = [r for r in diff.rows if r["compared"] == "dequantised"]
    assert len(integer) >= 6 and all(r["reference_tensor"] == r["tensor"] for r in integer)
    # quantising the input is the same arithmetic on both sides
    assert diff.rows[0]["op_type"] == "QuantizeLinear" and diff.rows[0]["rel_error"] == 0.0
    assert "on both sides" in repr(diff)


def test_int8_tensors_are_dequantised_and_lined_up_with_the_fp32_source(
        small_cnn_int8_diff: tuple[wb.Model, LayerDiff]) -> None:
    import onnx
    from onnx import numpy_helper

    int8, diff = small_cnn_int8_diff
    assert not diff.skipped and diff.dequantised
    dequantised = [r for r in diff.rows if r["compared"] == "dequantised"]
    assert len(dequantised) >= 6 and all(r["rel_error"] > 0 for r in dequantised)
    source = onnx.load(wb.load_model("zoo:small-cnn").files()[0]).graph
    fp32_tensors = {t for node in source.node for t in node.output} | {"input"}
    assert {r["reference_tensor"] for r in dequantised} <= fp32_tensors
    # the input's quantisation rounds each value by at most half a step of its scale
    constants = {i.name: numpy_helper.to_array(i)
                 for i in onnx.load(int8.files()[0]).graph.initializer}
    first = diff.rows[0]
    assert first["reference_tensor"] == "input" and first["op_type"] == "QuantizeLinear"
    assert 0 < first["max_abs_error"] <= float(constants["input_scale"]) / 2 * 1.0001


def test_each_int8_layer_shows_the_error_it_adds_and_the_worst_is_named(
        small_cnn_int8_diff: tuple[wb.Model, LayerDiff]) -> None:
    _, diff = small_cnn_int8_diff
    rows = diff.rows
    assert rows[0]["added_error"] == pytest.approx(rows[0]["rel_error"])  # after the input
    chained = [(before, after) for before, after in itertools.pairwise(rows)
               if after["op_type"] in ("MaxPool", "Flatten")]  # each reads the tensor before it
    assert chained and all(after["added_error"] == pytest.approx(
        after["rel_error"] - before["rel_error"]) for before, after in chained)
    jump = diff.first_jump
    assert jump is not None and jump["added_error"] == max(r["added_error"] for r in rows)
    assert "quantisation hurts most at" in repr(diff) and jump["layer"] in repr(diff)


def test_the_layer_whose_weights_defeat_int8_is_where_quantisation_hurts_most(
        tmp_path: Path) -> None:
    source = wb.load_model(_outlier_mlp(tmp_path / "outlier.onnx"))
    diff = wb.diff_layers(_int8_diff_run(wb.quantize(source, per_channel=False)))
    jump = diff.first_jump
    assert jump is not None and "b" in jump["original_nodes"], diff.to_dataframe()
    assert jump["added_error"] > 0.5  # b's other weights all rounded to zero
    before = [r for r in diff.rows if r["depth"] < jump["depth"]]
    assert before and all(r["rel_error"] < 0.05 for r in before)


def test_a_qoperator_model_lines_up_each_qlinear_output_after_its_folded_relu(
        models: tuple[Path, Path], tmp_path: Path) -> None:
    import onnxruntime.quantization as oq

    class Feeds:
        def __init__(self) -> None:
            rng = np.random.default_rng(3)
            self.left = [{"x": rng.uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)}
                         for _ in range(4)]

        def get_next(self) -> dict[str, np.ndarray] | None:
            return self.left.pop() if self.left else None

    qoperator = tmp_path / "chain-qoperator.onnx"
    oq.quantize_static(str(models[0]), str(qoperator), Feeds(),
                       quant_format=oq.QuantFormat.QOperator)
    diff = wb.diff_layers(_int8_diff_run(wb.load_model(qoperator)), reference=models[0])
    by_tensor = {r["tensor"]: r for r in diff.rows}
    # the quantiser folded each Relu into the QLinearConv before it: compared after the Relu
    assert [by_tensor[f"conv{i}.y_quantized"]["reference_tensor"] for i in range(3)] == [
        "relu0.y", "relu1.y", "relu2.y"]
    assert all(by_tensor[f"conv{i}.y_quantized"]["rel_error"] < 0.1 for i in range(3))
    assert by_tensor["conv0.y_quantized"]["compared"] == "dequantised"
