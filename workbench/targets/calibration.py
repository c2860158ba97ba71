"""Calibration: measured compute and memory ceilings of a device, for estimates.

Two tiny ONNX models with deterministic weights, built here: a MatMul that is
bound by arithmetic, and an Add over tensors far larger than the caches that is
bound by DRAM traffic. :func:`workbench.jobs.calibrate` runs them through the
normal ``workbench.profile`` path; their median latencies give achieved GFLOP/s
and GB/s, and ``target.estimate(model, ceilings=calibration)`` then uses them
instead of the datasheet peaks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnx

#: MatMul [M, K] x [K, N]: 2*M*K*N FLOPs on 4*(M*K + K*N + M*N) bytes
MATMUL_M, MATMUL_K, MATMUL_N = 256, 1024, 1024
#: Add of two [ADD_ELEMENTS] float32 tensors: 12 bytes and 1 FLOP per element
ADD_ELEMENTS = 8 * 2**20


@dataclass(frozen=True)
class Calibration:
    """Achieved ceilings of one device: GFLOP/s (FP32 MatMul) and GB/s (streaming Add)."""

    device: str
    gflops: float
    gbs: float
    matmul_ms: float
    add_ms: float
    threads: int | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        """The calibration as plain data (it goes into the estimate's document)."""
        return asdict(self)

    def __repr__(self) -> str:
        return (f"<Calibration {self.device!r}: {self.gflops:.1f} GFLOP/s (MatMul), "
                f"{self.gbs:.1f} GB/s (Add)>")


def matmul_model() -> onnx.ModelProto:
    """A single MatMul with a deterministic weight: arithmetic-bound."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(
        rng.standard_normal((MATMUL_K, MATMUL_N)).astype(np.float32) / 32, "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "calibrate_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [MATMUL_M, MATMUL_K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [MATMUL_M, MATMUL_N])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def add_model() -> onnx.ModelProto:
    """A single Add of two large inputs: bound by memory bandwidth."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")], "calibrate_add",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [ADD_ELEMENTS]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [ADD_ELEMENTS])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [ADD_ELEMENTS])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
