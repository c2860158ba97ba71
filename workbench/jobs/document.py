"""The profile document of a job: model, device, target, run, latency, layers and trace.

Built on the host from the job and the runner's result; the Profile object
wraps it. Nothing here talks to a device.
"""

from __future__ import annotations

import datetime as _dt
import platform
import weakref
from typing import TYPE_CHECKING, Any, cast

from workbench import errors, formats
from workbench.jobs.settings import MIN_STABLE_RUNS

if TYPE_CHECKING:
    from workbench.backends.base import Backend
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model


#: each loaded model's tensor sizes: a notebook profiles the same Model object again and again
_SIZES: weakref.WeakKeyDictionary[Model, dict[str, int]] = weakref.WeakKeyDictionary()


def _tensor_bytes(model: Model) -> dict[str, int]:
    known = _SIZES.get(model)
    if known is None:
        known = _SIZES[model] = _count_tensor_bytes(model)
    return known


def _count_tensor_bytes(model: Model) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for node in model.nodes:
        names = list(node.inputs) + list(node.outputs)
        shapes = list(node.input_shapes or [None] * len(node.inputs)) + list(
            node.output_shapes or [None] * len(node.outputs))
        dtypes = list(node.input_dtypes or [None] * len(node.inputs)) + list(
            node.output_dtypes or [None] * len(node.outputs))
        for name, shape, dtype in zip(names, shapes, dtypes, strict=False):
            if name and shape and dtype and all(isinstance(d, int) for d in shape):
                import numpy as np

                count = 1
                for d in shape:
                    count *= cast(int, d)  # all ints: checked above
                sizes[name] = count * np.dtype(dtype).itemsize
    return sizes


def layer_table(rows: list[dict[str, Any]], model: Model,
                peak_gflops: float | None = None) -> list[dict[str, Any]]:
    """Profile layer rows: duration statistics, share, MACs, bytes moved and GMAC/s; kernel
    rows under a layer whose runner reported them (``peak_gflops``: the target's fp32 peak for
    the cores the job ran on, that GEMM and convolution kernels are set against).

    A row's ``share`` is its median time over the sum of every row's median:
    the same statistic the tables show as the row's time, so a slower row
    never has a smaller share.
    """
    from workbench.profiling.stats import summarize_each

    nodes = {n.name: n for n in model.nodes}
    sizes = _tensor_bytes(model)
    stats_per_row = summarize_each([r["durations_us"] for r in rows])
    medians = [stats.get("median") or 0.0 for stats in stats_per_row]
    total = sum(medians) or 1.0
    table = []
    for row, stats, median in zip(rows, stats_per_row, medians, strict=True):
        covered = [nodes[n] for n in row.get("original_nodes", []) if n in nodes]
        written = {t for n in covered for t in n.outputs}
        read = {t for n in covered for t in n.inputs} - written
        consumed_inside = {t for n in covered for t in n.inputs}
        leaving = {t for n in covered for t in n.outputs if t not in consumed_inside} or written
        macs = sum(n.macs for n in covered) if covered else None
        moved = sum(sizes.get(t, 0) for t in read | leaving) if covered else None
        table.append({
            "name": row["name"], "op_type": row["op_type"], "kind": row.get("kind", "compute"),
            "original_nodes": row.get("original_nodes", []), "provider": row.get("provider"),
            "calls": int(row.get("calls", 0)), "duration_us": stats, "share": median / total,
            "input_shapes": row.get("input_shapes"), "output_shapes": row.get("output_shapes"),
            "macs": macs, "bytes": moved,
            "gmacs_per_s": (macs / (median * 1e3)) if macs and median > 0 else None,
            **({"reference_nodes": row["reference_nodes"]} if "reference_nodes" in row else {}),
            **({"kernels": kernel_rows(row["kernels"], macs, peak_gflops)}
               if row.get("kernels") else {}),
        })
    return table


