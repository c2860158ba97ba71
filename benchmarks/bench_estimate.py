"""How close and how reproducible are estimates? This machine, over repeated runs.

    python benchmarks/bench_estimate.py [--models mobilenetv2 resnet18 resnet50]
                                        [--repeats 5] [--calibrations 3] [--runs 30]

Part 1, calibration: ``--calibrations`` calibrations in a row, each class's
ceiling and the spread between them (± half the range over the midpoint),
with the load and other processes' CPU share each was taken under.

Part 2, estimates: ``--repeats`` times, calibrate, then per model profile it
with onnxruntime and compare four estimates of it with the measurement:

* ``one ceiling``: the baseline, as estimates were before per-class ceilings:
  one GFLOP/s (the GEMM class) for every compute layer, one GB/s (the
  elementwise class) for every memory-bound one;
* ``per class``: each layer at its kernel class's calibrated ceiling;
* ``other models``: the history of this run's profiles of the *other* models
  (rates per class and shape they reached), calibrated ceilings where it has
  none: how well a device's history predicts a model it has not run;
* ``same model``: the whole history but this repeat's profile of the model,
  so earlier repeats' profiles of it too (from the second repeat on).

Each row gives the median over repeats and the [min, max] of: the ratio
estimate / measured of the total, the median per-layer |error|, the rank
correlation (Spearman) of per-layer times, and how often the measured total
fell inside the estimate's error bar. The history is a temporary folder, so
the user's is neither read nor written.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

VARIANTS = ("one ceiling", "per class", "other models", "same model")


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


def load_now() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def spread(values: list[float]) -> float:
    low, high = min(values), max(values)
    return 100.0 * (high - low) / (high + low) if high + low else math.nan


def figures(estimate: Any, measured: Any) -> dict[str, float]:
    from workbench.targets import compare_estimate

    found = compare_estimate(estimate, measured)
    table = found.table.dropna(subset=["measured_us", "estimate_us"])
    errors = [abs(v) for v in table["error_pct"]]
    return {"ratio": found.overall["ratio"],
            "layer_error": statistics.median(errors) if errors else math.nan,
            "rho": spearman(list(table["measured_us"]), list(table["estimate_us"])),
            "inside": float(bool(found.within)),
            "bar": found.overall.get("error_bar_pct", math.nan)}


def span(values: list[float], digits: int = 2) -> str:
    good = [v for v in values if not math.isnan(v)]
    if not good:
        return "–"
    return (f"{statistics.median(good):.{digits}f} [{min(good):.{digits}f}, "
            f"{max(good):.{digits}f}]")


def calibrations_in_a_row(count: int, budget: float) -> None:
    import warnings

    from workbench.jobs import calibrate
    from workbench.targets.kernels import CLASSES

    found = []
    for _ in range(count):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found.append(calibrate("local", time_budget_s=budget, store=False))
        c = found[-1]
        print(f"calibration: accepted={c.accepted} spread ±{c.spread_pct:.1f}% load "
              f"{c.conditions.get('loadavg_1m')} others' CPU share "
              f"{c.conditions.get('others_cpu_share')}: "
              + ", ".join(str(x) for x in c.ceilings.values()))
    print("\n| class | ceilings in a row | spread between them |\n| --- | --- | --- |")
    for name in CLASSES:
        rates = [c.ceilings[name].rate for c in found]
        print(f"| {name} | {', '.join(f'{r:.1f}' for r in rates)} "
              f"{found[0].ceilings[name].unit} | ±{spread(rates):.1f}% |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mobilenetv2", "resnet18", "resnet50"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calibrations", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--budget", type=float, default=2.0,
                        help="seconds of timed runs per calibration class")
    parser.add_argument("--board", default="aws-graviton3",
                        help="catalog board whose structure is used; its peaks are replaced")
    args = parser.parse_args()
    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-estimate-")

    import warnings

    import workbench as wb
    from workbench import history
    from workbench.jobs import calibrate
    from workbench.targets import get
    from workbench.targets.calibration import Calibration
    from workbench.targets.observations import Observations

    print(f"load before: {load_now():.2f} (1 min), {os.cpu_count()} cores")
    calibrations_in_a_row(args.calibrations, args.budget)
    target = get(args.board)
    models = {name: wb.load_model(f"zoo:{name}") for name in args.models}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    loads = []
    for repeat in range(args.repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ceilings = calibrate("local", time_budget_s=args.budget, store=False)
        single = Calibration(ceilings.device, {k: v for k, v in ceilings.ceilings.items()
                                               if k in ("gemm", "elementwise")},
                             ceilings.threads, ceilings.created)
        measured = {}
        for name, model in models.items():
            loads.append(load_now())
            measured[name] = wb.profile(model, runs=args.runs, profile_runs=10)
        history.wait_saved()
        for name, model in models.items():
            others = history.observations("local", exclude_model=name)
            # this repeat's own profile of the model is what is being predicted: left out
            now = str(measured[name].document["created"])
            same = Observations.of("local", [
                e.load().document for e in history.entries(device="local", kind="measured")
                if e.model != name or e.created < now])
            estimates = {
                "one ceiling": target.estimate(model, ceilings=single),
                "per class": target.estimate(model, ceilings=ceilings),
                "other models": target.estimate(model, ceilings=ceilings, observations=others),
                "same model": target.estimate(model, ceilings=ceilings, observations=same)
                if repeat else None}
            for variant, estimate in estimates.items():
                if estimate is not None:
                    results.setdefault((name, variant), []).append(
                        figures(estimate, measured[name]))
        print(f"repeat {repeat + 1}: load {loads[-1]:.2f}, calibration spread "
              f"±{ceilings.spread_pct:.1f}% (accepted={ceilings.accepted})", flush=True)
    print(f"\nload (1 min) while measuring: median {statistics.median(loads):.2f}, "
          f"range {min(loads):.2f}-{max(loads):.2f}\n")
    print("| model | estimate | repeats | ratio est/measured | median per-layer |error| % | "
          "Spearman | inside error bar | error bar ± % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models:
        for variant in VARIANTS:
            rows = results.get((name, variant), [])
            if not rows:
                continue
            print(f"| {name} | {variant} | {len(rows)} | {span([r['ratio'] for r in rows])} | "
                  f"{span([r['layer_error'] for r in rows], 0)} | "
                  f"{span([r['rho'] for r in rows])} | "
                  f"{sum(r['inside'] for r in rows):.0f}/{len(rows)} | "
                  f"{span([r['bar'] for r in rows], 0)} |")


if __name__ == "__main__":
    main()
