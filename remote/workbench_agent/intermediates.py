"""Intermediate tensors for the per-layer numerical diff (runner API 2).

A runner that can expose the tensors between its layers picks them from the
graph it executes, runs once, and describes each as outputs are described
(:mod:`workbench_agent.outputs`): name, dtype, shape, sha256, statistics, and
the values when the tensor is no larger than the job's ``max_output_values``
(a larger one is summarised on the board: statistics and hash only).

Tensors in a runtime's private layout (onnxruntime's blocked NCHWc on x86,
its internal NHWC domain) do not line up element by element with the
reference; they are listed as skipped, with the reason.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from workbench_agent.outputs import DEFAULT_MAX_VALUES, describe

#: layouts a runtime uses internally, by a word in the producing node's domain
PRIVATE_LAYOUTS = (("nchwc", "blocked NCHWc layout (onnxruntime on x86): not comparable "
                    "element by element"),
                   ("nhwc", "onnxruntime's internal NHWC layout: not comparable element by "
                    "element"))
#: nodes that bring a tensor back to the standard layout
LAYOUT_EXITS = ("ReorderOutput",)


def choose(nodes: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The tensors worth exposing, in execution order, and the ones skipped with a reason.

    Each chosen entry names the tensor, the executed node that writes it, its op
    type and its depth (the node's place in the executed graph).
    """
    chosen = []  # type: List[Dict[str, Any]]
    skipped = []  # type: List[Dict[str, Any]]
    seen = set()
    for depth, node in enumerate(nodes):
        domain = str(node.get("domain") or "").lower()
        reason = None
        if node.get("op_type") not in LAYOUT_EXITS:
            reason = next((why for word, why in PRIVATE_LAYOUTS if word in domain), None)
        for tensor in node.get("outputs") or []:
            if not tensor or tensor in seen:
                continue
            seen.add(tensor)
            entry = {"name": tensor, "node": node.get("name", ""),
                     "op_type": node.get("op_type", ""), "depth": depth}
            if reason:
                skipped.append(dict(entry, reason=reason))
            else:
                chosen.append(entry)
    return chosen, skipped


def describe_tensors(chosen: List[Dict[str, Any]], values: Dict[str, Any],
                     settings: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], int]:
    """Entries for the chosen tensors (values kept up to the job's limit), and how many
    were summarised because they were larger."""
    wanted = settings.get("max_output_values", DEFAULT_MAX_VALUES)
    limit = None if wanted is None else int(wanted)
    entries = []
    summarised = 0
    for item in chosen:
        if item["name"] not in values:
            continue
        entry, _ = describe(item["name"], values[item["name"]], True, limit)
        if entry.get("values_dropped"):
            summarised += 1
        entry.update(node=item["node"], op_type=item["op_type"], depth=item["depth"])
        entries.append(entry)
    return entries, summarised


def unavailable(reason: str) -> Dict[str, Any]:
    """The intermediates section of a runner (or agent) that cannot expose tensors."""
    return {"available": False, "reason": reason, "tensors": [], "skipped": []}
