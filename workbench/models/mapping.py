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


def _absorb_fused_sums(name: str, reads: list[str], covered: set[str], assigned: set[str],
                       outputs_of: dict[str, list[str]], claimed_by: dict[str, str],
                       inputs_of: dict[str, list[str]], produced_by: dict[str, str],
                       consumers: dict[str, list[str]]) -> None:
    """Take in the nodes a runtime fused *after* an executed node.

    onnxruntime's NCHWc Conv adds a residual branch as an extra input (Conv+Add
    fused, the node still named after the Conv's output). An executed node that
    reads more original tensors than the nodes it covers consume has absorbed
    their consumers: follow its output forward through single consumers that
    use those extra tensors.
    """
    extra = list(reads)
    for node in covered:
        for tensor in inputs_of[node]:
            if tensor in extra:
                extra.remove(tensor)
    while extra:
        outputs = outputs_of[name]
        candidates = [c for t in outputs for c in consumers.get(t, [])
                      if len(consumers.get(t, [])) == 1]
        absorbed = None
        for candidate in candidates:
            needs = [t for t in inputs_of[candidate] if t in produced_by or t in extra]
            if (candidate not in assigned and any(t in extra for t in needs)
                    and all(t in outputs or t in reads for t in needs)
                    and all(claimed_by.get(o, name) == name
                            for o in _outputs_of_node(candidate, produced_by))):
                absorbed = candidate
                break
        if absorbed is None:
            return
        covered.add(absorbed)
        assigned.add(absorbed)
        for tensor in inputs_of[absorbed]:
            if tensor in extra:
                extra.remove(tensor)
        new_outputs = _outputs_of_node(absorbed, produced_by)
        outputs_of[name] = new_outputs
        for tensor in new_outputs:
            claimed_by[tensor] = name


def _outputs_of_node(node: str, produced_by: dict[str, str]) -> list[str]:
    return [t for t, producer in produced_by.items() if producer == node]


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

    graph_inputs = set(topology.get("inputs", []))
    consumers: dict[str, list[str]] = {}
    for n in nodes:
        for tensor in n.get("inputs", []):
            consumers.setdefault(tensor, []).append(n["name"])
    executed_producer = {t: e["name"] for e in executed for t in e.get("outputs", [])}
    by_name = {e["name"]: e for e in executed}

    def boundary(tensor: str, depth: int = 0) -> list[str]:
        """The original tensors an executed node's input stands for."""
        if tensor in produced_by or tensor in graph_inputs:
            return [tensor]
        producer = executed_producer.get(tensor)
        if producer is None or depth > 8:
            return []  # a constant (weights, possibly reordered)
        if outputs_of[producer]:
            return list(outputs_of[producer])
        return [b for t in by_name[producer].get("inputs", []) for b in boundary(t, depth + 1)]

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
        reads = [b for t in node.get("inputs", []) if t for b in boundary(t)]
        _absorb_fused_sums(name, reads, covered, assigned, outputs_of, claimed_by, inputs_of,
                           produced_by, consumers)
        op_type = str(node.get("op_type", ""))
        if op_type in COPY_OPS:
            kind = "copy"
        elif op_type in LAYOUT_OPS and not covered:
            kind = "layout"
        else:
            kind = "compute"
        mapping[name] = {"original_nodes": sorted(covered, key=order.__getitem__), "kind": kind}
    return mapping
