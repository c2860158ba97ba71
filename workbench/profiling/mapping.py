"""Map the nodes a runtime executed back to the nodes of the user's model.

Runtimes fuse nodes (Conv+Relu), fold others away (BatchNormalization into
Conv) and insert layout conversions (onnxruntime's NCHWc ReorderInput /
ReorderOutput on x86, with nodes renamed after their output tensors). Names
alone cannot be trusted, tensors can: an executed node covers the original
nodes between the original tensors it reads and the original tensors it
writes. Each original node is attributed to the nearest executed node
downstream of it, so no time is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: op types a runtime inserts only to change a tensor's memory layout
LAYOUT_OPS = frozenset({"ReorderInput", "ReorderOutput", "Transpose", "NhwcTransposeInput"})
COPY_OPS = frozenset({"MemcpyToHost", "MemcpyFromHost"})
_RENAMED_SUFFIXES = ("_nchwc", "_nhwc")


def _original_outputs(node: dict[str, Any], produced_by: dict[str, str],
                      graph_outputs: set[str]) -> list[str]:
    outputs = [t for t in node.get("outputs", []) if t in produced_by or t in graph_outputs]
    if outputs:
        return outputs
    name = str(node.get("name", ""))
    for suffix in _RENAMED_SUFFIXES:  # onnxruntime names layout-rewritten nodes after their output
        if name.endswith(suffix) and name[: -len(suffix)] in produced_by:
            return [name[: -len(suffix)]]
    return []


def map_executed_nodes(executed: Iterable[dict[str, Any]],
                       topology: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each executed node name: ``original_nodes`` (in graph order) and ``kind``.

    ``executed`` holds dicts with name, op_type, inputs and outputs (the graph
    the runtime ran); ``topology`` is ``Model.topology()`` of the user's model.
    """
    nodes = topology.get("nodes", [])
    order = {n["name"]: i for i, n in enumerate(nodes)}
    inputs_of = {n["name"]: list(n.get("inputs", [])) for n in nodes}
    produced_by = {t: n["name"] for n in nodes for t in n.get("outputs", [])}
    graph_outputs = set(topology.get("outputs", []))
    executed = list(executed)
    claimed_by: dict[str, str] = {}
    outputs_of: dict[str, list[str]] = {}
    for node in executed:
        outputs = _original_outputs(node, produced_by, graph_outputs)
        outputs_of[node["name"]] = outputs
        for tensor in outputs:
            claimed_by.setdefault(tensor, node["name"])

    mapping: dict[str, dict[str, Any]] = {}
    assigned: set[str] = set()  # executed order is topological: first claimant is nearest
    for node in executed:
        name = node["name"]
        covered: set[str] = set()
        stack = [t for t in outputs_of[name] if claimed_by.get(t) == name]
        seen: set[str] = set()
        while stack:
            tensor = stack.pop()
            if tensor in seen:
                continue
            seen.add(tensor)
            producer = produced_by.get(tensor)
            if producer is None or producer in assigned:
                continue
            covered.add(producer)
            assigned.add(producer)
            for upstream in inputs_of[producer]:
                owner = claimed_by.get(upstream)
                if owner is None or owner == name:
                    stack.append(upstream)
        op_type = str(node.get("op_type", ""))
        if op_type in COPY_OPS:
            kind = "copy"
        elif op_type in LAYOUT_OPS and not covered:
            kind = "layout"
        else:
            kind = "compute"
        mapping[name] = {"original_nodes": sorted(covered, key=order.__getitem__), "kind": kind}
    return mapping
