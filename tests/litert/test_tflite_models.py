"""Reading .tflite models: analysis like ONNX's, the zoo's twins, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench import errors
from workbench.models import load_model
from workbench.models.tflite.twin import twin
from workbench.testing import tiny_conv_model


@pytest.fixture(scope="module")
def mobilenet_pair() -> tuple:
    return load_model("zoo:mobilenetv2"), load_model("zoo:mobilenetv2.tflite")


def _bn_channels(model) -> int:
    return sum(n.output_shapes[0][1] for n in model.nodes if n.op_type == "BatchNormalization")


def test_twin_has_the_macs_of_its_onnx_model(mobilenet_pair: tuple) -> None:
    onnx_model, tflite_model = mobilenet_pair
    assert tflite_model.format == "tflite"
    assert tflite_model.macs == onnx_model.macs == 300_774_272


def test_twin_params_differ_only_by_the_folded_batchnorm_channels(mobilenet_pair: tuple) -> None:
    onnx_model, tflite_model = mobilenet_pair
    assert tflite_model.params == onnx_model.params - _bn_channels(onnx_model)


def test_twin_without_batchnorm_has_equal_params_and_macs() -> None:
    onnx_model, tflite_model = load_model("zoo:mlp"), load_model("zoo:mlp.tflite")
    assert (tflite_model.params, tflite_model.macs) == (onnx_model.params, onnx_model.macs)


def test_layers_table_has_the_onnx_columns_with_shapes_and_dtypes(mobilenet_pair: tuple) -> None:
    onnx_model, tflite_model = mobilenet_pair
    layers = tflite_model.layers
    assert list(layers.columns) == list(onnx_model.layers.columns)
    conv = layers[layers["name"] == "stem.relu6"].iloc[0]
    assert conv["op_type"] == "CONV_2D" and conv["canonical"] == "conv"
    assert conv["input_shapes"][0] == [1, 226, 226, 3]  # explicit PAD before a stride-2 conv
    assert conv["input_shapes"][1] == [32, 3, 3, 3]  # OHWI weights
    assert conv["output_dtypes"] == ["float32"]
    assert conv["macs"] == onnx_model.layers.set_index("name").loc["stem.conv", "macs"]


def test_twin_keeps_the_onnx_tensor_names_at_op_boundaries(mobilenet_pair: tuple) -> None:
    onnx_model, tflite_model = mobilenet_pair
    onnx_tensors = {t for n in onnx_model.nodes for t in n.outputs}
    activations = {n.outputs[0] for n in tflite_model.nodes if n.op_type != "PAD"}
    assert activations <= onnx_tensors
    assert tflite_model.inputs[0].shape == [1, 224, 224, 3]


def test_depthwise_weights_are_1hwo_and_counted_per_window(mobilenet_pair: tuple) -> None:
    _, tflite_model = mobilenet_pair
    row = tflite_model.layers.set_index("name").loc["block1.dw.relu6"]
    assert row["op_type"] == "DEPTHWISE_CONV_2D"
    assert row["input_shapes"][1] == [1, 3, 3, 96]
    assert row["macs"] == 56 * 56 * 96 * 9


def test_a_tflite_file_loads_by_path_and_by_bytes(tmp_path: Path) -> None:
    data = load_model("zoo:small-cnn.tflite").runnable_path().read_bytes()
    path = tmp_path / "small.tflite"
    path.write_bytes(data)
    by_path, by_bytes = load_model(path), load_model(data)
    assert by_path.sha256 == by_bytes.sha256
    assert by_path.macs == by_bytes.macs == load_model("zoo:small-cnn").macs
    assert by_path.files() == [path.absolute()]
    assert by_bytes.runnable_path().read_bytes() == data


def test_twin_outputs_match_onnxruntime() -> None:
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    onnx_model = load_model("zoo:mobilenetv2")
    tflite_model = load_model("zoo:mobilenetv2.tflite")
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    expected = ort.InferenceSession(str(onnx_model.runnable_path()),
                                    providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    interpreter = Interpreter(model_path=str(tflite_model.runnable_path()))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-4


def test_the_twin_builder_names_an_op_it_cannot_express() -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Erf", ["x"], ["y"], name="erf")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = load_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    with pytest.raises(errors.UnsupportedConversion, match="Erf node 'erf'"):
        twin(model)


# --- bad files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_tflite() -> bytes:
    return twin(load_model(tiny_conv_model())).runnable_path().read_bytes()


def test_an_empty_tflite_file_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(errors.ModelTruncated, match="empty"):
        load_model(path)


def test_a_cut_short_tflite_file_is_truncated(tmp_path: Path, tiny_tflite: bytes) -> None:
    path = tmp_path / "cut.tflite"
    path.write_bytes(tiny_tflite[: len(tiny_tflite) // 3])
    with pytest.raises(errors.ModelTruncated) as caught:
        load_model(path)
    assert caught.value.where == str(path) and "cut short" in caught.value.what
    assert caught.value.hint


def test_bytes_cut_after_the_header_are_truncated(tiny_tflite: bytes) -> None:
    with pytest.raises(errors.ModelTruncated, match="past the end"):
        load_model(tiny_tflite[:40])


def test_a_corrupt_root_offset_is_reported_as_corrupt(tmp_path: Path, tiny_tflite: bytes) -> None:
    damaged = bytearray(tiny_tflite)
    damaged[0:4] = (len(damaged) + 1000).to_bytes(4, "little")
    path = tmp_path / "bad.tflite"
    path.write_bytes(bytes(damaged))
    with pytest.raises(errors.ModelError, match=r"bad\.tflite"):
        load_model(path)


def test_an_operator_naming_a_missing_tensor_is_invalid() -> None:
    from workbench.models.tflite import schema as sc
    from workbench.models.tflite.flatbuf import Node, Scalar, Vector, serialize

    tensor = Node({sc.TENSOR_SHAPE: Vector("i", [1, 4]), sc.TENSOR_NAME: "x"})
    relu = Node({sc.OP_OPCODE_INDEX: Scalar("I", 0), sc.OP_INPUTS: Vector("i", [0]),
                 sc.OP_OUTPUTS: Vector("i", [7])})
    model = Node({
        sc.MODEL_VERSION: Scalar("I", 3),
        sc.MODEL_OPERATOR_CODES: Vector(None, [Node({sc.OPCODE_BUILTIN: Scalar("i", 19)})]),
        sc.MODEL_SUBGRAPHS: Vector(None, [Node({
            sc.SUBGRAPH_TENSORS: Vector(None, [tensor]), sc.SUBGRAPH_INPUTS: Vector("i", [0]),
            sc.SUBGRAPH_OUTPUTS: Vector("i", [0]), sc.SUBGRAPH_OPERATORS: Vector(None, [relu])})]),
        sc.MODEL_BUFFERS: Vector(None, [Node()])})
    with pytest.raises(errors.InvalidTfliteModel, match="names tensor 7, but the graph has 1"):
        load_model(serialize(model, sc.IDENTIFIER))


def test_a_file_without_the_tflite_identifier_is_not_tflite(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x10\x00\x00\x00NOPE" + bytes(32))
    with pytest.raises(errors.InvalidTfliteModel, match="identifier"):
        load_model(path)
