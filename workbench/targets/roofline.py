"""Roofline estimates: a predicted profile of a model on a target, layer by layer.

Each node of the model's static analysis takes the longer of two times:
compute (its operations over the peak of the cores used) and memory (the
bytes it reads and writes over the DRAM bandwidth). The result is a
``workbench.profile/2`` document of ``kind: estimate``, so it plots and
compares like a measured profile. It is a lower bound: runtimes add
overheads, caches hide some traffic, and no kernel reaches the peak.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from workbench import errors, formats

if TYPE_CHECKING:
    import pandas as pd

    from workbench.models import Model
    from workbench.models.info import Shape
    from workbench.profiling import Profile
    from workbench.targets.calibration import Calibration
    from workbench.targets.epilogue import Folded
    from workbench.targets.observations import Observations, TotalRatio
    from workbench.targets.target import Target

#: memory the runtime, Python and the OS take beside the model (an assumption, in bytes)
RUNTIME_OVERHEAD_BYTES = 200 * 2**20
_FLOAT_TYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def _as_model(model: Model | str | Path, where: str) -> Model:
    """The loaded model; EstimateError when its inputs have symbolic dims (sizes unknown)."""
    from workbench.models import Model, load_model

    model = model if isinstance(model, Model) else load_model(model)
    if model.symbolic_dims:
        dims = model.symbolic_dims
        raise errors.EstimateError(
            f"The model's inputs have symbolic dims ({', '.join(dims)}), so its operations, "
            f"activations and bytes are unknown", where=where,
            hint=f"Fix them first: model.with_shapes({dims[0]}=1, ...), or "
            f"`workbench estimate MODEL --shape {dims[0]}=1` on the command line")
    return model


@dataclass(frozen=True)
class Fit:
    """Whether a model fits a board's RAM: what it needs and what the board has."""

    board: str
    needed_bytes: int
    ram_bytes: list[int]
    weight_bytes: int
    activation_bytes: int
    overhead_bytes: int

    @property
    def fits_largest(self) -> bool:
        """True when it fits the largest RAM size the board is sold with."""
        return bool(self.ram_bytes) and self.needed_bytes <= self.ram_bytes[-1]

    @property
    def fits_smallest(self) -> bool:
        """True when it fits every RAM size the board is sold with."""
        return bool(self.ram_bytes) and self.needed_bytes <= self.ram_bytes[0]

    def __bool__(self) -> bool:
        return self.fits_largest

    @property
    def warning(self) -> str | None:
        """A sentence for the estimate's warnings, or None when it fits every variant."""
        need = f"{self.needed_bytes / 2**20:.0f} MiB"
        parts = (f"weights {self.weight_bytes / 2**20:.0f} MiB + peak activations "
                 f"{self.activation_bytes / 2**20:.0f} MiB + runtime overhead "
                 f"{self.overhead_bytes / 2**20:.0f} MiB")
        if not self.ram_bytes:
            return f"{self.board}: RAM size unknown; the model needs about {need} ({parts})"
        if not self.fits_largest:
            return (f"does not fit {self.board}: needs about {need} ({parts}), the board has at "
                    f"most {self.ram_bytes[-1] / 2**30:g} GiB")
        if not self.fits_smallest:
            smallest = next(r for r in self.ram_bytes if r >= self.needed_bytes)
            return (f"needs the {smallest / 2**30:g} GiB or larger {self.board}: about {need} "
                    f"({parts})")
        return None

    def __repr__(self) -> str:
        state = "fits" if self.fits_smallest else self.warning
        return f"<Fit {self.board}: {state}>"


def fits(model: Model | str, board: Target | str, *,
         overhead_bytes: int | None = None) -> Fit:
    """Whether weights + peak activations + runtime overhead fit the board's RAM.

    ``bool(fits(...))`` is True when the model fits the largest RAM size sold;
    ``.warning`` says when it needs a larger variant or does not fit at all.
    """
    from workbench.targets.target import Target
    from workbench.targets.target import board as catalog_board

    target = board if isinstance(board, Target) else catalog_board(board)
    model = _as_model(model, f"fits on {target.name}")
    if overhead_bytes is not None and (isinstance(overhead_bytes, bool) or not isinstance(
            overhead_bytes, int) or overhead_bytes < 0):
        raise errors.InvalidOptionValue(
            f"overhead_bytes={overhead_bytes!r} is not a whole number of bytes, 0 or more",
            where=f"fits on {target.name}",
            hint=f"Leave it out for the default ({RUNTIME_OVERHEAD_BYTES} bytes)")
    overhead = RUNTIME_OVERHEAD_BYTES if overhead_bytes is None else overhead_bytes
    weights, activations = int(model.weight_bytes), int(model.peak_activation_bytes)
    return Fit(board=target.name, needed_bytes=weights + activations + overhead,
               ram_bytes=target.ram_bytes, weight_bytes=weights, activation_bytes=activations,
               overhead_bytes=overhead)


