"""Static analysis of an ONNX graph: shapes, params, MACs, bytes, peak activation memory.

Shape inference runs on a light copy of the model whose large initializers
are replaced by dims-only stubs (marked as external data), so neither
external weights nor a second copy of inline weights is ever loaded.

Peak activation memory comes from tensor liveness over the node order: a
tensor is alive from its producer (step 0 for a graph input) to its last
consumer (graph outputs to the end); the peak is the largest sum of the bytes
of the tensors alive at one step. Initializers and Constant values are
weights, not activations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import onnx

from workbench import errors
from workbench.models import ops, vocabulary
from workbench.models.constants import constant_tensors
from workbench.models.info import (
    CATEGORIES,
    FLOAT_TYPES,
    MAC_CATEGORIES,
    NodeInfo,
    Shape,
    TensorInfo,
    dtype_name,
    element_count,
    tensor_bytes,
)

STUB_LOCATION = "workbench-analysis-stub"
_STUB_ABOVE_BYTES = 4096  # smaller initializers stay: shape inference may need their values


@dataclass
class Analysis:
    """Everything the static analysis found; ``Model`` exposes it."""

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    nodes: list[NodeInfo]
    params: int
    macs: int
    weight_bytes: int
    peak_activation_bytes: int
    ops_by_category: dict[str, int]
    warnings: list[str] = field(default_factory=list)


def _stub(tensor: onnx.TensorProto) -> onnx.TensorProto:
    stub = onnx.TensorProto(name=tensor.name, data_type=tensor.data_type,
                            data_location=onnx.TensorProto.EXTERNAL)
    stub.dims.extend(tensor.dims)
    entry = stub.external_data.add()
    entry.key, entry.value = "location", STUB_LOCATION
    return stub


def light_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The model without the data of its large initializers (dims and types kept)."""
    light = onnx.ModelProto(ir_version=proto.ir_version)
    light.opset_import.extend(proto.opset_import)
    light.functions.extend(proto.functions)
    graph, source = light.graph, proto.graph
    graph.name = source.name
    graph.node.extend(source.node)
    graph.input.extend(source.input)
    graph.output.extend(source.output)
    graph.value_info.extend(source.value_info)
    graph.sparse_initializer.extend(source.sparse_initializer)
    for tensor in source.initializer:
        big = tensor.data_location == onnx.TensorProto.EXTERNAL or \
            tensor.ByteSize() > _STUB_ABOVE_BYTES
        graph.initializer.append(_stub(tensor) if big else tensor)
    return light


def infer_shapes(proto: onnx.ModelProto, *, where: str) -> tuple[onnx.ModelProto, list[str]]:
    """Strict shape inference on a light copy; a rejected graph raises InvalidGraph."""
    light = light_copy(proto)
    try:
        inferred = onnx.shape_inference.infer_shapes(light, check_type=True, strict_mode=True,
                                                     data_prop=True)
    except onnx.shape_inference.InferenceError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise errors.InvalidGraph(f"Shape inference rejects the graph: {message}", where=where,
                                  hint="Fix the node it names; onnx.shape_inference.infer_shapes("
                                  "model, strict_mode=True) shows the same") from None
    except ValueError as exc:  # e.g. a graph over protobuf's 2 GB limit
        return light, [f"shape inference skipped ({exc}); only declared shapes are known"]
    return inferred, []


def _type_of(value: onnx.ValueInfoProto) -> tuple[int, Shape | None]:
    if not value.type.HasField("tensor_type"):
        return 0, None
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return tensor_type.elem_type, None
    shape: Shape = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            shape.append(int(dim.dim_value))
        else:
            shape.append(dim.dim_param or "?")
    return tensor_type.elem_type, shape


#: dim_param values exporters write for "unknown", not names of a dim: a dim holding one is
#: named after its input and axis like a dim without a name
PLACEHOLDER_DIM_NAMES = frozenset({"?", "-1", "None", "none", "null", "unk", "unknown", "dynamic"})


