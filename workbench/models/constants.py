"""The values a graph holds in itself: its initializers and its Constant nodes' outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import onnx


def constant_tensors(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto | None]:
    """Initializers and ONNX Constant nodes' outputs of ``graph``: name -> tensor.

    A Constant given by another attribute than ``value`` (``value_float``,
    ``sparse_value``, ...) maps to None: its name is a constant, its tensor unread.
    """
    found: dict[str, onnx.TensorProto | None] = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
            found[node.output[0]] = next((a.t for a in node.attribute if a.name == "value"),
                                         None)
    return found


def constant_arrays(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """The values of :func:`constant_tensors` that have a tensor, as numpy arrays."""
    from onnx import numpy_helper

    return {name: numpy_helper.to_array(tensor)
            for name, tensor in constant_tensors(graph).items() if tensor is not None}
