"""Compare profiles layer by layer and end to end.

Runtimes fuse and rename nodes differently (one backend runs Conv+Relu as
one kernel, another as two), so layers are matched by the nodes of the
user's model they cover, not by name: rows of any profile that share an
original node fall into one group, and a group's time in a profile is the
sum of its rows there. Rows without ``original_nodes`` (layout conversions,
some estimates) are matched by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    import pandas as pd

    from workbench.profiling.profile import Profile

#: columns of :func:`compare_latency`
LATENCY_COLUMNS = ("label", "kind", "count", "median_ms", "p90_ms", "mean_ms", "std_ms",
                   "peak_rss_mib")


def unique_labels(profiles: Sequence[Profile]) -> list[str]:
    """The profiles' labels, with ``" #2"``, ``" #3"`` added to repeats so each is a key."""
    labels: list[str] = []
    for profile in profiles:
        label, number = profile.label, 1
        while label in labels:
            number += 1
            label = f"{profile.label} #{number}"
        labels.append(label)
    return labels


def time_column(label: str) -> str:
    """The name of a profile's median-time column (µs) in :func:`compare`'s frame."""
    return f"{label}: time_us_median"


def share_column(label: str) -> str:
    """The name of a profile's share column (0..1) in :func:`compare`'s frame."""
    return f"{label}: share"


def _layer_nodes(layer: dict[str, Any], across_formats: bool = False) -> list[str]:
    """The nodes a row is matched by: its model's, or (comparing a twin with the ONNX
    model it was built from) the ONNX nodes it stands for."""
    if across_formats and layer.get("reference_nodes"):
        return [str(n) for n in layer["reference_nodes"]]
    return [str(n) for n in layer.get("original_nodes") or []] or [str(layer["name"])]


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


def _sum(values: list[float | None]) -> float:
    numbers = [v for v in values if v is not None]
    return float(sum(numbers)) if numbers else math.nan


def compare(profiles: Sequence[Profile]) -> pd.DataFrame:
    """Layer-by-layer comparison: one row per group of matched layers, slowest first.

    Columns: ``layer`` (row names in the first profile that has the group,
    joined by " + "), ``op_type``, ``original_nodes`` ("a, b"), then for each
    profile label ``"{label}: time_us_median"`` and ``"{label}: share"``
    (see :func:`time_column`, :func:`share_column`). A profile without the
    group, or without times for it (estimates may lack some), shows NaN.
    A TFLite twin's rows match the ONNX model's through the ONNX nodes they
    stand for (``reference_nodes``), so the two runtimes compare layer by layer.
    """
    import pandas as pd

    labels = unique_labels(profiles)
    across = len({str(p.document["model"].get("format", "onnx")) for p in profiles}) > 1
    groups = _Groups()
    for profile in profiles:
        for layer in profile.layers:
            groups.union(_layer_nodes(layer, across))

    order: list[str] = []  # group roots in order of first appearance
    nodes_of: dict[str, list[str]] = {}
    members: dict[str, list[list[dict[str, Any]]]] = {}
    for index, profile in enumerate(profiles):
        for layer in profile.layers:
            nodes = _layer_nodes(layer, across)
            root = groups.find(nodes[0])
            if root not in members:
                order.append(root)
                members[root] = [[] for _ in profiles]
                nodes_of[root] = []
            members[root][index].append(layer)
            nodes_of[root] += [n for n in nodes if n not in nodes_of[root]]

    rows = []
    for root in order:
        reference = next(group for group in members[root] if group)
        row: dict[str, Any] = {
            "layer": " + ".join(str(layer["name"]) for layer in reference),
            "op_type": " + ".join(str(layer["op_type"]) for layer in reference),
            "original_nodes": fmt.join_nodes(nodes_of[root]),
        }
        for label, group in zip(labels, members[root], strict=True):
            row[time_column(label)] = _sum([layer_time_us(layer) for layer in group])
            row[share_column(label)] = _sum(
                [float(layer["share"]) if fmt.is_number(layer.get("share")) else None
                 for layer in group])
        rows.append(row)

    columns = ["layer", "op_type", "original_nodes"]
    for label in labels:
        columns += [time_column(label), share_column(label)]
    frame = pd.DataFrame(rows, columns=columns)
    if labels and not frame.empty:
        slowest = frame[[time_column(label) for label in labels]].max(axis=1, skipna=True)
        frame = frame.iloc[(-slowest.fillna(-1.0)).argsort(kind="stable")]
        frame = frame.reset_index(drop=True)
    return frame


def compare_latency(profiles: Sequence[Profile]) -> pd.DataFrame:
    """End-to-end latency side by side: label, kind, count, median/p90/mean/std in ms, and
    the process's peak memory in MiB next to them.

    Missing figures (an estimate has no spread and no process) are NaN.
    """
    import pandas as pd

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
    return pd.DataFrame(rows, columns=list(LATENCY_COLUMNS))