def _node_bytes(node: Any, dtype: str) -> int:
    """Bytes a node moves; for int8, float tensors count one byte per element."""
    total = 0
    for shapes, dtypes in ((node.input_shapes, node.input_dtypes),
                           (node.output_shapes, node.output_dtypes)):
        for shape, elem in zip(shapes, dtypes, strict=False):
            if shape is None or not all(isinstance(d, int) for d in shape):
                continue
            count = math.prod(shape)
            size = _FLOAT_TYPES.get(str(elem), 8 if elem == "int64" else 4)
            total += count * (1 if dtype == "int8" and elem in _FLOAT_TYPES else size)
    return total


#: ops runtimes fold into the Conv/Gemm/MatMul before them (onnxruntime's FusedConv and
#: BatchNormalization folding, TFLite's fused activations)
FUSED_FOLLOWERS = frozenset({"BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid",
                             "Tanh", "HardSigmoid"})


def _tensor_bytes(shape: Shape | None, elem: str | None, dtype: str) -> int:
    if shape is None or not all(isinstance(d, int) for d in shape):
        return 0
    size = _FLOAT_TYPES.get(str(elem), 8 if elem == "int64" else 4)
    count = math.prod(cast("list[int]", shape))  # all ints: checked above
    return count * (1 if dtype == "int8" and elem in _FLOAT_TYPES else size)


def fused_groups(model: Model) -> list[list[Any]]:
    """The model's nodes grouped as a runtime fuses them: an arithmetic node (MACs > 0)
    with the BatchNormalization and activations that follow it alone, each on the
    single-consumer output of the one before; every other node on its own."""
    consumers: dict[str, int] = {}
    for node in model.nodes:
        for name in node.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    graph_outputs = {t.name for t in model.outputs}
    groups: list[list[Any]] = []
    for node in model.nodes:
        last = groups[-1][-1] if groups else None
        if (last is not None and node.op_type in FUSED_FOLLOWERS and groups[-1][0].macs
                and node.inputs and last.outputs and node.inputs[0] == last.outputs[0]
                and consumers.get(node.inputs[0]) == 1 and node.inputs[0] not in graph_outputs):
            groups[-1].append(node)
        else:
            groups.append([node])
    return groups


def group_bytes(group: list[Any], dtype: str) -> int:
    """Bytes a fused group moves: every node's, less the tensors that stay inside it."""
    total = sum(_node_bytes(node, dtype) for node in group)
    for node in group[:-1]:  # written by one node, read by the next: neither reaches DRAM
        total -= 2 * _tensor_bytes(node.output_shapes[0], node.output_dtypes[0], dtype)
    return max(total, 0)


def _stats(value_us: float) -> dict[str, Any]:
    return {"count": 1, "mean": value_us, "std": 0.0, "min": value_us, "median": value_us,
            "p90": value_us, "p99": value_us, "max": value_us}


#: ± percent of a layer costed at the datasheet's peaks (a lower bound: often several times off)
DATASHEET_ERROR_PCT = 100.0
#: ± percent of a layer costed at its class's calibrated ceiling, beside the ceiling's own
#: spread: the calibration measures one shape per class, and other shapes run faster or slower
CLASS_ERROR_PCT = 30.0


@dataclass(frozen=True)
class _Layer:
    """How one fused group is costed: time, which bound, and where its rate came from."""

    time_us: float
    compute_us: float
    memory_us: float
    ceiling: str
    source: str
    error_pct: float
    observations: int = 0
    #: the time at the calibrated or datasheet ceiling, whichever rate the layer was given:
    #: the common yardstick that weighs each layer's error bar
    ceiling_us: float = 0.0
    #: for a rate from history, ``"shape"`` (these shapes seen) or ``"class"`` (the
    #: median of the class over other shapes)
    matched: str = ""


