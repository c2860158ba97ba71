"""Writing the HTML report: its four figures as inline SVG against matplotlib PNGs.

A real profile of MobileNetV2 on this machine (the local device, onnxruntime),
then, alternated in one process for --repeats: the report's four figures as
matplotlib PNGs (what the report embedded before: ``plots.figure_png`` of
latency distribution, top layers, time by op type, time vs MACs) and as the SVG
the report now draws (``views.figures.report_figures``), and the whole report
(``Profile.to_html``). matplotlib is imported and warmed before the first
repeat, as in a keeper that has written a report before. Prints medians with
min-max, the ratio matplotlib/SVG and the sizes of both figure sets.

    python benchmarks/bench_report.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def png_figures(profile: Any) -> list[bytes]:
    """The four figures as the report drew them before: matplotlib, PNG at 100 dpi."""
    from workbench import plots

    return [plots.figure_png(draw(profile)) for draw in (
        plots.latency_distribution, plots.top_layers, plots.time_by_op_type,
        plots.time_vs_macs)]


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def spread(values: list[float]) -> str:
    return (f"median {1e3 * statistics.median(values):.1f} ms "
            f"(min {1e3 * min(values):.1f}, max {1e3 * max(values):.1f}, n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wbr") as tmp:
        os.environ["WORKBENCH_DATA_DIR"] = str(Path(tmp) / "data")
        import workbench as wb
        from workbench.views.figures import report_figures

        profile = wb.profile("zoo:mobilenetv2", device="local", warmup=2, runs=30,
                             profile_runs=3)
        png_figures(profile)  # matplotlib imported, fonts found, caches warm
        report_figures(profile)
        before, after, whole = [], [], []
        for _ in range(args.repeats):
            seconds, pngs = timed(lambda: png_figures(profile))
            before.append(seconds)
            seconds, svgs = timed(lambda: report_figures(profile))
            after.append(seconds)
            whole.append(timed(lambda: profile.to_html(Path(tmp) / "report.html"))[0])
        report = (Path(tmp) / "report.html").stat().st_size
    print(f"profile: {profile.label}, {len(profile.layers)} layers, "
          f"{len(profile.latency_samples)} runs; load average {os.getloadavg()}")
    print(f"four figures, matplotlib PNG (before): {spread(before)}")
    print(f"four figures, inline SVG (now):        {spread(after)}")
    print(f"whole report with SVG figures (to_html): {spread(whole)}")
    ratio = statistics.median(before) / statistics.median(after)
    print(f"ratio matplotlib/SVG, figures: {ratio:.0f}")
    png_size = sum(len(png) * 4 // 3 for png in pngs)  # as base64 in the page
    svg_size = sum(len(svg.encode()) for _, svg in svgs)
    print(f"figures in the page: PNG as base64 {png_size / 1024:.0f} KiB, "
          f"SVG {svg_size / 1024:.0f} KiB; the whole report now {report / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
