"""Summary statistics of timing samples, in the profile's ``stats`` form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
