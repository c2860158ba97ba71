"""The check of a runner result on the host, after a warm job: the schema's walk of every
layer row (the baseline, as before 2026-11-30's fourth round) against the job's check,
which leaves out rows that surely meet the schema. Same result, same process.

    python benchmarks/bench_runner_check.py [--model zoo:mobilenetv2] [--repeats 7]

Prints the medians of ``--repeats`` batches of 10 checks and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]


def main() -> None:
    import workbench as wb
    from workbench import formats
    from workbench.jobs import build

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="zoo:mobilenetv2")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    seen: dict[str, Any] = {}
    finish = build.finish

    def keep(prepared: Any, result: dict[str, Any]) -> Any:
        seen["result"] = result
        return finish(prepared, result)

    build.finish = keep  # type: ignore[assignment]
    wb.profile(args.model, warmup=1, runs=3, profile_runs=2)
    result = seen["result"]

    def walked(r: dict[str, Any]) -> None:
        rows = [formats._times_checked(row, f"layers/{i}", None)
                for i, row in enumerate(r["layers"])]
        formats.validate(dict(r, layers=rows), formats.RUNNER)

    def median_ms(check: Callable[[dict[str, Any]], None]) -> float:
        batches = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for _ in range(10):
                check(result)
            batches.append((time.perf_counter() - start) / 10 * 1e3)
        return statistics.median(batches)

    print(f"{args.model}: {len(result['layers'])} layer rows; load {os.getloadavg()[0]:.2f}")
    baseline, now = median_ms(walked), median_ms(formats.validate_runner)
    print(f"schema walk of every row: {baseline:.2f} ms; job's check: {now:.2f} ms; "
          f"ratio {now / baseline:.2f}")


if __name__ == "__main__":
    main()