@dataclass(frozen=True, slots=True)
class FreeDim:
    """A graph input's dim that is not fixed, by the name shown and accepted for it."""

    name: str
    input: str
    index: int  # position among the graph inputs
    axis: int


def is_dim_name(dim_param: str) -> bool:
    """Whether a dim_param names a dim (``batch``), rather than saying "unknown" (``?``)."""
    return dim_param not in PLACEHOLDER_DIM_NAMES and any(c.isalnum() for c in dim_param)


def free_dims(inputs: Iterable[onnx.ValueInfoProto], constants: set[str]) -> list[FreeDim]:
    """The dims of graph inputs (initializers excluded) that are not fixed, in input order.

    A dim is free when it has no value or a negative one (``-1``). It is
    called by its dim_param when that is a name; otherwise (no dim_param, or a
    placeholder such as ``?`` repeated on several axes) ``<input>_dim<axis>``.
    """
    found: list[FreeDim] = []
    for index, value in enumerate(inputs):
        if value.name in constants or not value.type.HasField("tensor_type"):
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value >= 0:
                continue
            param = dim.dim_param if dim.HasField("dim_param") else ""
            name = param if is_dim_name(param) else f"{value.name}_dim{axis}"
            found.append(FreeDim(name, value.name, index, axis))
    return found


def input_dim_names(graph: onnx.GraphProto, constants: set[str] | None = None
                    ) -> dict[str, list[tuple[int, int]]]:
    """Free dims of the graph inputs: shown name -> [(input index, axis)] (see ``free_dims``)."""
    constants = constants if constants is not None else {t.name for t in graph.initializer}
    found: dict[str, list[tuple[int, int]]] = {}
    for dim in free_dims(graph.input, constants):
        found.setdefault(dim.name, []).append((dim.index, dim.axis))
    return found


def _graph_input_info(value: onnx.ValueInfoProto) -> TensorInfo:
    elem_type, shape = _type_of(value)
    if shape is not None:
        names = {d.axis: d.name for d in free_dims([value], set())}
        shape = [names.get(axis, d) for axis, d in enumerate(shape)]
    return TensorInfo(value.name, dtype_name(elem_type), shape)


def _constant_values(graph: onnx.GraphProto) -> dict[str, tuple[int, Shape | None]]:
    """Initializers and Constant-node outputs: name -> (elem type, shape)."""
    return {name: (t.data_type, [int(d) for d in t.dims]) if t is not None else (0, None)
            for name, t in constant_tensors(graph).items()}


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.INT:
            attrs[attr.name] = int(attr.i)
        elif attr.type == onnx.AttributeProto.INTS:
            attrs[attr.name] = [int(i) for i in attr.ints]
    return attrs


def _depthwise(attrs: dict[str, Any], in_shapes: list[Shape | None]) -> bool:
    """A grouped conv with one group per input channel."""
    groups = attrs.get("group", 1)
    data = in_shapes[0] if in_shapes else None
    return groups > 1 and data is not None and len(data) > 1 and data[1] == groups


def peak_live_bytes(steps: int, lifetimes: Iterable[tuple[int, int, int]]) -> int:
    """Largest sum of bytes alive at one step; ``lifetimes`` holds (start, end, bytes)."""
    delta = [0] * (max(steps, 1) + 1)
    for start, end, size in lifetimes:
        delta[start] += size
        delta[end + 1] -= size
    peak = alive = 0
    for change in delta[:-1]:
        alive += change
        peak = max(peak, alive)
    return peak


