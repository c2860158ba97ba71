"""int8 against fp32 through one sweep with a model axis: latency and accuracy per variant.

    python benchmarks/bench_sweep_models.py [--model small-cnn] [--device local]
                                            [--rounds 3] [--runs 20]

Each round is one ``workbench.sweep(model, over={"model": ["fp32", "int8"]})``:
both variants run in one agent process on the device, fp32 first (the
baseline, same run). Prints per variant the median of the rounds' median
latencies, the int8/fp32 ratio, and each variant's agreement with the fp32
model on the host (``Sweep.accuracy()``, last round).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="small-cnn")
    parser.add_argument("--device", default="local")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_HISTORY", "off")

    import workbench as wb

    device = wb.connect(args.device)
    medians: dict[str, list[float]] = {}
    table = None
    for _ in range(args.rounds):
        swept = wb.sweep(f"zoo:{args.model}", device=device, over={"model": ["fp32", "int8"]},
                         warmup=3, runs=args.runs)
        table = swept.accuracy()
        for _, row in table.iterrows():
            medians.setdefault(str(row["model"]), []).append(float(row["median_ms"]))
    assert table is not None
    fp32, int8 = (statistics.median(v) for v in medians.values())
    accuracy = ", ".join(f"{row['model']} {row['metric']} {row['accuracy']:.3f}"
                         for _, row in table.iterrows())
    rounds = "; ".join(f"{name} " + ", ".join(f"{v:.2f}" for v in values)
                       for name, values in medians.items())
    print(f"| {args.model} | {args.device} | fp32 {fp32:.2f} ms | int8 {int8:.2f} ms | ratio "
          f"{int8 / fp32:.2f} | {accuracy} | rounds {rounds} |")


if __name__ == "__main__":
    main()
