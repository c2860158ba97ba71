"""Static analysis of a .tflite graph, in the same figures and table as the ONNX analysis.

Each operator becomes one :class:`NodeInfo` row named after its first output
tensor (TFLite operators have no names; the zoo's twins give that tensor the
name of the ONNX node that produced it). Counting follows ``ops.py``:

* CONV_2D (weights OHWI): ``out_elems * H * W * I``; DEPTHWISE_CONV_2D
  (weights 1HWO): ``out_elems * H * W``; TRANSPOSE_CONV: ``in_elems * O * H * W``
* FULLY_CONNECTED (weights [out, in]): ``out_elems * in``; BATCH_MATMUL:
  ``out_elems * K``
* pools: ``out_elems * filter area``; MEAN and other reductions: ``in_elems``
* elementwise and normalization ops (fused activations included): ``out_elems``

Parameters are the weight and bias of conv and fully connected ops, and any
other float constant of more than one element. A folded BatchNormalization
lives on as the conv's bias, so a twin built from an ONNX model with BN has
one parameter per BN channel fewer than the ONNX model (gamma and beta, 2C,
become a bias of C), while its MACs are the same.
"""

from __future__ import annotations

from workbench.models import vocabulary
from workbench.models.analysis import Analysis, peak_live_bytes
from workbench.models.info import CATEGORIES, MAC_CATEGORIES, NodeInfo, Shape, TensorInfo
from workbench.models.tflite import schema as s
from workbench.models.tflite.reader import Graph, Operator, Tensor

_WEIGHT_SLOTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
                 "TRANSPOSE_CONV": (1, 3), "CONV_3D": (1, 2)}


def _count(shape: Shape | None) -> int | None:
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    total = 1
    for dim in shape:
        total *= int(dim)
    return total


def _operations(op: Operator, tensors: list[Tensor]) -> int | None:
    """Operations of one operator in its category (MACs for conv/matmul); None if unknown."""
    def shape(index: int, outputs: bool = False) -> Shape | None:
        ids = op.outputs if outputs else op.inputs
        return tensors[ids[index]].shape if index < len(ids) and ids[index] >= 0 else None

    kind = vocabulary.category(op.op_type)
    out = _count(shape(0, outputs=True))
    if op.op_type in ("CONV_2D", "CONV_3D"):
        weight = shape(1)
        return None if out is None or not weight else out * (_count(weight[1:]) or 0)
    if op.op_type == "DEPTHWISE_CONV_2D":
        weight = shape(1)
        return None if out is None or not weight else out * (_count(weight[1:3]) or 0)
    if op.op_type == "TRANSPOSE_CONV":
        data, weight = _count(shape(2)), shape(1)
        return None if data is None or not weight else data * (_count(weight[:3]) or 0)
    if kind == "matmul":
        first = shape(0)
        if out is None or not first or not isinstance(first[-1], int):
            return None
        k = first[-1]
        if op.op_type == "FULLY_CONNECTED":
            weight = shape(1)
            k = weight[-1] if weight and isinstance(weight[-1], int) else k
        return out * int(k)
    if kind == "pool":
        if "kernel_shape" in op.options:
            return None if out is None else out * (_count(op.options["kernel_shape"]) or 0)
        return _count(shape(0))
    if kind in ("elementwise", "normalization"):
        return out
    if op.options.get("activation", "NONE") != "NONE":
        return out
    return 0


