"""The TFLite twin of an ONNX model: the same weights and tensor names, TFLite's layout.

``to_tflite(model)`` writes a .tflite flatbuffer the way TFLite's own
converters shape a float model, so ONNX and LiteRT runs compare layer by
layer:

* activations are NHWC (4-D graph inputs too: ``input`` [1,3,224,224] becomes
  [1,224,224,3]); conv weights OHWI, depthwise weights 1HWO, fully connected
  weights [out, in];
* BatchNormalization after a conv is folded into its weights and bias, and a
  following Relu or Clip(0, 6) becomes the op's fused activation (so do
  activations after Add and fully connected ops); the fused op's output
  tensor keeps the name of the last ONNX node it covers;
* ONNX padding that TFLite's SAME does not reproduce (a stride-2 conv pads
  top-left, SAME pads bottom-right) becomes an explicit PAD (PADV2 with the
  lowest float before a max pool) and a VALID op;
* a symbolic batch dim is stored as 1 and marked free in ``shape_signature``.

Covered: Conv (plain and depthwise), BatchNormalization after a Conv, Relu,
Clip, Sigmoid, Tanh, Add, Sub, Mul, MaxPool, AveragePool, GlobalAveragePool,
Flatten, Reshape, Gemm, MatMul with constant weights, Softmax and Concat.
Anything else raises :class:`workbench.errors.UnsupportedConversion`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from workbench import errors
from workbench.models.constants import constant_arrays
from workbench.models.tflite import schema as s
from workbench.models.tflite.flatbuf import Node, Scalar, Vector, serialize

if TYPE_CHECKING:
    from workbench.models.model import Model
    from workbench.models.tflite.model import TfliteModel

TWIN_VERSION = 1
_NCHW_TO_NHWC = (0, 2, 3, 1)
_AXIS_TO_NHWC = {0: 0, 1: 3, 2: 1, 3: 2}
_ACTIVATIONS = {"Relu": "RELU"}


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Builder:
    def __init__(self, proto: onnx.ModelProto) -> None:
        inferred = onnx.shape_inference.infer_shapes(proto)
        graph = inferred.graph
        self.name = graph.name or "model"
        self.consts: dict[str, np.ndarray] = constant_arrays(graph)
        self.shapes: dict[str, list[int | str]] = {}
        for value in [*graph.input, *graph.value_info, *graph.output]:
            dims = value.type.tensor_type.shape.dim
            self.shapes[value.name] = [d.dim_value if d.HasField("dim_value") else
                                       (d.dim_param or "?") for d in dims]
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = [v.name for v in graph.output]
        self.graph = graph
        self.tensors: list[Node] = []
        self.buffers: list[Node] = [Node()]
        self.index: dict[str, int] = {}
        self.nhwc: set[str] = set()
        self.ops: list[Node] = []
        self.opcodes: dict[str, int] = {}
        self.done: set[str] = set()

    # --- tensors and ops ------------------------------------------------------------------

    def tensor(self, name: str, shape: list[int | str], data: np.ndarray | None = None,
               code: int = s.FLOAT32) -> int:
        if name in self.index:
            return self.index[name]
        fields: dict[int, Any] = {
            s.TENSOR_SHAPE: Vector("i", [d if isinstance(d, int) else 1 for d in shape]),
            s.TENSOR_TYPE: Scalar("b", code), s.TENSOR_NAME: name,
            s.TENSOR_BUFFER: Scalar("I", 0)}
        if any(not isinstance(d, int) for d in shape):
            fields[s.TENSOR_SHAPE_SIGNATURE] = Vector("i", [d if isinstance(d, int) else -1
                                                            for d in shape])
        if data is not None:
            fields[s.TENSOR_BUFFER] = Scalar("I", len(self.buffers))
            self.buffers.append(Node({s.BUFFER_DATA: np.ascontiguousarray(data).tobytes()}))
        self.tensors.append(Node(fields))
        self.index[name] = len(self.tensors) - 1
        return self.index[name]

    def const(self, name: str, array: np.ndarray) -> int:
        code = {np.dtype(np.float32): s.FLOAT32, np.dtype(np.int32): s.INT32}[array.dtype]
        return self.tensor(name, list(array.shape), array, code)

    def activation(self, name: str) -> int:
        """The TFLite tensor of an ONNX activation (created for graph inputs on first use)."""
        if name not in self.index:
            shape = self.shapes[name]
            if len(shape) == 4:
                self.nhwc.add(name)
                shape = [shape[i] for i in _NCHW_TO_NHWC]
            self.tensor(name, shape)
        return self.index[name]

    def output(self, name: str, onnx_shape: list[int | str]) -> int:
        shape = onnx_shape
        if len(onnx_shape) == 4:
            self.nhwc.add(name)
            shape = [onnx_shape[i] for i in _NCHW_TO_NHWC]
        return self.tensor(name, shape)

    def op(self, op_type: str, inputs: list[int], outputs: list[int], options: int = 0,
           table: dict[int, Any] | None = None) -> None:
        if op_type not in self.opcodes:
            self.opcodes[op_type] = len(self.opcodes)
        fields: dict[int, Any] = {s.OP_OPCODE_INDEX: Scalar("I", self.opcodes[op_type]),
                                  s.OP_INPUTS: Vector("i", inputs),
                                  s.OP_OUTPUTS: Vector("i", outputs)}
        if options:
            fields[s.OP_OPTIONS_TYPE] = Scalar("B", options)
            fields[s.OP_OPTIONS] = Node(table or {})
        self.ops.append(Node(fields))

    # --- fusion ---------------------------------------------------------------------------

    def only_consumer(self, tensor: str, op_types: tuple[str, ...]) -> onnx.NodeProto | None:
        users = self.consumers.get(tensor, [])
        if tensor in self.outputs or len(users) != 1 or users[0].op_type not in op_types:
            return None
        return users[0]

    def fused_activation(self, tensor: str) -> tuple[str, str]:
        """(activation name, output tensor) after absorbing a following Relu or Clip(0, 6)."""
        user = self.only_consumer(tensor, ("Relu", "Clip"))
        if user is None:
            return "NONE", tensor
        kind = "RELU" if user.op_type == "Relu" else self.clip_kind(user)
        if kind is None:
            return "NONE", tensor
        self.done.add(user.name)
        return kind, user.output[0]

    def clip_kind(self, node: onnx.NodeProto) -> str | None:
        low = float(self.consts[node.input[1]]) if len(node.input) > 1 and node.input[1] else None
        high = float(self.consts[node.input[2]]) if len(node.input) > 2 and node.input[2] \
            else None
        if low == 0.0 and high == 6.0:
            return "RELU6"
        if low == 0.0 and high is None:
            return "RELU"
        return None

    # --- conversions ----------------------------------------------------------------------

    def fail(self, node: onnx.NodeProto, why: str) -> errors.UnsupportedConversion:
        return errors.UnsupportedConversion(f"The TFLite twin cannot express {node.op_type} "
                                            f"node {node.name!r}: {why}",
                                            where=f"model {self.name!r}")

    def padded(self, node: onnx.NodeProto, x: str, kernel: list[int], strides: list[int],
               pads: list[int], fill: float | None) -> tuple[int, int]:
        """(input tensor, TFLite padding) with an explicit PAD where SAME would differ."""
        source = self.activation(x)
        if not any(pads):
            return source, s.PADDING_VALID
        shape = self.shapes[x]
        same = True
        for axis, (size, k, stride) in enumerate(zip(shape[2:], kernel, strides, strict=True)):
            if not isinstance(size, int):
                raise self.fail(node, "padding on a dim of unknown size")
            out = -(-size // stride)
            total = max((out - 1) * stride + k - size, 0)
            same &= (pads[axis], pads[axis + 2]) == (total // 2, total - total // 2)
        if same:
            return source, s.PADDING_SAME
        pad_rows = np.array([[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]], np.int32)
        n, c, h, w = shape
        padded_shape: list[int | str] = [n, int(h) + pads[0] + pads[2],
                                         int(w) + pads[1] + pads[3], c]
        out = self.tensor(f"{node.name}.pad", padded_shape)
        inputs = [source, self.const(f"{node.name}.pad.paddings", pad_rows)]
        if fill is None:
            self.op("PAD", inputs, [out], s.OPTIONS_PAD)
        else:
            inputs.append(self.const(f"{node.name}.pad.value", np.array([fill], np.float32)))
            self.op("PADV2", inputs, [out])
        return out, s.PADDING_VALID

    def conv(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        weight = self.consts[node.input[1]].astype(np.float32)
        bias = self.consts[node.input[2]].astype(np.float32) if len(node.input) > 2 and \
            node.input[2] else None
        if any(d != 1 for d in a.get("dilations", [1, 1])) or weight.ndim != 4:
            raise self.fail(node, "only 2-D convolutions without dilation")
        out_name = node.output[0]
        bn = self.only_consumer(out_name, ("BatchNormalization",))
        if bn is not None:
            gamma, beta, mean, var = (self.consts[t].astype(np.float32) for t in bn.input[1:5])
            scale = gamma / np.sqrt(var + np.float32(_attrs(bn).get("epsilon", 1e-5)))
            weight = weight * scale[:, None, None, None]
            bias = (bias if bias is not None else 0.0) * scale + beta - mean * scale
            self.done.add(bn.name)
            out_name = bn.output[0]
        act, out_name = self.fused_activation(out_name)
        groups, cout, cin_g = a.get("group", 1), weight.shape[0], weight.shape[1]
        strides, kernel = a.get("strides", [1, 1]), list(weight.shape[2:])
        x, padding = self.padded(node, node.input[0], kernel, strides, a.get("pads", [0] * 4),
                                 None)
        out = self.output(out_name, self.shapes[out_name])
        prefix = node.name
        bias_index = -1 if bias is None else self.const(f"{prefix}.bias",
                                                        np.asarray(bias, np.float32))
        code = s.ACTIVATION_CODES[act]
        if groups == 1:
            w = self.const(f"{prefix}.weight", weight.transpose(0, 2, 3, 1).copy())
            self.op("CONV_2D", [x, w, bias_index], [out], s.OPTIONS_CONV2D, {
                s.CONV_PADDING: Scalar("b", padding), s.CONV_STRIDE_W: Scalar("i", strides[1]),
                s.CONV_STRIDE_H: Scalar("i", strides[0]), s.CONV_ACTIVATION: Scalar("b", code)})
        elif cin_g == 1 and cout % groups == 0:
            if bias_index < 0:  # LiteRT's depthwise kernel requires a bias tensor
                bias_index = self.const(f"{prefix}.bias", np.zeros(cout, np.float32))
            w = self.const(f"{prefix}.weight", weight[:, 0].transpose(1, 2, 0)[None].copy())
            self.op("DEPTHWISE_CONV_2D", [x, w, bias_index], [out], s.OPTIONS_DEPTHWISE, {
                s.DW_PADDING: Scalar("b", padding), s.DW_STRIDE_W: Scalar("i", strides[1]),
                s.DW_STRIDE_H: Scalar("i", strides[0]),
                s.DW_MULTIPLIER: Scalar("i", cout // groups), s.DW_ACTIVATION: Scalar("b", code)})
        else:
            raise self.fail(node, f"grouped convolution with {groups} groups")

    def pool(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        kernel, strides = a["kernel_shape"], a.get("strides", [1, 1])
        is_max = node.op_type == "MaxPool"
        pads = a.get("pads", [0] * 4)
        if not is_max and any(pads) and a.get("count_include_pad", 0):
            raise self.fail(node, "average pooling that counts the padding")
        x, padding = self.padded(node, node.input[0], kernel, strides, pads,
                                 float(np.finfo(np.float32).min) if is_max else None)
        if not is_max and padding == s.PADDING_VALID and any(pads):
            raise self.fail(node, "average pooling with padding TFLite's SAME does not match")
        act, out_name = self.fused_activation(node.output[0])
        out = self.output(out_name, self.shapes[out_name])
        self.op("MAX_POOL_2D" if is_max else "AVERAGE_POOL_2D", [x], [out], s.OPTIONS_POOL2D, {
            s.POOL_PADDING: Scalar("b", padding), s.POOL_STRIDE_W: Scalar("i", strides[1]),
            s.POOL_STRIDE_H: Scalar("i", strides[0]), s.POOL_FILTER_W: Scalar("i", kernel[1]),
            s.POOL_FILTER_H: Scalar("i", kernel[0]),
            s.POOL_ACTIVATION: Scalar("b", s.ACTIVATION_CODES[act])})

    def fully_connected(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        if node.input[1] not in self.consts or a.get("transA", 0):
            raise self.fail(node, "only constant weights and an untransposed input")
        weight = self.consts[node.input[1]].astype(np.float32)
        if node.op_type == "MatMul" or not a.get("transB", 0):
            weight = weight.T
        weight = weight * np.float32(a.get("alpha", 1.0))
        bias = -1
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            values = self.consts[node.input[2]].astype(np.float32).reshape(-1)
            bias = self.const(f"{node.name}.bias", values * np.float32(a.get("beta", 1.0)))
        act, out_name = self.fused_activation(node.output[0])
        out = self.output(out_name, self.shapes[out_name])
        keep = len(self.shapes[node.input[0]]) > 2
        self.op("FULLY_CONNECTED", [self.activation(node.input[0]),
                                    self.const(f"{node.name}.weight", weight.copy()), bias],
                [out], s.OPTIONS_FULLY_CONNECTED,
                {s.FC_ACTIVATION: Scalar("b", s.ACTIVATION_CODES[act]),
                 s.FC_KEEP_NUM_DIMS: Scalar("?", keep)})

    def operand(self, name: str, other: str) -> int:
        """An elementwise operand; constants are laid out like the other operand."""
        if name not in self.consts:
            return self.activation(name)
        array = self.consts[name].astype(np.float32)
        if other in self.nhwc:
            array = array.reshape((1,) * (4 - array.ndim) + array.shape).transpose(_NCHW_TO_NHWC)
        return self.const(name, array.copy())

    def elementwise(self, node: onnx.NodeProto) -> None:
        a, b = node.input[0], node.input[1]
        if a in self.consts and b in self.consts:
            raise self.fail(node, "both operands are constants")
        inputs = [self.operand(a, b), self.operand(b, a)]
        act, out_name = self.fused_activation(node.output[0])
        out = self.output(out_name, self.shapes[out_name])
        kind = {"Add": ("ADD", s.OPTIONS_ADD), "Sub": ("SUB", s.OPTIONS_SUB),
                "Mul": ("MUL", s.OPTIONS_MUL)}[node.op_type]
        self.op(kind[0], inputs, [out], kind[1],
                {s.ADD_ACTIVATION: Scalar("b", s.ACTIVATION_CODES[act])})

    def unary(self, node: onnx.NodeProto) -> None:
        kind = {"Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH"}.get(node.op_type)
        if node.op_type == "Clip":
            kind = self.clip_kind(node)
            if kind is None:
                raise self.fail(node, "only Clip(0, 6) and Clip(0, inf)")
        assert kind is not None
        x = self.activation(node.input[0])
        self.op(kind, [x], [self.output(node.output[0], self.shapes[node.output[0]])])

    def reshape(self, node: onnx.NodeProto) -> None:
        x, target = node.input[0], self.shapes[node.output[0]]
        if len(target) == 4:
            raise self.fail(node, "a reshape to 4-D")
        source = self.index[x] if x in self.index else self.activation(x)
        shape = self.shapes[x]
        if x in self.nhwc and not all(d == 1 for d in shape[2:]):
            nchw = self.tensor(f"{node.name}.nchw", shape)
            self.op("TRANSPOSE", [source, self.const(f"{node.name}.perm", np.array(
                [0, 3, 1, 2], np.int32))], [nchw], s.OPTIONS_TRANSPOSE)
            source = nchw
        dims = [d if isinstance(d, int) else -1 for d in target]
        out = self.output(node.output[0], target)
        self.op("RESHAPE", [source, self.const(f"{node.name}.shape", np.array(dims, np.int32))],
                [out], s.OPTIONS_RESHAPE, {s.RESHAPE_NEW_SHAPE: Vector("i", dims)})

    def convert(self, node: onnx.NodeProto) -> None:
        kind = node.op_type
        if kind == "Conv":
            self.conv(node)
        elif kind in ("MaxPool", "AveragePool"):
            self.pool(node)
        elif kind in ("Gemm", "MatMul"):
            self.fully_connected(node)
        elif kind in ("Add", "Sub", "Mul"):
            self.elementwise(node)
        elif kind in ("Relu", "Clip", "Sigmoid", "Tanh"):
            self.unary(node)
        elif kind in ("Flatten", "Reshape"):
            self.reshape(node)
        elif kind == "GlobalAveragePool":
            out = self.output(node.output[0], self.shapes[node.output[0]])
            self.op("MEAN", [self.activation(node.input[0]),
                             self.const(f"{node.name}.axes", np.array([1, 2], np.int32))], [out],
                    s.OPTIONS_REDUCER, {s.REDUCER_KEEP_DIMS: Scalar("?", True)})
        elif kind == "Softmax":
            shape = self.shapes[node.input[0]]
            if _attrs(node).get("axis", -1) not in (-1, len(shape) - 1) or len(shape) == 4:
                raise self.fail(node, "softmax over an axis other than the last")
            self.op("SOFTMAX", [self.activation(node.input[0])],
                    [self.output(node.output[0], self.shapes[node.output[0]])],
                    s.OPTIONS_SOFTMAX, {s.SOFTMAX_BETA: Scalar("f", 1.0)})
        elif kind == "Concat":
            axis = _attrs(node)["axis"] % len(self.shapes[node.output[0]])
            if node.input[0] in self.nhwc:
                axis = _AXIS_TO_NHWC[axis]
            self.op("CONCATENATION", [self.activation(t) for t in node.input],
                    [self.output(node.output[0], self.shapes[node.output[0]])],
                    s.OPTIONS_CONCATENATION, {0: Scalar("i", axis)})
        elif kind != "Constant":
            raise self.fail(node, "no rule for this op type")

    def build(self) -> bytes:
        inputs = [v.name for v in self.graph.input if v.name not in self.consts]
        for name in inputs:
            self.activation(name)
        for node in self.graph.node:
            if node.name not in self.done:
                self.convert(node)
        model = Node({
            s.MODEL_VERSION: Scalar("I", s.SCHEMA_VERSION),
            s.MODEL_OPERATOR_CODES: Vector(None, [Node({
                s.OPCODE_DEPRECATED_BUILTIN: Scalar("b", min(s.BUILTIN_CODES[op],
                                                             s.PLACEHOLDER_FOR_GREATER_OP_CODES)),
                s.OPCODE_VERSION: Scalar("i", 1),
                s.OPCODE_BUILTIN: Scalar("i", s.BUILTIN_CODES[op])}) for op in self.opcodes]),
            s.MODEL_SUBGRAPHS: Vector(None, [Node({
                s.SUBGRAPH_TENSORS: Vector(None, self.tensors),
                s.SUBGRAPH_INPUTS: Vector("i", [self.index[n] for n in inputs]),
                s.SUBGRAPH_OUTPUTS: Vector("i", [self.index[n] for n in self.outputs]),
                s.SUBGRAPH_OPERATORS: Vector(None, self.ops),
                s.SUBGRAPH_NAME: self.name})]),
            s.MODEL_DESCRIPTION: f"edge-workbench TFLite twin of {self.name}",
            s.MODEL_BUFFERS: Vector(None, self.buffers)})
        return serialize(model, s.IDENTIFIER)


def to_tflite(model: Model | onnx.ModelProto) -> bytes:
    """The .tflite bytes of an ONNX model's twin (see the module's docstring)."""
    proto = model if isinstance(model, onnx.ModelProto) else model.proto
    builder = _Builder(proto)
    return builder.build()


def twin(model: Model) -> TfliteModel:
    """The twin of a loaded ONNX model as a TfliteModel (its ``reference`` is ``model``)."""
    from workbench.models.tflite.model import from_bytes

    return from_bytes(to_tflite(model), name=f"{model.name}.tflite",
                      source=f"TFLite twin of {model.source}", where=f"twin of {model.name}",
                      reference=model, nhwc_inputs=nhwc_inputs(model))


def nhwc_inputs(model: Model) -> list[str]:
    """The ONNX model's inputs that a twin takes in NHWC layout (the 4-D ones)."""
    return [t.name for t in model.inputs if t.shape is not None and len(t.shape) == 4]
