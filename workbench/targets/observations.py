"""Observations: the rates a device achieved, layer by layer, in the profiles it measured.

Each timed layer of a measured profile is an observation: its kernel class,
its shapes, and the rate it ran at (GFLOP/s for a compute class, GB/s for a
memory-bound one). An estimate for a device with observations costs a layer
at the rate that device reached on a layer of the same class and shapes, or
else (when no calibrated ceiling is given for the class) at the median rate
of its class, and its error bar is the spread of the rates it used.

A model's measured total is not the sum of its layers' medians: the runtime
adds work between layers, and on a busy device a whole run is interrupted
more often than each short layer. Each measured profile also gives that
**total ratio** (median latency over the sum of its layers' medians); an
estimate with history scales its total by the device's ratio, taken from the
same model's profiles, and widens its error bar by how much the ratios
disagree (a model with no profile of its own is not scaled; its bar widens
by how far other models' totals fell from their layers).
:func:`workbench.history.observations` reads them from the history; this
module is a pure function of profile documents.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.targets.calibration import class_work, spread_pct
from workbench.targets.kernels import classify, shape_key

#: the error bar of a layer seen once at its shapes (a single run can be off by this much)
SINGLE_OBSERVATION_PCT = 10.0
#: the narrowest error bar a layer gets, however often it was seen
FLOOR_PCT = 3.0
#: the error bar of a class seen once, at other shapes
CLASS_SINGLE_PCT = 50.0
#: the error bar of a total-to-layers ratio seen in one profile (a busy device moves it)
SINGLE_RATIO_PCT = 25.0


@dataclass(frozen=True)
class Observation:
    """One timed layer of a measured profile: class, shapes and achieved rate."""

    kernel_class: str
    shape: str
    #: GFLOP/s (compute classes) or GB/s (memory-bound classes)
    rate: float
    #: the profile it came from (model name)
    source: str


@dataclass(frozen=True)
class Rate:
    """The rate an estimate uses for one layer, from observations."""

    rate: float
    #: ± percent: how much the observations it comes from disagree
    error_pct: float
    count: int
    #: ``"shape"`` (same class and shapes seen) or ``"class"`` (the class's median)
    matched: str


def _layer_time_us(row: dict[str, Any]) -> float | None:
    stats = row.get("duration_us")
    value = stats.get("median") if isinstance(stats, dict) else None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


@dataclass(frozen=True)
class TotalRatio:
    """The ratio a device's measured totals bear to the sum of their layers' medians."""

    ratio: float
    #: ± percent: how much the profiles it comes from disagree
    error_pct: float
    count: int
    #: ``"model"`` (profiles of the same model) or ``"device"`` (of every model)
    matched: str


def total_ratio(document: dict[str, Any]) -> float | None:
    """A measured profile's median latency over the sum of its layers' medians (None: unknown)."""
    if document.get("kind", "measured") == "estimate":
        return None
    stats = (document.get("latency") or {}).get("stats") or {}
    total_ms = stats.get("median")
    layers_us = sum(t for t in map(_layer_time_us, document.get("layers") or []) if t)
    if not isinstance(total_ms, (int, float)) or total_ms <= 0 or layers_us <= 0:
        return None
    return float(total_ms) * 1e3 / layers_us


def from_document(document: dict[str, Any]) -> list[Observation]:
    """The observations in one measured profile document (none from an estimate)."""
    if document.get("kind", "measured") == "estimate":
        return []
    source = str((document.get("model") or {}).get("name", "?"))
    found = []
    for row in document.get("layers") or []:
        time_us = _layer_time_us(row)
        op_type = str(row.get("op_type") or "")
        if time_us is None or not op_type:
            continue
        kernel_class = classify(op_type, row.get("input_shapes"))
        macs, moved = row.get("macs") or 0, row.get("bytes") or 0
        work = class_work(kernel_class, float(macs), float(moved))
        if work <= 0:
            continue
        found.append(Observation(
            kernel_class=kernel_class,
            shape=shape_key(op_type, row.get("input_shapes"), row.get("output_shapes")),
            rate=work / (time_us * 1e3), source=source))
    return found


def _spread(rates: list[float]) -> float:
    """± percent between the lower and upper quartile of ``rates`` (range for 2 or 3)."""
    if len(rates) < 4:
        return spread_pct(min(rates), max(rates))
    low, _, high = statistics.quantiles(rates, n=4)
    return spread_pct(low, high)


@dataclass(frozen=True)
class Observations:
    """The observations of one device, grouped for estimates."""

    device: str
    items: tuple[Observation, ...]
    #: how many measured profiles they came from
    profiles: int
    _by_shape: dict[str, list[float]] = field(default_factory=dict, repr=False, compare=False)
    _by_class: dict[str, list[float]] = field(default_factory=dict, repr=False, compare=False)
    #: (model name, total ratio) per profile that gave one
    totals: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, device: str, documents: Iterable[dict[str, Any]]) -> Observations:
        """The observations in ``documents`` (measured profiles of ``device``)."""
        items: list[Observation] = []
        totals: list[tuple[str, float]] = []
        count = 0
        for document in documents:
            found = from_document(document)
            count += bool(found)
            items += found
            ratio = total_ratio(document) if found else None
            if ratio is not None:
                totals.append((str((document.get("model") or {}).get("name", "?")), ratio))
        made = cls(device=device, items=tuple(items), profiles=count, totals=tuple(totals))
        for item in items:
            made._by_shape.setdefault(item.shape, []).append(item.rate)
            made._by_class.setdefault(item.kernel_class, []).append(item.rate)
        return made

    def __len__(self) -> int:
        return len(self.items)

    def rate(self, kernel_class: str, shape: str) -> Rate | None:
        """The rate for a layer of this class and shape key, or None when the class was never seen.

        Layers seen at the same shapes give the median of their rates and a
        narrow error bar; otherwise the class's median rate, with the spread
        of that class's rates over all shapes seen as its error bar.
        """
        same = self._by_shape.get(shape)
        if same:
            error = SINGLE_OBSERVATION_PCT if len(same) == 1 else max(FLOOR_PCT, _spread(same))
            return Rate(statistics.median(same), error, len(same), "shape")
        rates = self._by_class.get(kernel_class)
        if not rates:
            return None
        error = max(FLOOR_PCT, _spread(rates)) if len(rates) > 1 else CLASS_SINGLE_PCT
        return Rate(statistics.median(rates), error, len(rates), "class")

    def total_ratio(self, model: str) -> TotalRatio | None:
        """The ratio of measured total to the sum of layer medians for ``model`` on this device.

        From ``model``'s own profiles, their median: the estimate's total is
        scaled by it. Without any, the other models' ratios are not applied
        (on a busy device they depend on how long a model's runs and layers
        last) but say how far a total may fall from its layers: ratio 1 with
        the largest of their distances from 1 as its error. None when no
        profile gave one.
        """
        own = [r for name, r in self.totals if name == model]
        if own:
            error = (SINGLE_RATIO_PCT if len(own) == 1
                     else max(FLOOR_PCT, _spread(own)))
            return TotalRatio(statistics.median(own), error, len(own), "model")
        others = [r for _, r in self.totals]
        if not others:
            return None
        away = max(abs(spread_pct(min(r, 1.0), max(r, 1.0))) for r in others)
        return TotalRatio(1.0, max(FLOOR_PCT, away), len(others), "device")

    def summary(self) -> dict[str, Any]:
        """How many observations per class, for the estimate's document."""
        return {"device": self.device, "observations": len(self.items),
                "profiles": self.profiles,
                "per_class": {c: len(r) for c, r in sorted(self._by_class.items())}}