class _Costing:
    """The rates an estimate uses: history observations, calibrated class ceilings, datasheet."""

    def __init__(self, peak: float, peak_fp32: float, bandwidth: float,
                 ceilings: Calibration | None, observations: Observations | None) -> None:
        self.dtype_factor = peak / peak_fp32 if peak_fp32 else 1.0
        self.peak, self.peak_fp32, self.bandwidth = peak, peak_fp32, bandwidth
        self.ceilings, self.observations = ceilings, observations

    def cost(self, kernel_class: str, shape: str, macs: float, other_ops: float,
             moved: float) -> _Layer:
        from dataclasses import replace

        from workbench.targets.calibration import class_work
        from workbench.targets.kernels import COMPUTE_CLASSES, unit

        compute = kernel_class in COMPUTE_CLASSES
        factor = self.dtype_factor if compute else 1.0
        at_ceiling = self._at_ceiling(kernel_class, macs, other_ops, moved)
        seen = self.observations.rate(kernel_class, shape) if self.observations else None
        measured = self.ceilings.rate(kernel_class) if self.ceilings else None
        if seen is not None and (seen.matched == "shape" or measured is None):
            # a class's median over other shapes is a weaker guide than its calibrated ceiling
            rate = seen.rate * factor
            time_us = class_work(kernel_class, macs, moved) / (rate * 1e3) if rate > 0 else 0.0
            text = (f"{kernel_class} {rate:.1f} {unit(kernel_class)} (history, {seen.count} "
                    f"{'at these shapes' if seen.matched == 'shape' else 'of the class'})")
            return replace(at_ceiling, time_us=time_us,
                           compute_us=time_us if compute else 0.0,
                           memory_us=0.0 if compute else time_us, ceiling=text,
                           source="history", error_pct=seen.error_pct,
                           observations=seen.count, matched=seen.matched)
        return at_ceiling

    def _at_ceiling(self, kernel_class: str, macs: float, other_ops: float,
                    moved: float) -> _Layer:
        """The layer costed at its class's calibrated ceiling, or else at the datasheet's peaks."""
        from workbench.targets.kernels import COMPUTE_CLASSES

        compute = kernel_class in COMPUTE_CLASSES
        factor = self.dtype_factor if compute else 1.0
        intensity = 2.0 * macs / moved if compute and macs and moved else None
        measured = (self.ceilings.rate_at(kernel_class, intensity) if self.ceilings
                    else None)
        gemm = self.ceilings.rate("gemm") if self.ceilings else None
        memory = self.ceilings.rate("elementwise") if self.ceilings else None
        fp32 = gemm.rate if gemm else self.peak_fp32
        bandwidth = memory.rate if memory else self.bandwidth
        if measured is not None and compute:
            flops_rate = measured.rate * factor
            text = f"{kernel_class} {flops_rate:.1f} GFLOP/s (calibrated"
            shapes = self.ceilings.intensities(kernel_class) if self.ceilings else []
            if len(shapes) > 1 and intensity:
                rule = self.ceilings.intensity_rule if self.ceilings else ""
                text += (f" at {len(shapes)} shapes, {shapes[0]:.0f}-{shapes[-1]:.0f} FLOP/B, "
                         f"{'fitted' if rule == 'fit' else 'interpolated'}; "
                         f"this layer {intensity:.0f} FLOP/B")
            text += ")"
        elif measured is not None:
            flops_rate, bandwidth = fp32 * factor, measured.rate
            text = f"{kernel_class} {bandwidth:.1f} GB/s (calibrated)"
        else:
            flops_rate = fp32 * factor
            text = f"peak {flops_rate:.1f} GOP/s, {bandwidth:.1f} GB/s (datasheet)"
        compute_us = (2 * macs / (flops_rate * 1e3) if macs else 0.0) + (
            other_ops / (fp32 * 1e3) if other_ops else 0.0)
        memory_us = moved / (bandwidth * 1e3)
        time_us = max(compute_us, memory_us)
        if measured is None:
            return _Layer(time_us, compute_us, memory_us, text, "datasheet",
                          DATASHEET_ERROR_PCT, ceiling_us=time_us)
        spread = measured.spread_pct
        if self.ceilings is not None and not self.ceilings.accepted:
            # refused (shared cores, or fast runs that drift): its runs' jitter is the honest bar
            spread = max(spread, measured.run_spread_pct or 0.0)
        return _Layer(time_us, compute_us, memory_us, text, "calibrated",
                      math.hypot(CLASS_ERROR_PCT, spread), ceiling_us=time_us)


