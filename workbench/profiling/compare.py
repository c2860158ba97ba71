"""Compare profiles layer by layer and end to end.

Runtimes fuse and rename nodes differently (one backend runs Conv+Relu as
one kernel, another as two), so layers are matched by the nodes of the
user's model they cover, not by name: rows of any profile that share an
original node fall into one group, and a group's time in a profile is the
sum of its rows there. Rows without ``original_nodes`` (layout conversions,
some estimates) are matched by name.

This module holds the matching (:func:`match_layers`), the labels that tell
profiles apart (:func:`unique_labels`) and the end-to-end table
(:func:`compare_latency`); :func:`compare` wraps them in a
:class:`~workbench.profiling.comparison.Comparison`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    import pandas as pd

    from workbench.profiling.comparison import Comparison
    from workbench.profiling.profile import Profile

#: columns of :func:`compare_latency`
LATENCY_COLUMNS = ("label", "kind", "count", "median_ms", "p90_ms", "mean_ms", "std_ms",
                   "peak_rss_mib")


# --- labels -------------------------------------------------------------------------


def _setting_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _settings(profile: Profile) -> dict[str, str]:
    """What may tell a profile apart from others of the same label: key -> label text.

    Model, device and backend come first (they differ only between profiles
    given the same explicit label), then the kind, the backend's version and
    options, the run settings, and last the model file's hash.
    """
    doc = profile.document
    backend = doc.get("backend") or {}
    settings = {"model": profile.model_name, "device": profile.device_name,
                "backend": profile.backend_name, "kind": profile.kind}
    version = backend.get("version")
    settings["version"] = f"version={version if version else 'unknown'}"
    for name, value in (backend.get("options") or {}).items():
        settings[f"option:{name}"] = f"{name}={_setting_text(value)}"
    for name, value in (doc.get("run") or {}).items():
        settings[f"run:{name}"] = f"{name}={_setting_text(value)}"
    settings["sha256"] = f"sha256={str(doc['model'].get('sha256', ''))[:12]}"
    return settings


def _setting(settings: dict[str, str], key: str) -> str:
    if key in settings:
        return settings[key]
    # An option or run setting a profile does not record ran with the default.
    return f"{key.partition(':')[2] or key}=default"


def unique_labels(profiles: Sequence[Profile]) -> list[str]:
    """Readable labels, one per profile and each different from the others.

    A profile is named by its own ``label``, else ``"{model} on {device}
    ({backend})"``. Profiles that would share a name get the settings that
    tell them apart, in the parentheses: the kind, the backend's version,
    the backend options and run settings whose values differ among them
    (``"resnet18 on local (onnxruntime, intra_op_threads=4)"``; an option one
    of them does not record reads ``name=default``). Only when nothing
    differs are repeats numbered ``" #2"``, ``" #3"``.
    """
    names = [profile.label for profile in profiles]
    labels = list(names)
    for name in dict.fromkeys(names):
        members = [index for index, other in enumerate(names) if other == name]
        if len(members) < 2:
            continue
        settings = [_settings(profiles[index]) for index in members]
        keys = list(dict.fromkeys(key for found in settings for key in found))
        differing = [key for key in keys
                     if len({_setting(found, key) for found in settings}) > 1]
        if not differing:
            continue
        for index, found in zip(members, settings, strict=True):
            bits = ", ".join(_setting(found, key) for key in differing)
            profile = profiles[index]
            if profile.document.get("label"):
                labels[index] = f"{name} ({bits})"
            else:  # the settings join the backend in the generated name's parentheses
                labels[index] = (f"{profile.model_name} on {profile.device_name} "
                                 f"({profile.backend_name}, {bits})")
    numbered: list[str] = []
    for label in labels:  # profiles alike in every setting (the same run twice)
        candidate, number = label, 1
        while candidate in numbered:
            number += 1
            candidate = f"{label} #{number}"
        numbered.append(candidate)
    return numbered


def time_column(label: str) -> str:
    """The name of a profile's median-time column (µs) in ``Comparison.to_dataframe()``."""
    return f"{label}: time_us_median"


