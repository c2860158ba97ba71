"""Runner of the reference backend (runner API 1): a pure-numpy ONNX interpreter.

The workbench agent loads this file by path on the device; it needs only the
standard library and numpy (Python 3.8+). A small protobuf reader of its own
reads the model (nodes, attributes, initializers, outputs, opset); the nodes
are then evaluated in graph order, one numpy kernel each.

Per-layer times: in a profiled run the timer around a node covers exactly one
call of that node's numpy kernel, nothing else (no input lookup, no storing of
outputs, no graph bookkeeping). The figures show how a plain interpreter spends
its time, not what an optimised runtime would do.
"""
# zip(strict=) needs Python 3.10; this file runs on 3.8.
# ruff: noqa: B905

from __future__ import annotations

import hashlib
import os
import struct
import time
from functools import reduce
from typing import Any

import numpy as np

RUNNER_API = 1
NAME = "numpy"
MAX_KEPT_VALUES = 1 << 16
DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
          9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64"}


def probe() -> dict[str, Any]:
    return {"version": np.__version__, "providers": ["numpy"]}


def _failure(kind: str, what: str, where: Any = None, hint: Any = None) -> Exception:
    from workbench_agent.runner_api import AgentFailure

    return AgentFailure(kind, what, where=where, hint=hint)


# --- a tiny protobuf reader: what ONNX models need -----------------------------------------

