"""Is a new run slower than its baseline beyond the noise? End to end and layer by layer.

The rule, overall (end-to-end median latency):

* each profile's median gets a percentile-bootstrap confidence interval from
  its latency samples (:func:`bootstrap_ci`, the same bootstrap the agent
  uses for every profile);
* the new run is **slower** when the lower bound of its interval is above the
  upper bound of the baseline's (the intervals do not overlap) *and* the
  relative change of the medians exceeds ``threshold``; **faster** is the
  mirror image; anything else is **same**. Both conditions are needed: with
  many samples the intervals separate for a 0.5 % drift nobody cares about,
  and with few samples a large change can still be noise.

Per layer, the profile keeps no per-run samples, only the statistics of the
profiled runs (``duration_us``: count, median, std, ...). So the interval of
a layer's median is a normal approximation, not a bootstrap::

    median ± t(count - 1) · sqrt(pi / 2) · std / sqrt(count)

``sqrt(pi / 2)`` (≈ 1.25) is the large-sample ratio of the standard error of
the median to that of the mean for normally distributed times, and the
Student-t quantile (instead of the normal one) widens the interval for the
few profiled runs a profile usually has. Layer verdicts then use the same
rule as overall: intervals apart and relative change beyond ``threshold``.
This is an approximation: per-layer times are skewed (a slow outlier run
inflates ``std``, which only widens the interval, so it errs towards "same").
A layer with fewer than two profiled runs, or without ``std`` (estimates),
has a zero-width interval: its verdict rests on ``threshold`` alone, and the
report says so in its warnings.

Layers are matched by the tuple of original nodes they cover; rows without
original nodes (layout conversions) by name. Rows of one profile with the
same key are summed (their variances added). A layer in one profile only is
``"added"`` or ``"removed"``; one without a time is ``"n/a"``.

``RegressionReport.regressed`` is the overall verdict only (``"slower"``):
layer verdicts explain a regression, they do not make one.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.errors import InvalidOptionValue, ProfileError
from workbench.profiling import _text as fmt
from workbench.profiling.compare import different_models, unique_labels

if TYPE_CHECKING:
    import pandas as pd

    from workbench.profiling.profile import Profile

#: columns of :attr:`RegressionReport.layers`, in order
LAYER_COLUMNS = ("layer", "baseline_us", "new_us", "change", "verdict", "original_nodes")
#: the statistics :func:`bootstrap_ci` takes
STATISTICS = ("median", "p90")
#: standard error of the median / standard error of the mean, for normal samples
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)

Interval = tuple[float, float]


# --- intervals ----------------------------------------------------------------


def bootstrap_ci(samples: Sequence[float], statistic: str = "median", confidence: float = 0.95,
                 resamples: int = 2000, seed: int = 0) -> Interval:
    """Percentile-bootstrap confidence interval ``(low, high)`` of the samples' median or p90.

    All ``resamples`` resamples are drawn at once (numpy, vectorised) from a
    generator seeded with ``seed``, so the same samples and seed always give
    the same interval. This is the agent's bootstrap
    (``workbench_agent.stats.bootstrap_ci``), so intervals computed here match
    those stored in profiles. With one or two samples a bootstrap says
    nothing; the interval is then the samples' range.
    """
    import numpy as np
    from workbench_agent.stats import bootstrap_ci as agent_bootstrap_ci

    if statistic not in STATISTICS:
        raise InvalidOptionValue(f"Unknown statistic {statistic!r}", where="bootstrap_ci",
                                 hint=f"Use one of {', '.join(STATISTICS)}")
    _check_confidence(confidence, "bootstrap_ci")
    if resamples < 1:
        raise InvalidOptionValue(f"resamples must be 1 or more, not {resamples}",
                                 where="bootstrap_ci", hint="The usual value is 2000")
    values = np.asarray(list(samples), dtype=float)
    if values.size == 0:
        raise ProfileError("There are no samples to take an interval of", where="bootstrap_ci",
                           hint="An estimate has no latency samples; compare measured profiles")
    if not np.all(np.isfinite(values)):
        raise ProfileError("The samples hold NaN or infinite values", where="bootstrap_ci",
                           hint="Drop the broken samples first")
    interval = agent_bootstrap_ci(values.tolist(), statistic, confidence, resamples, seed)
    if interval is None:
        return float(values.min()), float(values.max())
    return float(interval[0]), float(interval[1])


def _check_confidence(confidence: float, where: str) -> None:
    if not (fmt.is_number(confidence) and 0.0 < confidence < 1.0):
        raise InvalidOptionValue(f"confidence must be between 0 and 1, not {confidence}",
                                 where=where, hint="e.g. 0.95 for a 95 % interval")


def t_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile of Student's t with ``dof`` degrees of freedom.

    Exact for 1 and 2 degrees of freedom; from 3 on, the Cornish–Fisher
    expansion around the normal quantile (within 0.01 of the true value at
    3 degrees of freedom, closer beyond).
    """
    if dof < 1:
        raise ValueError("dof must be 1 or more")
    if dof == 1:
        return math.tan(math.pi * (p - 0.5))
    if dof == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = statistics.NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    n = float(dof)
    return z + g1 / n + g2 / n**2 + g3 / n**3 + g4 / n**4


