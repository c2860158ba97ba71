"""Calibration: a device's measured ceilings, one per kernel class, with how sure they are.

One tiny ONNX model per kernel class (:mod:`workbench.targets.kernels`),
with deterministic weights and the sizes of a typical mobile-network layer:
a pointwise convolution (``gemm``), a 3×3 convolution (``conv``), a 3×3
depthwise convolution (``depthwise``), an Add (``elementwise``) and a 3×3
max pooling (``pooling``). :func:`workbench.jobs.calibrate` runs each through
the normal job path and keeps, per class:

* the **ceiling**: the rate of a fast run (the 10th percentile of latency), as
  a ceiling is the best the device reaches, not a typical noisy run;
* its **spread**: how far the slow runs (90th percentile) fall from the fast
  ones, as a ± percentage of their midpoint. A quiet core gives a few
  percent; another process on the same core gives tens of percent;
* the **conditions** the job recorded: load, other processes' CPU share,
  frequencies seen.

A calibration whose spread is wider than :data:`MAX_SPREAD_PCT` is not
``accepted``: it is returned with a warning but not kept as the device's
calibration. ``target.estimate(model, ceilings=calibration)`` costs each
layer at its class's ceiling, and the spread widens the estimate's error bar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.targets.kernels import CLASSES, COMPUTE_CLASSES, unit

if TYPE_CHECKING:
    import onnx

#: the widest spread (± % of a class's rate) a calibration may have and still be kept
MAX_SPREAD_PCT = 15.0


@dataclass(frozen=True)
class Ceiling:
    """The measured ceiling of one kernel class: its rate, the runs it came from, its spread."""

    kernel_class: str
    #: GFLOP/s for a compute class, GB/s for a memory-bound one (see :attr:`unit`)
    rate: float
    #: the 10th percentile of the latency (the fast runs the rate is taken from), ms
    fast_ms: float
    median_ms: float
    #: the 90th percentile of the latency, ms
    slow_ms: float
    #: ± percent: (slow - fast) / (slow + fast)
    spread_pct: float
    runs: int
    #: how many jobs it took to get a spread within the limit (or the last one tried)
    attempts: int = 1
    #: other processes' share of the CPU during the job (None where unreadable)
    others_cpu_share: float | None = None

    @property
    def unit(self) -> str:
        """``"GFLOP/s"`` or ``"GB/s"``."""
        return unit(self.kernel_class)

    def __str__(self) -> str:
        return f"{self.kernel_class} {self.rate:.1f} {self.unit} ± {self.spread_pct:.0f}%"


def spread_pct(fast_ms: float, slow_ms: float) -> float:
    """± percent between a fast and a slow run time: half their difference over their midpoint."""
    total = fast_ms + slow_ms
    return 100.0 * (slow_ms - fast_ms) / total if total > 0 else math.inf


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

    @property
    def spread_pct(self) -> float:
        """The widest spread of any class, ± percent."""
        return max((c.spread_pct for c in self.ceilings.values()), default=math.inf)

    @property
    def accepted(self) -> bool:
        """Whether every class's spread is within :attr:`max_spread_pct` (only then is it kept)."""
        return bool(self.ceilings) and self.spread_pct <= self.max_spread_pct

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

    def reason(self) -> str:
        """Why it is not accepted ("" when it is)."""
        if self.accepted:
            return ""
        wide = [str(c) for c in self.ceilings.values() if c.spread_pct > self.max_spread_pct]
        share = self.conditions.get("others_cpu_share")
        busy = (f"; other processes took {100 * share:.0f}% of the CPU"
                if isinstance(share, (int, float)) and share > 0.05 else "")
        return (f"the spread of {', '.join(wide) or 'no class'} is wider than "
                f"±{self.max_spread_pct:g}%{busy}")

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
        ceilings = {str(name): Ceiling(**value) for name, value in data["ceilings"].items()}
        return cls(device=str(data["device"]), ceilings=ceilings, threads=data.get("threads"),
                   created=str(data["created"]), conditions=dict(data.get("conditions") or {}),
                   max_spread_pct=float(data.get("max_spread_pct", MAX_SPREAD_PCT)))

    def __repr__(self) -> str:
        state = "accepted" if self.accepted else f"NOT accepted: {self.reason()}"
        classes = ", ".join(str(c) for c in self.ceilings.values())
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


def class_work(kernel_class: str, macs: float, moved_bytes: float) -> float:
    """The work a class's rate divides: FLOPs (2 per MAC) for compute classes, else bytes."""
    return 2.0 * macs if kernel_class in COMPUTE_CLASSES else float(moved_bytes)
