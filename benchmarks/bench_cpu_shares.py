"""Who takes the cores beside a local job: other processes, over the timed runs and over
the whole job, and the host's own Python. This machine, a fresh process.

    python benchmarks/bench_cpu_shares.py [--jobs 8] [--budget 0.5]

Runs the GEMM calibration model ``--jobs`` times through the normal profile path
(``runs="auto"`` for ``--budget`` seconds, as a calibration job does; the first job
of the process is the cold one) and prints, per job, the three shares its
conditions record: other processes' share of the cores used over the timed runs
(what a calibration is refused on), the same over the whole job (the baseline,
measured in the same job: imports and session creation included) and the share of
the process that started the agent (this one). Then the medians, the ratio of
timed-runs share to whole-job share, and the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any


def shares(conditions: dict[str, Any]) -> tuple[float, float, float]:
    def share(key: str) -> float:
        value = conditions.get(key)
        return float(value) if isinstance(value, (int, float)) else float("nan")

    return (share("other_processes_share_of_cores_used"),
            share("other_processes_share_of_cores_used_whole_job"),
            share("parent_process_share_of_cores_used"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--budget", type=float, default=0.5)
    args = parser.parse_args()

    from workbench.jobs import profile
    from workbench.models import load_model
    from workbench.targets.calibration import class_model

    model = load_model(class_model("gemm"))
    model.name = "calibrate-gemm"
    rows = []
    print(f"load before: {os.getloadavg()[0]:.2f}")
    for number in range(1, args.jobs + 1):
        found = profile(model, device="local", warmup=20, runs="auto", auto_ci_pct=1.0,
                        time_budget_s=args.budget, profile_runs=0, label=model.name)
        conditions = (found.document.get("environment") or {}).get("conditions") or {}
        timed, whole, host = shares(conditions)
        rows.append((timed, whole, host))
        print(f"job {number}: over {conditions.get('cpu_shares_over')}: others {timed:.3f}, "
              f"whole job {whole:.3f}, host {host:.3f}", flush=True)
    timed_m, whole_m, host_m = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"medians: others over the timed runs {timed_m:.3f}, over the whole job "
          f"{whole_m:.3f} (ratio {timed_m / whole_m if whole_m else float('nan'):.2f}), "
          f"host {host_m:.3f}; first job: {rows[0][0]:.3f} against {rows[0][1]:.3f}; "
          f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
