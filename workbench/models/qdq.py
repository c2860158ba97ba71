"""What the integer tensors of a quantised ONNX graph stand for: scale, zero point and the float
tensor of the source model each one carries.

A runtime that runs a QDQ model fuses each DequantizeLinear → op → QuantizeLinear group into
one integer kernel (QLinearConv, QGemm, ...) whose output keeps the name of the
QuantizeLinear's output. So an int8 tensor a device brings back is found in the model file
as the output of a QuantizeLinear (or the input of a DequantizeLinear), whose other inputs
are its scale and zero point, and whose float input (or the DequantizeLinear's output) is
the tensor of the fp32 model it approximates. QOperator models (QLinear* nodes in the file)
name their output scale and zero point among the node's inputs; their output is named
after the float tensor with ``_quantized`` added, though it may carry an activation the
quantiser folded into the node (a Conv's output, after its Relu): :func:`fused_activations`
finds that activation's output in the fp32 model.

Pure functions of an ``onnx.ModelProto``; nothing is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.models.constants import constant_arrays

if TYPE_CHECKING:
    import numpy as np
    import onnx

#: where a QOperator node names the scale and zero point of its output, by op type
QLINEAR_OUTPUT_PARAMS = {"QLinearConv": (6, 7), "QLinearMatMul": (6, 7), "QLinearAdd": (6, 7),
                         "QLinearMul": (6, 7), "QGemm": (7, 8), "QLinearConcat": (0, 1),
                         "QLinearGlobalAveragePool": (3, 4), "QLinearAveragePool": (3, 4),
                         "QLinearSigmoid": (3, 4), "QLinearLeakyRelu": (3, 4),
                         "QLinearSoftmax": (3, 4)}
#: suffixes onnxruntime's quantiser adds to the name of a float tensor it quantises
QUANTISED_SUFFIXES = ("_QuantizeLinear_Output", "_quantized")


@dataclass(frozen=True)
class Quantised:
    """How one integer tensor maps to real values: ``(q - zero_point) * scale``."""

    scale: np.ndarray
    zero_point: np.ndarray
    #: the axis a per-channel scale runs along (None: one scale for the tensor)
    axis: int | None
    #: names of the float tensor it stands for, most likely first
    float_names: tuple[str, ...]
    #: the output of a QOperator node (its name may hide a folded activation)
    from_qlinear: bool = False

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        """The real values of ``values`` (float32)."""
        import numpy as np

        scale = self.scale.astype(np.float64)
        zero = self.zero_point.astype(np.float64)
        if self.axis is not None and scale.ndim == 1 and values.ndim > 0:
            shape = [1] * values.ndim
            shape[self.axis % values.ndim] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        real: np.ndarray = ((values.astype(np.float64) - zero) * scale).astype(np.float32)
        return real


def _axis(node: onnx.NodeProto) -> int | None:
    return next((int(a.i) for a in node.attribute if a.name == "axis"), None)


def quantised_tensors(model: onnx.ModelProto) -> dict[str, Quantised]:
    """Every integer activation tensor of ``model`` whose scale and zero point are constants,
    by name (see the module doc)."""
    import numpy as np

    graph = model.graph
    constants = constant_arrays(graph)
    found: dict[str, Quantised] = {}

    def add(tensor: str, scale: str, zero: str | None, axis: int | None,
            names: list[str], qlinear: bool = False) -> None:
        if not tensor or tensor in constants or scale not in constants:
            return
        zero_point = constants.get(zero or "", np.zeros((), dtype=np.uint8))
        stripped = [tensor[:-len(s)] for s in QUANTISED_SUFFIXES if tensor.endswith(s)]
        if tensor in found:  # seen from the other side: keep the names of both
            names = [*found[tensor].float_names, *names]
        unique = tuple(dict.fromkeys(n for n in [*names, *stripped] if n))
        found[tensor] = Quantised(constants[scale], zero_point, axis, unique,
                                  qlinear and tensor not in found)

    for node in graph.node:
        inputs = list(node.input)
        if node.op_type == "QuantizeLinear" and len(inputs) >= 2:
            add(node.output[0], inputs[1], inputs[2] if len(inputs) > 2 else None,
                _axis(node), [inputs[0]])
        elif node.op_type == "DequantizeLinear" and len(inputs) >= 2:
            add(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None, _axis(node),
                [node.output[0]])
        elif node.op_type in QLINEAR_OUTPUT_PARAMS and node.output:
            scale_at, zero_at = QLINEAR_OUTPUT_PARAMS[node.op_type]
            if len(inputs) > zero_at:
                add(node.output[0], inputs[scale_at], inputs[zero_at], None, [], True)
    return found


#: activations onnxruntime's quantiser folds into the QOperator node before them
FOLDED_ACTIVATIONS = ("Relu", "Clip")


def fused_activations(fp32: onnx.ModelProto) -> dict[str, str]:
    """For each tensor of the fp32 model read only by a Relu or Clip, that activation's output."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in fp32.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return {name: nodes[0].output[0] for name, nodes in readers.items()
            if len(nodes) == 1 and nodes[0].op_type in FOLDED_ACTIVATIONS and nodes[0].output}
