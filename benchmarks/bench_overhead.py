"""Harness overhead: workbench's median latency vs a bare ``session.run`` loop.

Both run MobileNetV2 (zoo) with the same session options, warm-up and run
count, in fresh processes, alternating, in the same run of this script; the
ratio of medians is the overhead (goal <= 1.03).

    python benchmarks/bench_overhead.py [--rounds 5] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = [str(ROOT), str(ROOT / "remote")]

BARE = """
import sys, time, statistics, json
import numpy as np, onnxruntime as ort
path, warmup, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
session = ort.InferenceSession(path, ort.SessionOptions(), providers=["CPUExecutionProvider"])
x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
session.run(None, {"input": x})
for _ in range(warmup):
    session.run(None, {"input": x})
times = []
for _ in range(runs):
    start = time.perf_counter()
    session.run(None, {"input": x})
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps(statistics.median(times)))
"""

WORKBENCH = """
import sys, json
sys.path[:0] = {paths!r}
import workbench as wb
p = wb.profile(sys.argv[1], warmup=int(sys.argv[2]), runs=int(sys.argv[3]), profile_runs=0)
print(json.dumps(p.latency["median"]))
"""


def one(code: str, *args: str) -> float:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    sys.path[:0] = PATHS
    from workbench.models import load_model

    path = str(load_model("zoo:mobilenetv2").runnable_path())
    bare, harness = [], []
    for _ in range(args.rounds):
        bare.append(one(BARE, path, str(args.warmup), str(args.runs)))
        harness.append(one(WORKBENCH.format(paths=PATHS), path, str(args.warmup), str(args.runs)))
    ratio = statistics.median(harness) / statistics.median(bare)
    ratios = [h / b for h, b in zip(harness, bare, strict=False)]
    print(f"bare session.run median of medians: {statistics.median(bare):.2f} ms {bare}")
    print(f"workbench profile median of medians: {statistics.median(harness):.2f} ms {harness}")
    print(f"ratio workbench/bare: {ratio:.3f} (per round: {', '.join(f'{r:.3f}' for r in ratios)};"
          f" goal <= 1.03)")
    print(f"| harness overhead (MobileNetV2, {args.runs} runs x {args.rounds} rounds) | "
          f"{ratio:.3f} | bare {statistics.median(bare):.2f} ms | "
          f"workbench {statistics.median(harness):.2f} ms |")


if __name__ == "__main__":
    main()
