"""Listing the history: the SQLite index against reading every saved profile, same run.

    python benchmarks/bench_history.py [--profiles 1000] [--repeat 5]

Saves N realistic profiles (a MobileNetV2-sized layer table and one run's
trace each) into a temporary history, then times ``history.entries(device=...)``
against the baseline a folder-only store would need: load every JSON file
and filter. Prints medians and their ratio.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="wb-history-bench-")

    from tests.profiling.conftest import make_document
    from workbench import history
    from workbench.profiling import Profile

    template = make_document()
    template["layers"] = [copy.deepcopy(template["layers"][i % 7]) for i in range(100)]
    for i, layer in enumerate(template["layers"]):
        layer["name"] = f"layer_{i}"
    template["trace"]["events"] = template["trace"]["events"] * 15
    start = time.perf_counter()
    for i in range(args.profiles):
        document = copy.deepcopy(template)
        document["device"]["name"] = f"pi{i % 10}"
        document["created"] = f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
        history.save(Profile(document))
    save_s = (time.perf_counter() - start) / args.profiles
    size = sum(p.stat().st_size for p in history.folder().glob("*.json")) / args.profiles

    def indexed() -> int:
        return len(history.entries(device="pi3"))

    def scanned() -> int:
        found = 0
        for path in history.folder().glob("*.json"):
            if json.loads(path.read_text())["device"]["name"] == "pi3":
                found += 1
        return found

    assert indexed() == scanned()
    index_t, scan_t = [], []
    for _ in range(args.repeat):
        for fn, out in ((indexed, index_t), (scanned, scan_t)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    i, s = statistics.median(index_t), statistics.median(scan_t)
    print(f"{args.profiles} profiles of {size / 1024:.0f} KiB; save {save_s * 1000:.1f} ms each")
    print(f"filtered listing: index {i * 1000:.1f} ms, reading every file {s * 1000:.0f} ms, "
          f"ratio {s / i:.0f}x")
    print(f"| history listing, {args.profiles} profiles | {i * 1000:.1f} ms | scan {s * 1000:.0f}"
          f" ms ({s / i:.0f}x) |")


if __name__ == "__main__":
    main()
