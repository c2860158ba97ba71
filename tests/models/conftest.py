"""Hand-built models for the models tests, and zoo models built once per session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from workbench.models import Model, load_model


def make_model(nodes: Sequence[onnx.NodeProto], inputs: Sequence[tuple[str, list[int | str]]],
               outputs: Sequence[tuple[str, list[int | str]]],
               initializers: dict[str, np.ndarray] | None = None,
               opset: int = 17) -> onnx.ModelProto:
    """A float32 model from nodes, (name, shape) inputs/outputs and named numpy initializers."""
    graph = helper.make_graph(
        list(nodes), "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Write ``model`` to ``path`` and return the path."""
    onnx.save(model, path)
    return path


def weights(*shape: int, seed: int = 0) -> np.ndarray:
    """Deterministic float32 weights of ``shape``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture
def chain_model(tmp_path: Path) -> Path:
    """x[1,8] -> Relu -> MatMul(W[8,4]) -> Sigmoid -> y[1,4], nodes named."""
    return save(make_model(
        [helper.make_node("Relu", ["x"], ["a"], name="relu"),
         helper.make_node("MatMul", ["a", "W"], ["b"], name="matmul"),
         helper.make_node("Sigmoid", ["b"], ["y"], name="sigmoid")],
        [("x", [1, 8])], [("y", [1, 4])], {"W": weights(8, 4)}), tmp_path / "chain.onnx")


@pytest.fixture(scope="session")
def zoo_models() -> dict[str, Model]:
    """The published-figure zoo models, loaded once for the session."""
    return {name: load_model(f"zoo:{name}") for name in ("mobilenetv2", "resnet18", "resnet50")}