def layer_median_ci(stats: dict[str, Any], confidence: float = 0.95) -> Interval | None:
    """The normal-approximation interval of a layer's median time (see the module docstring).

    None when the stats have no median; a zero-width interval when they have
    fewer than two runs or no std.
    """
    _check_confidence(confidence, "layer_median_ci")
    median = stats.get("median")
    if not fmt.is_number(median):
        return None
    count, std = stats.get("count"), stats.get("std")
    if not fmt.is_number(count) or int(count) < 2 or not fmt.is_number(std):
        return float(median), float(median)
    n = int(count)
    half = t_quantile(0.5 + confidence / 2, n - 1) * MEDIAN_SE_FACTOR * float(std) / math.sqrt(n)
    return float(median) - half, float(median) + half


def _verdict(baseline: float, new: float, baseline_ci: Interval, new_ci: Interval,
             threshold: float) -> tuple[float, str]:
    """Relative change and verdict: apart beyond both the intervals and the threshold."""
    if baseline <= 0:
        return math.nan, "n/a"
    change = new / baseline - 1.0
    if new_ci[0] > baseline_ci[1] and change > threshold:
        return change, "slower"
    if new_ci[1] < baseline_ci[0] and change < -threshold:
        return change, "faster"
    return change, "same"


# --- the report -----------------------------------------------------------------


def _pct(value: object) -> str:
    return "–" if not fmt.is_number(value) else f"{100 * value:+.1f}%"


def _ci_text(interval: Interval | None) -> str:
    if interval is None:
        return "–"
    return f"{fmt.fmt_number(interval[0])}–{fmt.fmt_number(interval[1])}"


