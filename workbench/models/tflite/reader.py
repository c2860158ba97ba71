"""Read a .tflite file's main graph: tensors, operators, options and weight sizes.

Pure Python over :mod:`flatbuf`; LiteRT is not needed. Weights are never
copied: a constant tensor's data is only checked to lie inside the file.
Every failure raises a :class:`workbench.errors.ModelError` subclass saying
what is wrong and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench import errors
from workbench.models.tflite import schema as s
from workbench.models.tflite.flatbuf import FlatbufferError, Table, root


@dataclass
class Tensor:
    """One tensor of the graph: dtype, size and shape as stored (the size the runtime allocates)."""

    index: int
    name: str
    dtype: str
    shape: list[int | str]
    bits: int
    constant: bool
    #: axes the file marks as free (shape_signature -1); ``shape`` holds the stored size
    free_axes: list[int] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor (0 when a dim is not fixed or the type has no fixed size)."""
        count = 1
        for dim in self.shape:
            if not isinstance(dim, int):
                return 0
            count *= dim
        return (count * self.bits + 7) // 8


@dataclass
class Operator:
    """One operator: its op type (builtin name or custom code), tensor indices, options."""

    index: int
    op_type: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """The main subgraph of a .tflite model and the file's facts."""

    version: int
    description: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    subgraphs: int


def _options(op_type: str, table: Table | None) -> dict[str, Any]:
    """The options the analysis uses (strides, filter, fused activation...)."""
    found: dict[str, Any] = {}
    if table is None:
        return found
    if op_type == "CONV_2D":
        found["padding"] = table.scalar(s.CONV_PADDING, "b")
        found["strides"] = [table.scalar(s.CONV_STRIDE_H, "i"), table.scalar(s.CONV_STRIDE_W, "i")]
        found["activation"] = table.scalar(s.CONV_ACTIVATION, "b")
    elif op_type == "DEPTHWISE_CONV_2D":
        found["padding"] = table.scalar(s.DW_PADDING, "b")
        found["strides"] = [table.scalar(s.DW_STRIDE_H, "i"), table.scalar(s.DW_STRIDE_W, "i")]
        found["depth_multiplier"] = table.scalar(s.DW_MULTIPLIER, "i")
        found["activation"] = table.scalar(s.DW_ACTIVATION, "b")
    elif op_type in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        found["padding"] = table.scalar(s.POOL_PADDING, "b")
        found["strides"] = [table.scalar(s.POOL_STRIDE_H, "i"),
                            table.scalar(s.POOL_STRIDE_W, "i")]
        found["kernel_shape"] = [table.scalar(s.POOL_FILTER_H, "i"),
                                 table.scalar(s.POOL_FILTER_W, "i")]
        found["activation"] = table.scalar(s.POOL_ACTIVATION, "b")
    elif op_type == "FULLY_CONNECTED":
        found["activation"] = table.scalar(s.FC_ACTIVATION, "b")
        found["keep_num_dims"] = bool(table.scalar(s.FC_KEEP_NUM_DIMS, "?", False))
    elif op_type in ("ADD", "SUB", "MUL", "DIV"):
        found["activation"] = table.scalar(s.ADD_ACTIVATION, "b")
    elif op_type == "SOFTMAX":
        found["beta"] = table.scalar(s.SOFTMAX_BETA, "f", 0.0)
    elif op_type in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"):
        found["keep_dims"] = bool(table.scalar(s.REDUCER_KEEP_DIMS, "?", False))
    if "activation" in found:
        code = found["activation"]
        found["activation"] = s.ACTIVATIONS[code] if 0 <= code < len(s.ACTIVATIONS) else str(code)
    return found


def _op_type(code: Table) -> str:
    builtin = code.scalar(s.OPCODE_BUILTIN, "i", 0)
    deprecated = code.scalar(s.OPCODE_DEPRECATED_BUILTIN, "b", 0)
    # Files from before the wide field hold the code in the one-byte field only.
    number = max(builtin, deprecated)
    if number == s.BUILTIN_CODES["CUSTOM"]:
        return code.string(s.OPCODE_CUSTOM) or "CUSTOM"
    return s.BUILTIN_OPS[number] if 0 <= number < len(s.BUILTIN_OPS) else f"BUILTIN_{number}"