def _varint(data: Any, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        result, pos, shift = result | (byte & 0x7F) << shift, pos + 1, shift + 7
        if not byte & 0x80:
            return result, pos


def _fields(data: Any) -> Any:
    """(field number, wire type, value) of a message: an int for varints, else a memoryview."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
            continue
        if wire not in (1, 2, 5):
            raise ValueError(f"unsupported protobuf wire type {wire}")
        size, pos = _varint(data, pos) if wire == 2 else (8 if wire == 1 else 4, pos)
        yield number, wire, data[pos:pos + size]
        pos += size


def _message(data: Any) -> dict[int, Any]:
    """The last value of each field (for messages read without their repeated fields)."""
    return {number: value for number, _, value in _fields(data)}


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8", "replace")


def _ints(wire: int, value: Any, signed: bool = True) -> list[int]:
    """A varint or a packed run of varints; int64 fields are two's complement."""
    found, pos = ([value] if wire == 0 else []), 0
    while wire == 2 and pos < len(value):
        number, pos = _varint(value, pos)
        found.append(number)
    return [v - (1 << 64) if signed and v >= 1 << 63 else v for v in found]


def _tensor(data: Any, base_dir: str) -> tuple[str, Any]:
    """TensorProto -> (name, array): from raw_data, the typed fields, or external data."""
    dims: list[int] = []
    typed: dict[int, list[Any]] = {}
    external: dict[str, str] = {}
    fields = _message(data)
    for number, wire, value in _fields(data):
        if number == 1:
            dims += _ints(wire, value)
        elif number == 13:  # external data: key/value entries
            entry = _message(value)
            external[_text(entry.get(1, b""))] = _text(entry.get(2, b""))
        elif number in (4, 5, 7, 10, 11):  # float, int32, int64, double, uint64 data
            typed.setdefault(number, []).append((wire, value))
    name, code, raw = _text(fields.get(8, b"")), fields.get(2, 1), fields.get(9)
    if code not in DTYPES:
        raise ValueError(f"tensor {name!r} has an unsupported element type {code}")
    dtype = np.dtype(DTYPES[code])
    if external:
        with open(os.path.join(base_dir, external["location"]), "rb") as handle:
            handle.seek(int(external.get("offset", 0)))
            raw = handle.read(int(external.get("length", -1)))
    if raw is not None:
        array = np.frombuffer(bytes(raw), dtype.newbyteorder("<")).astype(dtype)
    elif 4 in typed or 10 in typed:  # fixed width, packed or not
        fixed, parts = ("<f4", typed[4]) if 4 in typed else ("<f8", typed[10])
        array = np.concatenate([np.frombuffer(bytes(v), fixed) for _, v in parts]).astype(dtype)
    else:  # varints; float16 travels as its bit patterns in int32_data
        values = [n for field in (5, 7, 11) for wire, v in typed.get(field, [])
                  for n in _ints(wire, v, signed=field != 11)]
        array = (np.array(values, np.uint16).view(np.float16) if code == 10
                 else np.array(values).astype(dtype))
    return name, array.reshape(dims)


def _attribute(data: Any, base_dir: str) -> tuple[str, Any]:
    """AttributeProto -> (name, value): a float, int, string, tensor or a list of them."""
    fields = _message(data)
    lists: dict[int, list[Any]] = {6: [], 7: [], 8: []}  # FLOATS, INTS, STRINGS
    for number, wire, item in _fields(data):
        if number == 7:
            lists[6] += np.frombuffer(bytes(item), "<f4").tolist()
        elif number == 8:
            lists[7] += _ints(wire, item)
        elif number == 9:
            lists[8].append(_text(item))
    kind = fields.get(20) or next((k for k, v in lists.items() if v), 0)  # type, or a guess
    if kind in lists:
        return _text(fields[1]), lists[kind]
    if 2 in fields:
        return _text(fields[1]), struct.unpack("<f", bytes(fields[2]))[0]
    if 3 in fields:
        return _text(fields[1]), _ints(0, fields[3])[0]
    if 5 in fields:
        return _text(fields[1]), _tensor(fields[5], base_dir)[1]
    return _text(fields[1]), _text(fields.get(4, b""))


class Node:
    def __init__(self, data: Any, index: int, base_dir: str) -> None:
        fields = _message(data)
        self.op_type, self.domain = _text(fields.get(4, b"")), _text(fields.get(7, b""))
        # as the workbench names nameless nodes (its models arrive named already)
        self.name = _text(fields.get(3, b"")) or f"{self.op_type}_{index}"
        self.inputs = [_text(v) for n, _, v in _fields(data) if n == 1]
        self.outputs = [_text(v) for n, _, v in _fields(data) if n == 2]
        self.attrs = dict(_attribute(v, base_dir) for n, _, v in _fields(data) if n == 5)


class Graph:
    """A model's main graph, ready to evaluate: nodes in order, constants, outputs."""

    def __init__(self, path: str, compute: Any) -> None:
        with open(path, "rb") as handle:
            data = memoryview(handle.read())
        base_dir = os.path.dirname(os.path.abspath(path))
        opsets = {_text(_message(v).get(1, b"")): _message(v).get(2, 1)
                  for n, _, v in _fields(data) if n == 8}
        graph = _message(data).get(7, b"")
        self.nodes = [Node(v, i, base_dir) for i, v in enumerate(
            v for n, _, v in _fields(graph) if n == 1)]
        self.constants = {name: _as_compute(array, compute) for name, array in (
            _tensor(v, base_dir) for n, _, v in _fields(graph) if n == 5)}
        self.outputs: list[tuple[str, str | None]] = []  # dtype None: the graph does not say
        for number, _, value in _fields(graph):
            if number == 12:  # ValueInfoProto: name, type.tensor_type.elem_type
                info = _message(value)
                code = _message(_message(info.get(2, b"")).get(1, b"")).get(1)
                self.outputs.append((_text(info[1]), DTYPES.get(code or 0)))
        opset = opsets.get("", opsets.get("ai.onnx", 1))
        for node in self.nodes:
            if node.op_type not in OPS or node.domain not in ("", "ai.onnx"):
                raise _failure("BackendUnavailable", f"The reference backend has no kernel for "
                               f"{node.op_type} (node {node.name!r})", where=path,
                               hint=f"Supported ops: {', '.join(SUPPORTED_OPS)}")
            node.attrs["_compute"] = compute
            if node.op_type == "Softmax":  # opset 13 changed its default axis and meaning
                node.attrs.setdefault("axis", -1 if opset >= 13 else 1)
                node.attrs["_flatten"] = opset < 13


def _as_compute(array: Any, compute: Any) -> Any:
    return array.astype(compute) if array.dtype.kind == "f" else array


# --- kernels: each takes (inputs, attributes) and returns an array ------------------------

def _windows(x: Any, a: dict[str, Any], kernel: list[int], fill: Any, more: Any = None) -> Any:
    """[N, C, *out, *kernel] view of every window of x: pads, auto_pad, strides, dilations
    and ceil_mode as ONNX defines them. Pads hold ``fill``, what ceil_mode adds ``more``."""
    rank = len(kernel)
    strides, dilations = a.get("strides", [1] * rank), a.get("dilations", [1] * rank)
    auto, pads = a.get("auto_pad", "NOTSET"), list(a.get("pads", [0] * 2 * rank))
    padding, extra, outs = [(0, 0), (0, 0)], [(0, 0), (0, 0)], []
    for i, (size, k, st, d) in enumerate(zip(x.shape[2:], kernel, strides, dilations)):
        span, total = (k - 1) * d + 1, pads[i] + pads[i + rank]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            total = max(0, (-(-size // st) - 1) * st + span - size)
            pads[i] = total // 2 if auto == "SAME_UPPER" else total - total // 2
        elif auto == "VALID":
            pads[i] = total = 0
        count = (size + total - span) // st + 1
        if a.get("ceil_mode") and (size + total - span) % st and count * st < size + pads[i]:
            count += 1  # one more window, as it starts inside the input
        outs.append(count)
        padding.append((pads[i], total - pads[i]))
        extra.append((0, max(0, (count - 1) * st + span - size - total)))
    x = np.pad(np.pad(x, padding, constant_values=fill), extra,
               constant_values=fill if more is None else more)
    steps = x.strides[:2] + tuple(b * st for b, st in zip(x.strides[2:], strides)) + tuple(
        b * d for b, d in zip(x.strides[2:], dilations))
    return np.lib.stride_tricks.as_strided(x, x.shape[:2] + tuple(outs) + tuple(kernel), steps,
                                           writeable=False)


def _conv(x: list[Any], a: dict[str, Any]) -> Any:
    weight, groups = x[1], a.get("group", 1)
    n, m, kernel = x[0].shape[0], weight.shape[0], list(weight.shape[2:])
    windows = _windows(x[0], a, kernel, 0)
    rank, outs = len(kernel), windows.shape[2:2 + len(kernel)]
    # per group one matrix [N * out, C/groups * kernel], then one batched matmul
    windows = windows.reshape((n, groups, -1, *outs, *kernel))
    order = (1, 0, *range(3, 3 + rank), 2, *range(3 + rank, 3 + 2 * rank))
    columns = windows.transpose(order).reshape(groups, n * int(np.prod(outs)), -1)
    y = np.matmul(columns, weight.reshape(groups, m // groups, -1).transpose(0, 2, 1))
    y = np.moveaxis(y.reshape((groups, n, *outs, m // groups)), -1, 2).swapaxes(0, 1)
    y = y.reshape((n, m, *outs))
    return y if len(x) < 3 or x[2] is None else y + x[2].reshape((1, m) + (1,) * rank)


def _pool(x: list[Any], a: dict[str, Any], kind: str) -> Any:
    data, kernel = x[0], list(a["kernel_shape"])
    axes = tuple(range(-len(kernel), 0))
    if kind == "max":
        low = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
        return _windows(data, a, kernel, low).max(axis=axes)
    # the cells each window averages: pads count with count_include_pad, ceil_mode's never
    ones = np.ones((1, 1, *data.shape[2:]), data.dtype)
    counts = _windows(ones, a, kernel, 1 if a.get("count_include_pad") else 0, 0).sum(axis=axes)
    return (_windows(data, a, kernel, 0).sum(axis=axes) / counts).astype(data.dtype)


def _batch_norm(x: list[Any], a: dict[str, Any]) -> Any:
    data, scale, bias, mean, var = x[:5]
    shape = (1, -1) + (1,) * (data.ndim - 2)
    factor = scale / np.sqrt(var + a.get("epsilon", 1e-5))
    return (data - mean.reshape(shape)) * factor.reshape(shape) + bias.reshape(shape)


def _gemm(x: list[Any], a: dict[str, Any]) -> Any:
    left, right = (x[0].T if a.get("transA") else x[0]), (x[1].T if a.get("transB") else x[1])
    y = a.get("alpha", 1.0) * np.matmul(left, right)
    return y if len(x) < 3 or x[2] is None else y + a.get("beta", 1.0) * x[2]


def _softmax(x: list[Any], a: dict[str, Any]) -> Any:
    data, axis = x[0], a["axis"] % max(1, x[0].ndim)
    if a["_flatten"]:  # before opset 13: over all the dims from axis on
        data, axis = data.reshape(int(np.prod(data.shape[:axis])), -1), 1
    exp = np.exp(data - data.max(axis=axis, keepdims=True))
    return (exp / exp.sum(axis=axis, keepdims=True)).reshape(x[0].shape)


def _reshape(x: list[Any], a: dict[str, Any]) -> Any:
    shape = [int(s) for s in x[1]]
    if not a.get("allowzero"):
        shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x[0].reshape(shape)


def _axes(x: list[Any], a: dict[str, Any], added: int = 0) -> tuple[int, ...] | None:
    """Axes from the second input (opset 13+) or the attribute (older), made non-negative."""
    found = x[1] if len(x) > 1 and x[1] is not None else a.get("axes")
    rank = x[0].ndim + (len(found) if added and found is not None else 0)
    return None if found is None else tuple(sorted(int(v) % rank for v in found))


def _clip(x: list[Any], a: dict[str, Any]) -> Any:
    low = x[1] if len(x) > 1 and x[1] is not None else a.get("min")
    high = x[2] if len(x) > 2 and x[2] is not None else a.get("max")
    y = x[0] if low is None else np.maximum(x[0], low)
    return y if high is None else np.minimum(y, high)


def _constant(x: list[Any], a: dict[str, Any]) -> Any:
    for key, dtype in (("value", None), ("value_float", "float32"), ("value_floats", "float32"),
                       ("value_int", "int64"), ("value_ints", "int64")):
        if key in a:
            return _as_compute(np.array(a[key], dtype), a["_compute"])
    raise ValueError("a Constant without a numeric value")


OPS = {
    "Add": lambda x, a: x[0] + x[1],
    "AveragePool": lambda x, a: _pool(x, a, "average"),
    "BatchNormalization": _batch_norm,
    "Cast": lambda x, a: _as_compute(x[0].astype(DTYPES[a["to"]]), a["_compute"]),
    "Clip": _clip,
    "Concat": lambda x, a: np.concatenate(x, axis=a["axis"]),
    "Constant": _constant,
    "Conv": _conv,
    "Div": lambda x, a: (x[0] / x[1]).astype(x[0].dtype),  # integers: truncated, as in C
    "Dropout": lambda x, a: x[0],
    "Flatten": lambda x, a: x[0].reshape(
        int(np.prod(x[0].shape[:a.get("axis", 1) % (x[0].ndim + 1)])), -1),
    "Gather": lambda x, a: np.take(x[0], x[1], axis=a.get("axis", 0)),
    "Gemm": _gemm,
    "GlobalAveragePool": lambda x, a: x[0].mean(axis=tuple(range(2, x[0].ndim)), keepdims=True),
    "GlobalMaxPool": lambda x, a: x[0].max(axis=tuple(range(2, x[0].ndim)), keepdims=True),
    "Identity": lambda x, a: x[0],
    "LeakyRelu": lambda x, a: np.where(x[0] >= 0, x[0], x[0] * a.get("alpha", 0.01)),
    "MatMul": lambda x, a: np.matmul(x[0], x[1]),
    "Max": lambda x, a: reduce(np.maximum, x),
    "MaxPool": lambda x, a: _pool(x, a, "max"),
    "Min": lambda x, a: reduce(np.minimum, x),
    "Mul": lambda x, a: x[0] * x[1],
    "Relu": lambda x, a: np.maximum(x[0], 0),
    "Reshape": _reshape,
    "Shape": lambda x, a: np.array(x[0].shape[a.get("start", 0):a.get("end")], np.int64),
    "Sigmoid": lambda x, a: 1 / (1 + np.exp(-x[0])),
    "Softmax": _softmax,
    "Squeeze": lambda x, a: np.squeeze(x[0], _axes(x, a)),
    "Sub": lambda x, a: x[0] - x[1],
    "Tanh": lambda x, a: np.tanh(x[0]),
    "Transpose": lambda x, a: np.transpose(x[0], a.get("perm")),
    "Unsqueeze": lambda x, a: np.expand_dims(x[0], _axes(x, a, added=1) or ()),
}
SUPPORTED_OPS = sorted(OPS)


# --- running -------------------------------------------------------------------------------

def evaluate(graph: Graph, feeds: dict[str, Any], spans: list | None = None,
             shapes: list | None = None) -> list[Any]:
    """The graph's outputs; with ``spans``, the (start, end) of each node's kernel call."""
    values = dict(graph.constants, **feeds)
    clock = time.perf_counter
    for node in graph.nodes:
        args = [values[name] if name else None for name in node.inputs]
        if spans is None:
            out = OPS[node.op_type](args, node.attrs)
        else:
            start = clock()
            out = OPS[node.op_type](args, node.attrs)  # the per-layer timer covers this call only
            spans.append((start, clock()))
        values[node.outputs[0]] = out = np.asarray(out)
        if shapes is not None:
            shapes.append(([list(v.shape) for v in args if v is not None], [list(out.shape)]))
    return [values[name] if dtype is None else values[name].astype(dtype, copy=False)
            for name, dtype in graph.outputs]


def _describe_outputs(graph: Graph, values: list[Any], keep: bool,
                      warnings: list[str]) -> list[dict[str, Any]]:
    described = []
    for (name, _), value in zip(graph.outputs, values):
        value = np.ascontiguousarray(value)
        entry = {"name": name, "dtype": str(value.dtype), "shape": list(value.shape),
                 "sha256": hashlib.sha256(value.tobytes()).hexdigest()}
        if keep and value.size > MAX_KEPT_VALUES:
            warnings.append(f"output {name!r} has {value.size} values: not kept "
                            f"(limit {MAX_KEPT_VALUES})")
        elif keep:  # JSON has no NaN or infinity: those become null
            kept = value.astype(object)
            if value.dtype.kind == "f":
                kept[~np.isfinite(value)] = None
            entry["values"] = kept.tolist()
        described.append(entry)
    return described


def run(job: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Load, cold run, warm-up, timed runs, then profiled runs timing every node."""
    options, settings, path = job["backend"].get("options") or {}, job["run"], job["model"]["path"]
    if not os.path.isfile(path):
        raise _failure("ModelNotFound", "The model file is not on the device", where=path,
                       hint="Deploy the model again")
    compute = np.dtype(options.get("dtype", "float32"))
    ctx.progress("load", 0, 1)
    start = time.perf_counter()
    try:
        graph = Graph(path, compute)
    except (ValueError, KeyError, IndexError, OSError) as exc:
        raise _failure("AgentError", f"The reference backend cannot read the model: {exc}",
                       where=path, hint="Check the model with `workbench inspect`") from None
    load_ms = (time.perf_counter() - start) * 1000.0
    ctx.progress("load", 1, 1)
    rss_after_load = ctx.peak_rss_bytes()
    arrays, input_records = ctx.make_inputs(job["inputs"])
    feeds = {name: _as_compute(array, compute) for name, array in arrays.items()}

    start = time.perf_counter()
    outputs = evaluate(graph, feeds)
    cold_ms = (time.perf_counter() - start) * 1000.0
    latency: list[float] = []
    for phase, count in (("warmup", int(settings.get("warmup", 0))),
                         ("timed", int(settings["runs"]))):
        for index in range(count):
            start = time.perf_counter()
            evaluate(graph, feeds)
            if phase == "timed":
                latency.append((time.perf_counter() - start) * 1000.0)
            ctx.progress(phase, index + 1, count)

    runs = int(settings.get("profile_runs", 0))
    durations: list[list[float]] = [[] for _ in graph.nodes]
    shapes: list[Any] = []
    events: list[dict[str, Any]] = []  # the raw events of the first profiled run
    for index in range(runs):
        spans: list[tuple[float, float]] = []
        evaluate(graph, feeds, spans, shapes if index == 0 else None)
        for node, row, (begin, end) in zip(graph.nodes, durations, spans):
            row.append((end - begin) * 1e6)
            if index == 0:
                events.append({"name": node.name, "cat": "Node", "ts": (begin - spans[0][0]) * 1e6,
                               "dur": (end - begin) * 1e6, "tid": 0,
                               "args": {"op_name": node.op_type}})
        ctx.progress("profile", index + 1, runs)
    warnings: list[str] = []
    keep = bool(options.get("keep_outputs") or settings.get("keep_outputs"))
    return {
        "runner_api": RUNNER_API,
        "runtime": {"name": NAME, "version": np.__version__, "providers": ["numpy"]},
        "latency_ms": latency, "cold_ms": cold_ms, "session_create_ms": load_ms,
        "memory": {"peak_rss_after_create_bytes": rss_after_load,
                   "peak_rss_after_runs_bytes": ctx.peak_rss_bytes()},
        "inputs": input_records,
        "outputs": _describe_outputs(graph, outputs, keep, warnings),
        "layers": [{"name": node.name, "op_type": node.op_type, "provider": "numpy", "calls": 1,
                    "durations_us": row, "input_shapes": shape[0], "output_shapes": shape[1]}
                   for node, row, shape in zip(graph.nodes, durations, shapes)],
        "profile_runs": runs, "event_count": len(events),
        "trace": {"run_index": 0, "events": events} if events else None,
        "executed_graph": None, "warnings": warnings,
    }
