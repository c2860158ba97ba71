"""Fixtures for the notebook UI tests: models the widgets run for real on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

#: a node name that would run script if any view put it into HTML unescaped
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
#: element-wise ops in turn, so no runtime fuses neighbours away
_CYCLE = ("Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Softsign")


def wide_model(path: Path, nodes: int = 720) -> Path:
    """A chain of ``nodes`` element-wise nodes on a [1, 64] tensor (the size of a real text
    detector's graph); node 7 is called :data:`HOSTILE_NAME`."""
    import onnx
    from onnx import TensorProto, helper

    graph_nodes = []
    previous = "x"
    for index in range(nodes):
        output = "y" if index == nodes - 1 else f"t{index}"
        name = HOSTILE_NAME if index == 7 else f"n{index:03d}"
        graph_nodes.append(helper.make_node(_CYCLE[index % len(_CYCLE)], [previous], [output],
                                            name=name))
        previous = output
    graph = helper.make_graph(
        graph_nodes, "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="session")
def wide_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wide_model(tmp_path_factory.mktemp("wide") / "wide.onnx")


@pytest.fixture(scope="session")
def wide_profile(wide_model_path: Path):  # type: ignore[no-untyped-def]
    """One real local profile of the wide model, shared by the table tests."""
    import workbench as wb

    return wb.profile(wide_model_path, device="local", warmup=0, runs=2, profile_runs=2)
