"""What the static analysis says about one tensor or one node: plain data, no onnx needed.

Shapes are lists of ``int`` (a fixed dim) or ``str`` (a symbolic dim, by its
name, e.g. ``"batch"``; ``"?"`` for a dim nobody named). A shape is ``None``
where shape inference could not tell even the rank.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

Shape = list[int | str]

#: node categories; ``macs`` counts only the first two, ``ops`` counts per category
CATEGORIES = ("conv", "matmul", "pool", "elementwise", "normalization", "data_movement", "other")
MAC_CATEGORIES = ("conv", "matmul")

# Bits per element of each ONNX element type (TensorProto.DataType numbers), so
# sizes can be computed without numpy knowing every type (4-bit, float8, ...).
_BITS: dict[int, int] = {
    1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
    14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2,
    26: 2, 27: 6, 28: 6,
}
_NAMES: dict[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "str", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
    19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
    24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3", 28: "float6e3m2",
}
FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20, 23, 24, 27, 28})


def dtype_name(elem_type: int) -> str:
    """The numpy-style name of an ONNX element type ("float32", "int64"; "undefined" for 0)."""
    return _NAMES.get(elem_type, "undefined")


def element_count(shape: Shape | None) -> int | None:
    """Number of elements of a fully known shape, else ``None``."""
    if shape is None or not all(isinstance(d, int) and d >= 0 for d in shape):
        return None
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def tensor_bytes(shape: Shape | None, elem_type: int) -> int | None:
    """Bytes of a tensor of a fully known shape and a fixed-size type, else ``None``."""
    count = element_count(shape)
    bits = _BITS.get(elem_type)
    if count is None or bits is None:
        return None
    return (count * bits + 7) // 8


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """A graph input or output: name, numpy dtype name, and shape (symbolic dims by name)."""

    name: str
    dtype: str
    shape: Shape | None

    @property
    def is_static(self) -> bool:
        """True when every dim is a fixed number."""
        return element_count(self.shape) is not None

    def to_dict(self) -> dict[str, Any]:
        """The tensor as a JSON-able dict."""
        return {"name": self.name, "dtype": self.dtype,
                "shape": None if self.shape is None else list(self.shape)}


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node of the main graph with its shapes, cost and memory, in graph order.

    ``macs`` is non-zero only for the ``conv`` and ``matmul`` categories (the
    figure papers publish); ``ops`` is the operation count within the node's
    own category (MACs for conv/matmul, window reads for pooling, element
    operations for elementwise and normalization ops, 0 for data movement and
    other ops). ``weight_bytes`` counts the initializers (and Constant values)
    the node reads; an initializer shared by several nodes counts at each of
    them, but once in the model's totals. Activation bytes are 0 where a
    shape is unknown or symbolic.
    """

    name: str
    op_type: str
    domain: str
    inputs: list[str]
    outputs: list[str]
    input_shapes: list[Shape | None]
    output_shapes: list[Shape | None]
    input_dtypes: list[str | None]
    output_dtypes: list[str | None]
    params: int
    macs: int
    ops: int
    category: str
    weight_bytes: int
    activation_bytes_in: int
    activation_bytes_out: int
    #: the op's name in the vocabulary both formats share (``vocabulary.canonical``)
    canonical: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The node as a JSON-able dict (lists copied)."""
        return asdict(self)
