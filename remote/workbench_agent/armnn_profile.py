"""Per-layer and per-kernel rows for Arm NN from its profiler's JSON and its optimized graph.

Arm NN 22's profiler (``IProfiler.as_json()``) writes one ``inference_measurements``
event for a profiling session; inside its ``Execute`` event there is one
``<Backend><Type>Workload_Execute`` event per layer that ran (``Neon`` for
CpuAcc, ``Ref`` for CpuRef, ``Cl`` for GpuAcc) with its wall-clock time, and
inside that one ``NeonKernelTimer/N: <kernel>`` measurement per Arm Compute
Library kernel. Each measurement's ``raw`` list holds one value per profiled run.
Version 22 writes no layer name and no GUID on these events (nor does PyArmNN 22
offer ``ProfilingDetailsMethod``), so they are mapped to layers through the
optimized network's graph (``IOptimizedNetwork.SerializeToDot``): its layers,
in the order the workloads are made, give each layer's name, type and backend.
A workload is matched to the next layer that runs one, and its type must agree
with that layer's type; when the two disagree the mapping stops and the rows
keep the workload names.

Layer names from the TfLite parser are ``<Type>:<subgraph>:<operator>``; a fused
activation is a layer of its own named ``<name>:RELU6`` (or ``:RELU``), and the
optimizer's folds say ``folded-Pad:0:3-into-Conv2D:0:4``. Every layer of one
operator becomes one row, so a convolution with its fused ReLU6 is one row
whose kernels are the convolution's and the activation's. With fp16 turbo mode
the optimizer puts conversion layers (``convert_fp32_to_fp16-0-<layer>``,
``ConvertFp32ToFp16``) around the layers it runs in fp16: they join their
operator's row, which keeps the name and type of the operator's own layer.

Standard library only: this runs on the board.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

#: workload name prefix -> Arm NN backend
PREFIXES = (("Neon", "CpuAcc"), ("Ref", "CpuRef"), ("Cl", "GpuAcc"))
#: graph layers that run no workload of their own in a profiled (not first) run, or only copies
NO_WORKLOAD = frozenset({"Input", "Output", "Constant", "MemCopy", "MemImport"})
_OPERATOR = re.compile(r"[A-Za-z0-9_]+:(\d+):(\d+)")
_DOT_NODE = re.compile(r'^\s*(\d+)\s*\[label="\{(.*)\}"\];\s*$')


def graph_layers(dot: str) -> List[Dict[str, Any]]:
    """The optimized network's layers in order: name, type, backend and TFLite operators."""
    layers = []
    for line in dot.splitlines():
        match = _DOT_NODE.match(line)
        if not match:
            continue
        fields = {}  # type: Dict[str, str]
        for part in match.group(2).split("\\l"):
            key, sep, value = part.rpartition(" : ")
            if sep:
                fields[key.split("|")[-1].strip()] = value.strip()
        name = fields.get("LayerName", "")
        layers.append({"name": name, "type": fields.get("LayerType", ""),
                       "backend": fields.get("BackendID", ""), "operators": operators(name)})
    return layers


def operators(layer_name: str) -> List[int]:
    """The TFLite operator indices (main subgraph) a layer name speaks of, in order."""
    found = []  # type: List[int]
    for subgraph, operator in _OPERATOR.findall(layer_name):
        if subgraph == "0" and int(operator) not in found:
            found.append(int(operator))
    return found


def _raw(event: Dict[str, Any], prefix: str) -> List[float]:
    for key, value in event.items():
        if key.startswith(prefix + "_#") and isinstance(value, dict):
            return [float(x) for x in value.get("raw") or []]
    return []


def _kernel_name(key: str) -> str:
    label = key.split(": ", 1)[-1]
    return label.rsplit("_#", 1)[0]


