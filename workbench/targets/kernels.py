"""Kernel classes: which kind of kernel a layer runs, so each is costed at its own ceiling.

A depthwise convolution reaches a small fraction of a dense GEMM's rate on
every CPU runtime, and an Add is bound by memory, not arithmetic; one GFLOP/s
figure for all of them mis-estimates some of them. Five classes:

===============  ==============================================  ==========
class            what runs in it                                 rate unit
===============  ==============================================  ==========
``gemm``         MatMul, Gemm, pointwise (1×1) convolution       GFLOP/s
``conv``         spatial convolution (3×3, 7×7 …), not grouped   GFLOP/s
``depthwise``    depthwise (and other grouped) convolution        GFLOP/s
``elementwise``  Add, Mul, activations, Concat … (memory-bound)    GB/s
``pooling``      MaxPool, AveragePool, global pooling             GB/s
===============  ==============================================  ==========

The class is read from a layer's op type and shapes alone, so the same
function sorts the nodes of a model being estimated and the rows of a
measured profile (whose shapes include the weight's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: every class, in the order tables list them
CLASSES = ("gemm", "conv", "depthwise", "elementwise", "pooling")
#: classes whose rate is arithmetic (GFLOP/s); the others' is memory traffic (GB/s)
COMPUTE_CLASSES = frozenset({"gemm", "conv", "depthwise"})
#: what each class is, for tables and messages
DESCRIPTIONS = {
    "gemm": "dense GEMM / pointwise convolution",
    "conv": "spatial convolution (3x3 and larger)",
    "depthwise": "depthwise / grouped convolution",
    "elementwise": "elementwise and other memory-bound ops",
    "pooling": "pooling",
}

_CONV = {"conv", "fusedconv", "nhwcfusedconv", "qlinearconv", "convinteger", "convtranspose",
         "conv_2d", "transpose_conv"}
_DEPTHWISE = {"depthwise_conv_2d"}
_GEMM = {"matmul", "gemm", "fusedmatmul", "fusedgemm", "matmulinteger", "qlinearmatmul",
         "fully_connected", "batch_matmul", "matmulnbits"}
_POOL = {"maxpool", "averagepool", "globalaveragepool", "globalmaxpool", "lppool",
         "qlinearaveragepool", "qlinearglobalaveragepool", "max_pool_2d", "average_pool_2d",
         "mean"}


def unit(kernel_class: str) -> str:
    """``"GFLOP/s"`` for a compute class, ``"GB/s"`` for a memory-bound one."""
    return "GFLOP/s" if kernel_class in COMPUTE_CLASSES else "GB/s"


def _four_d(shapes: Sequence[Any]) -> list[list[int]]:
    return [list(s) for s in shapes if isinstance(s, (list, tuple)) and len(s) == 4
            and all(isinstance(d, int) for d in s)]


def classify(op_type: str, input_shapes: Sequence[Any] | None) -> str:
    """The kernel class of a layer of ``op_type`` whose inputs have ``input_shapes``.

    A convolution's class comes from its data [N, C, H, W] and weight
    [O, C/group, kH, kW] shapes: one input channel per group is depthwise, a
    1×1 kernel is a GEMM, anything else spatial. Unknown ops are elementwise.
    """
    op = op_type.lower()
    if op in _DEPTHWISE:
        return "depthwise"
    if op in _GEMM:
        return "gemm"
    if op in _POOL:
        return "pooling"
    if op not in _CONV:
        return "elementwise"
    shapes = _four_d(input_shapes or [])
    if len(shapes) < 2:
        return "conv"
    data, weight = shapes[0], shapes[1]
    if op in {"conv_2d", "transpose_conv"}:  # TFLite: NHWC data, OHWI weight
        channels, per_group, kernel = data[3], weight[3], weight[1] * weight[2]
    else:
        channels, per_group, kernel = data[1], weight[1], weight[2] * weight[3]
    if per_group == 1 and channels > 1:
        return "depthwise"
    return "gemm" if kernel == 1 else "conv"


def shape_key(op_type: str, input_shapes: Sequence[Any] | None,
              output_shapes: Sequence[Any] | None) -> str:
    """A layer's shapes as text: layers with equal keys run the same kernel on the same sizes.

    A compute layer's key holds its data and weight shapes only: a runtime that
    folds BatchNormalization into a convolution gives it a bias the model's
    node lacks, and both must meet under one key.
    """
    def text(shapes: Sequence[Any] | None) -> str:
        return ";".join("x".join(str(d) for d in s) if isinstance(s, (list, tuple)) else "?"
                        for s in (shapes or []))

    kernel_class = classify(op_type, input_shapes)
    inputs = list(input_shapes or [])
    if kernel_class in COMPUTE_CLASSES:
        inputs = inputs[:2]
    return f"{kernel_class}|{text(inputs)}|{text(output_shapes)}"