def analyse(inferred: onnx.ModelProto) -> Analysis:
    """Per-node and total figures of the main graph of an inferred (light) model."""
    graph = inferred.graph
    types: dict[str, tuple[int, Shape | None]] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        types[value.name] = _type_of(value)
    constants = _constant_values(graph)
    for name, entry in constants.items():
        if entry[1] is not None or name not in types:
            types[name] = entry

    def shape_of(name: str) -> Shape | None:
        return types[name][1] if name and name in types else None

    def dtype_of(name: str) -> str | None:
        return dtype_name(types[name][0]) if name and name in types else None

    def size_of(name: str) -> int:
        if name not in types:
            return 0
        elem_type, shape = types[name]
        return tensor_bytes(shape, elem_type) or 0

    unknown: list[str] = []
    uncounted: list[str] = []
    nodes: list[NodeInfo] = []
    param_tensors: set[str] = set()
    ops_total = dict.fromkeys(CATEGORIES, 0)
    for node in graph.node:
        kind = ops.category(node.op_type)
        ins, outs = list(node.input), list(node.output)
        in_shapes = [shape_of(t) for t in ins]
        out_shapes = [shape_of(t) for t in outs]
        params = weight = act_in = 0
        for index, tensor in enumerate(ins):
            if not tensor:
                continue
            if tensor in constants:
                elem_type, shape = constants[tensor]
                count = element_count(shape) or 0
                weight += size_of(tensor)
                if ops.is_param_input(node.op_type, index, elem_type in FLOAT_TYPES, count):
                    params += count
                    param_tensors.add(tensor)
            else:
                act_in += size_of(tensor)
        is_constant = node.op_type == "Constant"
        act_out = 0 if is_constant else sum(size_of(t) for t in outs if t)
        attrs = _attributes(node)
        counted = ops.operation_count(node.op_type, attrs, in_shapes, out_shapes)
        if counted is None:
            uncounted.append(node.name)
        work = counted or 0
        ops_total[kind] += work
        nodes.append(NodeInfo(
            name=node.name, op_type=node.op_type, domain=node.domain, inputs=ins, outputs=outs,
            input_shapes=in_shapes, output_shapes=out_shapes,
            input_dtypes=[dtype_of(t) for t in ins], output_dtypes=[dtype_of(t) for t in outs],
            params=params, macs=work if kind in MAC_CATEGORIES else 0, ops=work,
            category=kind, weight_bytes=weight, activation_bytes_in=act_in,
            activation_bytes_out=act_out,
            canonical=vocabulary.canonical(node.op_type, depthwise=_depthwise(attrs, in_shapes))))

    steps = len(nodes)
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    for value in graph.input:
        if value.name not in constants:
            start[value.name] = end[value.name] = 0
    for step, node in enumerate(nodes):
        for tensor in node.inputs:
            if tensor in start:
                end[tensor] = step
        if node.op_type != "Constant":
            for tensor in node.outputs:
                if tensor and tensor not in constants:
                    start[tensor] = end[tensor] = step
    for value in graph.output:
        if value.name in start:
            end[value.name] = max(steps - 1, 0)
    for tensor in start:
        if size_of(tensor) == 0 and element_count(shape_of(tensor)) != 0:
            unknown.append(tensor)
    peak = peak_live_bytes(steps, ((start[t], end[t], size_of(t)) for t in start))

    warnings: list[str] = []
    if unknown:
        example = unknown[0]
        warnings.append(
            f"{len(unknown)} activation tensors have unknown or symbolic shapes (e.g. "
            f"{example!r}: {shape_of(example)}); their bytes count as 0 in activation and peak "
            "memory figures; fix symbolic dims with with_shapes(...)")
    if uncounted:
        warnings.append(f"{len(uncounted)} nodes have shapes too unknown to count their "
                        f"operations (e.g. {uncounted[0]!r}); they count as 0 MACs/ops")
    constant_bytes = sum(tensor_bytes(shape, elem) or 0 for elem, shape in constants.values())
    return Analysis(
        inputs=[_graph_input_info(v) for v in graph.input if v.name not in constants],
        outputs=[TensorInfo(v.name, dtype_name(types[v.name][0]), types[v.name][1])
                 for v in graph.output],
        nodes=nodes,
        params=sum(element_count(constants[t][1]) or 0 for t in param_tensors),
        macs=sum(n.macs for n in nodes),
        weight_bytes=constant_bytes,
        peak_activation_bytes=peak,
        ops_by_category=ops_total,
        warnings=warnings)
