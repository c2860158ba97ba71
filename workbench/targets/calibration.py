"""Calibration: a device's measured ceilings, one per kernel class, with how sure they are.

One tiny ONNX model per kernel class (:mod:`workbench.targets.kernels`),
with deterministic weights and the sizes of a typical mobile-network layer:
a pointwise convolution (``gemm``), a 3×3 convolution (``conv``), a 3×3
depthwise convolution (``depthwise``), an Add (``elementwise``) and a 3×3
max pooling (``pooling``). :func:`workbench.jobs.calibrate` runs each through
the normal job path and keeps, per class:

* the **ceiling**: the rate of the fast runs, as a ceiling is the best the
  device reaches, not a typical noisy run. The class runs as
  :data:`JOBS_PER_CLASS` jobs, their runs are cut into :data:`BLOCKS`
  consecutive stretches in all, each stretch gives its own ceiling (the rate
  of its 10th-percentile run), and the ceiling is their median;
* its **spread**: how far those stretches' ceilings fall from each other, as
  a ± percentage of their midpoint. It says whether the ceiling reproduces;
  the spread between the fast and slow runs (``run_spread_pct``, 10th against
  90th percentile) is kept as information: on a virtual machine it measures
  the host's jitter, tens of percent even when nothing else runs, while the
  fast runs' rate stays put;
* the **conditions** the job recorded: load, other processes' CPU share on
  the whole device and on the cores the job ran on, frequencies seen.

A calibration is not ``accepted`` when a class's spread is wider than
:data:`MAX_SPREAD_PCT`, or when other processes took more than
:data:`MAX_OTHERS_SHARE` of the cores it ran on (a busy loop sharing the core
leaves the fast runs fast, yet the jobs the estimate stands for would be
slowed): it is returned with a warning but not kept as the device's
calibration. ``target.estimate(model, ceilings=calibration)`` costs each
layer at its class's ceiling, and the spread widens the estimate's error bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from workbench.targets.kernels import CLASSES, COMPUTE_CLASSES, unit

if TYPE_CHECKING:
    import onnx

#: the widest spread (± % of a class's rate) a calibration may have and still be kept
MAX_SPREAD_PCT = 15.0
#: the largest share of the cores a calibration ran on that other processes may take
MAX_OTHERS_SHARE = 0.25
#: how many stretches a class's runs are cut into, each with its ceiling
BLOCKS = 4
#: how many jobs a class's runs are split between at each shape (the stretches are shared
#: out among them), so the spread sees what differs between separate jobs too, as
#: calibrations in a row do: a job's stretches can agree with each other while the whole
#: job runs slower than the next
JOBS_PER_CLASS = 2


@dataclass(frozen=True)
class Ceiling:
    """The measured ceiling of one kernel class: its rate, the runs it came from, its spread."""

    kernel_class: str
    #: GFLOP/s for a compute class, GB/s for a memory-bound one (see :attr:`unit`): the
    #: median of the stretches' ceilings
    rate: float
    #: the 10th percentile of the latency over all runs, ms
    fast_ms: float
    median_ms: float
    #: the 90th percentile of the latency, ms
    slow_ms: float
    #: ± percent between the stretches' ceilings (how reproducible the ceiling is)
    spread_pct: float
    runs: int
    #: how many jobs it took to get a spread within the limit (or the last one tried)
    attempts: int = 1
    #: other processes' share of the CPU during the job (None where unreadable)
    others_cpu_share: float | None = None
    #: ± percent between the fast and the slow runs (10th vs 90th percentile): run jitter
    run_spread_pct: float | None = None
    #: each stretch's ceiling, in run order
    block_rates: tuple[float, ...] = ()
    #: other processes' share of the cores the job ran on (None where unreadable)
    others_share_on_cores: float | None = None
    #: FLOPs per byte moved (weights included) of the model it was measured on
    intensity: float | None = None
    #: the sizes of that model, as text (``"64x28x28 -> 64, 3x3"``)
    shape: str = ""
    #: each job's ceiling (the median of its stretches'), in run order: a job can settle in
    #: a slower state for all its runs, which only a second job shows
    job_rates: tuple[float, ...] = ()

    @property
    def unit(self) -> str:
        """``"GFLOP/s"`` or ``"GB/s"``."""
        return unit(self.kernel_class)

    def __str__(self) -> str:
        return f"{self.kernel_class} {self.rate:.1f} {self.unit} ± {self.spread_pct:.0f}%"


#: ``fit``: one straight line of log rate against log intensity through the calibrated
#: shapes (least squares), so calibration noise at one shape moves near-equal layers
#: together; ``interpolate``: piecewise between the two shapes either side, as before
INTENSITY_RULES = ("fit", "interpolate")


def _clamped(points: Sequence[tuple[float, float]], intensity: float) -> float:
    low, high = min(i for i, _ in points), max(i for i, _ in points)
    return min(max(intensity, low), high)


def fitted_rate(points: Sequence[tuple[float, float]], intensity: float) -> float:
    """The rate at ``intensity`` on the least-squares line of log rate against log intensity
    through ``points`` ((intensity, rate) pairs), the intensity held within theirs and the
    rate within the measured rates.

    Monotone in the intensity (a line), and each point pulls on every layer's
    rate, so one shape's noise shifts near-equal layers alike instead of
    pulling them apart.
    """
    xs = [math.log(i) for i, _ in points]
    ys = [math.log(r) for _, r in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var \
        if var else 0.0
    rate = math.exp(mean_y + slope * (math.log(_clamped(points, intensity)) - mean_x))
    # a line through a roofline's bend lies above its ends: never beyond what was measured
    rates = [r for _, r in points]
    return min(max(rate, min(rates)), max(rates))


def interpolated_rate(points: Sequence[tuple[float, float]], intensity: float) -> float:
    """The rate at ``intensity`` between the two ``points`` either side, linearly in the
    logarithms of both, the intensity held within theirs."""
    where = math.log(_clamped(points, intensity))
    ordered = sorted((math.log(i), math.log(r)) for i, r in points)
    for (x0, y0), (x1, y1) in pairwise(ordered):
        if x0 <= where <= x1:
            part = (where - x0) / (x1 - x0) if x1 > x0 else 0.0
            return math.exp(y0 + part * (y1 - y0))
    return math.exp(ordered[0][1])


def spread_pct(fast_ms: float, slow_ms: float) -> float:
    """± percent between a fast and a slow run time: half their difference over their midpoint."""
    total = fast_ms + slow_ms
    return 100.0 * (slow_ms - fast_ms) / total if total > 0 else math.inf


def block_rates(samples_ms: Sequence[float], work: float,
                blocks: int = BLOCKS) -> tuple[float, ...]:
    """The ceiling of each of ``blocks`` consecutive stretches of runs, in run order.

    A stretch's ceiling is ``work`` (FLOPs or bytes) over its 10th-percentile
    run time. Fewer than ``2 * blocks`` runs give one stretch.
    """
    import numpy as np

    samples = np.asarray(samples_ms, dtype=float)
    count = blocks if len(samples) >= 2 * blocks else 1
    fast = [float(np.percentile(part, 10)) for part in np.array_split(samples, count)
            if len(part)]
    return tuple(work / (ms * 1e6) if ms > 0 else math.inf for ms in fast)


def rates_spread_pct(rates: Sequence[float]) -> float:
    """± percent between the lowest and highest of ``rates``; 0 for a single one."""
    return spread_pct(min(rates), max(rates)) if rates else math.inf


@dataclass(frozen=True)
class Calibration:
    """A device's ceilings per kernel class, their spread, and the conditions they were taken in."""

    device: str
    ceilings: dict[str, Ceiling]
    threads: int | None
    created: str
    #: cores used, load average, other processes' CPU share, frequencies seen
    conditions: dict[str, Any] = field(default_factory=dict)
    max_spread_pct: float = MAX_SPREAD_PCT
    max_others_share: float = MAX_OTHERS_SHARE
    #: the same classes' ceilings at other shapes (:data:`SHAPES`), so a layer's ceiling
    #: follows its arithmetic intensity (:meth:`rate_at`)
    shapes: dict[str, tuple[Ceiling, ...]] = field(default_factory=dict)
    #: how a layer's rate follows its intensity between the shapes (:data:`INTENSITY_RULES`)
    intensity_rule: str = "fit"

    def __post_init__(self) -> None:
        if self.intensity_rule not in INTENSITY_RULES:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue(
                f"intensity_rule={self.intensity_rule!r} is not a rule the estimate knows",
                where=f"calibration of {self.device}",
                hint=f"Give one of {', '.join(INTENSITY_RULES)} (or leave it out for 'fit')")

    def _every(self) -> list[Ceiling]:
        return list(self.ceilings.values()) + [c for more in self.shapes.values() for c in more]

    @property
    def spread_pct(self) -> float:
        """The widest spread of any class at any shape, ± percent."""
        return max((c.spread_pct for c in self._every()), default=math.inf)

    @property
    def others_share(self) -> float | None:
        """The largest share of the cores used that other processes took in any job."""
        shares = [c.others_share_on_cores for c in self._every()
                  if c.others_share_on_cores is not None]
        return max(shares, default=None)

    @property
    def accepted(self) -> bool:
        """Whether every class's spread is within :attr:`max_spread_pct` and the cores it ran
        on were its own (only then is it kept)."""
        share = self.others_share
        return (bool(self.ceilings) and self.spread_pct <= self.max_spread_pct
                and (share is None or share <= self.max_others_share))

    @property
    def gflops(self) -> float:
        """The dense GEMM ceiling, GFLOP/s."""
        return self.ceilings["gemm"].rate

    @property
    def gbs(self) -> float:
        """The elementwise (memory-bound) ceiling, GB/s."""
        return self.ceilings["elementwise"].rate

    def rate(self, kernel_class: str) -> Ceiling | None:
        """The ceiling of ``kernel_class``, or None when it was not measured."""
        return self.ceilings.get(kernel_class)

    def rate_at(self, kernel_class: str, intensity: float | None) -> Ceiling | None:
        """The ceiling of ``kernel_class`` for a layer of ``intensity`` FLOPs per byte.

        With the class measured at several shapes, the rate follows the
        layer's intensity by :attr:`intensity_rule` (:func:`fitted_rate` or
        :func:`interpolated_rate`), held at the nearest measured intensity
        outside their range; its spread is the widest of the shapes'.
        Otherwise, or without an intensity, the class's one ceiling (None
        when it was not measured).
        """
        from dataclasses import replace

        main = self.ceilings.get(kernel_class)
        points = sorted((c for c in (main, *self.shapes.get(kernel_class, ()))
                         if c is not None and c.intensity), key=lambda c: c.intensity or 0.0)
        if main is None or len(points) < 2 or not intensity or intensity <= 0:
            return main
        pairs = [(c.intensity or 1.0, c.rate) for c in points]
        if self.intensity_rule == "interpolate":
            rate = interpolated_rate(pairs, intensity)
        else:
            rate = fitted_rate(pairs, intensity)
        nearest = min(points, key=lambda c: abs(math.log((c.intensity or 1.0) / intensity)))
        return replace(nearest, rate=rate, intensity=intensity,
                       spread_pct=max(c.spread_pct for c in points),
                       shape=f"{self.intensity_rule} of {', '.join(c.shape for c in points)}")

    def intensities(self, kernel_class: str) -> list[float]:
        """The intensities (FLOP/B) ``kernel_class`` was measured at, lowest first."""
        return sorted(c.intensity for c in (self.ceilings.get(kernel_class),
                                            *self.shapes.get(kernel_class, ()))
                      if c is not None and c.intensity)

    def reason(self) -> str:
        """Why it is not accepted ("" when it is)."""
        if self.accepted:
            return ""
        wide = [str(c) for c in self._every() if c.spread_pct > self.max_spread_pct]
        reasons = [f"the spread of {', '.join(wide)} is wider than ±{self.max_spread_pct:g}%"
                   ] if wide else []
        share = self.others_share
        if share is not None and share > self.max_others_share:
            reasons.append(f"other processes took {100 * share:.0f}% of the cores it ran on "
                           f"(at most {100 * self.max_others_share:.0f}%)")
        else:
            machine = self.conditions.get("others_cpu_share")
            if wide and isinstance(machine, (int, float)) and machine > 0.05:
                reasons.append(f"other processes took {100 * machine:.0f}% of the CPU")
        return "; ".join(reasons) or "no kernel class was measured"

    def to_dict(self) -> dict[str, Any]:
        """The calibration as plain data (it goes into the estimate's document)."""
        data = asdict(self)
        data.update(gflops=self.gflops if "gemm" in self.ceilings else None,
                    gbs=self.gbs if "elementwise" in self.ceilings else None,
                    spread_pct=self.spread_pct, accepted=self.accepted)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """The calibration :meth:`to_dict` wrote (KeyError/TypeError/ValueError when it is not)."""
        def ceiling(value: dict[str, Any]) -> Ceiling:
            return Ceiling(**dict(value, block_rates=tuple(value.get("block_rates") or ()),
                                  job_rates=tuple(value.get("job_rates") or ())))

        ceilings = {str(name): ceiling(value) for name, value in data["ceilings"].items()}
        shapes = {str(name): tuple(ceiling(v) for v in values)
                  for name, values in (data.get("shapes") or {}).items()}
        rule = str(data.get("intensity_rule", "fit"))
        if rule not in INTENSITY_RULES:  # unreadable, as any other field that does not fit
            raise ValueError(f"unknown intensity_rule {rule!r}")
        return cls(device=str(data["device"]), ceilings=ceilings, threads=data.get("threads"),
                   created=str(data["created"]), conditions=dict(data.get("conditions") or {}),
                   max_spread_pct=float(data.get("max_spread_pct", MAX_SPREAD_PCT)),
                   max_others_share=float(data.get("max_others_share", MAX_OTHERS_SHARE)),
                   shapes=shapes, intensity_rule=rule)

    def __repr__(self) -> str:
        state = "accepted" if self.accepted else f"NOT accepted: {self.reason()}"
        classes = ", ".join(
            str(c) + ("" if not self.shapes.get(c.kernel_class) else " (at " + ", ".join(
                f"{x.rate:.1f} at {x.intensity:.0f} FLOP/B" for x in self.shapes[c.kernel_class])
                + f"; this one at {c.intensity or 0:.0f} FLOP/B)")
            for c in self.ceilings.values())
        return f"<Calibration {self.device!r}: {classes} ({state})>"


