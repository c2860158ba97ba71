"""A :class:`~workbench.profiling.profile.Profile` as data for other tools.

:func:`chrome_trace` gives the Chrome trace object format (Perfetto,
chrome://tracing). The DataFrame and CSV exports are methods of the profile
itself; renderings for people (HTML report, notebook bundle, text summary)
are views, in :mod:`workbench.views`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

_RUN_PID = 1


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": args}


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if fmt.is_number(value) else default


def _run_events(profile: Profile) -> tuple[list[dict[str, Any]], dict[int, dict[int, str]]]:
    """The stored run's events with ph/pid/tid/ts/dur filled in; thread names per pid."""
    raw = profile.trace_events
    int_tids = [e["tid"] for e in raw if isinstance(e.get("tid"), int)]
    next_tid = max(int_tids, default=0) + 1
    string_tids: dict[str, int] = {}
    threads: dict[int, dict[int, str]] = {}
    events = []
    for source in raw:
        event = dict(source)
        event.setdefault("ph", "X")
        event["name"] = str(event.get("name", ""))
        pid = event.get("pid")
        event["pid"] = pid if isinstance(pid, int) and not isinstance(pid, bool) else _RUN_PID
        tid = event.get("tid", 0)
        if isinstance(tid, int) and not isinstance(tid, bool):
            thread_name = f"thread {tid}"
        else:  # Perfetto wants integer thread ids: number the named ones, keep the name
            thread_name = str(tid)
            if thread_name not in string_tids:
                string_tids[thread_name] = next_tid
                next_tid += 1
            tid = string_tids[thread_name]
        event["tid"] = tid
        event["ts"] = _number(event.get("ts"))
        if event["ph"] == "X":
            event["dur"] = max(0.0, _number(event.get("dur")))
        threads.setdefault(event["pid"], {}).setdefault(tid, thread_name)
        events.append(event)
    return events, threads


def _boxes(names: list[str], durations_us: list[float], pid: int, cat: str,
           args: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete events laid end to end on one track."""
    events, ts = [], 0.0
    for name, dur, extra in zip(names, durations_us, args, strict=True):
        events.append({"name": name, "cat": cat, "ph": "X", "ts": ts, "dur": max(0.0, dur),
                       "pid": pid, "tid": 0, "args": extra})
        ts += max(0.0, dur)
    return events


def chrome_trace(profile: Profile) -> dict[str, Any]:
    """The profile as a Chrome trace object: ``traceEvents``, ``displayTimeUnit``, ``metadata``.

    Tracks: the stored run's raw events (or, without a trace, the layers'
    median times laid end to end, marked synthetic), and one box per timed
    run laid end to end so the latency distribution shows as well.
    """
    doc = profile.document
    backend = doc["backend"]
    caveat = f" [{profile.caveat}]" if profile.caveat else ""
    backend_text = f"{backend['name']} {backend.get('version') or ''}".strip()
    events, threads = _run_events(profile)
    trace = doc.get("trace") or {}
    out: list[dict[str, Any]] = []
    if events:
        run_name = f"{profile.device_name}: {backend_text}, run {trace.get('run_index', 0)}"
    else:
        layers = [layer for layer in profile.layers if layer_time_us(layer) is not None]
        events = _boxes([str(layer["name"]) for layer in layers],
                        [layer_time_us(layer) or 0.0 for layer in layers], _RUN_PID, "layer",
                        [{"op_type": layer["op_type"], "original_nodes": layer.get(
                            "original_nodes", [])} for layer in layers])
        threads = {_RUN_PID: {0: "layers"}} if events else {}
        run_name = f"{profile.device_name}: {backend_text}, layer medians (synthetic, no raw trace)"
    for order, (pid, tids) in enumerate(sorted(threads.items())):
        out.append(_meta("process_name", pid, 0, {"name": run_name + caveat}))
        out.append(_meta("process_sort_index", pid, 0, {"sort_index": order}))
        out += [_meta("thread_name", pid, tid, {"name": name}) for tid, name in tids.items()]
    out += events

    latency_pid = max([_RUN_PID, *threads]) + 1
    samples = profile.latency_samples
    if samples:
        boxes = _boxes([f"run {i}" for i in range(len(samples))], [s * 1000 for s in samples],
                       latency_pid, "latency", [{"latency_ms": s} for s in samples])
        track = "timed runs end to end (profiling off)"
    else:
        median = profile.latency.get("median")
        boxes = [] if not fmt.is_number(median) else _boxes(
            ["median latency"], [float(median) * 1000], latency_pid, "latency",
            [{"latency_ms": median}])
        track = "median latency"
    if boxes:
        out.append(_meta("process_name", latency_pid, 0,
                         {"name": f"{profile.label}: latency{caveat}"}))
        out.append(_meta("process_sort_index", latency_pid, 0, {"sort_index": len(threads)}))
        out.append(_meta("thread_name", latency_pid, 0, {"name": track}))
        out += boxes
    metadata = {"schema": doc["schema"], "label": profile.label, "kind": profile.kind,
                "model": profile.model_name, "model_sha256": doc["model"]["sha256"],
                "device": profile.device_name, "backend": backend_text,
                "created": doc.get("created"), "caveat": profile.caveat}
    return {"traceEvents": out, "displayTimeUnit": "ms", "metadata": metadata}