#: words in a kernel's name that mark it as the layer's matrix multiply or convolution
_MAC_KERNEL_WORDS = ("gemm", "gemv", "conv", "winograd", "depthwise")
#: words that mark a kernel as data movement around it (im2col, padding, reshapes, Winograd's
#: input and output transforms)
_MOVE_KERNEL_WORDS = ("im2col", "col2im", "pad", "transpose", "reshape", "flatten", "permute",
                      "fill", "copy", "transform")


def is_mac_kernel(name: str) -> bool:
    """Whether a kernel (an Arm Compute Library name) does its layer's multiply-accumulates."""
    lowered = name.lower()
    kernel_class = lowered.split("/", 1)[0]  # after the slash: the assembly routine's name
    return any(w in lowered for w in _MAC_KERNEL_WORDS) and not any(
        w in kernel_class for w in _MOVE_KERNEL_WORDS)


def kernel_rows(kernels: list[dict[str, Any]], macs: int | None,
                peak_gflops: float | None = None) -> list[dict[str, Any]]:
    """A layer's kernel rows: name, time statistics, share of the layer's kernel time, and
    for its multiply-accumulate kernels the achieved GFLOP/s (2 x the layer's MACs over those
    kernels' summed median time; im2col and padding kernels do none of that work) and its
    share of ``peak_gflops``."""
    from workbench.profiling.stats import summarize

    stats = [summarize(k["durations_us"]) for k in kernels]
    medians = [s.get("median") or 0.0 for s in stats]
    total = sum(medians) or 1.0
    mac_time = sum(m for k, m in zip(kernels, medians, strict=True) if is_mac_kernel(k["name"]))
    rate = 2.0 * macs / (mac_time * 1e3) if macs and mac_time > 0 else None
    of_peak = rate / peak_gflops if rate is not None and peak_gflops else None
    return [{"name": str(k["name"]), "duration_us": s, "share": m / total,
             "gflops_per_s": rate if is_mac_kernel(k["name"]) else None,
             "peak_share": of_peak if is_mac_kernel(k["name"]) else None}
            for k, s, m in zip(kernels, stats, medians, strict=True)]


def peak_gflops(target: dict[str, Any] | None, cores: list[int] | None) -> float | None:
    """The detected catalog board's fp32 peak for as many threads as the job's cores (all
    cores when not pinned); None off the catalog or when the catalog has no figures."""
    from workbench import targets
    from workbench.targets.target import Target

    name = (target or {}).get("name")
    if not name:
        return None
    try:
        board = targets.get(str(name))
        if not isinstance(board, Target):
            return None
        threads = min(len(cores), board.cores) if cores else None
        return float(board.peak_gops("fp32", threads, cluster="all"))
    except (errors.WorkbenchError, AttributeError, TypeError, ValueError):
        return None


def _warnings(runs: int, result: dict[str, Any], info: DeviceInfo,
              lowered: bool) -> list[str]:
    found = list(result.get("warnings") or [])
    if runs < MIN_STABLE_RUNS and not lowered:
        found.append(f"only {runs} timed runs: the median is not stable; use {MIN_STABLE_RUNS} "
                     "or more")
    if info.emulated:
        found.append("emulated board: times are not hardware times")
    return found


def _notes(stats: dict[str, Any], lowered: bool) -> list[str]:
    """What the reader should know that is nobody's mistake: few timed runs that the
    workbench chose for an emulated board, and how far their median may move."""
    runs = int(stats.get("count") or 0)
    if not lowered or runs >= MIN_STABLE_RUNS:
        return []
    median, interval = stats.get("median"), stats.get("median_ci")
    spread = ""
    if median and interval:
        moves = max(median - interval[0], interval[1] - median) / median * 100
        spread = f"the median may move by ±{moves:.0f} %; "
    return [f"{runs} timed runs (the emulated board's default): {spread}set runs="
            f"{MIN_STABLE_RUNS} or more (--runs) for a steadier one"]


