"""How close and how reproducible are estimates? This machine, over repeated runs.

    python benchmarks/bench_estimate.py [--models mobilenetv2 resnet18 resnet50]
                                        [--repeats 5] [--calibrations 3] [--runs 40]
                                        [--quick] [--no-emulated]  (--repeats 0: part 1 alone)
                                        [--keep DIR | --from DIR]
                                        [--emulated-only] [--emulated-repeats N]
                                        [--emulated-runs 3] [--emulated-budget 2]

``--quick`` is a look in a few minutes (six at load 4, with the emulated board):
two repeats, shorter calibrations, fewer runs, MobileNetV2 alone on the emulated
board with one run less.

Part 1, calibration: ``--calibrations`` calibrations in a row, each class's
ceiling and the spread between them (± half the range over the midpoint),
with each calibration's own spread (between the stretches of its runs) and
its runs' jitter (fast against slow runs), each job's ceiling, the load and the share of its
cores other processes took. The GEMM class is also calibrated on one thread
pinned to one core beside it, to tell the kernel's variation from that of
the second core's availability.

Part 2, estimates: ``--repeats`` times, calibrate, then per model profile it
with onnxruntime and compare four estimates of it with the measurement:

* ``one ceiling``: the baseline, as estimates were before per-class ceilings:
  one GFLOP/s (the GEMM class) for every compute layer, one GB/s (the
  elementwise class) for every memory-bound one;
* ``per class, one shape``: each layer at its kernel class's ceiling at the
  class's one main shape, as before 2026-11-30 (the same calibration, its
  other shapes left out);
* ``per class, interpolated``: each GEMM and convolution layer at the rate
  interpolated between the two calibrated shapes either side of its
  arithmetic intensity, as before 2026-11-30 (``intensity_rule="interpolate"``);
* ``per class``: each layer at its kernel class's calibrated ceiling, at the
  layer's arithmetic intensity for GEMM and convolution layers, on the line
  fitted through the class's calibrated shapes (the estimate's default);
* ``other models``: the history of this run's profiles of the *other* models
  (rates per class and shape they reached), calibrated ceilings where it has
  none: how well a device's history predicts a model it has not run;
* ``same model``: the whole history but this repeat's profile of the model,
  so earlier repeats' profiles of it too (from the second repeat on).

Each row gives the median over repeats and the [min, max] of: the ratio
estimate / measured of the total, the median per-layer |error|, the rank
correlation (Spearman) of per-layer times, and how often the measured total
fell inside the estimate's error bar. Spearman ranks tied layers at the mean
of their ranks; the column "ties in layer order" gives it as this script did
before 2026-11-30 (tied estimates ranked by their place in the model), for
comparison with older tables. ``--layers [MODEL ...]`` prints the last
repeat's per-layer table of the per-class and same-model estimates: class,
shapes, FLOPs, bytes, intensity, measured and estimated time, both ranks and
the ceiling each layer was costed at. ``--one-shape`` calibrates each class
at one shape, as before. Then the goal table: per model and
estimate, in how many repeats each goal held (total within ±15 %, median
per-layer error at most 15 %, Spearman at least 0.9), met when all did.

The noise ceiling, row ``measured vs measured``: each repeat's measurement of
a model taken as the "estimate" of the next repeat's, with the same figures:
the best any estimate can reach on this machine at this load. The goal table
prints it beside every estimate of the model.

``--keep DIR`` saves every repeat's calibration and measured profiles in
DIR/repeat-N/; ``--from DIR`` measures nothing and runs part 2's comparison
again on them (seconds): estimation rules compared on identical data.

Part 3, the emulated board's layer shares (unless ``--no-emulated``): the
emulated Raspberry Pi 5 (its root prebuilt under WORKBENCH_EMULATOR_DIR, a
board of this script's own) is calibrated (``--emulated-budget`` seconds per
class; used whether accepted or not, and said which), then profiles
MobileNetV2 ``--emulated-repeats`` times (``--repeats`` by default) with a
few runs. Per profile, three estimates' per-layer shares are compared with
the measured ones: the board's datasheet figures, the emulated board's
calibration, and that with the earlier profiles as history; median per-layer
|error| of the shares, Spearman, and the goal held per profile. Emulated
times are qemu's, not a board's: only a calibration made under qemu can
predict them, and shares are what the goal asks of them.

The history is a temporary folder, so the user's is neither read nor written.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

VARIANTS = ("one ceiling", "per class, one shape", "per class, interpolated", "per class",
            "other models", "same model")
#: one repeat's measurement taken as the estimate of the next one's: the noise ceiling
NOISE = "measured vs measured"


def ranks(values: list[float]) -> list[float]:
    """Each value's rank from 0; equal values share the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for place in range(start, end + 1):
            out[order[place]] = (start + end) / 2
        start = end + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation: Pearson's of the ranks, ties sharing their mean rank.

    Until 2026-11-30 ties were ranked in layer order, which scored an estimate
    that gives equal layers equal times (ResNet's repeated blocks) by the
    order of the model's nodes.
    """
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return cov / var if var else math.nan


def spearman_layer_order(a: list[float], b: list[float]) -> float:
    """The rank correlation as this script gave it before: ties ranked in layer order."""
    def in_order(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, index in enumerate(order):
            out[index] = float(rank)
        return out

    ra, rb = in_order(a), in_order(b)
    mean = (len(a) - 1) / 2
    cov = sum((x - mean) * (y - mean) for x, y in zip(ra, rb, strict=True))
    var = sum((x - mean) ** 2 for x in ra)
    return cov / var if var else math.nan


def layer_table(name: str, variant: str, estimate: Any, measured: Any) -> None:
    """Per layer, measured against estimated, with what the estimate knew of it.

    Sorted by measured time; ``rank`` is the layer's place by measured and by
    estimated time (0 the longest), so the layers out of order stand out.
    """
    from workbench.targets import compare_estimate

    table = compare_estimate(estimate, measured).table.dropna(
        subset=["measured_us", "estimate_us"])
    rows = {r["name"]: r for r in estimate.layers}
    measured_us, estimate_us = list(table["measured_us"]), list(table["estimate_us"])
    by_measured = ranks([-v for v in measured_us])
    by_estimate = ranks([-v for v in estimate_us])
    print(f"\n{name}, {variant}: per layer (measured order; rank measured/estimated)\n")
    print("| layer | class | input, weight | MFLOP | MB | FLOP/B | measured µs | estimate µs | "
          "ratio | rank | ceiling used |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    order = sorted(range(len(measured_us)), key=lambda i: -measured_us[i])
    for i in order:
        nodes = [n.strip() for n in str(table["original_nodes"].iloc[i]).split(",")]
        mine = [rows[n] for n in nodes if n in rows]
        main = max(mine, key=lambda r: r["duration_us"]["median"]) if mine else {}
        flops = sum(2 * (r.get("macs") or 0) for r in mine)
        moved = sum(r.get("bytes") or 0 for r in mine)
        shapes = "; ".join("x".join(map(str, s)) for s in (main.get("input_shapes") or [])[:2]
                           if isinstance(s, list))
        print(f"| {table['layer'].iloc[i]} | {main.get('kernel_class', '?')} | {shapes} | "
              f"{flops / 1e6:.1f} | {moved / 1e6:.2f} | "
              f"{flops / moved if moved else 0:.0f} | {measured_us[i]:.0f} | "
              f"{estimate_us[i]:.0f} | {estimate_us[i] / measured_us[i]:.2f} | "
              f"{by_measured[i]:.0f}/{by_estimate[i]:.0f} | {main.get('ceiling', '')} |")


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
    measured_us, estimate_us = list(table["measured_us"]), list(table["estimate_us"])
    # shares of the matched layers' sum: what survives emulation, where times do not
    share_errors = [abs((e / sum(estimate_us)) / (m / sum(measured_us)) - 1) * 100
                    for m, e in zip(measured_us, estimate_us, strict=True) if m > 0]
    return {"ratio": found.overall["ratio"],
            "layer_error": statistics.median(errors) if errors else math.nan,
            "share_error": statistics.median(share_errors) if share_errors else math.nan,
            "rho": spearman(measured_us, estimate_us),
            "rho_layer_order": spearman_layer_order(measured_us, estimate_us),
            "inside": float(bool(found.within)),
            "bar": found.overall.get("error_bar_pct", math.nan)}


def span(values: list[float], digits: int = 2) -> str:
    good = [v for v in values if not math.isnan(v)]
    if not good:
        return "–"
    return (f"{statistics.median(good):.{digits}f} [{min(good):.{digits}f}, "
            f"{max(good):.{digits}f}]")


def calibrations_in_a_row(count: int, budget: float, shapes: bool) -> None:
    import warnings

    from workbench.jobs import calibrate
    from workbench.targets.kernels import CLASSES

    found, single = [], []
    last_core = max(os.sched_getaffinity(0))
    for _ in range(count):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found.append(calibrate("local", time_budget_s=budget, store=False, shapes=shapes))
            single.append(calibrate("local", classes=["gemm"], time_budget_s=budget,
                                    store=False, cores=[last_core], shapes=False,
                                    options={"intra_op_threads": 1}))
        c = found[-1]
        print(f"calibration: accepted={c.accepted} spread ±{c.spread_pct:.1f}% load "
              f"{c.conditions.get('loadavg_1m')} others' CPU share "
              f"{c.conditions.get('others_cpu_share')}, of the cores used "
              f"{c.conditions.get('others_share_of_cores_used')}: "
              + ", ".join(f"{x} (runs ±{x.run_spread_pct or math.nan:.0f}%)"
                          for x in c.ceilings.values()), flush=True)
    print("\n| class | ceilings in a row | spread between them | each one's spread "
          "(stretches) | each one's run jitter (p10 vs p90) | each one's jobs |"
          "\n| --- | --- | --- | --- | --- | --- |")
    rows = [(name, [c.ceilings[name] for c in found]) for name in CLASSES]
    for name in CLASSES:
        for place, first in enumerate(found[0].shapes.get(name, ())):
            rows.append((f"{name} at {first.shape} ({first.intensity or 0:.0f} FLOP/B)",
                         [c.shapes[name][place] for c in found]))
    rows.append(("gemm, 1 thread on one core", [c.ceilings["gemm"] for c in single]))
    for name, ceilings in rows:
        rates = [c.rate for c in ceilings]
        print(f"| {name} | {', '.join(f'{r:.1f}' for r in rates)} {ceilings[0].unit} | "
              f"±{spread(rates):.1f}% | "
              f"{', '.join(f'±{c.spread_pct:.1f}%' for c in ceilings)} | "
              f"{', '.join(f'±{c.run_spread_pct or math.nan:.0f}%' for c in ceilings)} | "
              + "; ".join("/".join(f"{r:.0f}" for r in c.job_rates) or "–" for c in ceilings)
              + " |")
    print(f"accepted: {sum(c.accepted for c in found)}/{len(found)}")


GOALS = (("total within ±15 %", lambda r: abs(r["ratio"] - 1) <= 0.15),
         ("median per-layer error ≤ 15 %", lambda r: r["layer_error"] <= 15),
         ("Spearman ≥ 0.9", lambda r: r["rho"] >= 0.9))


def goal_table(results: dict[tuple[str, str], list[dict[str, float]]],
               models: list[str]) -> None:
    """Per model and estimate, in how many repeats each goal held, beside the noise
    ceiling: the Spearman and per-layer error of one measurement against the next."""
    print("\nGoal: each held in every repeat (repeats where it held / repeats); the noise "
          "ceiling is one repeat's measurement against the next one's (median [min, max])\n")
    print("| model | estimate | " + " | ".join(g for g, _ in GOALS) + " | goal | "
          "noise ceiling: Spearman | noise ceiling: per-layer error % |")
    print("| --- | --- | " + " | ".join("---" for _ in GOALS) + " | --- | --- | --- |")
    for name in models:
        noise = results.get((name, NOISE), [])
        ceiling = (f"{span([r['rho'] for r in noise])} | "
                   f"{span([r['layer_error'] for r in noise], 0)}")
        for variant in VARIANTS:
            rows = results.get((name, variant), [])
            if not rows:
                continue
            held = [sum(bool(test(r)) for r in rows) for _, test in GOALS]
            cells = " | ".join(f"{h}/{len(rows)}" for h in held)
            met = "met" if all(h == len(rows) for h in held) else "missed"
            print(f"| {name} | {variant} | {cells} | {met} | {ceiling} |")


def private_emulator_dir() -> None:
    """Point WORKBENCH_EMULATOR_DIR at a folder of this run's own, sharing the prebuilt root.

    Its board's state and log stay there, so starting and stopping it never
    touches a board someone else started from the shared folder.
    """
    from workbench import emulator

    shared = emulator.emulator_dir()
    mine = Path(tempfile.mkdtemp(prefix="bench-estimate-emulator-"))
    for name in ("rootfs", "keys", "qemu-user", "build.json"):
        if (shared / name).exists():
            (mine / name).symlink_to(shared / name)
    os.environ["WORKBENCH_EMULATOR_DIR"] = str(mine)


def emulated_shares(board: str, repeats: int, runs: int, budget: float) -> None:
    """Part 3: MobileNetV2's layer shares on the emulated board against its estimates."""
    import workbench as wb
    from workbench import emulator, history
    from workbench.jobs import calibrate
    from workbench.targets import get
    from workbench.targets.observations import Observations

    private_emulator_dir()
    if not emulator.is_built():
        print("\nemulated board: not built (bash tests/setup.sh builds it); skipped")
        return
    try:
        state = emulator.start(board)
    except wb.errors.WorkbenchError as exc:
        print(f"\nemulated board: cannot start here ({exc}); skipped")
        return
    try:
        device = wb.connect(state["device"])
        model = wb.load_model("zoo:mobilenetv2")
        began = time.monotonic()
        # used whether accepted or not (said below): qemu's jitter is wide
        ceilings = calibrate(device, time_budget_s=budget, store=False, attempts=1)
        took = time.monotonic() - began
        measured = [wb.profile(model, device=device, warmup=1, runs=runs, profile_runs=runs)
                    for _ in range(repeats)]
        history.wait_saved()
        target = get(board)
        device_name = measured[0].device_name
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for place, profile in enumerate(measured):
            found = {"datasheet": target.estimate(model),
                     "calibrated": target.estimate(model, ceilings=ceilings)}
            if place:  # the earlier profiles are the history of this one
                found["same model"] = target.estimate(model, ceilings=ceilings,
                                                      observations=Observations.of(
                    device_name, [p.document for p in measured[:place]]))
                results.setdefault(("mobilenetv2", NOISE), []).append(
                    between_measurements(measured[place - 1], profile))
            for variant, estimate in found.items():
                results.setdefault(("mobilenetv2", variant), []).append(
                    figures(estimate, profile))
        print(f"\nemulated {board} (qemu), MobileNetV2: calibrated there in {took:.0f} s "
              f"(accepted={ceilings.accepted}, spread ±{ceilings.spread_pct:.0f}%: "
              f"{', '.join(str(c) for c in ceilings.ceilings.values())}), then profiled "
              f"{repeats} times with {runs} timed and {runs} profiled runs; "
              f"load {load_now():.2f}")
        print("\n| model | estimate | profiles | median per-layer share error % | "
              "Spearman of layer times | median per-layer time error % | "
              "ratio est/measured |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for (_, variant), rows in results.items():
            print(f"| mobilenetv2 (emulated) | {variant} | {len(rows)} | "
                  f"{span([r['share_error'] for r in rows], 0)} | "
                  f"{span([r['rho'] for r in rows])} | "
                  f"{span([r['layer_error'] for r in rows], 0)} | "
                  f"{span([r['ratio'] for r in rows])} |")
        print("\nGoal on the emulated board's shares, in every profile: median per-layer share "
              "error at most 15 % and Spearman at least 0.9\n")
        print("| estimate | share error ≤ 15 % | Spearman ≥ 0.9 | goal |")
        print("| --- | --- | --- | --- |")
        for (_, variant), rows in results.items():
            if variant == NOISE:
                continue
            shares = sum(r["share_error"] <= 15 for r in rows)
            ranked = sum(r["rho"] >= 0.9 for r in rows)
            met = "met" if shares == ranked == len(rows) else "missed"
            print(f"| {variant} | {shares}/{len(rows)} | {ranked}/{len(rows)} | {met} |")
    finally:
        emulator.stop(board)


@dataclasses.dataclass
class Repeat:
    """One repeat of part 2: its calibration, each model's measured profile, the load."""

    calibration: Any
    measured: dict[str, Any]
    load: float


def measure(args: argparse.Namespace) -> list[Repeat]:
    """Part 2's measurements: per repeat, a calibration, then a profile of each model."""
    import warnings

    import workbench as wb
    from workbench import history
    from workbench.jobs import calibrate

    models = {name: wb.load_model(f"zoo:{name}") for name in args.models}
    runs = []
    for repeat in range(args.repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ceilings = calibrate("local", time_budget_s=args.budget, store=False,
                                 shapes=not args.one_shape)
        measured, loads = {}, []
        for name, model in models.items():
            loads.append(load_now())
            measured[name] = wb.profile(model, runs=args.runs, profile_runs=args.profile_runs)
        history.wait_saved()
        runs.append(Repeat(ceilings, measured, statistics.median(loads)))
        print(f"repeat {repeat + 1}: load {loads[-1]:.2f}, calibration spread "
              f"±{ceilings.spread_pct:.1f}% (accepted={ceilings.accepted})", flush=True)
    return runs


def keep(folder: Path, runs: list[Repeat], args: argparse.Namespace) -> None:
    """Save each repeat's calibration and profiles under ``folder``/repeat-N/."""
    import json

    for place, run in enumerate(runs):
        where = folder / f"repeat-{place + 1}"
        where.mkdir(parents=True, exist_ok=True)
        (where / "calibration.json").write_text(json.dumps(run.calibration.to_dict()))
        for name, profile in run.measured.items():
            (where / f"{name}.json").write_text(json.dumps(profile.document))
        (where / "run.json").write_text(json.dumps(
            {"load": run.load, "board": args.board, "one_shape": args.one_shape,
             "runs": args.runs, "profile_runs": args.profile_runs, "budget": args.budget}))
    print(f"kept in {folder}: {len(runs)} repeats (--from {folder} compares them again)")


def kept(folder: Path) -> list[Repeat]:
    """The repeats :func:`keep` saved under ``folder``, in order."""
    import json

    from workbench.profiling import Profile
    from workbench.targets.calibration import Calibration

    places = sorted(folder.glob("repeat-*"), key=lambda p: int(p.name.split("-")[1]))
    if not places:
        sys.exit(f"{folder}: no repeat-N folders (bench_estimate.py --keep DIR saves them)")
    runs = []
    for where in places:
        calibration = Calibration.from_dict(json.loads((where / "calibration.json").read_text()))
        measured = {path.stem: Profile.load(path) for path in sorted(where.glob("*.json"))
                    if path.stem not in ("calibration", "run")}
        load = float(json.loads((where / "run.json").read_text())["load"])
        runs.append(Repeat(calibration, measured, load))
    return runs


def between_measurements(first: Any, second: Any) -> dict[str, float]:
    """The figures of one measurement taken as the estimate of another of the same model:
    the best any estimate can do against measurements this noisy."""
    from workbench.profiling.compare import compare as compare_profiles

    found = compare_profiles([second, first])
    frame = found.to_dataframe()
    table = frame[[found.time_column(0), found.time_column(1)]].dropna()
    measured_us, other_us = list(table.iloc[:, 0]), list(table.iloc[:, 1])
    errors = [abs(o / m - 1) * 100 for m, o in zip(measured_us, other_us, strict=True) if m > 0]
    share_errors = [abs((o / sum(other_us)) / (m / sum(measured_us)) - 1) * 100
                    for m, o in zip(measured_us, other_us, strict=True) if m > 0]
    ratio = float(first.latency["median"]) / float(second.latency["median"])
    return {"ratio": ratio, "layer_error": statistics.median(errors) if errors else math.nan,
            "share_error": statistics.median(share_errors) if share_errors else math.nan,
            "rho": spearman(measured_us, other_us),
            "rho_layer_order": spearman_layer_order(measured_us, other_us),
            "inside": math.nan, "bar": math.nan}


def compare(runs: list[Repeat], models: dict[str, Any], args: argparse.Namespace
            ) -> tuple[dict[tuple[str, str], list[dict[str, float]]],
                       list[tuple[str, dict[str, Any], Any]]]:
    """Every estimate of every repeat against its measurement, and the noise ceiling.

    Deterministic given the repeats, so a kept run (``--from``) gives the same
    figures as the run that measured it.
    """
    from workbench.targets import get
    from workbench.targets.calibration import Calibration
    from workbench.targets.observations import Observations

    target = get(args.board)
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    tables: list[tuple[str, dict[str, Any], Any]] = []
    for repeat, run in enumerate(runs):
        ceilings = run.calibration
        single = Calibration(ceilings.device, {k: v for k, v in ceilings.ceilings.items()
                                               if k in ("gemm", "elementwise")},
                             ceilings.threads, ceilings.created)
        for name, model in models.items():
            measured = run.measured[name]
            device = measured.device_name
            # the history as it stood after this repeat's profiles were saved; the
            # profile being predicted left out
            others = Observations.of(device, [
                r.measured[m].document for r in runs[:repeat + 1] for m in models if m != name])
            same = Observations.of(device, [
                r.measured[m].document for place, r in enumerate(runs[:repeat + 1])
                for m in models if m != name or place < repeat])
            estimates = {
                "one ceiling": target.estimate(model, ceilings=single),
                "per class, one shape": target.estimate(
                    model, ceilings=dataclasses.replace(ceilings, shapes={})),
                "per class, interpolated": target.estimate(
                    model, ceilings=dataclasses.replace(ceilings, intensity_rule="interpolate")),
                "per class": target.estimate(model, ceilings=ceilings),
                "other models": target.estimate(model, ceilings=ceilings, observations=others),
                "same model": target.estimate(model, ceilings=ceilings, observations=same)
                if repeat else None}
            for variant, estimate in estimates.items():
                if estimate is not None:
                    results.setdefault((name, variant), []).append(figures(estimate, measured))
            if repeat:
                results.setdefault((name, NOISE), []).append(
                    between_measurements(runs[repeat - 1].measured[name], measured))
            if args.layers is not None and repeat == len(runs) - 1 and (
                    not args.layers or name in args.layers):
                tables.append((name, estimates, measured))
    return results, tables


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mobilenetv2", "resnet18", "resnet50"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calibrations", type=int, default=3)
    # the measurement each estimate is judged against: at 20 + 10 runs it moved 10-12 % per
    # layer between repeats, at 40 + 30 about 3 % (RESULTS.md, 2026-11-30, sixth part)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--profile-runs", type=int, default=30)
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds of timed runs per calibration class")
    parser.add_argument("--board", default="aws-graviton3",
                        help="catalog board whose structure is used; its peaks are replaced")
    parser.add_argument("--quick", action="store_true",
                        help="two repeats, two calibrations in a row, fewer runs")
    parser.add_argument("--no-emulated", action="store_true",
                        help="leave out the emulated board's layer shares")
    parser.add_argument("--emulated-only", action="store_true",
                        help="part 3 alone: the emulated board's layer shares")
    parser.add_argument("--emulated-runs", type=int, default=3,
                        help="timed and profiled runs per profile on the emulated board")
    parser.add_argument("--emulated-repeats", type=int, default=0,
                        help="profiles on the emulated board (default: --repeats)")
    parser.add_argument("--emulated-budget", type=float, default=2.0,
                        help="seconds of timed runs per class calibrating the emulated board")
    parser.add_argument("--layers", nargs="*", default=None, metavar="MODEL",
                        help="print the last repeat's per-layer table of these models "
                        "(every model when none is named): per class and same model")
    parser.add_argument("--one-shape", action="store_true",
                        help="calibrate each class at one shape, as before 2026-11-30")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="save part 2's calibrations and measured profiles in DIR")
    parser.add_argument("--from", dest="from_dir", type=Path, default=None, metavar="DIR",
                        help="measure nothing: compare the estimates with the calibrations "
                        "and profiles --keep saved in DIR")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.calibrations = min(args.repeats, 2), min(args.calibrations, 2)
        args.runs, args.profile_runs, args.budget = 10, 5, 0.5
        args.emulated_runs, args.emulated_budget = 2, 1.0
    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-estimate-")
    started = time.monotonic()

    import workbench as wb

    if args.emulated_only:
        emulated_shares("raspberry-pi-5", max(1, args.emulated_repeats or args.repeats),
                        args.emulated_runs, args.emulated_budget)
        print(f"\n{time.monotonic() - started:.0f} s in all; load after: {load_now():.2f}")
        return
    if args.from_dir is None:
        print(f"load before: {load_now():.2f} (1 min), {os.cpu_count()} cores")
        if args.calibrations:
            calibrations_in_a_row(args.calibrations, args.budget, not args.one_shape)
        runs = measure(args)
        if not runs:  # --repeats 0: the calibrations in a row alone
            print(f"\n{time.monotonic() - started:.0f} s in all; load after: {load_now():.2f}")
            return
        if args.keep is not None:
            keep(args.keep, runs, args)
    else:
        runs = kept(args.from_dir)
        args.models = [m for m in args.models if all(m in r.measured for r in runs)]
        print(f"kept run {args.from_dir}: {len(runs)} repeats of "
              f"{', '.join(args.models)}, measured at load "
              f"{', '.join(f'{r.load:.2f}' for r in runs)}")
    models = {name: wb.load_model(f"zoo:{name}") for name in args.models}
    results, tables = compare(runs, models, args)
    loads = [r.load for r in runs]
    print(f"\nload (1 min) while measuring: median {statistics.median(loads):.2f}, "
          f"range {min(loads):.2f}-{max(loads):.2f}\n")
    print("| model | estimate | repeats | ratio est/measured | median per-layer |error| % | "
          "median per-layer share error % | Spearman | Spearman, ties in layer order "
          "(as before) | inside error bar | error bar ± % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models:
        for variant in (*VARIANTS, NOISE):
            rows = results.get((name, variant), [])
            if not rows:
                continue
            inside = ("–" if variant == NOISE
                      else f"{sum(r['inside'] for r in rows):.0f}/{len(rows)}")
            print(f"| {name} | {variant} | {len(rows)} | {span([r['ratio'] for r in rows])} | "
                  f"{span([r['layer_error'] for r in rows], 0)} | "
                  f"{span([r['share_error'] for r in rows], 0)} | "
                  f"{span([r['rho'] for r in rows])} | "
                  f"{span([r['rho_layer_order'] for r in rows])} | {inside} | "
                  f"{span([r['bar'] for r in rows], 0)} |")
    goal_table(results, args.models)
    for name, estimates, profile in tables:
        for variant in ("per class", "same model"):
            if estimates.get(variant) is not None:
                layer_table(name, variant, estimates[variant], profile)
    if not args.no_emulated and args.from_dir is None:
        emulated_shares("raspberry-pi-5", max(1, args.emulated_repeats or args.repeats),
                        args.emulated_runs, args.emulated_budget)
    print(f"\n{time.monotonic() - started:.0f} s in all; load after: {load_now():.2f}")


if __name__ == "__main__":
    main()