def _buffer_sizes(model: Table, data_length: int, where: str) -> list[int]:
    """Bytes of data each buffer holds; raises when one lies past the end of the file."""
    sizes = []
    for index, buffer in enumerate(model.tables(s.MODEL_BUFFERS)):
        _, length = buffer.byte_span(s.BUFFER_DATA)
        offset = buffer.scalar(s.BUFFER_OFFSET, "Q", 0)
        size = buffer.scalar(s.BUFFER_SIZE, "Q", 0)
        if offset > 1 and offset + size > data_length:
            raise errors.ModelTruncated(
                f"Buffer {index} ({size} B at offset {offset}) lies past the end of the "
                f"{data_length}-byte file", where=where)
        sizes.append(length or (size if offset > 1 else 0))
    return sizes


def _tensor(table: Table, index: int, buffers: list[int]) -> Tensor:
    name = table.string(s.TENSOR_NAME) or f"tensor_{index}"
    code = table.scalar(s.TENSOR_TYPE, "b", 0)
    dtype, bits = s.TENSOR_TYPES.get(code, (f"type{code}", 0))
    dims = table.scalars(s.TENSOR_SHAPE, "i")
    signature = table.scalars(s.TENSOR_SHAPE_SIGNATURE, "i")
    shape: list[int | str] = [f"{name}_dim{axis}" if dim < 0 else int(dim)
                              for axis, dim in enumerate(dims)]
    free = [axis for axis, dim in enumerate(signature) if dim < 0]
    buffer = table.scalar(s.TENSOR_BUFFER, "I", 0)
    constant = 0 < buffer < len(buffers) and buffers[buffer] > 0
    return Tensor(index, name, dtype, shape, bits, constant, free)


def read(data: bytes, where: str) -> Graph:
    """The main graph of a .tflite flatbuffer; ModelError subclasses for bad bytes."""
    if not data:
        raise errors.ModelTruncated("The .tflite file is empty", where=where)
    if len(data) < 8:
        raise errors.ModelTruncated(f"Only {len(data)} bytes: too short for a .tflite model",
                                    where=where)
    if data[4:8] != s.IDENTIFIER:
        raise errors.InvalidTfliteModel(
            f"No TFLite file identifier (bytes 4-8 are {bytes(data[4:8])!r}, not b'TFL3')",
            where=where, hint="Give a .tflite flatbuffer (a TensorFlow Lite / LiteRT model)")
    try:
        return _read(data, where)
    except FlatbufferError as exc:
        if "past the end" in str(exc):
            raise errors.ModelTruncated(f"The .tflite file is cut short: {exc}",
                                        where=where) from None
        raise errors.InvalidTfliteModel(f"The .tflite flatbuffer is corrupt: {exc}",
                                        where=where) from None


def _read(data: bytes, where: str) -> Graph:
    model = root(data, s.IDENTIFIER)
    version = model.scalar(s.MODEL_VERSION, "I", 0)
    codes = [_op_type(code) for code in model.tables(s.MODEL_OPERATOR_CODES)]
    subgraphs = model.tables(s.MODEL_SUBGRAPHS)
    if not subgraphs:
        raise errors.InvalidTfliteModel("The .tflite model has no subgraph", where=where)
    buffers = _buffer_sizes(model, len(data), where)
    main = subgraphs[0]
    tensors = [_tensor(t, i, buffers) for i, t in enumerate(main.tables(s.SUBGRAPH_TENSORS))]

    def indices(values: list[int], what: str) -> list[int]:
        bad = [v for v in values if v >= len(tensors) or v < -1]
        if bad:
            raise errors.InvalidTfliteModel(
                f"{what} names tensor {bad[0]}, but the graph has {len(tensors)} tensors",
                where=where)
        return values

    operators = []
    for index, op in enumerate(main.tables(s.SUBGRAPH_OPERATORS)):
        opcode = op.scalar(s.OP_OPCODE_INDEX, "I", 0)
        if opcode >= len(codes):
            raise errors.InvalidTfliteModel(
                f"Operator {index} uses operator code {opcode}, but the file has "
                f"{len(codes)}", where=where)
        op_type = codes[opcode]
        options = _options(op_type, op.table(s.OP_OPTIONS))
        operators.append(Operator(index, op_type, indices(op.scalars(s.OP_INPUTS, "i"),
                                                          f"Operator {index}'s input"),
                                  indices(op.scalars(s.OP_OUTPUTS, "i"),
                                          f"Operator {index}'s output"), options))
    return Graph(version=version, description=model.string(s.MODEL_DESCRIPTION) or "",
                 tensors=tensors, operators=operators,
                 inputs=indices(main.scalars(s.SUBGRAPH_INPUTS, "i"), "The graph input"),
                 outputs=indices(main.scalars(s.SUBGRAPH_OUTPUTS, "i"), "The graph output"),
                 subgraphs=len(subgraphs))
