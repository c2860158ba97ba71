"""Parsing benchmark_model's op-profiling CSV into layer rows (the tool is not on this machine,
so these read text in the layout its CSV formatter writes)."""

from __future__ import annotations

from workbench_agent.litert_ops import layer_rows, parse_csv

CSV = """Profiling Info for Benchmark Initialization:
============================== Run Order ==============================
node type, start, first, avg_ms, %, cdf%, mem KB, times called, name
ModifyGraphWithDelegate, 0.000, 3.100, 3.100, 90.000%, 90.000%, 0, 1, ModifyGraphWithDelegate/0

Operator-wise Profiling Info for Regular Benchmark Runs:
============================== Run Order ==============================
node type, start, first, avg_ms, %, cdf%, mem KB, times called, name
CONV_2D, 0.000, 0.400, 0.350, 70.000%, 70.000%, 0, 1, [conv1.relu]:0
TfLiteXNNPackDelegate, 0.350, 0.160, 0.150, 30.000%, 100.000%, 0, 1, [logits, extra]:3

============================== Top by Computation Time ==============================
node type, start, first, avg_ms, %, cdf%, mem KB, times called, name
CONV_2D, 0.000, 0.400, 0.350, 70.000%, 70.000%, 0, 1, [conv1.relu]:0
"""


def test_only_the_run_order_table_of_the_regular_runs_is_read() -> None:
    rows = parse_csv(CSV)
    assert [(r["op_type"], r["index"], r["outputs"]) for r in rows] == [
        ("CONV_2D", 0, ["conv1.relu"]), ("TfLiteXNNPackDelegate", 3, ["logits", "extra"])]
    assert rows[0]["avg_ms"] == 0.35 and rows[0]["calls"] == 1


def test_a_delegate_row_covers_the_operators_of_its_partition() -> None:
    nodes = [{"index": 0, "op_name": "CONV_2D", "inputs": [0, 1], "outputs": [2]},
             {"index": 1, "op_name": "RESHAPE", "inputs": [2, 3], "outputs": [4]},
             {"index": 2, "op_name": "FULLY_CONNECTED", "inputs": [4, 5], "outputs": [6]},
             {"index": 3, "op_name": "DELEGATE", "inputs": [2, 5], "outputs": [6]}]
    names = {2: "conv1.relu", 4: "flat", 6: "logits"}
    op_names = {0: "conv1.relu", 1: "flat", 2: "logits"}
    where = {"conv1.relu": "CPU", "flat": "XNNPACK", "logits": "XNNPACK"}
    rows = layer_rows(parse_csv(CSV), nodes, names, where, op_names)
    assert rows[0]["nodes"] == ["conv1.relu"] and rows[0]["provider"] == "CPU"
    assert rows[1]["nodes"] == ["flat", "logits"] and rows[1]["provider"] == "XNNPACK"
    assert rows[1]["durations_us"] == [150.0]


def test_text_without_the_regular_runs_section_gives_no_rows() -> None:
    assert parse_csv("STARTING!\nsome log line\n") == []
