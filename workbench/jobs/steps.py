"""Where a job's time went: its steps, from its stage events and the host's marks.

A job's events carry two clocks: stages written on the host (connect, probe,
upload) and the times the host heard the agent's events (``received``) are
on the host's clock; the agent's own stage times are on the board's. Each
step is a difference on one clock, so a board whose clock is off still gets
a true breakdown. The one overlap: the agent's hello in transit counts both
in agent start (until the host heard it) and in queue (from when the board
sent it), as the two clocks cannot be compared.

The steps, in order: connect, probe, upload (the backend preparing the
files, checking which the device lacks and sending those; it runs beside
the probe, and counts only what it took after the probe ended),
agent start (a new channel and process, started beside the upload when the
probe is kept, counted from the end of both; for a warm agent, the job's
line and a fork) of which python start is what starting Python and the imports took on
the board, queue (the board's lock, loading the runner, the conditions before),
session create, warmup, timed, profiled, aggregate (reading the runtime's
trace), download (the result to the host) and host assembly (the profile
document, the history).
"""

from __future__ import annotations

from typing import Any

#: the steps in the order a job passes them
STEPS = ("connect", "probe", "upload", "agent start", "python start", "queue", "session create",
         "warmup", "timed", "profiled", "aggregate", "download", "host assembly")


def _firsts(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first event of each stage, and the agent's hello."""
    firsts: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event.get("event")
        key = "hello" if kind == "hello" else str(event.get("stage")) if kind == "stage" else ""
        if key and key not in firsts:
            firsts[key] = event
    return firsts


def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(end - start, 0.0)


def job_steps(events: list[dict[str, Any]], marks: dict[str, float]) -> dict[str, float]:
    """Seconds per step (see the module's docstring) of a job that ran; steps the job did not
    report (a runner without a profiled step, an older agent) are left out.

    ``marks`` are host times (seconds since the epoch): ``probed`` when the probe
    ended, ``uploaded`` when the upload did (the agent may start beside it),
    ``prepared`` when the job was ready to send, ``result`` when its result
    was back, ``done`` when its profile was built.
    """
    first = _firsts(events)

    def at(stage: str, field: str = "time") -> float | None:
        value = first.get(stage, {}).get(field)
        return float(value) if isinstance(value, (int, float)) else None

    hello_board, started = at("hello"), at("hello", "started")
    probed = marks.get("probed", at("upload"))
    # the agent may start beside the upload, after the probe: what the job waited for it
    # counts from when both had ended
    uploaded = marks.get("uploaded", marks.get("prepared"))
    python_start = _span(started, hello_board)
    agent_start = _span(max(uploaded, probed) if uploaded and probed else uploaded,
                        at("hello", "received"))
    if agent_start is not None and python_start is not None:
        agent_start = max(agent_start - python_start, 0.0)
    board = ("create", "warmup", "timed", "profile", "aggregate", "download")
    spans: dict[str, float | None] = {
        "connect": _span(at("connect"), at("probe")),
        # the upload runs beside the probe: the probe until it ended, the upload what it
        # took after that
        "probe": _span(at("probe"), probed),
        "upload": _span(max(probed, at("upload") or 0.0) if probed else at("upload"),
                        uploaded),
        "agent start": agent_start,
        "python start": python_start,
        "queue": _span(hello_board, at("create")),
    }
    # a board step runs from its first event to the first event of the next step it reported
    names = ("session create", "warmup", "timed", "profiled", "aggregate")
    for index, name in enumerate(names):
        later = [at(stage) for stage in board[index + 1:] if at(stage) is not None]
        spans[name] = _span(at(board[index]), later[0] if later else None)
    spans["download"] = _span(at("download", "received"), marks.get("result"))
    spans["host assembly"] = _span(marks.get("result"), marks.get("done"))
    return {name: value for name in STEPS if (value := spans.get(name)) is not None}


def format_steps(steps: dict[str, float]) -> str:
    """One line for a terminal: ``connect 0.12 s · probe 0.05 s · ...`` and the total."""
    parts = [f"{name} {seconds:.2f} s" for name, seconds in steps.items()]
    return " · ".join(parts) + f" (sum {sum(steps.values()):.2f} s)"
