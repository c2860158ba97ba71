"""The cost of a per-layer diff run against a plain profile, onnxruntime.

    python benchmarks/bench_diff.py [--models small-cnn mobilenetv2] [--rounds 3]
                                    [--device local] [--runs 10]

Each round runs the same job twice through ``workbench.profile``, alternating:
the baseline (``keep_outputs=True``, no per-layer profiling) and the same job
with ``diff=True`` (one more session on the optimised graph with its tensors
exposed, one run, the tensors described and sent back). Prints the median of
the rounds' wall times (host clock, connect to profile), the ratio, the
device's own time for the diff step (``intermediates.elapsed_ms``, median)
against the plain job's wall time, the size
of the intermediates in the profile, how many tensors came back whole or
summarised, and the host's ``diff_layers`` time (reference run included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["small-cnn", "mobilenetv2"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--device", default="local")
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_HISTORY", "off")

    import workbench as wb

    device = wb.connect(args.device)
    for name in args.models:
        model = wb.load_model(f"zoo:{name}")
        walls: dict[bool, list[float]] = {False: [], True: []}
        last = None
        step_ms: list[float] = []
        for _ in range(args.rounds):
            for diff in (False, True):
                start = time.perf_counter()
                profile = wb.profile(model, device=device, warmup=1, runs=args.runs,
                                     profile_runs=0, keep_outputs=True, diff=diff)
                walls[diff].append(time.perf_counter() - start)
                if diff:
                    last = profile
                    step_ms.append(float((profile.intermediates or {})["elapsed_ms"]))
        assert last is not None and last.intermediates is not None
        found = last.intermediates
        size = len(json.dumps(found))
        tensors = found["tensors"]
        summarised = sum(1 for t in tensors if t.get("values_dropped"))
        start = time.perf_counter()
        result = wb.diff_layers(last)
        host_s = time.perf_counter() - start
        base, with_diff = statistics.median(walls[False]), statistics.median(walls[True])
        jump = result.first_jump
        print(f"| {name} | {args.device} | plain {base:.2f} s | diff {with_diff:.2f} s | ratio "
              f"{with_diff / base:.2f} | diff step on the device "
              f"{statistics.median(step_ms) / 1000:.2f} s = "
              f"{statistics.median(step_ms) / 1000 / base:.2f} of plain | "
              f"{len(tensors)} tensors ({summarised} summarised), "
              f"{len(found['skipped'])} skipped | {size / 1e6:.2f} MB | diff_layers "
              f"{host_s:.2f} s | same graph {found['graph_equals_timed']} | first jump "
              f"{jump['layer'] if jump else None} | rounds plain "
              f"{', '.join(f'{v:.2f}' for v in walls[False])}; diff "
              f"{', '.join(f'{v:.2f}' for v in walls[True])} |")


if __name__ == "__main__":
    main()
