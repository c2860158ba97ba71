"""A twin's LiteRT layers line up with onnxruntime's on the ONNX model it was built from."""

from __future__ import annotations

import math
import stat
import sys
from pathlib import Path

import pytest

import workbench as wb
from workbench.backends.litert import twin_nodes

# LiteRT's benchmark_model tool is not on this machine (no registry ships it). This
# stand-in writes its op-profiling CSV layout for the real interpreter's operators, so
# the path from the tool's file to compared layers runs end to end. Its per-operator
# times are NOT measured: each operator gets an equal share of a measured invoke.
STAND_IN = '''#!{python}
import sys, time
args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
from ai_edge_litert.interpreter import Interpreter, OpResolverType
it = Interpreter(model_path=args["--graph"],
                 experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
it.allocate_tensors()
start = time.perf_counter()
for _ in range(int(args.get("--num_runs", "1"))):
    it.invoke()
total_ms = (time.perf_counter() - start) * 1000 / int(args.get("--num_runs", "1"))
names = {{t["index"]: t["name"] for t in it.get_tensor_details()}}
ops = it._get_ops_details()
lines = ["Operator-wise Profiling Info for Regular Benchmark Runs:",
         "============================== Run Order ==============================",
         "node type, start, first, avg_ms, %, cdf%, mem KB, times called, name"]
for op in ops:
    each = total_ms / len(ops)
    outputs = ", ".join(names[i] for i in op["outputs"])
    lines.append("%s, 0.000, %.3f, %.3f, 0.000%%, 0.000%%, 0, 1, [%s]:%d"
                 % (op["op_name"], each, each, outputs, op["index"]))
open(args["--op_profiling_output_file"], "w").write("\\n".join(lines) + "\\n\\n")
'''


@pytest.fixture
def benchmark_model(tmp_path: Path) -> Path:
    tool = tmp_path / "benchmark_model"
    tool.write_text(STAND_IN.format(python=sys.executable))
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


@pytest.mark.parametrize("name", ["small-cnn", "mobilenetv2", "resnet18"])
def test_every_onnx_node_is_stood_for_by_exactly_one_twin_operator(name: str) -> None:
    twin = wb.load_model(f"zoo:{name}.tflite")
    found = twin_nodes(twin)
    assert found is not None and set(found) == {op.name for op in twin.nodes}
    covered = [node for nodes in found.values() for node in nodes]
    assert sorted(covered) == sorted(node.name for node in twin.reference.nodes)


def test_a_model_that_is_no_twin_has_no_reference_nodes(tmp_path: Path) -> None:
    twin = wb.load_model("zoo:small-cnn.tflite")
    plain = wb.load_model(twin.runnable_path().read_bytes())  # the same file, loaded by bytes
    assert twin_nodes(plain) is None


def test_litert_layers_compare_layer_by_layer_with_onnxruntime(benchmark_model: Path) -> None:
    litert = wb.profile("zoo:small-cnn.tflite", backend="litert",
                        options={"xnnpack": False, "benchmark_model": str(benchmark_model)},
                        warmup=1, runs=5, profile_runs=3, label="litert")
    # every operator stands for ONNX nodes, but the explicit padding the twin builder inserts
    assert litert.layers and all(row.get("reference_nodes") or row["op_type"] == "PAD"
                                 for row in litert.layers)
    onnx = wb.profile("zoo:small-cnn", warmup=1, runs=5, profile_runs=3, label="onnxruntime")
    comparison = wb.compare([onnx, litert])
    frame = comparison.to_dataframe()
    onnx_us, litert_us = comparison.time_column("onnxruntime"), comparison.time_column("litert")
    both = frame.dropna(subset=[onnx_us, litert_us])
    # every conv block (conv + bn + relu in ONNX, one fused CONV_2D in the twin) lines up
    blocks = [row for row in both["original_nodes"] if ".conv" in row]
    assert len(blocks) == 3
    assert all({f"{b}.conv", f"{b}.bn", f"{b}.relu"} <= set(nodes.split(", "))
               for b, nodes in zip(("block1", "block2", "block3"), sorted(blocks), strict=True))
    assert not math.isnan(float(both[litert_us].sum()))