def _as_epilogue(layer: _Layer, epilogue: Folded) -> _Layer:
    """A layer folded into a convolution's output loop: what it still moves, and into which."""
    from dataclasses import replace

    what = ("reads the residual only" if epilogue.part == "residual"
            else "applied in its output loop")
    return replace(layer, ceiling=f"{layer.ceiling}, folded into {epilogue.into}: {what}")


def estimate(target: Target, model: Model | str, *, threads: int | None = None,
             dtype: str = "fp32", cluster: str | int = "big",
             ceilings: Calibration | None = None, observations: Observations | None = None,
             overhead_bytes: int | None = None, fuse: bool = True) -> Profile:
    """The roofline estimate of ``model`` on ``target`` (see :meth:`Target.estimate`)."""
    from workbench import __version__
    from workbench.profiling import Profile
    from workbench.targets.epilogue import fold
    from workbench.targets.kernels import classify, shape_key

    if dtype not in ("fp32", "int8"):
        raise errors.InvalidOptionValue(f"dtype={dtype!r} is not fp32 or int8",
                                        where=f"estimate on {target.name}",
                                        hint="Give dtype='fp32' or dtype='int8'")
    model = _as_model(model, f"estimate on {target.name}")
    chosen = target.choose(cluster)
    used = sum(c.count for c in chosen) if threads is None else threads
    peak_fp32 = target.peak_gops("fp32", used, cluster)
    peak = target.peak_gops(dtype, used, cluster)
    bandwidth = target.bandwidth_gbs
    source = "datasheet"
    if ceilings is not None:
        # measured FP32 ceilings; INT8 keeps the datasheet's INT8/FP32 ratio
        if ceilings.rate("gemm"):
            peak, peak_fp32 = ceilings.gflops * peak / peak_fp32, ceilings.gflops
        bandwidth = ceilings.gbs if ceilings.rate("elementwise") else bandwidth
        source = "calibrated"
    if not bandwidth:
        raise errors.EstimateError("The target's memory bandwidth is unknown",
                                   where=f"estimate on {target.name}")
    costing = _Costing(peak, peak_fp32, bandwidth, ceilings, observations)
    rows: list[dict[str, Any]] = []
    groups = fused_groups(model) if fuse else [[n] for n in model.nodes]
    folded = fold(model, groups, dtype) if fuse else {}
    for group in groups:
        node, tail = group[0], group[-1]
        macs = sum(n.macs for n in group)
        other_ops = sum(n.ops for n in group if not n.macs and n.ops)
        epilogue = folded.get(node.name)
        moved = group_bytes(group, dtype) if epilogue is None else epilogue.moved
        kernel_class = classify(node.op_type, node.input_shapes)
        layer = costing.cost(kernel_class,
                             shape_key(node.op_type, node.input_shapes, tail.output_shapes),
                             macs, other_ops if epilogue is None else 0.0, moved)
        if epilogue is not None:
            layer = _as_epilogue(layer, epilogue)
        ops = 2 * macs + other_ops
        time_us = layer.time_us
        rows.append({
            "name": node.name, "op_type": node.op_type, "kind": "compute",
            "original_nodes": [n.name for n in group], "provider": f"roofline ({source})",
            "calls": 1, "duration_us": _stats(time_us), "share": 0.0,
            "input_shapes": node.input_shapes, "output_shapes": tail.output_shapes,
            "macs": int(macs), "bytes": int(moved),
            "gmacs_per_s": macs / (time_us * 1e3) if macs and time_us > 0 else None,
            "bound": "compute" if layer.compute_us >= layer.memory_us else "memory",
            "compute_us": layer.compute_us, "memory_us": layer.memory_us,
            "intensity": ops / moved if moved else None,
            "kernel_class": kernel_class, "ceiling": layer.ceiling,
            "rate_source": layer.source, "error_pct": layer.error_pct,
            "observations": layer.observations, "ceiling_us": layer.ceiling_us,
            "history_match": layer.matched or None,
            "folded_into": epilogue.into if epilogue is not None else None})
    layers_us = sum(r["duration_us"]["median"] for r in rows)
    for row in rows:
        row["share"] = row["duration_us"]["median"] / layers_us if layers_us else 0.0
    gap = observations.total_ratio(model.name) if observations is not None else None
    total_ms = layers_us / 1000 * (gap.ratio if gap is not None else 1.0)
    error_pct, error_source = _total_error(rows, observations, gap)
    layers_error_pct, _ = _total_error(rows, observations, None)
    fit = fits(model, target, overhead_bytes=overhead_bytes)
    warnings = [w for w in [fit.warning] if w]
    warnings.append("estimate: a roofline lower bound from catalog figures, not a measurement"
                    if ceilings is None else
                    f"estimate: roofline with ceilings measured on {ceilings.device}")
    if ceilings is not None and not ceilings.accepted:
        warnings.append(f"the calibration of {ceilings.device} was not accepted: "
                        f"{ceilings.reason()}")
    if observations is not None:
        warnings.append(f"estimate: {error_source}")
        guessed = _class_guesses(rows)
        if guessed:
            warnings.append(guessed)
    options = {"threads": used, "dtype": dtype, "cluster": cluster}
    document = {
        "schema": formats.PROFILE, "kind": "estimate",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "label": f"{model.name} on {target.name} [estimate {dtype}, {used} threads]",
        "model": {"name": model.name, "sha256": model.sha256, "format": model.format,
                  "source": model.source, "opset": model.opset, "params": model.params,
                  "macs": model.macs, "weight_bytes": model.weight_bytes,
                  "peak_activation_bytes": model.peak_activation_bytes},
        "device": {"name": target.name, "kind": "catalog", "arch": "aarch64",
                   "cores": used,
                   "memory_bytes": target.ram_bytes[-1] if target.ram_bytes else None,
                   "cpu": {"clusters": [{"core": c.core.key, "count": c.count,
                                         "max_mhz": (c.max_ghz or 0) * 1000} for c in chosen]}},
        "target": {"name": target.name, "title": target.title, "cluster": cluster,
                   "threads": used, "dtype": dtype, "ceilings": source,
                   "peak_gops": peak, "peak_fp32_gflops": peak_fp32, "bandwidth_gbs": bandwidth,
                   "calibration": ceilings.to_dict() if ceilings is not None else None,
                   "fits_ram": fit.fits_largest, "needed_bytes": fit.needed_bytes},
        "environment": {"conditions": None, "cores_used": None, "emulated": False},
        "backend": {"name": "roofline", "version": __version__, "options": options,
                    "providers": [f"roofline ({source})"]},
        "run": {"warmup": 0, "runs": 0, "profile_runs": 0, "timeout_s": None},
        "versions": {"workbench": __version__},
        "inputs": [],
        "latency": {"samples_ms": [], "source": f"roofline estimate ({source} ceilings)",
                    "stats": {"count": 0, "mean": total_ms, "median": total_ms, "std": None,
                              "min": total_ms, "p90": total_ms, "p99": total_ms,
                              "max": total_ms}},
        "layers": rows,
        "layer_source": (f"roofline: max(ops / {peak:.1f} GOP/s, bytes / {bandwidth:.1f} GB/s)"
                         if ceilings is None and observations is None else
                         "roofline per kernel class: each layer at its class's rate (see the "
                         "rows' ceiling)")
                        + (", activations and BatchNormalization fused into the Conv/Gemm "
                           "before them" if fuse else ", node by node"),
        "trace": None, "topology": model.topology(), "warnings": warnings,
        "estimate": {"error_pct": error_pct, "error_source": error_source,
                     "layers_error_pct": layers_error_pct,
                     "history": observations.summary() if observations is not None else None,
                     "layers_from_history": sum(r["rate_source"] == "history" for r in rows),
                     "history_share": _history_share(rows),
                     "total_ratio": None if gap is None else {
                         "ratio": gap.ratio, "error_pct": gap.error_pct, "profiles": gap.count,
                         "matched": gap.matched, "sum_of_layers_ms": layers_us / 1000},
                     "observations_used": sum(r["observations"] for r in rows),
                     "classes": _per_class(rows, costing)},
    }
    return Profile(document, where=f"estimate of {model.name} on {target.name}")