@dataclass(eq=False)
class RegressionReport:
    """The outcome of :func:`regress`: verdict, change, intervals, layers and warnings."""

    #: ``"slower"``, ``"faster"`` or ``"same"`` (end-to-end median latency)
    verdict: str
    #: relative change of the median latency, new / baseline - 1 (0.3 is 30 % slower)
    change: float
    #: interval of the new run's median latency, ms
    new_ci: Interval
    #: interval of the baseline's median latency, ms
    baseline_ci: Interval
    #: per layer: layer, baseline_us, new_us, change, verdict, original_nodes
    layers: pd.DataFrame
    #: why the comparison may mislead (other device, options, emulated, ...)
    warnings: list[str] = field(default_factory=list)
    new_label: str = "new"
    baseline_label: str = "baseline"
    new_median_ms: float = math.nan
    baseline_median_ms: float = math.nan
    threshold: float = 0.05
    confidence: float = 0.95

    @property
    def regressed(self) -> bool:
        """True when the new run is slower beyond noise and threshold (overall verdict)."""
        return self.verdict == "slower"

    def layers_with(self, verdict: str) -> pd.DataFrame:
        """The layer rows with this verdict, largest change first."""
        rows = self.layers[self.layers["verdict"] == verdict]
        return rows.sort_values("change", ascending=verdict == "faster", kind="stable")

    def summary(self) -> str:
        """A plain-text summary: verdict, medians with intervals, changed layers, warnings."""
        level = round(100 * self.confidence)
        head = {"slower": "REGRESSION", "faster": "IMPROVEMENT", "same": "NO CHANGE"}[self.verdict]
        direction = "slower" if self.change > 0 else "faster"
        said = (f"is {abs(100 * self.change):.1f}% {direction} than" if self.change
                else "is as fast as")
        why = ""
        if self.verdict == "same" and self.change:
            # say which half of the rule kept the change from counting
            why = (f", within the {100 * self.threshold:.1f}% threshold"
                   if abs(self.change) <= self.threshold
                   else f", not beyond its noise (the {level}% intervals overlap)")
        lines = [f"{head}: {self.new_label} {said} the baseline {self.baseline_label}{why}",
                 f"  median {fmt.fmt_number(self.new_median_ms)} ms ({level}% CI "
                 f"{_ci_text(self.new_ci)}) vs {fmt.fmt_number(self.baseline_median_ms)} ms "
                 f"({level}% CI {_ci_text(self.baseline_ci)}), change {_pct(self.change)}, "
                 f"threshold {100 * self.threshold:.1f}%"]
        for verdict in ("slower", "faster", "added", "removed"):
            rows = self.layers_with(verdict)
            if rows.empty:
                continue
            lines.append(f"Layers {verdict}" + (" beyond noise" if verdict in ("slower", "faster")
                                                else "") + f" ({len(rows)} of {len(self.layers)}):")
            for row in rows.itertuples(index=False):
                lines.append(f"  {row.layer}  {fmt.fmt_number(row.baseline_us)} → "
                             f"{fmt.fmt_number(row.new_us)} µs  {_pct(row.change)}")
        if self.warnings:
            lines += ["Warnings:", *(f"- {w}" for w in self.warnings)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<RegressionReport {self.verdict} {_pct(self.change)}: {self.new_label!r} vs "
                f"{self.baseline_label!r}, {len(self.warnings)} warnings>")

    def _repr_html_(self) -> str:
        """Notebook display: the verdict, the medians, the layer table and warnings."""
        colour = {"slower": "#b00020", "faster": "#1b7f3b", "same": "#555"}[self.verdict]
        level = round(100 * self.confidence)
        parts = [f'<p><b style="color:{colour}">{html.escape(self.verdict.upper())}</b> '
                 f"{html.escape(_pct(self.change))}: {html.escape(self.new_label)} vs "
                 f"{html.escape(self.baseline_label)}</p>",
                 f"<p>median {html.escape(fmt.fmt_number(self.new_median_ms))} ms ({level}% CI "
                 f"{html.escape(_ci_text(self.new_ci))}) vs "
                 f"{html.escape(fmt.fmt_number(self.baseline_median_ms))} ms ({level}% CI "
                 f"{html.escape(_ci_text(self.baseline_ci))})</p>"]
        if self.warnings:
            items = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
            parts.append(f"<ul>{items}</ul>")
        parts.append(self.layers.to_html(index=False, na_rep="–", float_format="{:.4g}".format))
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN as None), e.g. for a CI artifact."""
        def number(value: Any) -> float | None:
            return float(value) if fmt.is_number(value) else None

        layers = [{"layer": str(row.layer), "original_nodes": str(row.original_nodes),
                   "baseline_us": number(row.baseline_us), "new_us": number(row.new_us),
                   "change": number(row.change), "verdict": str(row.verdict)}
                  for row in self.layers.itertuples(index=False)]
        return {"verdict": self.verdict, "regressed": self.regressed,
                "change": number(self.change), "new_label": self.new_label,
                "baseline_label": self.baseline_label,
                "new_median_ms": number(self.new_median_ms),
                "baseline_median_ms": number(self.baseline_median_ms),
                "new_ci": [number(v) for v in self.new_ci],
                "baseline_ci": [number(v) for v in self.baseline_ci],
                "threshold": self.threshold, "confidence": self.confidence,
                "layers": layers, "warnings": list(self.warnings)}


# --- comparing ------------------------------------------------------------------


def _latency(profile: Profile, role: str, confidence: float,
             warnings: list[str]) -> tuple[float, Interval]:
    """The median latency (ms) and its interval, from the samples where there are any."""
    samples = profile.latency_samples
    stats = profile.latency
    if samples:
        import numpy as np

        if len(samples) < 3:
            warnings.append(f"the {role} has only {len(samples)} latency samples: its interval "
                            "is just their range")
        return float(np.median(samples)), bootstrap_ci(samples, "median", confidence)
    median = stats.get("median")
    if not fmt.is_number(median):
        raise ProfileError(f"The {role} has neither latency samples nor a median",
                           where=profile.label, hint="Compare profiles of completed jobs")
    stored = stats.get("median_ci")
    if (isinstance(stored, list) and len(stored) == 2
            and stats.get("ci_confidence") == confidence):
        return float(median), (float(stored[0]), float(stored[1]))
    warnings.append(f"the {role} has no latency samples: its median has no interval, the "
                    "verdict rests on the threshold alone")
    return float(median), (float(median), float(median))


def _layer_key(layer: dict[str, Any]) -> tuple[str, ...]:
    nodes = tuple(str(n) for n in layer.get("original_nodes") or [])
    return nodes if nodes else ("\0name", str(layer["name"]))


def _layer_groups(profile: Profile) -> dict[tuple[str, ...], dict[str, Any]]:
    """Layer rows keyed by original nodes (or name), same-key rows summed."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for layer in profile.layers:
        stats = layer.get("duration_us") or {}
        median, std, count = stats.get("median"), stats.get("std"), stats.get("count")
        group = groups.setdefault(_layer_key(layer), {
            "names": [], "nodes": list(layer.get("original_nodes") or []),
            "median": 0.0, "variance": 0.0, "count": None, "timed": True, "spread": True})
        group["names"].append(str(layer["name"]))
        if not fmt.is_number(median):
            group["timed"] = False
            continue
        group["median"] += float(median)
        if fmt.is_number(std) and fmt.is_number(count):
            group["variance"] += float(std) ** 2
            group["count"] = (int(count) if group["count"] is None
                              else min(group["count"], int(count)))
        else:
            group["spread"] = False
    return groups


