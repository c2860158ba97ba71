"""A compact timeline of the profiled run, bounded in size, for the lab extension.

The notebook payload of a profile leaves out the raw trace events (they can
run to megabytes); :func:`run_timeline` keeps what a timeline needs, as short
arrays: ``[name, track, start µs, duration µs]`` per event, at most
:data:`MAX_EVENTS` of them (the longest, when there are more), start times
relative to the run's first event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.profiling import _text as fmt

if TYPE_CHECKING:
    from workbench.profiling.profile import Profile

#: the most events a timeline holds; a 1,000-layer run fits, a bigger one keeps its longest
MAX_EVENTS = 2000


def run_timeline(profile: Profile, max_events: int = MAX_EVENTS) -> dict[str, Any] | None:
    """The stored run's complete events as a compact timeline, or None without a trace.

    ``{"run_index", "tracks": [name, ...], "events": [[name, track, start_us,
    dur_us], ...], "total": events in the run, "dropped": events left out}``;
    events are in start order, times rounded to 0.1 µs.
    """
    spans = []
    for event in profile.trace_events:
        if event.get("ph", "X") != "X":
            continue
        ts, dur = event.get("ts"), event.get("dur")
        if not fmt.is_number(ts) or not fmt.is_number(dur):
            continue
        spans.append((float(ts), max(0.0, float(dur)), str(event.get("name", "")),
                      str(event.get("tid", 0))))
    if not spans:
        return None
    total = len(spans)
    if total > max_events:
        spans = sorted(spans, key=lambda span: -span[1])[:max_events]
    spans.sort()
    begin = spans[0][0]
    tracks: dict[str, int] = {}
    events = []
    for ts, dur, name, tid in spans:
        track = tracks.setdefault(tid, len(tracks))
        events.append([name, track, round(ts - begin, 1), round(dur, 1)])
    trace = profile.document.get("trace") or {}
    return {"run_index": int(trace.get("run_index") or 0),
            "tracks": [f"thread {tid}" for tid in tracks],
            "events": events, "total": total, "dropped": total - len(events)}
