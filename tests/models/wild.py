"""Small models built like real exports that stopped users: -1 and repeated '?' dims,
an If whose branches hold an LSTM, an int64 scalar that selects the branch.

Weights are deterministic; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SAMPLES = 64
HIDDEN = 8


def _weights(*shape: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 0.1).astype(np.float32)


def paddle_like(path: Path) -> Path:
    """x[-1, 3, '?', '?'] -> Conv(3->4, 3x3, pad 1) -> Relu -> y: the batch as -1 and two
    spatial dims both called '?', as Paddle2ONNX writes them."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 3, "?", "?"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [-1, 4, "?", "?"])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1],
                          kernel_shape=[3, 3]),
         helper.make_node("Relu", ["c"], ["y"], name="relu")],
        "paddle_like", [x], [y], [numpy_helper.from_array(_weights(4, 3, 3, 3, seed=1), "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _lstm_branch(name: str, seed: int) -> onnx.GraphProto:
    """A branch that runs an LSTM over the outer scope's ``seq``, ``h0`` and ``c0``."""
    weights = [numpy_helper.from_array(_weights(1, 4 * HIDDEN, SAMPLES, seed=seed), f"{name}_W"),
               numpy_helper.from_array(_weights(1, 4 * HIDDEN, HIDDEN, seed=seed + 1),
                                       f"{name}_R")]
    out = helper.make_tensor_value_info(f"{name}_h", TensorProto.FLOAT, [1, "?", HIDDEN])
    return helper.make_graph(
        [helper.make_node("LSTM", ["seq", f"{name}_W", f"{name}_R", "", "", "h0", "c0"],
                          ["", f"{name}_h"], name=f"{name}_LSTM", hidden_size=HIDDEN)],
        name, [], [out], weights)


def vad_like(path: Path) -> Path:
    """A voice-activity model's interface: input['?','?'] (batch, samples), state[2,'batch',8]
    and an int64 scalar ``sr``; ``sr == 16000`` picks one of two LSTM branches of an If."""
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["?", "?"]),
              helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", HIDDEN]),
              helper.make_tensor_value_info("sr", TensorProto.INT64, [])]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, "?", HIDDEN])
    nodes = [
        helper.make_node("Unsqueeze", ["input", "axis0"], ["seq"], name="as_sequence"),
        helper.make_node("Split", ["state"], ["h0", "c0"], name="split_state", axis=0,
                         num_outputs=2),
        helper.make_node("Equal", ["sr", "rate16k"], ["is16k"], name="is_16k"),
        helper.make_node("If", ["is16k"], ["output"], name="by_rate",
                         then_branch=_lstm_branch("then", 10),
                         else_branch=_lstm_branch("else", 20)),
    ]
    constants = [numpy_helper.from_array(np.array([0], np.int64), "axis0"),
                 numpy_helper.from_array(np.array(16000, np.int64), "rate16k")]
    graph = helper.make_graph(nodes, "vad_like", inputs, [output], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, path)
    return path
