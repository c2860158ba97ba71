"""Streaming aggregation of onnxruntime profiler files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench_agent.ort_trace import TraceAggregator, aggregate_file, iter_events


def node(name: str, dur: float, ts: float, op: str = "Conv") -> dict[str, Any]:
    return {"cat": "Node", "name": f"{name}_kernel_time", "dur": dur, "ts": ts, "ph": "X",
            "pid": 1, "tid": 1, "args": {"op_name": op, "provider": "CPUExecutionProvider",
                                         "input_type_shape": [{"float": [1, 3]}],
                                         "output_type_shape": [{"float": [1, 4]}]}}


def run_end(ts: float) -> dict[str, Any]:
    return {"cat": "Session", "name": "model_run", "dur": 10, "ts": ts, "ph": "X"}


def three_runs() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"cat": "Session", "name": "session_initialization",
                                     "dur": 5, "ts": 0}]
    for run, base in enumerate((100, 200, 300)):
        events += [node("a", 10 + run, base), node("b", 1, base + 20), node("b", 2, base + 30),
                   run_end(base)]
    return events


def test_warm_up_runs_are_skipped_and_repeated_calls_summed_per_run() -> None:
    aggregator = TraceAggregator(skip_runs=1)
    for event in three_runs():
        aggregator.feed(event)
    rows = {row["name"]: row for row in aggregator.layers()}
    assert rows["a"]["durations_us"] == [11.0, 12.0]
    assert rows["b"]["durations_us"] == [3.0, 3.0]
    assert rows["b"]["calls"] == 2
    assert rows["a"]["op_type"] == "Conv" and rows["a"]["input_shapes"] == [[1, 3]]


def test_a_node_missing_from_a_run_counts_zero_for_that_run() -> None:
    aggregator = TraceAggregator()
    for event in [node("a", 5, 0), run_end(0), node("a", 5, 10), node("late", 7, 11),
                  run_end(10)]:
        aggregator.feed(event)
    rows = {row["name"]: row for row in aggregator.layers()}
    assert rows["late"]["durations_us"] == [0.0, 7.0]


def test_only_the_kept_runs_events_are_held_with_relative_timestamps() -> None:
    aggregator = TraceAggregator(skip_runs=1, keep_run=1)
    for event in three_runs():
        aggregator.feed(event)
    trace = aggregator.trace()
    names = [e["name"] for e in trace["events"]]
    assert names.count("a_kernel_time") == 1 and "model_run" in names
    assert trace["events"][0]["ts"] == 0
    assert {e["dur"] for e in trace["events"] if e["name"] == "a_kernel_time"} == {12}


def test_file_written_one_event_per_line_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    lines = ",\n".join(json.dumps(e) for e in three_runs())
    path.write_text("[\n" + lines + "\n]\n")
    assert len(list(iter_events(str(path)))) == len(three_runs())
    assert aggregate_file(str(path), skip_runs=1).counted_runs == 2


def test_a_pretty_printed_file_falls_back_to_a_whole_file_parse(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"traceEvents": three_runs()}, indent=2))
    aggregator = aggregate_file(str(path))
    assert aggregator.counted_runs == 3


def test_a_real_profile_reads_the_same_from_its_lines_as_from_every_event_parsed(
        tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal(
        (8, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("GlobalAveragePool", ["r"], ["y"], name="pool")], "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 1, 1])], [weight])
    model = tmp_path / "small.onnx"
    model.write_bytes(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "trace")
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    for _ in range(5):
        session.run(None, {"x": np.ones((1, 3, 16, 16), np.float32)})
    trace = session.end_profiling()
    for skip, keep in ((1, 0), (0, 2)):
        parsed = TraceAggregator(skip_runs=skip, keep_run=keep)
        for event in iter_events(trace):
            parsed.feed(event)
        read = aggregate_file(trace, skip_runs=skip, keep_run=keep)
        assert read.layers() == parsed.layers() and read.layers()
        assert read.trace() == parsed.trace()
        assert (read.events_seen, read.counted_runs, read.arena_peak, read.session_ms) == (
            parsed.events_seen, parsed.counted_runs, parsed.arena_peak, parsed.session_ms)