def analyse(graph: Graph) -> Analysis:
    """Per-node and total figures of the main graph."""
    tensors = graph.tensors
    names: dict[str, int] = {}
    nodes: list[NodeInfo] = []
    params_seen: set[int] = set()
    ops_total = dict.fromkeys(CATEGORIES, 0)
    uncounted: list[str] = []
    for op in graph.operators:
        first = tensors[op.outputs[0]].name if op.outputs and op.outputs[0] >= 0 else op.op_type
        name = first if first not in names else f"{first}:{op.index}"
        names[name] = op.index
        kind = vocabulary.category(op.op_type)
        slots = _WEIGHT_SLOTS.get(op.op_type)
        params = weight = act_in = 0
        for slot, index in enumerate(op.inputs):
            if index < 0:
                continue
            tensor = tensors[index]
            if tensor.constant:
                weight += tensor.nbytes
                elements = _count(tensor.shape) or 0
                is_param = (slot in slots if slots is not None else
                            tensor.dtype in s.FLOAT_TYPE_NAMES and elements > 1)
                if is_param:
                    params += elements
                    params_seen.add(index)
            else:
                act_in += tensor.nbytes
        counted = _operations(op, tensors)
        if counted is None:
            uncounted.append(name)
        work = counted or 0
        ops_total[kind] += work

        def listed(ids: list[int]) -> list[str]:
            return [tensors[i].name if i >= 0 else "" for i in ids]

        nodes.append(NodeInfo(
            name=name, op_type=op.op_type, domain="tflite", inputs=listed(op.inputs),
            outputs=listed(op.outputs),
            input_shapes=[list(tensors[i].shape) if i >= 0 else None for i in op.inputs],
            output_shapes=[list(tensors[i].shape) if i >= 0 else None for i in op.outputs],
            input_dtypes=[tensors[i].dtype if i >= 0 else None for i in op.inputs],
            output_dtypes=[tensors[i].dtype if i >= 0 else None for i in op.outputs],
            params=params, macs=work if kind in MAC_CATEGORIES else 0, ops=work,
            category=kind, weight_bytes=weight, activation_bytes_in=act_in,
            activation_bytes_out=sum(tensors[i].nbytes for i in op.outputs if i >= 0),
            canonical=vocabulary.canonical(op.op_type)))

    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for index in graph.inputs:
        start[index] = end[index] = 0
    for step, op in enumerate(graph.operators):
        for index in op.inputs:
            if index in start:
                end[index] = step
        for index in op.outputs:
            if index >= 0 and not tensors[index].constant:
                start[index] = end[index] = step
    last = max(len(graph.operators) - 1, 0)
    for index in graph.outputs:
        if index in start:
            end[index] = last
    peak = peak_live_bytes(len(graph.operators),
                           ((start[i], end[i], tensors[i].nbytes) for i in start))
    unknown = [tensors[i].name for i in start if tensors[i].nbytes == 0
               and _count(tensors[i].shape) != 0]
    warnings = []
    if unknown:
        warnings.append(f"{len(unknown)} activation tensors have symbolic dims (e.g. "
                        f"{unknown[0]!r}); their bytes count as 0 in activation and peak "
                        "memory figures")
    if uncounted:
        warnings.append(f"{len(uncounted)} operators have shapes too unknown to count their "
                        f"operations (e.g. {uncounted[0]!r}); they count as 0 MACs/ops")
    free = [t for t in (tensors[i] for i in graph.inputs) if t.free_axes]
    if free:
        warnings.append(f"input {free[0].name!r} accepts other sizes on axes {free[0].free_axes}; "
                        f"figures are for its stored shape {free[0].shape}")
    if graph.subgraphs > 1:
        warnings.append(f"the model has {graph.subgraphs} subgraphs; figures cover the main "
                        "one only")
    constants = {t.index for t in tensors if t.constant}

    def info(index: int) -> TensorInfo:
        tensor = tensors[index]
        return TensorInfo(tensor.name, tensor.dtype, list(tensor.shape))

    return Analysis(
        inputs=[info(i) for i in graph.inputs], outputs=[info(i) for i in graph.outputs],
        nodes=nodes, params=sum(_count(tensors[i].shape) or 0 for i in params_seen),
        macs=sum(n.macs for n in nodes),
        weight_bytes=sum(tensors[i].nbytes for i in constants),
        peak_activation_bytes=peak, ops_by_category=ops_total, warnings=warnings)