def _group_ci(group: dict[str, Any], confidence: float) -> Interval:
    stats = {"median": group["median"], "count": group["count"] if group["spread"] else None,
             "std": math.sqrt(group["variance"])}
    return layer_median_ci(stats, confidence) or (group["median"], group["median"])


def _compare_layers(new: Profile, baseline: Profile, threshold: float, confidence: float,
                    warnings: list[str]) -> pd.DataFrame:
    import pandas as pd

    new_groups, base_groups = _layer_groups(new), _layer_groups(baseline)
    keys = list(new_groups) + [k for k in base_groups if k not in new_groups]
    rows, pointless = [], False
    for key in keys:
        mine, theirs = new_groups.get(key), base_groups.get(key)
        group = new_groups.get(key) or base_groups[key]
        row: dict[str, Any] = {"layer": " + ".join(group["names"]),
                               "original_nodes": fmt.join_nodes(group["nodes"]),
                               "baseline_us": math.nan, "new_us": math.nan, "change": math.nan}
        if mine is not None and mine["timed"]:
            row["new_us"] = mine["median"]
        if theirs is not None and theirs["timed"]:
            row["baseline_us"] = theirs["median"]
        if theirs is None:
            row["verdict"] = "added"
        elif mine is None:
            row["verdict"] = "removed"
        elif not (mine["timed"] and theirs["timed"]):
            row["verdict"] = "n/a"
        else:
            for group_ in (mine, theirs):
                if not group_["spread"] or (group_["count"] or 0) < 2:
                    pointless = True
            row["change"], row["verdict"] = _verdict(
                theirs["median"], mine["median"], _group_ci(theirs, confidence),
                _group_ci(mine, confidence), threshold)
        rows.append(row)
    if pointless:
        warnings.append("some layers have fewer than 2 profiled runs or no std: their verdicts "
                        "rest on the threshold alone")
    return pd.DataFrame(rows, columns=list(LAYER_COLUMNS))


#: above this share of a run's cores taken by other processes, a comparison is flagged as
#: made on a busy device (the calibration refuses its runs above the same share)
BUSY_SHARE = 0.25


