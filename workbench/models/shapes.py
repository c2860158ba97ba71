"""Fixing a model's free input dims: by the name shown, by ``input:axis``, or a whole input.

Only the graph inputs' declared shapes change; nothing inside the graph (inferred
shapes, subgraphs of If and Loop) is rewritten. The model file a device runs stays
as it was loaded: onnxruntime runs a free dim at the size the input array has, and
dims fixed by their real name also reach it as free-dimension overrides.

Keys ``with_shapes`` and ``--shape`` accept:

* ``batch=1``: a dim by the name the model shows for it (``x_dim2`` for an unnamed one);
* ``x:2=48``: the dim at axis 2 of input ``x``;
* ``x=1x3x48x192`` (or a list): every dim of input ``x`` at once; dims the model
  fixes must be given at their size, and an input of unknown rank takes the rank given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import onnx

from workbench import errors
from workbench.models.analysis import free_dims, is_dim_name


def _size(key: str, value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.InvalidOptionValue(
            f"{key}={value!r} is not a positive whole number", where=where,
            hint=f"Give the size of the dim, e.g. {key}=1")
    return value


def _whole_shape(key: str, value: Any, where: str) -> list[int]:
    """``1x3x48x192``, ``[1, 3, 48, 192]`` or a single number (a rank-1 input)."""
    parts: Sequence[Any]
    if isinstance(value, str):
        parts = [p.strip() for p in value.lower().replace(",", "x").split("x")]
    elif isinstance(value, list | tuple):
        parts = value
    else:
        parts = [value]
    if not parts:
        raise errors.InvalidOptionValue(f"{key}={value!r} has no dims", where=where,
                                        hint=f"Write the whole shape, e.g. {key}=1x3x224x224")
    return [_size(f"{key}:{axis}", part, where) for axis, part in enumerate(parts)]


def _example_shape(value: onnx.ValueInfoProto | None) -> str:
    """The input's own shape as ``--shape`` writes it, a free dim as 1 (``1x256``)."""
    if value is None or not value.type.tensor_type.HasField("shape"):
        return "1x3x224x224"
    dims = [str(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else "1"
            for d in value.type.tensor_type.shape.dim]
    return "x".join(dims) or "1"


def _accepted(inputs: Sequence[onnx.ValueInfoProto], constants: set[str]) -> str:
    names = sorted({d.name for d in free_dims(inputs, constants)})
    tensors = [v for v in inputs if v.name not in constants]
    first = tensors[0].name if tensors else "x"
    example = _example_shape(tensors[0] if tensors else None)
    return (f"Its free dims: {', '.join(names) or 'none'}; or give INPUT:AXIS=N "
            f"(e.g. {first}:0=1) or a whole input, e.g. {first}={example}; "
            f"its inputs: {', '.join(v.name for v in tensors) or 'none'}")


def fix_inputs(inputs: Sequence[onnx.ValueInfoProto], constants: set[str],
               dims: Mapping[str, Any], *, where: str) -> list[onnx.ValueInfoProto]:
    """Copies of the graph inputs with the dims ``dims`` names fixed (keys as above)."""
    fixed = [onnx.ValueInfoProto() for _ in inputs]
    for copy, value in zip(fixed, inputs, strict=True):
        copy.CopyFrom(value)
    by_input = {v.name: i for i, v in enumerate(inputs) if v.name not in constants}
    by_name: dict[str, list[tuple[int, int]]] = {}
    for dim in free_dims(inputs, constants):
        by_name.setdefault(dim.name, []).append((dim.index, dim.axis))
    unknown: list[str] = []

    def dims_of(index: int) -> Any:
        return fixed[index].type.tensor_type.shape.dim

    def set_dim(key: str, index: int, axis: int, size: int) -> None:
        dim = dims_of(index)[axis]
        if dim.HasField("dim_value") and dim.dim_value >= 0 and dim.dim_value != size:
            raise errors.InvalidOptionValue(
                f"{key}: axis {axis} of input {inputs[index].name!r} is fixed at "
                f"{dim.dim_value} by the model, not {size}", where=where,
                hint=f"Give {dim.dim_value} there, or leave that axis out")
        dim.dim_value = size  # clears a dim_param: the two are one field

    for key, value in dims.items():
        name, colon, axis_text = key.rpartition(":")
        if colon and name in by_input:
            index = by_input[name]
            rank = len(dims_of(index))
            if not axis_text.lstrip("-").isdigit() or not -rank <= int(axis_text) < rank:
                raise errors.InvalidOptionValue(
                    f"{key!r} names no axis of input {name!r}, which has rank {rank}",
                    where=where, hint=f"Give an axis from 0 to {rank - 1}, e.g. {name}:0=1")
            set_dim(key, index, int(axis_text) % rank, _size(key, value, where))
        elif key in by_input and not (key in by_name and isinstance(value, int)):
            index = by_input[key]
            sizes = _whole_shape(key, value, where)
            tensor = fixed[index].type.tensor_type
            if not tensor.HasField("shape"):  # unknown rank: the shape given is the shape
                tensor.shape.dim.extend(onnx.TensorShapeProto.Dimension() for _ in sizes)
            if len(sizes) != len(tensor.shape.dim):
                raise errors.InvalidOptionValue(
                    f"{key}={value!r} gives {len(sizes)} dims, but input {key!r} has "
                    f"{len(tensor.shape.dim)}", where=where,
                    hint=f"Give every dim of {key!r}, separated by x")
            for axis, size in enumerate(sizes):
                set_dim(key, index, axis, size)
        elif key in by_name:
            size = _size(key, value, where)
            for index, axis in by_name[key]:
                set_dim(key, index, axis, size)
        else:
            unknown.append(key)
    if unknown:
        raise errors.UnknownOption(
            f"{', '.join(map(repr, unknown))} is not a free dim or an input of the model",
            where=where, hint=_accepted(inputs, constants))
    return fixed


def free_dimension_overrides(original: Sequence[onnx.ValueInfoProto],
                             fixed: Sequence[onnx.ValueInfoProto],
                             constants: set[str]) -> dict[str, int]:
    """dim_param -> size for each real dim name that every input carrying it now fixes alike.

    onnxruntime takes these as session options, so it can plan with the sizes
    while the model file stays as it is.
    """
    sizes: dict[str, set[int]] = {}
    for dim in free_dims(original, constants):
        param = original[dim.index].type.tensor_type.shape.dim[dim.axis].dim_param
        if not is_dim_name(param):
            continue
        now = fixed[dim.index].type.tensor_type.shape.dim[dim.axis]
        sizes.setdefault(param, set()).add(
            int(now.dim_value) if now.HasField("dim_value") and now.dim_value > 0 else -1)
    return {param: next(iter(found)) for param, found in sorted(sizes.items())
            if len(found) == 1 and -1 not in found}
