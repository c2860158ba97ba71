"""How close are roofline estimates to measured profiles? This machine, calibrated ceilings.

    python benchmarks/bench_estimate.py [--models mobilenetv2 resnet18] [--runs 30]

Calibrates this machine (achieved MatMul GFLOP/s and streaming-Add GB/s),
estimates each zoo model with those ceilings, fused (activations and
BatchNormalization inside the Conv before them, as runtimes do) and node by
node (the baseline, same run), profiles the model with onnxruntime, and
prints the overall ratio estimate / measured, the median per-layer error and
the rank correlation of per-layer times.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, index in enumerate(order):
            out[index] = float(rank)
        return out

    ra, rb = ranks(a), ranks(b)
    n = len(a)
    mean = (n - 1) / 2
    cov = sum((x - mean) * (y - mean) for x, y in zip(ra, rb, strict=True))
    var = sum((x - mean) ** 2 for x in ra)
    return cov / var if var else math.nan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mobilenetv2", "resnet18"])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--board", default="aws-graviton3",
                        help="catalog board whose structure is used; its peaks are replaced")
    args = parser.parse_args()

    import workbench as wb
    from workbench.jobs import calibrate
    from workbench.targets import compare_estimate, get

    ceilings = calibrate("local")
    print(ceilings)
    target = get(args.board)
    for name in args.models:
        model = wb.load_model(f"zoo:{name}")
        measured = wb.profile(model, runs=args.runs, profile_runs=10)
        for fuse in (True, False):
            estimate = target.estimate(model, ceilings=ceilings, fuse=fuse)
            found = compare_estimate(estimate, measured)
            table = found.table.dropna(subset=["measured_us", "estimate_us"])
            errors = sorted(abs(v) for v in table["error_pct"])
            median_error = errors[len(errors) // 2] if errors else math.nan
            rho = spearman(list(table["measured_us"]), list(table["estimate_us"]))
            print(f"| {name} | {'fused' if fuse else 'node by node'} | "
                  f"{found.overall['estimate_ms']:.2f} ms vs {found.overall['measured_ms']:.2f}"
                  f" ms (ratio {found.overall['ratio']:.2f}) | {len(table)} layers, median "
                  f"|error| {median_error:.0f}% | Spearman {rho:.2f} |")


if __name__ == "__main__":
    main()
