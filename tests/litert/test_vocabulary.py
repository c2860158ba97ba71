"""One op vocabulary for ONNX and TFLite."""

from __future__ import annotations

import pytest

from workbench.models import load_model, vocabulary


@pytest.mark.parametrize(("onnx_op", "tflite_op", "name"), [
    ("Conv", "CONV_2D", "conv"), ("Gemm", "FULLY_CONNECTED", "fully_connected"),
    ("MatMul", "FULLY_CONNECTED", "fully_connected"), ("Add", "ADD", "add"),
    ("AveragePool", "AVERAGE_POOL_2D", "avg_pool"), ("GlobalAveragePool", "MEAN", "mean"),
    ("Reshape", "RESHAPE", "reshape"), ("Flatten", "RESHAPE", "reshape"),
    ("Softmax", "SOFTMAX", "softmax"), ("MaxPool", "MAX_POOL_2D", "max_pool"),
    ("Sigmoid", "LOGISTIC", "sigmoid"),
])
def test_onnx_and_tflite_names_of_one_op_share_a_canonical_name(onnx_op: str, tflite_op: str,
                                                                   name: str) -> None:
    assert vocabulary.canonical(onnx_op) == vocabulary.canonical(tflite_op) == name
    assert vocabulary.same_op(onnx_op, tflite_op)


def test_a_depthwise_onnx_conv_is_the_tflite_depthwise_conv() -> None:
    assert vocabulary.canonical("Conv", depthwise=True) == "depthwise_conv"
    assert vocabulary.canonical("DEPTHWISE_CONV_2D") == "depthwise_conv"
    assert not vocabulary.same_op("Conv", "DEPTHWISE_CONV_2D")


def test_categories_agree_across_formats() -> None:
    assert vocabulary.category("CONV_2D") == vocabulary.category("Conv") == "conv"
    assert vocabulary.category("FULLY_CONNECTED") == "matmul"
    assert vocabulary.category("MEAN") == vocabulary.category("GlobalAveragePool") == "pool"
    assert vocabulary.category("NoSuchOp") == "other"


def test_an_unknown_op_keeps_its_own_name() -> None:
    assert vocabulary.canonical("MyCustomOp") == "mycustomop"


def test_both_analyses_fill_the_canonical_column() -> None:
    onnx_ops = dict(zip(load_model("zoo:mobilenetv2").layers["name"],
                        load_model("zoo:mobilenetv2").layers["canonical"], strict=True))
    assert onnx_ops["block1.dw.conv"] == "depthwise_conv"
    assert onnx_ops["stem.conv"] == "conv"
    tflite = load_model("zoo:mobilenetv2.tflite").layers
    assert set(tflite["canonical"]) == {"conv", "depthwise_conv", "add", "pad", "mean",
                                        "reshape", "fully_connected"}
