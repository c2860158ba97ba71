"""Models whose outputs hold NaN and Inf, built here with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import pytest


def special_values_model(path: Path, size: int = 4) -> Path:
    """``root`` = Sqrt(x) (NaN where x < 0) and ``inverse`` = 1 / (x - x) (+Inf everywhere)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Sqrt", ["x"], ["root"], name="sqrt"),
             helper.make_node("Sub", ["x", "x"], ["zero"], name="sub"),
             helper.make_node("Reciprocal", ["zero"], ["inverse"], name="reciprocal")]
    graph = helper.make_graph(
        nodes, "special_values",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, size, size])],
        [helper.make_tensor_value_info("root", TensorProto.FLOAT, [1, size, size]),
         helper.make_tensor_value_info("inverse", TensorProto.FLOAT, [1, size, size])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return special_values_model(tmp_path_factory.mktemp("nan") / "special_values.onnx")
