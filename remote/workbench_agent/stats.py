"""Bootstrap confidence intervals (numpy), used on the device for the auto stop rule
and on the host for every profile's latency statistics."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

RESAMPLES = 2000


def bootstrap_ci(samples: Sequence[float], statistic: str = "median", confidence: float = 0.95,
                 resamples: int = RESAMPLES, seed: int = 0) -> Optional[Tuple[float, float]]:
    """Percentile-bootstrap interval of the median or p90; None for fewer than 3 samples."""
    import numpy as np

    values = np.asarray(list(samples), dtype=float)
    if values.size < 3:
        return None
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, values.size, size=(resamples, values.size))]
    q = 50.0 if statistic == "median" else 90.0
    estimates = np.percentile(draws, q, axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return float(low), float(high)


def ci_width_pct(samples: Sequence[float], confidence: float = 0.95) -> Optional[float]:
    """Width of the median's interval as a percentage of the median."""
    import numpy as np

    interval = bootstrap_ci(samples, "median", confidence, resamples=500)
    if interval is None:
        return None
    median = float(np.median(np.asarray(list(samples), dtype=float)))
    return 100.0 * (interval[1] - interval[0]) / median if median > 0 else None


def describe_interval(interval: Optional[Tuple[float, float]]) -> Any:
    return None if interval is None else [interval[0], interval[1]]
