"""``import workbench`` time (goal < 0.3 s), against bare interpreter start-up, same run.

    python benchmarks/bench_import.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={"PYTHONPATH": f"{ROOT}:{ROOT / 'remote'}", "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    bare, imported = [], []
    for _ in range(args.repeat):
        bare.append(timed("pass"))
        imported.append(timed("import workbench"))
    cost = statistics.median(imported) - statistics.median(bare)
    print(f"interpreter start: {statistics.median(bare) * 1000:.0f} ms; with import workbench: "
          f"{statistics.median(imported) * 1000:.0f} ms; import cost {cost * 1000:.0f} ms "
          f"(goal < 300 ms); ratio {statistics.median(imported) / statistics.median(bare):.2f}")
    start_ms = statistics.median(bare) * 1000
    print(f"| import workbench | {cost * 1000:.0f} ms | start-up {start_ms:.0f} ms |")


if __name__ == "__main__":
    main()
