"""Accuracy and delegation in a comparison: how each profile's numbers differ from the
baseline's, not only how fast they came.

Pure data, from what the profiles hold:

* outputs: each profile's kept output values against the baseline's (both
  must have run on the same inputs), with the figures of
  :func:`~workbench.profiling.agreement.output_errors`;
* layers: for profiles run with ``diff=True``, each matched layer group's
  relative error against the baseline, from the tensor both wrote last in the
  group (float tensors with values on both sides), and the first group, in
  execution order, where that error jumps
  (:func:`~workbench.profiling.layer_diff.first_jump`);
* delegation: per profile, the providers or delegates its nodes ran on, and
  the model nodes that ran on different ones in different profiles.

A host reference (``workbench.compare_outputs``, ``workbench.diff_layers``)
needs a run on this machine; a comparison holds what the profiles measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.profiling.delegation import as_section

if TYPE_CHECKING:
    import numpy as np

    from workbench.profiling.compare import LayerGroup
    from workbench.profiling.profile import Profile

#: keys of each record of :func:`output_accuracy`
ACCURACY_KEYS = ("label", "against", "output", "max_abs_error", "mean_abs_error", "cosine",
                 "snr_db", "top1_agreement", "first_jump")


def _same_inputs(one: Profile, other: Profile) -> bool:
    mine = {r["name"]: r.get("sha256") for r in one.document.get("inputs") or []}
    theirs = {r["name"]: r.get("sha256") for r in other.document.get("inputs") or []}
    return bool(mine) and mine == theirs


def _output(profile: Profile, name: str) -> np.ndarray | None:
    from workbench.profiling.agreement import output_array

    entry = next((o for o in profile.outputs if o.get("name") == name), None)
    return None if entry is None else output_array(entry)


def tensors_by_name(profile: Profile) -> dict[str, np.ndarray]:
    """The float tensors with values that a ``diff=True`` run brought back, by name."""
    from workbench.profiling.agreement import output_array

    found = profile.intermediates or {}
    arrays = {}
    for entry in found.get("tensors") or []:
        array = output_array(entry)
        if array is not None and array.dtype.kind == "f":
            arrays[str(entry["name"])] = array
    return arrays


def _group_tensors(group: LayerGroup, topology: dict[str, Any]) -> list[str]:
    """The tensors the group's model nodes write, last node first."""
    outputs = {str(n["name"]): [str(t) for t in n.get("outputs") or []]
               for n in topology.get("nodes", [])}
    return [t for node in reversed(group.original_nodes) for t in outputs.get(node, [])]


def layer_errors(profiles: Sequence[Profile], groups: Sequence[LayerGroup], baseline: int
                 ) -> list[list[float | None]] | None:
    """Per group, per profile: relative error of the group's last common tensor against the
    baseline's (None where either lacks it); None when fewer than two profiles ran a diff."""
    from workbench.profiling.layer_diff import relative_error

    tensors = [tensors_by_name(p) for p in profiles]
    if sum(1 for t in tensors if t) < 2 or not tensors[baseline]:
        return None
    topology = profiles[baseline].document.get("topology") or {}
    errors: list[list[float | None]] = []
    for group in groups:
        candidates = _group_tensors(group, topology)
        row: list[float | None] = []
        for index, mine in enumerate(tensors):
            name = next((t for t in candidates if t in mine and t in tensors[baseline]), None)
            if index == baseline or name is None or \
                    mine[name].shape != tensors[baseline][name].shape:
                row.append(None)
            else:
                row.append(relative_error(mine[name], tensors[baseline][name]))
        errors.append(row)
    return errors


def _first_jumps(groups: Sequence[LayerGroup], errors: list[list[float | None]] | None,
                 profiles: Sequence[Profile], baseline: int) -> list[str | None]:
    """Per profile, the layer group where its error against the baseline first jumps."""
    from workbench.profiling.layer_diff import first_jump

    if errors is None:
        return [None] * len(profiles)
    # groups come slowest first; the jump is found in the baseline's execution order (the
    # model whose tensors the errors were matched by)
    order = {name: depth for depth, name in enumerate(
        str(n["name"])
        for n in (profiles[baseline].document.get("topology") or {}).get("nodes", []))}

    def depth(item: tuple[LayerGroup, list[float | None]]) -> int:
        return min((order.get(n, 1 << 30) for n in item[0].original_nodes), default=1 << 30)

    ordered = sorted(zip(groups, errors, strict=True), key=depth)
    jumps: list[str | None] = []
    for index in range(len(profiles)):
        rows = [{"rel_error": row[index]} for _, row in ordered]
        found = first_jump(rows)
        jumps.append(None if found is None else ordered[found][0].layer)
    return jumps


def output_accuracy(profiles: Sequence[Profile], labels: Sequence[str], baseline: int,
                    groups: Sequence[LayerGroup]) -> list[dict[str, Any]] | None:
    """Per profile but the baseline, its first output against the baseline's (keys as
    :data:`ACCURACY_KEYS`); None when no profile can be compared so."""
    from workbench.profiling.agreement import output_errors

    base = profiles[baseline]
    jumps = _first_jumps(groups, layer_errors(profiles, groups, baseline), profiles, baseline)
    records = []
    for index, profile in enumerate(profiles):
        if index == baseline:
            continue
        record: dict[str, Any] = dict.fromkeys(ACCURACY_KEYS)
        record.update(label=labels[index], against=labels[baseline], first_jump=jumps[index])
        names = [str(o.get("name")) for o in profile.outputs]
        common = [n for n in names if n in {str(o.get("name")) for o in base.outputs}]
        if not common and len(profile.outputs) == len(base.outputs) == 1:
            common = names  # one output each, named differently (a converted model)
        if common and _same_inputs(profile, base):
            mine = _output(profile, common[0])
            theirs = _output(base, common[0] if common[0] in
                             {str(o.get("name")) for o in base.outputs}
                             else str(base.outputs[0].get("name")))
            if mine is not None and theirs is not None and mine.size == theirs.size:
                figures = output_errors(mine.reshape(theirs.shape), theirs)
                record.update(output=common[0], **{k: figures[k] for k in ACCURACY_KEYS
                                                   if k in figures})
        records.append(record)
    if not any(r["output"] or r["first_jump"] for r in records):
        return None
    return records


def delegation_summary(profiles: Sequence[Profile], labels: Sequence[str]
                       ) -> dict[str, Any] | None:
    """Per profile its providers; and the model nodes placed differently across profiles
    (node, then the provider per profile, None where a profile does not say)."""
    sections = [as_section(p.document.get("delegation")) for p in profiles]
    if not any(s and s.get("providers") for s in sections):
        return None
    placed: list[dict[str, str]] = []
    for section in sections:
        where: dict[str, str] = {}
        for entry in (section or {}).get("per_provider") or []:
            for node in entry.get("nodes") or []:
                where[str(node)] = str(entry["name"])
        placed.append(where)
    nodes = [n for n in dict.fromkeys(n for where in placed for n in where)]
    differing = [{"node": node, "providers": [where.get(node) for where in placed]}
                 for node in nodes
                 if len({where.get(node) for where in placed if where}) > 1]
    return {"profiles": [{"label": label, "providers": list((s or {}).get("providers") or []),
                          "fallback_nodes": list((s or {}).get("fallback_nodes") or [])}
                         for label, s in zip(labels, sections, strict=True)],
            "differing_nodes": differing}
