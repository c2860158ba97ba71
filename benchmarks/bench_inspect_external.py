"""Inspecting a model with ~1 GB of external data: goals < 2 s and peak RSS < 300 MB.

The model is a chain of four 8192x8192 float32 MatMuls whose weights (1 GiB)
live in one external-data file, written sparsely (``truncate``), so building
it takes no time and no disk. ``load_model(path)`` plus reading its totals
must never load those weights. Baseline, same run: ``onnx.load(path,
load_external_data=False)``, the least any inspection has to do. Each
measurement runs in a fresh subprocess (time after imports, and peak RSS
including them); medians of 3.

    python benchmarks/bench_inspect_external.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

SIZE = 8192
LAYERS = 4

MEASURE = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
import onnx
from workbench.models import load_model
start = time.perf_counter()
if sys.argv[1] == "inspect":
    model = load_model(sys.argv[2])
    totals = [model.params, model.macs, model.weight_bytes, model.peak_activation_bytes,
              len(model.nodes)]
else:
    proto = onnx.load(sys.argv[2], load_external_data=False)
    totals = [len(proto.graph.node)]
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "totals": totals,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def build(folder: Path) -> Path:
    """Write the model and a sparse 1 GiB external-data file; return the .onnx path."""
    from onnx import TensorProto, helper

    weight_bytes = SIZE * SIZE * 4
    initializers, nodes = [], []
    x = "input"
    for layer in range(LAYERS):
        tensor = TensorProto(name=f"layer{layer}.weight", data_type=TensorProto.FLOAT,
                             data_location=TensorProto.EXTERNAL)
        tensor.dims.extend([SIZE, SIZE])
        for key, value in (("location", "weights.data"), ("offset", layer * weight_bytes),
                           ("length", weight_bytes)):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
        initializers.append(tensor)
        nodes.append(helper.make_node("MatMul", [x, tensor.name], [f"layer{layer}.matmul"],
                                      name=f"layer{layer}.matmul"))
        x = nodes[-1].output[0]
        if layer < LAYERS - 1:
            nodes.append(helper.make_node("Relu", [x], [f"layer{layer}.relu"],
                                          name=f"layer{layer}.relu"))
            x = nodes[-1].output[0]
    graph = helper.make_graph(
        nodes, "external", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, SIZE])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, SIZE])], initializers)
    model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "external.onnx"
    path.write_bytes(model.SerializeToString())
    with open(folder / "weights.data", "wb") as data:
        data.truncate(LAYERS * weight_bytes)
    return path


def measure(mode: str, path: Path, repeat: int = 3) -> dict[str, float]:
    code = MEASURE.format(paths=[str(ROOT)])
    samples = [json.loads(subprocess.run([sys.executable, "-c", code, mode, str(path)],
                                         capture_output=True, text=True, check=True).stdout)
               for _ in range(repeat)]
    return {key: statistics.median(s[key] for s in samples) for key in ("seconds", "rss_mb")}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp))
        data = Path(tmp) / "weights.data"
        print(f"model: {path.stat().st_size} B .onnx + {data.stat().st_size / 2**30:.2f} GiB "
              "external data (sparse)")
        inspect = measure("inspect", path)
        baseline = measure("baseline", path)
    ratio = inspect["seconds"] / baseline["seconds"]
    print(f"load_model + totals: {inspect['seconds'] * 1000:.1f} ms (goal < 2 s), "
          f"peak RSS {inspect['rss_mb']:.0f} MB (goal < 300 MB)")
    print(f"baseline onnx.load(load_external_data=False): {baseline['seconds'] * 1000:.2f} ms, "
          f"peak RSS {baseline['rss_mb']:.0f} MB; ratio {ratio:.0f} (checker, shape inference "
          "and analysis are the difference)")
    print(f"| inspect 1 GiB external data | {inspect['seconds'] * 1000:.1f} ms, "
          f"{inspect['rss_mb']:.0f} MB RSS | onnx.load(load_external_data=False) "
          f"{baseline['seconds'] * 1000:.2f} ms, {baseline['rss_mb']:.0f} MB RSS | "
          f"ratio {ratio:.0f} |")


if __name__ == "__main__":
    main()
