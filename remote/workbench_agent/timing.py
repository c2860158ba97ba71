"""Timed runs, shared by the runners: a fixed count, or ``runs="auto"`` until the median is known.

Only the call itself is inside the timed region; the optional ``flush``
(evicting caches between runs) and progress reports stay outside it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from workbench_agent.stats import ci_width_pct


def timed(run: Callable[[], Any], count: int, phase: str, ctx: Any,
          flush: Optional[Callable[[], Any]] = None, done_before: int = 0,
          total: Optional[int] = None) -> List[float]:
    """``count`` calls of ``run``, each timed alone, in ms; progress reported as ``phase``.

    Progress counts from ``done_before`` towards ``total`` (``count`` unless given), so
    batches of one stage report as one stage.
    """
    times = []  # type: List[float]
    clock = time.perf_counter
    for index in range(count):
        if flush is not None:
            flush()
        start = clock()
        run()
        times.append((clock() - start) * 1000.0)
        ctx.progress(phase, done_before + index + 1, total or count)
    return times


def until_stable(run: Callable[[], Any], settings: Dict[str, Any], ctx: Any,
                 flush: Optional[Callable[[], Any]] = None) -> List[float]:
    """Timed runs in batches of 10 until the median's 95% interval is within ``auto_ci_pct``
    percent of it, or the time budget (``time_budget_s``) or run limit (``max_runs``) ends;
    then a warning says how wide the interval still is."""
    target = float(settings.get("auto_ci_pct", 2.0))
    budget = float(settings.get("time_budget_s", 30.0))
    most = int(settings.get("max_runs", 10000))
    started = time.monotonic()
    latency = []  # type: List[float]
    while True:
        # progress runs towards the run limit; the stage's last event says how many it took
        latency += timed(run, 10, "timed", ctx, flush, done_before=len(latency),
                         total=max(most, len(latency) + 10))
        width = ci_width_pct(latency)
        if width is not None and width <= target:
            ctx.log("info", "stopped after %d runs: median known within %.2f%%"
                    % (len(latency), width))
            break
        if time.monotonic() - started > budget or len(latency) >= most:
            ctx.warn("runs=auto stopped after %d runs at the time or run limit; the median's "
                     "interval is still %.1f%% wide (the goal was %g%%)"
                     % (len(latency), width or float("nan"), target))
            break
    ctx.progress("timed", len(latency), len(latency))
    return latency


def latencies(run: Callable[[], Any], settings: Dict[str, Any], ctx: Any,
              flush: Optional[Callable[[], Any]] = None) -> List[float]:
    """The timed runs a job asks for: ``settings["runs"]`` of them, or until stable for auto.

    The conditions sampled beside the job are marked where they begin and end.
    """
    mark = getattr(ctx, "conditions_mark", None) or (lambda _name: None)
    mark("timed")
    if settings["runs"] == "auto":
        latency = until_stable(run, settings, ctx, flush)
    else:
        latency = timed(run, int(settings["runs"]), "timed", ctx, flush)
    mark("end")
    return latency


def cold_then_timed(run: Callable[[], Any], settings: Dict[str, Any], ctx: Any
                    ) -> Tuple[Any, float, List[float], Any]:
    """The sequence every runner times: a cold run (its outputs are the ones kept), the
    warm-up, the timed runs (caches flushed between them when the job asks), and, when
    outputs are kept, one more untimed run that tells whether every run gives the same.

    Returns (cold outputs, cold ms, timed ms, the later run's outputs or None).
    """
    from workbench_agent.runners.onnxruntime import _CacheFlusher

    start = time.perf_counter()
    outputs = run()
    cold_ms = (time.perf_counter() - start) * 1000.0
    timed(run, int(settings.get("warmup", 0)), "warmup", ctx)
    flush = _CacheFlusher(bool(settings.get("flush_cache")))
    latency = latencies(run, settings, ctx, flush)
    del flush
    later = run() if settings.get("keep_outputs") else None
    return outputs, cold_ms, latency, later
