"""The same model on two runtimes, this machine: onnxruntime (ONNX) vs LiteRT (its .tflite twin).

    python benchmarks/bench_backends.py [--models mobilenetv2 resnet18] [--rounds 3] [--runs 30]

Each round profiles every (model, backend) pair through ``workbench.profile``
on the local device with the same threads (all cores), alternating the
backends so drift on this shared machine hits both alike; prints the median
of the rounds' median latencies and the ratio against onnxruntime (the
baseline, same run). The twins carry the same weights, so outputs agree
(see tests/litert); this measures only the runtimes' kernels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

BACKENDS = {
    "onnxruntime": ("", "onnxruntime", {}),
    "litert xnnpack": (".tflite", "litert", {"xnnpack": True}),
    "litert builtin kernels": (".tflite", "litert", {"xnnpack": False}),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mobilenetv2", "resnet18"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_HISTORY", "off")

    import workbench as wb

    for name in args.models:
        medians: dict[str, list[float]] = {key: [] for key in BACKENDS}
        for _ in range(args.rounds):
            for key, (suffix, backend, options) in BACKENDS.items():
                p = wb.profile(f"zoo:{name}{suffix}", backend=backend, options=options,
                               warmup=5, runs=args.runs, profile_runs=0)
                medians[key].append(p.latency["median"])
        base = statistics.median(medians["onnxruntime"])
        for key, values in medians.items():
            m = statistics.median(values)
            print(f"| {name} | {key} | {m:.2f} ms | ratio {m / base:.2f} vs onnxruntime "
                  f"{base:.2f} ms | rounds {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
