"""Bootstrap confidence intervals (numpy), used on the device for the auto stop rule
and on the host for every profile's latency statistics."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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


def runs_until_stable(batch: Callable[[int], List[float]], settings: Dict[str, Any],
                      ctx: Any) -> List[float]:
    """``runs="auto"``: timed runs in batches of 10 (``batch(n)`` returns their latencies)
    until the median's 95% interval is within ``auto_ci_pct`` percent of it, or the time
    budget or run limit ends (then a warning says how wide the interval still is)."""
    target = float(settings.get("auto_ci_pct", 2.0))
    budget = float(settings.get("time_budget_s", 30.0))
    most = int(settings.get("max_runs", 10000))
    started = time.monotonic()
    latency = []  # type: List[float]
    while True:
        latency += batch(10)
        width = ci_width_pct(latency)
        if width is not None and width <= target:
            ctx.log("info", "stopped after %d runs: median known within %.2f%%"
                    % (len(latency), width))
            return latency
        if time.monotonic() - started > budget or len(latency) >= most:
            ctx.log("warning", "stopped after %d runs at the time or run limit; the median's "
                    "interval is still %.1f%% wide" % (len(latency), width or float("nan")))
            return latency


def describe_interval(interval: Optional[Tuple[float, float]]) -> Any:
    return None if interval is None else [interval[0], interval[1]]
