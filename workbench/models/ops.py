"""Cost rules per op type: category, MACs / operation count, and which inputs are parameters.

MACs follow the usual published convention (torchvision, fvcore): one
multiply-accumulate per weight use in Conv, ConvTranspose, Gemm and MatMul;
bias additions, activations, pooling and BatchNormalization are not MACs.
Those are counted as ``ops`` in their own category instead, so a model's
``macs`` matches published figures and the rest stays visible.

* Conv: ``out_elems * (Cin / groups) * prod(kernel)`` (grouped and depthwise exact)
* ConvTranspose: ``in_elems * (Cout / groups) * prod(kernel)``
* Gemm: ``M * N * K``; MatMul: ``prod(batch dims) * M * N * K`` with broadcasting,
  for weights and for activation x activation products (attention) alike
* MaxPool / AveragePool / LpPool: ``out_elems * prod(kernel)``; Global*Pool: ``in_elems``
* elementwise and normalization ops: ``out_elems``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.models.info import Shape, element_count

CONV_OPS = frozenset({"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "DeformConv"})
MATMUL_OPS = frozenset({"MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "FusedMatMul",
                        "MatMulNBits"})
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
                      "GlobalLpPool", "MaxRoiPool"})
NORMALIZATION_OPS = frozenset({
    "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
    "LpNormalization", "MeanVarianceNormalization", "RMSNormalization", "SkipLayerNormalization",
    "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "LRN", "Softmax",
    "LogSoftmax", "Hardmax"})
ELEMENTWISE_OPS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "Asin", "Asinh", "Atan", "Atanh", "BiasGelu",
    "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "Ceil", "Celu", "Clip",
    "Cos", "Cosh", "Div", "Elu", "Equal", "Erf", "Exp", "FastGelu", "Floor", "Gelu", "Greater",
    "GreaterOrEqual", "HardSigmoid", "HardSwish", "IsInf", "IsNaN", "LeakyRelu", "Less",
    "LessOrEqual", "Log", "Max", "Mean", "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "PRelu",
    "Pow", "QuickGelu", "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin",
    "Sinh", "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Swish", "Tan", "Tanh",
    "ThresholdedRelu", "Where", "Xor", "DequantizeLinear", "QuantizeLinear",
    "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu"})
DATA_MOVEMENT_OPS = frozenset({
    "Cast", "CastLike", "CenterCropPad", "Compress", "Concat", "DepthToSpace", "Expand", "Flatten",
    "Gather", "GatherElements", "GatherND", "Identity", "OneHot", "Pad", "Reshape", "Resize",
    "ReverseSequence", "Scatter", "ScatterElements", "ScatterND", "Shape", "Size", "Slice",
    "SpaceToDepth", "Split", "Squeeze", "Tile", "Transpose", "Trilu", "Unsqueeze", "Upsample"})

# Inputs that are parameters, by op type; other initializer inputs of these ops
# are running statistics or configuration. BatchNormalization's mean and var
# count in weight_bytes but not in params, like PyTorch's parameter count.
_PARAM_SLOTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1,), "QLinearConv": (3, 8),
    "BatchNormalization": (1, 2), "LayerNormalization": (1, 2), "GroupNormalization": (1, 2),
    "InstanceNormalization": (1, 2), "RMSNormalization": (1,), "Gemm": (0, 1, 2),
    "MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3), "FusedMatMul": (0, 1),
    "MatMulNBits": (1,), "PRelu": (1,),
}


def category(op_type: str) -> str:
    """The node category of an op type (see ``info.CATEGORIES``)."""
    if op_type in CONV_OPS:
        return "conv"
    if op_type in MATMUL_OPS:
        return "matmul"
    if op_type in POOL_OPS:
        return "pool"
    if op_type in NORMALIZATION_OPS:
        return "normalization"
    if op_type in ELEMENTWISE_OPS:
        return "elementwise"
    if op_type in DATA_MOVEMENT_OPS:
        return "data_movement"
    return "other"


def is_param_input(op_type: str, index: int, elem_type_is_float: bool, elements: int) -> bool:
    """Whether the constant at input ``index`` of an ``op_type`` node is a learned parameter.

    Ops with known weight slots count those slots. Any other op counts only
    floating-point constants of more than one element: scalars (Clip bounds,
    a 0.5 in a Mul) and integer tensors (shapes, axes, pads) are configuration.
    """
    slots = _PARAM_SLOTS.get(op_type)
    if slots is not None:
        return index in slots
    if op_type in NORMALIZATION_OPS:
        return index > 0
    return elem_type_is_float and elements > 1


def _shape(shapes: Sequence[Shape | None], index: int) -> Shape | None:
    return shapes[index] if index < len(shapes) else None


def _prod(values: Sequence[Any]) -> int:
    result = 1
    for value in values:
        result *= int(value)
    return result


def _static(shape: Shape | None) -> list[int] | None:
    return [int(d) for d in shape] if element_count(shape) is not None and shape is not None \
        else None


def _matmul_k(op_type: str, a: list[int], attrs: dict[str, Any]) -> int:
    if op_type == "Gemm":
        return a[0] if attrs.get("transA", 0) else a[1]
    if op_type == "FusedMatMul" and attrs.get("transA", 0) and len(a) >= 2:
        return a[-2]
    return a[-1]


def operation_count(op_type: str, attrs: dict[str, Any], in_shapes: Sequence[Shape | None],
                    out_shapes: Sequence[Shape | None]) -> int | None:
    """Operations of one node in its category, or ``None`` when a needed shape is not known.

    For conv and matmul nodes this is the MAC count.
    """
    kind = category(op_type)
    out = _static(_shape(out_shapes, 0))
    if kind == "conv":
        weight_index = 3 if op_type == "QLinearConv" else 1
        weight = _static(_shape(in_shapes, weight_index))
        if weight is None or len(weight) < 2:
            return None
        if op_type == "ConvTranspose":
            data = _static(_shape(in_shapes, 0))
            return None if data is None else _prod(data) * _prod(weight[1:])
        return None if out is None else _prod(out) * _prod(weight[1:])
    if kind == "matmul":
        a = _static(_shape(in_shapes, 0))
        if a is None or out is None or not a:
            return None
        return _prod(out) * _matmul_k(op_type, a, attrs)
    if kind == "pool":
        if op_type.startswith("Global"):
            data = _static(_shape(in_shapes, 0))
            return None if data is None else _prod(data)
        kernel = attrs.get("kernel_shape") or attrs.get("pooled_shape") or []
        return None if out is None else _prod(out) * _prod(kernel)
    if kind in ("elementwise", "normalization"):
        return None if out is None else _prod(out)
    return 0