def share_column(label: str) -> str:
    """The name of a profile's share column (0..1) in ``Comparison.to_dataframe()``."""
    return f"{label}: share"


def speedup_column(label: str) -> str:
    """The name of a profile's speed-up column (baseline time / its time)."""
    return f"{label}: speedup"


# --- matching layers ----------------------------------------------------------------


@dataclass(frozen=True)
class LayerGroup:
    """Layers of the compared profiles that cover the same model nodes: one comparison row.

    ``layer`` and ``op_type`` are the row names and op types in the first
    profile that has the group, joined by ``" + "``. ``time_us`` (median per
    run) and ``share`` (0..1 of the profile's layer time) hold one entry per
    profile, in the profiles' order: the sum over that profile's rows in the
    group, or None where the profile lacks the group or its times.
    """

    layer: str
    op_type: str
    original_nodes: tuple[str, ...]
    time_us: tuple[float | None, ...]
    share: tuple[float | None, ...]

    def slowest_us(self) -> float | None:
        """The longest time any profile spends in this group, or None without times."""
        times = [t for t in self.time_us if t is not None]
        return max(times) if times else None


def _layer_nodes(layer: dict[str, Any], across_formats: bool = False,
                 kept: set[str] | None = None) -> list[str]:
    """The nodes a row is matched by: its model's, or (comparing a twin with the ONNX
    model it was built from) the ONNX nodes it stands for, or (comparing a quantised
    model with its fp32 source) those of its nodes the source has: the quantiser's
    QuantizeLinear / DequantizeLinear nodes match nothing there."""
    if across_formats and layer.get("reference_nodes"):
        return [str(n) for n in layer["reference_nodes"]]
    nodes = [str(n) for n in layer.get("original_nodes") or []]
    if kept:
        nodes = [n for n in nodes if n in kept] or nodes
    return nodes or [str(layer["name"])]


def source_nodes(profiles: Sequence[Profile]) -> list[set[str] | None]:
    """Per profile, the node names of its model's source when that source is among the
    profiles too (an int8 model beside the fp32 model ``quantize`` made it from)."""
    by_sha = {str(p.document["model"].get("sha256")): p for p in profiles}
    found: list[set[str] | None] = []
    for profile in profiles:
        derived = profile.document["model"].get("derived_from") or {}
        source = by_sha.get(str(derived.get("sha256")))
        topology = (source.document.get("topology") or {}) if source is not None else {}
        found.append({str(n["name"]) for n in topology.get("nodes", [])} or None)
    return found


