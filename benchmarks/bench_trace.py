"""Trace parsing: 100k onnxruntime events in < 1 s; 1M events aggregated in bounded memory.

Event lines are copied from a real onnxruntime profile of a small conv model and
repeated with shifted timestamps, so each line has the real size and fields.
Baseline, same run: ``json.load`` of the whole file (what a naive parser does).
Each measurement runs in a fresh subprocess (time and peak RSS); medians of 3.

    python benchmarks/bench_trace.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote"), str(ROOT / "tests")]

MEASURE = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
from workbench_agent.ort_trace import aggregate_file
start = time.perf_counter()
if sys.argv[1] == "stream":
    aggregator = aggregate_file(sys.argv[2], skip_runs=1)
    count = aggregator.events_seen
else:
    with open(sys.argv[2]) as f:
        count = len(json.load(f))
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "events": count,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def real_run_lines(folder: Path) -> list[str]:
    """The node and run-end event lines of one run of a real onnxruntime profile."""
    import numpy as np
    import onnxruntime as ort
    from conftest import conv_relu_model

    model = conv_relu_model(folder / "m.onnx")
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(folder / "prof")
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    session.run(None, {"x": np.ones((1, 3, 32, 32), np.float32)})
    events = json.loads(Path(session.end_profiling()).read_text())
    run = [e for e in events if e.get("cat") == "Node" or e.get("name") == "model_run"]
    return [json.dumps(e) for e in run]


def write_trace(path: Path, template: list[str], events: int) -> None:
    runs = events // len(template)
    with open(path, "w") as out:
        out.write("[\n")
        for index in range(runs):
            for position, line in enumerate(template):
                event = json.loads(line)
                event["ts"] = index * 10_000 + position
                last = index == runs - 1 and position == len(template) - 1
                out.write(json.dumps(event) + ("\n" if last else ",\n"))
        out.write("]\n")


def measure(mode: str, path: Path, repeat: int = 3) -> dict[str, float]:
    code = MEASURE.format(paths=[str(ROOT), str(ROOT / "remote")])
    samples = [json.loads(subprocess.run([sys.executable, "-c", code, mode, str(path)],
                                         capture_output=True, text=True, check=True).stdout)
               for _ in range(repeat)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = real_run_lines(folder)
        small, large = folder / "100k.json", folder / "1m.json"
        write_trace(small, template, 100_000)
        write_trace(large, template, 1_000_000)
        print(f"event line size: {statistics.mean(map(len, template)):.0f} bytes; "
              f"files: {small.stat().st_size / 1e6:.0f} MB, {large.stat().st_size / 1e6:.0f} MB")
        stream_small = measure("stream", small)
        load_small = measure("load", small)
        stream_large = measure("stream", large, repeat=1)
        print(f"100k events, streaming aggregate: {stream_small['seconds']:.2f} s "
              f"(goal < 1 s), RSS {stream_small['rss_mb']:.0f} MB")
        print(f"100k events, json.load baseline:  {load_small['seconds']:.2f} s, "
              f"RSS {load_small['rss_mb']:.0f} MB; ratio stream/load "
              f"{stream_small['seconds'] / load_small['seconds']:.2f}")
        print(f"1M events, streaming aggregate:   {stream_large['seconds']:.2f} s, "
              f"RSS {stream_large['rss_mb']:.0f} MB (baseline would hold the whole file)")
        print(f"| trace parse 100k | {stream_small['seconds']:.2f} s | json.load "
              f"{load_small['seconds']:.2f} s | 1M: {stream_large['seconds']:.1f} s, "
              f"{stream_large['rss_mb']:.0f} MB RSS |")


if __name__ == "__main__":
    main()