def _per_class(rows: list[dict[str, Any]], costing: _Costing) -> list[dict[str, Any]]:
    """Per kernel class: its layers, their share of the time, where their rates came from."""
    from workbench.targets.kernels import CLASSES, DESCRIPTIONS

    found = []
    for kernel_class in CLASSES:
        mine = [r for r in rows if r["kernel_class"] == kernel_class]
        if not mine:
            continue
        share = sum(r["share"] for r in mine)
        error = (sum(r["error_pct"] * r["share"] for r in mine) / share if share
                 else mine[0]["error_pct"])
        sources = {s: sum(r["rate_source"] == s for r in mine)
                   for s in ("history", "calibrated", "datasheet")}
        calibrated = costing.ceilings.rate(kernel_class) if costing.ceilings else None
        found.append({"kernel_class": kernel_class, "description": DESCRIPTIONS[kernel_class],
                      "layers": len(mine), "share": share, "error_pct": error,
                      "sources": {k: v for k, v in sources.items() if v},
                      "calibrated": str(calibrated) if calibrated else None})
    return found


def _class_guesses(rows: list[dict[str, Any]]) -> str | None:
    """A warning when history costs some layers at their class's median over other shapes.

    With no calibrated ceiling for a class, a layer whose shapes history has not seen takes
    the median rate of the layers of its class seen at other shapes, which may be few and
    unlike it (one small stem convolution standing for a ResNet's 3x3 layers ran 1.5-1.8x
    slow in ``benchmarks/bench_estimate.py``'s history-alone estimates).
    """
    guessed = [r for r in rows if r.get("history_match") == "class"]
    if not guessed:
        return None
    share = _work_share(rows, guessed)
    classes = sorted({r["kernel_class"] for r in guessed})
    return (f"{len(guessed)} layer{'s' if len(guessed) != 1 else ''} ({100 * share:.0f}% of "
            f"the work; {', '.join(classes)}) costed at the median rate of their class over "
            "other shapes in the history, which may be unlike theirs: calibrate the device "
            "(calibrate=True, --calibrate) for its ceilings per class, or profile this model "
            "there once")