def _differences(new: Profile, baseline: Profile) -> list[str]:
    """Warnings for what differs between the two runs besides the model."""
    found: list[str] = []
    a, b = new.document, baseline.document

    def differ(what: str, mine: Any, theirs: Any) -> None:
        if mine != theirs:
            found.append(f"{what} differ: {mine!r} (new) vs {theirs!r} (baseline)")

    dev_a, dev_b = a.get("device") or {}, b.get("device") or {}
    differ("devices", dev_a.get("name"), dev_b.get("name"))
    for key in ("arch", "cores"):
        differ(f"device {key}s", dev_a.get(key), dev_b.get(key))
    differ("CPUs", (dev_a.get("cpu") or {}).get("clusters"),
           (dev_b.get("cpu") or {}).get("clusters"))
    back_a, back_b = a.get("backend") or {}, b.get("backend") or {}
    for key in ("name", "version", "providers"):
        differ(f"backend {key}s", back_a.get(key), back_b.get(key))
    opts_a, opts_b = back_a.get("options") or {}, back_b.get("options") or {}
    for key in sorted(set(opts_a) | set(opts_b)):
        differ(f"backend options ({key})", opts_a.get(key), opts_b.get(key))
    vers_a, vers_b = a.get("versions") or {}, b.get("versions") or {}
    for key in sorted((set(vers_a) & set(vers_b)) - {"workbench", "agent", "host_python"}):
        differ(f"{key} versions", vers_a.get(key), vers_b.get(key))
    run_a, run_b = a.get("run") or {}, b.get("run") or {}
    for key in ("cluster", "cores", "governor"):
        differ(f"run settings ({key})", run_a.get(key), run_b.get(key))
    for role, profile in (("new run", new), ("baseline", baseline)):
        if profile.caveat:
            found.append(f"the {role} is {profile.caveat}")
        share = _others_share(profile)
        if share is not None and share > BUSY_SHARE:
            found.append(f"other processes took {share:.0%} of the cores the {role} ran on: "
                         "part of a change may be theirs; compare runs made while the device "
                         "is quiet")
    return found


def _others_share(profile: Profile) -> float | None:
    """The share of the run's cores that other processes took, as its conditions recorded."""
    conditions = (profile.document.get("environment") or {}).get("conditions") or {}
    share = conditions.get("other_processes_share_of_cores_used")
    return float(share) if isinstance(share, (int, float)) else None


def regress(new: Profile, baseline: Profile, *, threshold: float = 0.05,
            confidence: float = 0.95, allow_different_models: bool = False) -> RegressionReport:
    """Whether ``new`` is slower (or faster) than ``baseline`` beyond noise, overall and per layer.

    See the module docstring for the rule. ``threshold`` is the smallest
    relative change that counts (0.05: 5 %), ``confidence`` the level of the
    intervals. Profiles of different models (sha256) are refused unless
    ``allow_different_models``; other differences (device, backend, options,
    versions, an emulated run) are listed in the warnings. An estimate is no
    run to regress from or to (a roofline is a lower bound: every measurement
    would look slower); compare it with ``targets.compare_estimate`` instead.
    """
    if not (fmt.is_number(threshold) and threshold >= 0):
        raise InvalidOptionValue(f"threshold must be 0 or more, not {threshold}",
                                 where="regress", hint="e.g. 0.05 for 5 %")
    _check_confidence(confidence, "regress")
    for role, profile in (("new run", new), ("baseline", baseline)):
        if profile.is_estimate:
            raise ProfileError(f"The {role} is an estimate, not a measurement",
                               where=profile.label,
                               hint="Regress measured runs against each other; to see how an "
                                    "estimate compares, use workbench.targets.compare_estimate")
    warnings: list[str] = []
    what = different_models([new, baseline])
    if what:
        if not allow_different_models:
            raise ProfileError(what, where=f"{new.label} vs {baseline.label}",
                               hint="Compare runs of the same model file, or pass "
                                    "allow_different_models=True if you mean it")
        warnings.append(what[0].lower() + what[1:])
    warnings += _differences(new, baseline)
    new_median, new_ci = _latency(new, "new run", confidence, warnings)
    base_median, base_ci = _latency(baseline, "baseline", confidence, warnings)
    change, verdict = _verdict(base_median, new_median, base_ci, new_ci, threshold)
    if verdict == "n/a":
        raise ProfileError("The baseline's median latency is not positive",
                           where=baseline.label, hint="Use a baseline with real timings")
    layers = _compare_layers(new, baseline, threshold, confidence, warnings)
    # the settings that tell them apart join the labels, as in wb.compare
    new_label, baseline_label = unique_labels([new, baseline])
    return RegressionReport(verdict=verdict, change=change, new_ci=new_ci, baseline_ci=base_ci,
                            layers=layers, warnings=warnings, new_label=new_label,
                            baseline_label=baseline_label, new_median_ms=new_median,
                            baseline_median_ms=base_median, threshold=float(threshold),
                            confidence=float(confidence))