def _conv(name: str, channels: int, size: int, out: int, kernel: int, group: int,
          stride: int = 1) -> onnx.ModelProto:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(
        (rng.standard_normal((out, channels // group, kernel, kernel)) / 16).astype(np.float32),
        "w")
    pad = kernel // 2
    side = (size + 2 * pad - kernel) // stride + 1
    node = helper.make_node("Conv", ["x", "w"], ["y"], name=name, group=group,
                            kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[stride] * 2)
    graph = helper.make_graph(
        [node], f"calibrate_{name}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out, side, side])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _single(name: str, node: onnx.NodeProto, inputs: list[tuple[str, list[int]]],
            output: list[int]) -> onnx.ModelProto:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [node], f"calibrate_{name}",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def class_model(kernel_class: str) -> onnx.ModelProto:
    """The calibration model of ``kernel_class``: one node at a typical layer's size."""
    from onnx import helper

    if kernel_class == "gemm":  # pointwise 128 -> 256 channels at 28x28: 25.7 M MACs
        return _conv("gemm", 128, 28, 256, 1, 1)
    if kernel_class == "conv":  # 3x3, 64 -> 64 channels at 28x28: 28.9 M MACs
        return _conv("conv", 64, 28, 64, 3, 1)
    if kernel_class == "depthwise":  # 3x3 over 144 channels at 56x56: 4.1 M MACs
        return _conv("depthwise", 144, 56, 144, 3, 144)
    shape = [1, 128, 56, 56]
    if kernel_class == "elementwise":  # 401 k elements: 4.8 MB moved
        return _single("elementwise", helper.make_node("Add", ["a", "b"], ["y"], name="add"),
                       [("a", shape), ("b", shape)], shape)
    if kernel_class == "pooling":  # 3x3 stride 2 over 64 x 112 x 112: 4 MB moved
        node = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3],
                                pads=[1, 1, 1, 1], strides=[2, 2])
        return _single("pooling", node, [("x", [1, 64, 112, 112])], [1, 64, 56, 56])
    raise ValueError(f"unknown kernel class {kernel_class!r}; classes: {', '.join(CLASSES)}")


#: the other shapes a class is calibrated at, beside :func:`class_model`'s: a layer's
#: ceiling is interpolated between them by its arithmetic intensity. A late ResNet block
#: (7x7, many channels) reads more weight than activation per FLOP and may run below the
#: ceiling of a 28x28 layer; so may layers with few channels. Each does the same work as
#: the class's main shape, so a run lasts as long and only the intensity differs.
#: (channels in, side, out, kernel): gemm at 14 and 21 FLOP/B (main 38), conv at 24 and
#: 73 FLOP/B (main 105)
SHAPES: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "gemm": ((32, 56, 256, 1), (512, 7, 1024, 1)),
    "conv": ((128, 14, 128, 3), (256, 7, 256, 3)),
}


def shape_models(kernel_class: str) -> list[onnx.ModelProto]:
    """The calibration models of ``kernel_class`` at its other shapes (:data:`SHAPES`)."""
    return [_conv(f"{kernel_class}_{side}", channels, side, out, kernel, 1)
            for channels, side, out, kernel in SHAPES.get(kernel_class, ())]


def describe(model: onnx.ModelProto) -> str:
    """A calibration model's sizes as text: ``"64x28x28 -> 64, 3x3"``, or the op."""
    node = model.graph.node[0]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    size = "x".join(str(d) for d in dims)
    if node.op_type != "Conv":
        return f"{node.op_type} {size}"
    out = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][1]
    kernel = next((a.ints[0] for a in node.attribute if a.name == "kernel_shape"), 0)
    return f"{size} -> {out}, {kernel}x{kernel}"


def class_work(kernel_class: str, macs: float, moved_bytes: float) -> float:
    """The work a class's rate divides: FLOPs (2 per MAC) for compute classes, else bytes."""
    return 2.0 * macs if kernel_class in COMPUTE_CLASSES else float(moved_bytes)