def _workloads(execute: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The workload events of one Execute event: name, backend, type, and one time per run
    (Arm NN keeps the runs of a profiling session as the ``raw`` list of one event)."""
    found = []
    for name, child in execute.items():
        if not isinstance(child, dict) or child.get("type") != "Event" \
                or "Workload_Execute" not in name:
            continue
        workload = name.rsplit("_#", 1)[0][:-len("_Execute")]
        backend, kind = "", workload
        for prefix, label in PREFIXES:
            if workload.startswith(prefix):
                backend, kind = label, workload[len(prefix):]
                break
        kernels = [{"name": _kernel_name(k), "raw": [float(x) for x in v.get("raw") or []]}
                   for k, v in child.items() if isinstance(v, dict)
                   and v.get("type") == "Measurement" and "KernelTimer" in k]
        found.append({"workload": workload, "backend": backend,
                      "type": kind[:-len("Workload")] if kind.endswith("Workload") else kind,
                      "raw": _raw(child, "Wall clock time"), "kernels": kernels})
    return found


def workload_runs(document: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
    """Per profiled run, the workloads it executed in order (copies left out):
    workload name, backend, type, time (µs) and kernels (name, µs)."""
    runs = []  # type: List[List[Dict[str, Any]]]
    for key, event in (document.get("ArmNN") or {}).items():
        if not key.startswith("inference_measurements") or not isinstance(event, dict):
            continue
        execute = next((v for k, v in event.items() if k.startswith("Execute_#")
                        and isinstance(v, dict)), {})
        workloads = _workloads(execute)
        count = min((len(w["raw"]) for w in workloads), default=0)
        for run in range(count):
            runs.append([{"workload": w["workload"], "backend": w["backend"], "type": w["type"],
                          "us": w["raw"][run],
                          "kernels": [{"name": k["name"],
                                       "us": k["raw"][run] if run < len(k["raw"]) else 0.0}
                                      for k in w["kernels"]]} for w in workloads])
    return runs


def _same_type(layer_type: str, workload_type: str) -> bool:
    # Reference workloads may carry a data type or a shared name (RefElementwiseWorkload).
    a, b = layer_type.lower(), workload_type.lower()
    return a == b or a in b or b in a


def align(layers: List[Dict[str, Any]], workloads: List[Dict[str, Any]]
          ) -> Tuple[List[Optional[Dict[str, Any]]], Optional[str]]:
    """For each workload, the graph layer it ran for (None where unknown), and a warning
    when the order cross-check failed."""
    running = [layer for layer in layers if layer["type"] not in NO_WORKLOAD]
    if len(running) != len(workloads):
        return [None] * len(workloads), (
            "Arm NN ran %d workloads for %d layers of its optimized graph: rows keep the "
            "workload names" % (len(workloads), len(running)))
    for position, (layer, workload) in enumerate(zip(running, workloads)):  # noqa: B905
        if not _same_type(layer["type"], workload["type"]):
            return [None] * len(workloads), (
                "workload %d is %s but the optimized graph's layer %r is %s: rows keep the "
                "workload names" % (position, workload["workload"], layer["name"],
                                    layer["type"]))
    return list(running), None


def _is_conversion(layer_type: str) -> bool:
    # ConvertFp32ToFp16, ConvertFp16ToFp32, ConvertBf16ToFp32, ...
    return layer_type.startswith("Convert")


def layer_rows(layers: List[Dict[str, Any]], runs: List[List[Dict[str, Any]]]
               ) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Runner-API layer rows, one per TFLite operator (its layers merged), with kernel rows;
    and warnings. ``operators`` lists the operator indices a row covers."""
    if not runs:
        return [], []
    warnings = []  # type: List[str]
    first = runs[0]
    mapped, warning = align(layers, first)
    if warning:
        warnings.append(warning)
    if any(len(run) != len(first) for run in runs):
        warnings.append("profiled runs executed different workloads: only the first run's "
                        "rows are kept")
        runs = runs[:1]
    rows = []  # type: List[Dict[str, Any]]
    by_operator = {}  # type: Dict[int, Dict[str, Any]]
    for position, workload in enumerate(first):
        layer = mapped[position]
        ops = layer["operators"] if layer else []
        primary = ops[-1] if ops else None
        kernels = [{"name": k["name"], "durations_us": [run[position]["kernels"][i]["us"]
                                                        if i < len(run[position]["kernels"])
                                                        else 0.0 for run in runs]}
                   for i, k in enumerate(workload["kernels"])]
        times = [run[position]["us"] for run in runs]
        row = by_operator.get(primary) if primary is not None else None
        if row is not None:  # a fused activation (or fold) of an operator already seen
            if layer and _is_conversion(row["op_type"]) and not _is_conversion(layer["type"]):
                row["name"], row["op_type"] = layer["name"], layer["type"]
            row["durations_us"] = [a + b for a, b in zip(row["durations_us"], times)]  # noqa: B905
            row["kernels"].extend(kernels)
            row["operators"] = row["operators"] + [o for o in ops if o not in row["operators"]]
            row["layers"].append(layer["name"] if layer else workload["workload"])
            continue
        row = {"name": layer["name"] if layer else "%s#%d" % (workload["workload"], position),
               "op_type": layer["type"] if layer else workload["type"],
               "provider": (layer["backend"] if layer else "") or workload["backend"],
               "calls": 1, "durations_us": times, "operators": list(ops),
               "layers": [layer["name"] if layer else workload["workload"]],
               "kernels": kernels, "input_shapes": None, "output_shapes": None}
        rows.append(row)
        if primary is not None:
            by_operator[primary] = row
    return rows, warnings


def placement(layers: List[Dict[str, Any]]) -> Dict[str, str]:
    """TFLite operator index (as text) -> the backend that ran its main layer (the first
    layer of that operator in the graph; a fused activation follows it)."""
    where = {}  # type: Dict[str, str]
    for layer in layers:
        if layer["type"] in NO_WORKLOAD or not layer["backend"]:
            continue
        for operator in layer["operators"]:
            where.setdefault(str(operator), layer["backend"])
    return where