class _Groups:
    """Union-find over original node names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, keys: list[str]) -> None:
        root = self.find(keys[0])
        for key in keys[1:]:
            other = self.find(key)
            if other != root:
                self.parent[other] = root


def _sum(values: list[float | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return float(sum(numbers)) if numbers else None


def match_layers(profiles: Sequence[Profile]) -> list[LayerGroup]:
    """The profiles' layers matched by the model nodes they cover, slowest group first.

    Groups are ranked by the longest time any profile spends in them; groups
    without any time come last, in order of first appearance. A TFLite
    twin's rows match the ONNX model's through the ONNX nodes they stand for
    (``reference_nodes``), so the two runtimes compare layer by layer; a
    quantised model's rows match its fp32 source's through the nodes the two
    share (:func:`source_nodes`).
    """
    across = len({str(p.document["model"].get("format", "onnx")) for p in profiles}) > 1
    sources = source_nodes(profiles)
    groups = _Groups()
    for profile, source in zip(profiles, sources, strict=True):
        for layer in profile.layers:
            groups.union(_layer_nodes(layer, across, source))

    order: list[str] = []  # group roots in order of first appearance
    nodes_of: dict[str, list[str]] = {}
    members: dict[str, list[list[dict[str, Any]]]] = {}
    for index, profile in enumerate(profiles):
        for layer in profile.layers:
            nodes = _layer_nodes(layer, across, sources[index])
            root = groups.find(nodes[0])
            if root not in members:
                order.append(root)
                members[root] = [[] for _ in profiles]
                nodes_of[root] = []
            members[root][index].append(layer)
            nodes_of[root] += [n for n in nodes if n not in nodes_of[root]]

    matched = []
    for root in order:
        reference = next(group for group in members[root] if group)
        matched.append(LayerGroup(
            layer=" + ".join(str(layer["name"]) for layer in reference),
            op_type=" + ".join(str(layer["op_type"]) for layer in reference),
            original_nodes=tuple(nodes_of[root]),
            time_us=tuple(_sum([layer_time_us(layer) for layer in group])
                          for group in members[root]),
            share=tuple(_sum([float(layer["share"]) if fmt.is_number(layer.get("share"))
                              else None for layer in group])
                        for group in members[root])))

    def slowest_first(group: LayerGroup) -> float:
        slowest = group.slowest_us()
        return math.inf if slowest is None else -slowest

    return sorted(matched, key=slowest_first)  # stable: ties keep their first appearance


def different_models(profiles: Sequence[Profile]) -> str | None:
    """The sentence that says the profiles ran different model files (sha256), or None when
    they all ran the same one."""
    shas = [str(profile.document["model"].get("sha256", "")) for profile in profiles]
    if len(set(shas)) < 2:
        return None
    named = " vs ".join(f"{profile.model_name} ({sha[:12]})"
                        for profile, sha in zip(profiles, shas, strict=True))
    return f"The profiles are of different models: {named}"


def compare(profiles: Sequence[Profile], *, baseline: int = 0,
            allow_different_models: bool = True) -> Comparison:
    """Several profiles side by side, layer by layer and end to end, against a baseline.

    ``baseline`` is the index of the profile the others' speed-ups are
    measured against (the first by default). With ``allow_different_models``
    False, profiles of different model files are refused (a ProfileError), as
    :func:`~workbench.profiling.regress.regress` does. The
    :class:`~workbench.profiling.comparison.Comparison` shows itself in a
    notebook; ``.to_dataframe()`` gives the per-layer table, ``.latency()``
    the end-to-end one.
    """
    from workbench.profiling.comparison import Comparison

    comparison = Comparison(profiles, baseline=baseline)
    mixed = different_models(comparison.profiles)
    if mixed and not allow_different_models:
        from workbench.errors import ProfileError

        raise ProfileError(mixed, where=" vs ".join(comparison.labels),
                           hint="Compare runs of the same model file, or pass "
                                "allow_different_models=True (--allow-different-models) "
                                "if you mean it")
    return comparison


# --- end to end ---------------------------------------------------------------------


def latency_rows(profiles: Sequence[Profile]) -> list[dict[str, Any]]:
    """The rows of :func:`compare_latency` as dicts (missing figures are NaN)."""
    rows = []
    for label, profile in zip(unique_labels(profiles), profiles, strict=True):
        stats = profile.latency
        row: dict[str, Any] = {"label": label, "kind": profile.kind,
                               "count": int(stats.get("count") or 0)}
        for key in ("median", "p90", "mean", "std"):
            value = stats.get(key)
            row[f"{key}_ms"] = float(value) if fmt.is_number(value) else math.nan
        memory = profile.document.get("memory") or {}
        peak = memory.get("peak_rss_after_runs_bytes")
        row["peak_rss_mib"] = float(peak) / 2**20 if fmt.is_number(peak) else math.nan
        rows.append(row)
    return rows


def compare_latency(profiles: Sequence[Profile]) -> pd.DataFrame:
    """End-to-end latency side by side: label, kind, count, median/p90/mean/std in ms, and
    the process's peak memory in MiB next to them.

    Missing figures (an estimate has no spread and no process) are NaN.
    """
    import pandas as pd

    return pd.DataFrame(latency_rows(profiles), columns=list(LATENCY_COLUMNS))
