"""Static analysis on small hand-built graphs whose figures are worked out in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import helper

from tests.models.conftest import make_model, save, weights
from workbench import errors
from workbench.models import Model, load_model


def _load(tmp_path: Path, *args: object, name: str = "m", **kwargs: object) -> Model:
    return load_model(save(make_model(*args, **kwargs), tmp_path / f"{name}.onnx"))  # type: ignore[arg-type]


def test_grouped_and_depthwise_conv_macs_follow_the_formula(tmp_path: Path) -> None:
    model = _load(tmp_path, [
        helper.make_node("Conv", ["x", "Wg"], ["g"], name="grouped", group=4, pads=[1] * 4,
                         kernel_shape=[3, 3]),
        helper.make_node("Conv", ["g", "Wd"], ["d"], name="depthwise", group=8, pads=[1] * 4,
                         strides=[2, 2], kernel_shape=[3, 3]),
    ], [("x", [1, 8, 10, 10])], [("d", [1, 8, 5, 5])],
        {"Wg": weights(8, 2, 3, 3), "Wd": weights(8, 1, 3, 3)})
    grouped, depthwise = model.nodes
    # out_elems * (Cin / groups) * prod(kernel)
    assert grouped.macs == (1 * 8 * 10 * 10) * (8 // 4) * (3 * 3)
    assert depthwise.macs == (1 * 8 * 5 * 5) * (8 // 8) * (3 * 3)
    assert model.macs == grouped.macs + depthwise.macs
    assert grouped.params == 8 * 2 * 9 and grouped.category == "conv"


def test_conv_transpose_macs_count_input_elements(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("ConvTranspose", ["x", "W"], ["y"], name="up",
                                              strides=[2, 2], kernel_shape=[2, 2], group=2)],
                  [("x", [1, 4, 5, 5])], [("y", [1, 6, 10, 10])], {"W": weights(4, 3, 2, 2)})
    # in_elems * (Cout / groups) * prod(kernel)
    assert model.macs == (1 * 4 * 5 * 5) * (6 // 2) * (2 * 2)


def test_batched_matmul_of_two_activations_counts_every_batch(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("MatMul", ["q", "k"], ["s"], name="scores")],
                  [("q", [2, 3, 4, 5]), ("k", [3, 5, 6])], [("s", [2, 3, 4, 6])])
    # batch dims broadcast to 2 x 3; each batch is M=4, N=6, K=5
    assert model.nodes[0].output_shapes == [[2, 3, 4, 6]]
    assert model.macs == (2 * 3) * 4 * 6 * 5
    assert model.params == 0


def test_gemm_with_transposed_a_uses_the_right_k(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("Gemm", ["a", "B"], ["y"], name="fc", transA=1)],
                  [("a", [7, 3])], [("y", [3, 5])], {"B": weights(7, 5)})
    assert model.macs == 3 * 5 * 7  # M=3, N=5, K=7


def test_pooling_and_elementwise_ops_are_not_macs(tmp_path: Path) -> None:
    model = _load(tmp_path, [
        helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Relu", ["p"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["y"], name="gap"),
    ], [("x", [1, 4, 8, 8])], [("y", [1, 4, 1, 1])])
    assert model.macs == 0
    assert model.ops_by_category["pool"] == (4 * 4 * 4) * 4 + 4 * 4 * 4
    assert model.ops_by_category["elementwise"] == 4 * 4 * 4
    assert [n.category for n in model.nodes] == ["pool", "elementwise", "pool"]


def test_batchnorm_statistics_are_weights_but_not_params(tmp_path: Path) -> None:
    stats = {name: np.ones(16, np.float32) for name in ("scale", "bias", "mean", "var")}
    model = _load(tmp_path, [helper.make_node("BatchNormalization",
                                              ["x", "scale", "bias", "mean", "var"], ["y"],
                                              name="bn")],
                  [("x", [1, 16, 4, 4])], [("y", [1, 16, 4, 4])], stats)
    assert model.params == 2 * 16
    assert model.weight_bytes == 4 * 16 * 4
    assert model.nodes[0].category == "normalization"


def test_a_shared_initializer_counts_once_in_the_model(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm1"),
                             helper.make_node("MatMul", ["h", "W"], ["y"], name="mm2")],
                  [("x", [1, 6])], [("y", [1, 6])], {"W": weights(6, 6)})
    assert [n.params for n in model.nodes] == [36, 36]
    assert model.params == 36 and model.weight_bytes == 36 * 4


def test_peak_activation_memory_follows_tensor_liveness(tmp_path: Path) -> None:
    model = _load(tmp_path, [
        helper.make_node("Relu", ["x"], ["a"], name="n0"),
        helper.make_node("Concat", ["a", "a"], ["b"], name="n1", axis=1),
        helper.make_node("Sigmoid", ["b"], ["c"], name="n2"),
        helper.make_node("Add", ["c", "b"], ["d"], name="n3"),
    ], [("x", [1, 1000])], [("d", [1, 2000])])
    small, large = 1000 * 4, 2000 * 4
    alive = [small + small,          # n0: x (last read here) and a
             small + large,          # n1: a (last read here) and b
             large + large,          # n2: b (read again by n3) and c
             large + large + large]  # n3: b, c and the output d
    assert model.peak_activation_bytes == max(alive) == 24000
    assert [n.activation_bytes_out for n in model.nodes] == [small, large, large, large]
    assert model.nodes[3].activation_bytes_in == 2 * large
    assert model.warnings == []


def test_symbolic_dims_are_kept_by_name_and_resolved_by_with_shapes() -> None:
    model = load_model("zoo:mlp-dynamic")
    assert model.symbolic_dims == ["batch"]
    assert model.inputs[0].shape == ["batch", 256]
    assert model.outputs[0].shape == ["batch", 10]
    assert model.macs == 0 and any("with_shapes" in w for w in model.warnings)
    fixed = model.with_shapes(batch=3)
    assert fixed.inputs[0].shape == [3, 256] and fixed.outputs[0].shape == [3, 10]
    assert fixed.symbolic_dims == []
    assert fixed.macs == 3 * load_model("zoo:mlp").macs
    assert fixed.peak_activation_bytes > 0 and fixed.warnings == []
    assert fixed.sha256 != model.sha256 and "batch=3" in fixed.source
    assert model.inputs[0].shape == ["batch", 256]  # the original is unchanged


def test_an_unnamed_dynamic_dim_gets_a_name_with_shapes_accepts(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="relu")],
                  [("x", [None, 4])], [("y", [None, 4])])  # type: ignore[list-item]
    assert model.symbolic_dims == ["x_dim0"]
    assert model.with_shapes(x_dim0=2).outputs[0].shape == [2, 4]


def test_an_unknown_dim_name_lists_the_models_symbolic_dims() -> None:
    with pytest.raises(errors.UnknownOption, match="'batchsize'") as caught:
        load_model("zoo:mlp-dynamic").with_shapes(batchsize=1)
    assert "batch" in caught.value.hint


def test_a_dim_must_be_a_positive_whole_number() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="batch=0"):
        load_model("zoo:mlp-dynamic").with_shapes(batch=0)


def test_fixing_dims_leaves_the_runnable_file_as_loaded_and_names_the_overrides() -> None:
    model = load_model("zoo:mlp-dynamic")
    fixed = model.with_shapes(batch=2)
    assert fixed.runnable_path().read_bytes() == model.runnable_path().read_bytes()
    assert fixed.free_dimension_overrides == {"batch": 2}
    assert model.free_dimension_overrides == {}


def test_topology_lists_nodes_edges_inputs_and_outputs(chain_model: Path) -> None:
    topology = load_model(chain_model).topology()
    assert topology["inputs"] == ["x"] and topology["outputs"] == ["y"]
    assert [n["name"] for n in topology["nodes"]] == ["relu", "matmul", "sigmoid"]
    assert topology["nodes"][1] == {"name": "matmul", "op_type": "MatMul", "macs": 8 * 4,
                                    "inputs": ["a", "W"], "outputs": ["b"]}
    assert topology["edges"] == [{"from": "relu", "to": "matmul", "tensor": "a"},
                                 {"from": "matmul", "to": "sigmoid", "tensor": "b"}]


def test_layers_has_one_row_per_node(chain_model: Path) -> None:
    model = load_model(chain_model)
    layers = model.layers
    assert list(layers["name"]) == [n.name for n in model.nodes]
    assert list(layers["macs"]) == [0, 8 * 4, 0]
    assert model.to_dataframe().equals(layers)


def test_by_op_type_sums_nodes_and_shares_macs() -> None:
    table = load_model("zoo:small-cnn").by_op_type()
    conv = table[table["op_type"] == "Conv"].iloc[0]
    assert table.iloc[0]["op_type"] == "Conv" and conv["count"] == 3
    assert table["macs"].sum() == load_model("zoo:small-cnn").macs
    assert abs(table["share_of_macs"].sum() - 1.0) < 1e-9


def test_node_info_carries_shapes_dtypes_and_bytes(chain_model: Path) -> None:
    matmul = load_model(chain_model).nodes[1]
    assert matmul.input_shapes == [[1, 8], [8, 4]] and matmul.output_shapes == [[1, 4]]
    assert matmul.input_dtypes == ["float32", "float32"]
    assert (matmul.weight_bytes, matmul.activation_bytes_in, matmul.activation_bytes_out) == \
        (8 * 4 * 4, 8 * 4, 4 * 4)
    assert matmul.to_dict()["category"] == "matmul"


def test_the_html_summary_shows_the_totals_and_escapes_names(tmp_path: Path) -> None:
    model = _load(tmp_path, [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                  [("x", [1, 8])], [("y", [1, 4])], {"W": weights(8, 4)}, name="<b>odd")
    page = model._repr_html_()
    assert f"{model.params:,}" in page and f"{model.macs:,}" in page
    assert "&lt;b&gt;odd" in page and "<b>odd" not in page
    assert model.sha256[:12] in page and "MatMul" in page
    assert repr(model).startswith("<Model '<b>odd' opset 17")
