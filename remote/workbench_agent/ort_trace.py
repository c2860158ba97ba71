"""Aggregate onnxruntime's profiler output per node, streaming.

onnxruntime writes a Chrome-trace JSON array, one event per line. Node events
are named ``<node>_kernel_time`` (category ``Node``) with ``args.op_name``,
``args.provider`` and the input/output shapes; each run ends with a Session
event ``model_run``. A board has 1-8 GB and a million events are ~0.6 GB of
JSON, so this reads the file line by line and keeps only the running sums and
the events of one run.

Most lines are the node events of runs whose events are not kept, and of
those only the name, the duration and the arena held count: such a line is
read for these three fields alone (:meth:`TraceAggregator.take_line`), and
only the others (sessions, the kept run, a node's first sight) are parsed as
JSON. A line that does not read plainly is parsed whole.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any, Dict, Iterator, List, Optional

KERNEL_SUFFIX = "_kernel_time"
RUN_END = "model_run"
_CATEGORY = re.compile(r'"cat"\s*:\s*"([^"\\]*)"')
_NAME = re.compile(r'"name"\s*:\s*"([^"\\]*)"')
_DURATION = re.compile(r'"dur"\s*:\s*(\d+(?:\.\d+)?)[,}\s]')
_ARENA_HELD_KEY = '"mem_arena_held"'
_ARENA_HELD = re.compile(r'"mem_arena_held"\s*:\s*"(\d+)"')


def _texts(handle: IO[str]) -> Iterator[str]:
    """The text of each event of a file written one event per line."""
    for line in handle:
        text = line.strip().rstrip(",")
        if not text or text in ("[", "]"):
            continue
        if text.startswith("["):
            text = text[1:]
        if text.endswith("]"):
            text = text[:-1].rstrip().rstrip(",")
        yield text


def iter_events(path: str) -> Iterator[Dict[str, Any]]:
    """Events of an onnxruntime profile file, one at a time."""
    with open(path, encoding="utf-8") as handle:
        for text in _texts(handle):
            try:
                event = json.loads(text)
            except ValueError:
                # Not one event per line (another writer): fall back to a whole-file parse.
                yield from _whole_file(path)
                return
            if isinstance(event, dict):
                yield event


def _whole_file(path: str) -> Iterator[Dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    events = data.get("traceEvents", []) if isinstance(data, dict) else data
    for event in events:
        if isinstance(event, dict):
            yield event


def _shapes(items: Any) -> Optional[List[Any]]:
    if not isinstance(items, list):
        return None
    shapes = []
    for item in items:
        if isinstance(item, dict) and item:
            shapes.append(next(iter(item.values())))
    return shapes


class TraceAggregator:
    """Per-node sums over runs, fed one event at a time.

    ``skip_runs`` runs at the start are warm-up and not counted; the events of
    the ``keep_run``-th counted run are kept as the raw trace.
    """

    def __init__(self, skip_runs: int = 0, keep_run: int = 0) -> None:
        self.skip_runs = skip_runs
        self.keep_run = keep_run
        self.events_seen = 0
        self.runs_seen = 0
        self._order: List[str] = []
        self._meta: Dict[str, Dict[str, Any]] = {}
        self._durations: Dict[str, List[float]] = {}
        self._calls: Dict[str, int] = {}
        self._run_sums: Dict[str, float] = {}
        self._run_calls: Dict[str, int] = {}
        self._run_events: List[Dict[str, Any]] = []
        self.kept_events: List[Dict[str, Any]] = []
        #: durations (ms) of the session's own phases, e.g. model_loading, session_initialization
        self.session_ms: Dict[str, float] = {}
        #: the largest memory arena the runtime reported holding during counted runs
        self.arena_peak: Optional[int] = None

    @property
    def counted_runs(self) -> int:
        return max(0, self.runs_seen - self.skip_runs)

    def feed(self, event: Dict[str, Any]) -> None:
        self.events_seen += 1
        name = event.get("name", "")
        category = event.get("cat")
        counting = self.runs_seen >= self.skip_runs
        keeping = counting and self.runs_seen - self.skip_runs == self.keep_run
        if category == "Session" and self.runs_seen == 0 and name != RUN_END:
            phase = "model_loading" if name.startswith("model_loading") else name
            self.session_ms.setdefault(phase, float(event.get("dur", 0)) / 1000.0)
        if counting and category == "Node" and name.endswith(KERNEL_SUFFIX):
            node = name[: -len(KERNEL_SUFFIX)]
            held = (event.get("args") or {}).get("mem_arena_held")
            if isinstance(held, str) and held.isdigit():
                self.arena_peak = max(self.arena_peak or 0, int(held))
            if node not in self._meta:
                args = event.get("args") or {}
                self._meta[node] = {
                    "op_type": args.get("op_name", "?"),
                    "provider": args.get("provider"),
                    "input_shapes": _shapes(args.get("input_type_shape")),
                    "output_shapes": _shapes(args.get("output_type_shape")),
                }
                self._order.append(node)
            self._run_sums[node] = self._run_sums.get(node, 0.0) + float(event.get("dur", 0))
            self._run_calls[node] = self._run_calls.get(node, 0) + 1
        if keeping and category in ("Node", "Session"):
            self._run_events.append(event)
        if category == "Session" and name == RUN_END:
            self._close_run(keeping)

    def take_line(self, text: str) -> bool:
        """Take an event from its line's text where a node event of a run whose events are
        not kept needs no more than its name, duration and arena held; False when the
        line must be parsed and :meth:`feed` (any other event, or a line that does not
        read plainly: each field once)."""
        # onnxruntime writes an event's own fields before its args: read those from the head
        args_at = text.find('"args"')
        head = text if args_at < 0 else text[:args_at]
        if _CATEGORY.findall(head) != ["Node"]:
            return False
        counting = self.runs_seen >= self.skip_runs
        if counting and self.runs_seen - self.skip_runs == self.keep_run:
            return False  # the kept run: every event whole
        names, durations = _NAME.findall(head), _DURATION.findall(head)
        if len(names) != 1 or len(durations) != 1:
            return False
        name = names[0]
        if not counting or not name.endswith(KERNEL_SUFFIX):
            self.events_seen += 1  # a warm-up run's node, or not a kernel: nothing to add
            return True
        node = name[: -len(KERNEL_SUFFIX)]
        held_at = text.find(_ARENA_HELD_KEY)
        if node not in self._meta or (held_at >= 0 and text.find(_ARENA_HELD_KEY, held_at + 1)
                                      >= 0):
            return False  # its first sight carries its metadata
        self.events_seen += 1
        held = _ARENA_HELD.match(text, held_at) if held_at >= 0 else None
        if held is not None:  # a count in a string, as feed() takes it
            self.arena_peak = max(self.arena_peak or 0, int(held.group(1)))
        self._run_sums[node] = self._run_sums.get(node, 0.0) + float(durations[0])
        self._run_calls[node] = self._run_calls.get(node, 0) + 1
        return True

    def _close_run(self, keeping: bool) -> None:
        if self.runs_seen >= self.skip_runs:
            counted = self.runs_seen - self.skip_runs
            for node in self._order:
                durations = self._durations.setdefault(node, [])
                durations.extend([0.0] * (counted - len(durations)))
                durations.append(self._run_sums.get(node, 0.0))
                self._calls[node] = max(self._calls.get(node, 0), self._run_calls.get(node, 0))
        if keeping:
            self.kept_events = self._run_events
        self._run_events = []
        self._run_sums = {}
        self._run_calls = {}
        self.runs_seen += 1

    def layers(self) -> List[Dict[str, Any]]:
        """One row per node in first-seen order: durations per counted run (µs), calls per run."""
        rows = []
        total = self.counted_runs
        for node in self._order:
            durations = self._durations.get(node, [])
            durations = durations + [0.0] * (total - len(durations))
            row = {"name": node, "calls": self._calls.get(node, 0), "durations_us": durations}
            row.update(self._meta[node])
            rows.append(row)
        return rows

    def trace(self) -> Dict[str, Any]:
        """The kept run's raw events, timestamps relative to its first event."""
        events = sorted(self.kept_events, key=lambda e: e.get("ts", 0))
        start = events[0].get("ts", 0) if events else 0
        slim = []
        for event in events:
            slim.append({"name": event.get("name", ""), "cat": event.get("cat", ""),
                         "ts": event.get("ts", 0) - start, "dur": event.get("dur", 0),
                         "tid": event.get("tid", 0), "args": event.get("args", {})})
        return {"run_index": self.keep_run, "events": slim}


def aggregate_file(path: str, skip_runs: int = 0, keep_run: int = 0) -> TraceAggregator:
    """Aggregate a whole onnxruntime profile file (see the module's docstring)."""
    aggregator = TraceAggregator(skip_runs=skip_runs, keep_run=keep_run)
    with open(path, encoding="utf-8") as handle:
        for text in _texts(handle):
            if aggregator.take_line(text):
                continue
            try:
                event = json.loads(text)
            except ValueError:  # not one event per line: start over from a whole-file parse
                aggregator = TraceAggregator(skip_runs=skip_runs, keep_run=keep_run)
                for whole in _whole_file(path):
                    aggregator.feed(whole)
                return aggregator
            if isinstance(event, dict):
                aggregator.feed(event)
    return aggregator