def _work_share(rows: list[dict[str, Any]], part: list[dict[str, Any]]) -> float:
    """The share of the model's work in ``part`` of its rows, measured at the ceilings'
    yardstick (each row's time at its calibrated or datasheet ceiling)."""
    whole = sum(r["ceiling_us"] for r in rows)
    return sum(r["ceiling_us"] for r in part) / whole if whole > 0 else 0.0


def _history_share(rows: list[dict[str, Any]]) -> float:
    """The share of the model costed from history, measured at the ceilings' yardstick."""
    return _work_share(rows, [r for r in rows if r["rate_source"] == "history"])


def _total_error(rows: list[dict[str, Any]], observations: Observations | None,
                 gap: TotalRatio | None) -> tuple[float, str]:
    """The whole estimate's ± percent, and whence.

    The layers' error bars are weighted by each layer's time at the
    calibrated or datasheet ceiling, not by the time the estimate gives it: a
    layer costed at a ceiling (the best rate the device reaches) gets less
    time than one costed at the rate history saw, so weighting by the
    estimate's own times would let a few layers from history set the bar of a
    model whose time mostly falls back to ceilings. Weighting, rather than
    adding in quadrature, assumes the layers' errors share a cause (a device
    slower than its ceiling in every layer), so the bar does not shrink with
    the number of layers. When the total is scaled by the device's total
    ratio (``gap``), the bar is at least that ratio's spread between profiles:
    the ratio is a measured total over a measured sum of layers, so its
    spread already holds the layers' noise and is not added to it again.
    """
    weights = [r["ceiling_us"] for r in rows]
    if not rows or sum(weights) <= 0:
        return DATASHEET_ERROR_PCT, "no layer to cost"
    error = sum(r["error_pct"] * w for r, w in zip(rows, weights, strict=True)) / sum(weights)
    if gap is not None:
        error = max(error, gap.error_pct)
    sources = {r["rate_source"] for r in rows}
    if "history" in sources and observations is not None:
        used = sum(r["observations"] for r in rows)
        from_history = sum(r["rate_source"] == "history" for r in rows)
        ratio = ("" if gap is None else
                 f"; total {gap.ratio:.2f}x the sum of its layers, as in {gap.count} profiles of "
                 "this model" if gap.matched == "model" else
                 f"; total the sum of its layers ± {gap.error_pct:.0f}%, as far as {gap.count} "
                 "profiles of other models fell from theirs")
        return error, (f"{from_history} of {len(rows)} layers ({100 * _history_share(rows):.0f}% "
                       f"of the work) from {observations.device}'s history ({used} observations "
                       f"in {observations.profiles} profiles){ratio}")
    if "calibrated" in sources:
        return error, "calibrated ceilings per kernel class and their spread"
    return error, "datasheet peaks (a lower bound)"


