"""Epilogues: the elementwise work a runtime folds into the convolution before it.

onnxruntime's CPU provider (its NCHWc layout, and the fused convolution of
the others) adds a residual connection inside the convolution's output loop
and applies the activation after it there too: a ResNet block's Add and ReLU
run no pass over memory of their own. The convolution reads the residual
tensor while it writes its output, and that read is all they cost.

Costed as layers of their own, the Add read two tensors and wrote one and the
ReLU read and wrote one more, at the memory ceiling: on ResNet-50 that gave
the layers holding them up to a fifth more time than the convolution they
are part of, and different layers different amounts, so the estimate's
layers came out of the measured order. The estimate keeps them as rows (a
profile's layers are matched by node), costs them at what they still move,
and says which convolution each was folded into.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: elementwise ops that add a second tensor into a convolution's output
RESIDUAL_OPS = frozenset({"Add", "Sum"})
#: activations applied in the same output loop after a folded residual
ACTIVATIONS = frozenset({"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid"})


@dataclass(frozen=True)
class Folded:
    """One node folded into a convolution's epilogue."""

    #: the first node of the convolution's group (its row's name)
    into: str
    #: ``"residual"`` (the Add: reads its other input) or ``"activation"`` (moves nothing)
    part: str
    #: the bytes it still moves: the residual tensor it reads, 0 for an activation
    moved: int


def _size(shape: Any, elem: Any, dtype: str) -> int:
    from workbench.targets.roofline import _tensor_bytes

    return _tensor_bytes(shape, elem, dtype)


def fold(model: Any, groups: Sequence[Sequence[Any]], dtype: str = "fp32") -> dict[str, Folded]:
    """The nodes of ``groups`` that a runtime folds into the convolution group before them.

    An Add is folded when one of its inputs is the output of a group led by an
    arithmetic node (MACs > 0), read by the Add alone and not a graph output,
    and its other input has the same shape (a residual, not a broadcast bias);
    an activation is folded when it alone reads a folded Add's output. Keyed by
    node name.
    """
    consumers: dict[str, int] = {}
    for node in model.nodes:
        for name in node.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    graph_outputs = {t.name for t in model.outputs}
    # tensor -> (place, head) of the arithmetic group whose tail wrote it
    produced_by: dict[str, tuple[int, str]] = {}
    for place, group in enumerate(groups):
        if group[0].macs and group[-1].outputs:
            produced_by[group[-1].outputs[0]] = (place, group[0].name)

    def private(tensor: str) -> bool:
        return consumers.get(tensor) == 1 and tensor not in graph_outputs

    found: dict[str, Folded] = {}
    folded_outputs: dict[str, str] = {}  # a folded Add's output -> the head it was folded into
    for group in groups:
        node = group[0]
        if len(group) != 1 or not node.outputs:
            continue
        shapes = list(node.input_shapes)
        if (node.op_type in RESIDUAL_OPS and len(node.inputs) == 2 and len(shapes) == 2
                and shapes[0] is not None and shapes[0] == shapes[1]):
            # the convolution that runs last of the two takes the Add, as the runtime's does
            sides = [(produced_by[t], side) for side, t in enumerate(node.inputs)
                     if t in produced_by and private(t)]
            if sides:
                (_, head), side = max(sides)
                other = 1 - side
                moved = _size(shapes[other], node.input_dtypes[other], dtype)
                found[node.name] = Folded(head, "residual", moved)
                folded_outputs[node.outputs[0]] = head
        elif (node.op_type in ACTIVATIONS and node.inputs and node.inputs[0] in folded_outputs
              and private(node.inputs[0])):
            found[node.name] = Folded(folded_outputs[node.inputs[0]], "activation", 0)
    return found
