"""One op vocabulary for ONNX and TFLite: canonical names, so runs and analyses compare.

ONNX says ``Conv``, TFLite ``CONV_2D``; ONNX ``Gemm`` or ``MatMul``, TFLite
``FULLY_CONNECTED``. :func:`canonical` maps either to one lower-case name
(``"conv"``, ``"fully_connected"``), and :func:`category` gives the node
category the static analysis counts operations by (see ``info.CATEGORIES``).

    canonical("Conv") == canonical("CONV_2D") == "conv"
    canonical("Conv", depthwise=True) == canonical("DEPTHWISE_CONV_2D") == "depthwise_conv"
    same_op("GlobalAveragePool", "MEAN")    # True: both average over axes

An op type neither format knows is returned lower-cased, so it still compares
equal to itself. Fused activations (a TFLite CONV_2D with RELU6 fused) are
not ops of their own here; layers are matched by the tensors at their
boundaries, not by op names.
"""

from __future__ import annotations

# canonical name -> (category, ONNX op types, TFLite builtin op names)
_TABLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "conv": ("conv", ("Conv", "ConvInteger", "QLinearConv"), ("CONV_2D",)),
    "depthwise_conv": ("conv", (), ("DEPTHWISE_CONV_2D",)),
    "conv_transpose": ("conv", ("ConvTranspose",), ("TRANSPOSE_CONV",)),
    "conv3d": ("conv", (), ("CONV_3D",)),
    "fully_connected": ("matmul", ("Gemm", "MatMul", "MatMulInteger", "QLinearMatMul",
                                   "FusedMatMul", "MatMulNBits"), ("FULLY_CONNECTED",)),
    "batch_matmul": ("matmul", (), ("BATCH_MATMUL",)),
    "avg_pool": ("pool", ("AveragePool",), ("AVERAGE_POOL_2D",)),
    "max_pool": ("pool", ("MaxPool",), ("MAX_POOL_2D",)),
    "l2_pool": ("pool", ("LpPool",), ("L2_POOL_2D",)),
    "mean": ("pool", ("GlobalAveragePool", "ReduceMean"), ("MEAN",)),
    "global_max_pool": ("pool", ("GlobalMaxPool",), ()),
    "reduce_max": ("pool", ("ReduceMax",), ("REDUCE_MAX",)),
    "sum": ("pool", ("ReduceSum",), ("SUM",)),
    "add": ("elementwise", ("Add", "Sum", "QLinearAdd"), ("ADD", "ADD_N")),
    "sub": ("elementwise", ("Sub",), ("SUB",)),
    "mul": ("elementwise", ("Mul", "QLinearMul"), ("MUL",)),
    "div": ("elementwise", ("Div",), ("DIV",)),
    "maximum": ("elementwise", ("Max",), ("MAXIMUM",)),
    "minimum": ("elementwise", ("Min",), ("MINIMUM",)),
    "pow": ("elementwise", ("Pow",), ("POW",)),
    "relu": ("elementwise", ("Relu",), ("RELU",)),
    "relu6": ("elementwise", (), ("RELU6",)),
    "clip": ("elementwise", ("Clip",), ("RELU_N1_TO_1", "RELU_0_TO_1")),
    "leaky_relu": ("elementwise", ("LeakyRelu",), ("LEAKY_RELU",)),
    "prelu": ("elementwise", ("PRelu",), ("PRELU",)),
    "elu": ("elementwise", ("Elu",), ("ELU",)),
    "gelu": ("elementwise", ("Gelu", "FastGelu", "BiasGelu", "QuickGelu"), ("GELU",)),
    "hard_swish": ("elementwise", ("HardSwish",), ("HARD_SWISH",)),
    "sigmoid": ("elementwise", ("Sigmoid", "QLinearSigmoid"), ("LOGISTIC",)),
    "tanh": ("elementwise", ("Tanh",), ("TANH",)),
    "exp": ("elementwise", ("Exp",), ("EXP",)),
    "log": ("elementwise", ("Log",), ("LOG",)),
    "sqrt": ("elementwise", ("Sqrt",), ("SQRT",)),
    "rsqrt": ("elementwise", (), ("RSQRT",)),
    "abs": ("elementwise", ("Abs",), ("ABS",)),
    "neg": ("elementwise", ("Neg",), ("NEG",)),
    "square": ("elementwise", (), ("SQUARE",)),
    "squared_difference": ("elementwise", (), ("SQUARED_DIFFERENCE",)),
    "quantize": ("elementwise", ("QuantizeLinear", "DynamicQuantizeLinear"), ("QUANTIZE",)),
    "dequantize": ("elementwise", ("DequantizeLinear",), ("DEQUANTIZE",)),
    "softmax": ("normalization", ("Softmax",), ("SOFTMAX",)),
    "log_softmax": ("normalization", ("LogSoftmax",), ("LOG_SOFTMAX",)),
    "batch_norm": ("normalization", ("BatchNormalization",), ()),
    "layer_norm": ("normalization", ("LayerNormalization", "SimplifiedLayerNormalization",
                                     "SkipLayerNormalization"), ()),
    "l2_norm": ("normalization", ("LpNormalization",), ("L2_NORMALIZATION",)),
    "lrn": ("normalization", ("LRN",), ("LOCAL_RESPONSE_NORMALIZATION",)),
    "reshape": ("data_movement", ("Reshape", "Flatten"), ("RESHAPE",)),
    "squeeze": ("data_movement", ("Squeeze",), ("SQUEEZE",)),
    "unsqueeze": ("data_movement", ("Unsqueeze",), ("EXPAND_DIMS",)),
    "transpose": ("data_movement", ("Transpose",), ("TRANSPOSE",)),
    "concat": ("data_movement", ("Concat",), ("CONCATENATION",)),
    "split": ("data_movement", ("Split",), ("SPLIT", "SPLIT_V")),
    "slice": ("data_movement", ("Slice",), ("SLICE", "STRIDED_SLICE")),
    "pad": ("data_movement", ("Pad",), ("PAD", "PADV2", "MIRROR_PAD")),
    "gather": ("data_movement", ("Gather",), ("GATHER",)),
    "gather_nd": ("data_movement", ("GatherND",), ("GATHER_ND",)),
    "tile": ("data_movement", ("Tile",), ("TILE",)),
    "expand": ("data_movement", ("Expand",), ("BROADCAST_TO",)),
    "cast": ("data_movement", ("Cast",), ("CAST",)),
    "resize": ("data_movement", ("Resize", "Upsample"),
               ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")),
    "depth_to_space": ("data_movement", ("DepthToSpace",), ("DEPTH_TO_SPACE",)),
    "space_to_depth": ("data_movement", ("SpaceToDepth",), ("SPACE_TO_DEPTH",)),
    "pack": ("data_movement", (), ("PACK",)),
    "unpack": ("data_movement", (), ("UNPACK",)),
    "identity": ("data_movement", ("Identity",), ()),
    "shape": ("data_movement", ("Shape",), ("SHAPE",)),
    "delegate": ("other", (), ("DELEGATE",)),
    "custom": ("other", (), ("CUSTOM",)),
}

