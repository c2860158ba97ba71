"""What the command's help and hints suggest fits the model and the install at hand."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from tests.test_cli import workbench


def flat_model(path: Path) -> Path:
    """A model whose one input is [1, 256] (no image shape)."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["features"], ["y"], name="relu")], "flat",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_shape_for_an_unknown_name_suggests_the_models_own_input_shape(tmp_path: Path) -> None:
    done = workbench("inspect", str(flat_model(tmp_path / "flat.onnx")), "--shape", "batch=2")
    assert done.returncode == 2
    assert "features=1x256" in done.stderr and "224" not in done.stderr


def test_the_help_of_commands_taking_a_model_names_tflite_too() -> None:
    for command in ("inspect", "profile", "estimate"):
        assert ".tflite" in workbench(command, "--help").stdout