@dataclass
class EstimateComparison:
    """An estimate against a measured profile: per-layer table and overall figures."""

    table: pd.DataFrame
    overall: dict[str, float]
    #: whether the measured total fell inside the estimate's error bar (None: the estimate has none)
    within: bool | None = None

    def __repr__(self) -> str:
        o = self.overall
        bar = o.get("error_bar_pct", math.nan)
        inside = ("" if self.within is None else
                  f"; inside its ± {bar:.0f}% error bar" if self.within else
                  f"; OUTSIDE its ± {bar:.0f}% error bar")
        return (f"<EstimateComparison estimate {o['estimate_ms']:.3f} ms vs measured "
                f"{o['measured_ms']:.3f} ms: ratio {o['ratio']:.2f}, error {o['error_pct']:+.1f}%"
                f"{inside}>")

    def _repr_html_(self) -> str:
        head = f"<p>{self!r}</p>".replace("<E", "&lt;E").replace("%>", "%&gt;")
        return head + str(self.table.to_html(index=False))


def compare_estimate(estimate: Profile, measured: Profile) -> EstimateComparison:
    """Estimate error per layer and overall: ratio (estimate / measured) and error in percent.

    Layers are matched by the model nodes they cover, as :func:`workbench.compare` does.
    """
    from workbench.profiling.compare import compare

    if not estimate.is_estimate:
        raise errors.InvalidOptionValue("The first profile is not an estimate",
                                        where=estimate.label,
                                        hint="Call compare_estimate(target.estimate(m), measured)")
    if measured.is_estimate:
        raise errors.InvalidOptionValue("The second profile is an estimate, not a measurement",
                                        where=measured.label,
                                        hint="Give a measured profile (workbench.profile) second")
    comparison = compare([measured, estimate])
    frame = comparison.to_dataframe()
    table = frame[["layer", "op_type", "original_nodes"]].copy()
    table["measured_us"] = frame[comparison.time_column(0)]
    table["estimate_us"] = frame[comparison.time_column(1)]

    by_name = {layer["name"]: layer for layer in estimate.layers}

    def per_row(key: str) -> list[Any]:
        """The estimate layer's ``key`` for each row, from the layer holding most of its time.

        A measured row may cover several estimate layers (the runtime fused a
        block's Add and ReLU into the next convolution); the first of them is
        often a folded ReLU, so the row takes the class and bar of its longest.
        """
        found = []
        for nodes in frame["original_nodes"]:
            mine = [by_name[n.strip()] for n in str(nodes).split(",") if n.strip() in by_name]
            main = max(mine, key=lambda r: r["duration_us"]["median"], default=None)
            found.append(None if main is None else main.get(key))
        return found

    table["bound"] = per_row("bound")
    table["ratio"] = table["estimate_us"] / table["measured_us"]
    table["error_pct"] = (table["ratio"] - 1.0) * 100.0
    table["kernel_class"] = per_row("kernel_class")
    table["error_bar_pct"] = per_row("error_pct")
    table["within"] = [None if bar is None or math.isnan(err) else bool(abs(err) <= bar)
                       for bar, err in zip(table["error_bar_pct"], table["error_pct"],
                                           strict=True)]
    measured_ms = float(measured.latency.get("median") or math.nan)
    estimate_ms = float(estimate.latency.get("median") or math.nan)
    ratio = estimate_ms / measured_ms if measured_ms else math.nan
    overall = {"estimate_ms": estimate_ms, "measured_ms": measured_ms, "ratio": ratio,
               "error_pct": (ratio - 1.0) * 100.0,
               "layers_matched": float(table[["measured_us", "estimate_us"]].notna()
                                       .all(axis=1).sum())}
    bar = (estimate.document.get("estimate") or {}).get("error_pct")
    within = None
    if isinstance(bar, (int, float)) and not math.isnan(ratio):
        overall["error_bar_pct"] = float(bar)
        within = abs(overall["error_pct"]) <= float(bar)
    return EstimateComparison(table=table, overall=overall, within=within)