def detected_target(info: DeviceInfo) -> dict[str, Any] | None:
    """What target detection makes of the device's CPU, for the profile's ``target`` section.

    ``name`` is the closest catalog board (None when there is none, e.g. on
    x86, which ``summary`` then says plainly). Detection reads only text the
    probe already carried; when it cannot read it, the section says so rather
    than failing the job.
    """
    from workbench.targets.detection import from_probe

    if not (info.cpu or {}).get("cpuinfo"):
        return {"name": None, "summary": "not detected: the probe carried no /proc/cpuinfo",
                "detected": False}
    try:
        found = from_probe(info.cpu, info.name)
    except (errors.WorkbenchError, ValueError, KeyError, TypeError) as exc:
        return {"name": None, "summary": f"target detection failed: {exc}", "detected": False}
    return {"name": found.board, "summary": found.summary(), "detected": True,
            **found.to_dict()}


def profile_document(model: Model, info: DeviceInfo, backend: Backend, options: dict[str, Any],
                     job: dict[str, Any], result: dict[str, Any],
                     label: str | None = None) -> dict[str, Any]:
    """The workbench.profile/2 document from a job and its runner result."""
    from workbench import __version__
    from workbench.profiling.delegation import delegation_section, requested_accelerators
    from workbench.profiling.stats import latency_stats

    run = job["run"]
    samples = [float(x) for x in result["latency_ms"]]
    runtime = result["runtime"]
    profile_runs = int(result.get("profile_runs", 0))
    target = detected_target(info)
    lowered = bool(run.get("runs_lowered"))
    latency = latency_stats(samples)
    notes = _notes(latency, lowered)
    environment = result.get("environment") or {"conditions": None, "cores_used": None}
    layers = layer_table(backend.layer_rows(result, model), model,
                         peak_gflops(target, environment.get("cores_used")))
    return {
        "schema": formats.PROFILE,
        "kind": "emulated" if info.emulated else "measured",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "label": label,
        "model": {"name": model.name, "sha256": model.sha256, "format": model.format,
                  "source": model.source, "opset": model.opset, "params": model.params,
                  "macs": model.macs, "weight_bytes": model.weight_bytes,
                  "peak_activation_bytes": model.peak_activation_bytes,
                  "format_version": model.format_version,
                  **({"converted_from_opset": model.converted_from_opset}
                     if model.converted_from_opset is not None else {}),
                  **({"derived_from": model.derived_from} if model.derived_from else {})},
        "device": info.to_dict(),
        "target": target,
        "environment": {**environment, "emulated": info.emulated},
        "backend": {"name": backend.name, "version": runtime.get("version"), "options": options,
                    "providers": list(runtime.get("providers") or [])},
        "run": {"warmup": run["warmup"], "runs": run["runs"], "profile_runs": profile_runs,
                "timeout_s": run.get("timeout_s"),
                **{k: run.get(k) for k in ("cluster", "cores", "governor", "cooldown_c")},
                **({"runs_lowered": True} if lowered else {})},
        "versions": {"workbench": __version__, "agent": result.get("agent_version"),
                     runtime["name"]: runtime.get("version"), "python": info.python,
                     "numpy": info.numpy, "host_python": platform.python_version()},
        "inputs": result.get("inputs") or [],
        "latency": {"samples_ms": samples, "stats": latency,
                    "source": f"{len(samples)} timed runs with profiling off",
                    "cold_ms": result.get("cold_ms"),
                    "session_create_ms": result.get("session_create_ms"),
                    "model_load_ms": result.get("model_load_ms")},
        "memory": {**(result.get("memory") or {}), "arena_bytes": result.get("arena_bytes")},
        "layers": layers,
        "layer_source": (result.get("layer_source") or backend.description or
                         f"{runtime['name']} per-layer timer") + f" ({profile_runs} profiled runs)"
        if profile_runs else None,
        "trace": result.get("trace"),
        "topology": model.topology(),
        "delegation": delegation_section([(n.name, n.macs) for n in model.nodes],
                                         placement=backend.placement(result, model), layers=layers,
                                         requested=requested_accelerators(options)),
        "outputs": result.get("outputs"),
        "executed_graph": result.get("executed_graph")
        or (result.get("intermediates") or {}).get("executed_graph"),
        **({"intermediates": result["intermediates"]} if "intermediates" in result else {}),
        "warnings": _warnings(len(samples), result, info, lowered),
        **({"notes": notes} if notes else {}),
    }