_BY_NAME: dict[str, str] = {}
for _canonical, (_category, _onnx, _tflite) in _TABLE.items():
    for _name in (*_onnx, *_tflite):
        _BY_NAME.setdefault(_name, _canonical)

#: the formats' op names each canonical name stands for
ONNX_OPS: dict[str, tuple[str, ...]] = {name: entry[1] for name, entry in _TABLE.items()}
TFLITE_OPS: dict[str, tuple[str, ...]] = {name: entry[2] for name, entry in _TABLE.items()}


def canonical(op_type: str, *, depthwise: bool = False) -> str:
    """The canonical name of an ONNX or TFLite op type.

    ``depthwise`` marks an ONNX Conv whose groups equal its input channels:
    ONNX has no op name of its own for it.
    """
    name = _BY_NAME.get(op_type, op_type.lower())
    return "depthwise_conv" if depthwise and name == "conv" else name


def category(op_type: str) -> str:
    """The node category (``info.CATEGORIES``) of an op type of either format, or a canonical
    name; ``"other"`` for op types the vocabulary does not know."""
    name = op_type if op_type in _TABLE else _BY_NAME.get(op_type, "")
    return _TABLE[name][0] if name in _TABLE else "other"


def same_op(a: str, b: str) -> bool:
    """Whether two op types (of the same or of different formats) are the same operation."""
    return canonical(a) == canonical(b)


def known() -> list[str]:
    """Every canonical name, sorted."""
    return sorted(_TABLE)
