"""Summary statistics of timing samples, in the profile's ``stats`` form.

The bootstrap lives in the agent (``workbench_agent.stats``): the device uses
it for the auto stop rule, the host for every profile, one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench_agent.stats import bootstrap_ci

#: the keys of a stats dict, in the order the profile document keeps them
STAT_KEYS = ("count", "mean", "std", "min", "median", "p90", "p99", "max")


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Count, mean, std, min, median, p90, p99 and max of ``samples``.

    ``std`` is the sample standard deviation (``ddof=1``), 0.0 for a single
    sample. Percentiles interpolate linearly between samples (numpy's
    default). An empty sequence gives ``count`` 0 and None for everything
    else, so a stats dict is always complete. Values are plain floats.
    """
    import numpy as np

    values = np.asarray(list(samples), dtype=float)
    if values.size == 0:
        return {key: (0 if key == "count" else None) for key in STAT_KEYS}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
        "median": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(values.max()),
    }


def summarize_each(rows: Sequence[Sequence[float]]) -> list[dict[str, Any]]:
    """:func:`summarize` of every row, the rows of one length at once (a profile's layers
    have as many samples each): one numpy call per statistic instead of one per layer."""
    import numpy as np

    stats: list[dict[str, Any] | None] = [None] * len(rows)
    by_length: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        by_length.setdefault(len(row), []).append(index)
    for length, indices in by_length.items():
        if length < 2:  # empty or single: nothing to share
            for index in indices:
                stats[index] = summarize(rows[index])
            continue
        values = np.asarray([list(rows[i]) for i in indices], dtype=float)
        p50, p90, p99 = np.percentile(values, [50, 90, 99], axis=1)
        columns = zip(values.mean(axis=1), values.std(axis=1, ddof=1), values.min(axis=1),
                      p50, p90, p99, values.max(axis=1), strict=True)
        for index, (mean, std, low, median, high, top, most) in zip(indices, columns,
                                                                    strict=True):
            stats[index] = {"count": length, "mean": float(mean), "std": float(std),
                            "min": float(low), "median": float(median), "p90": float(high),
                            "p99": float(top), "max": float(most)}
    return [s for s in stats if s is not None]


def latency_stats(samples: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """:func:`summarize` plus bootstrap confidence intervals of the median and p90."""
    stats = summarize(samples)
    for name in ("median", "p90"):
        interval = bootstrap_ci(samples, name, confidence)
        stats[f"{name}_ci"] = None if interval is None else list(interval)
    stats["ci_confidence"] = confidence
    return stats
