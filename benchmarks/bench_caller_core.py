"""Where the thread that calls an onnxruntime session runs, and what it costs a job.

    python benchmarks/bench_caller_core.py [--sessions 16] [--runs 60] [--shape main|21]

On two cores the onnxruntime runner pins the one intra-op thread to the second
core. This script creates ``--sessions`` sessions of the GEMM calibration model
one after the other in one process, set up the same way, alternating: the
calling thread free on both cores (as the runner left it before 2026-11-30),
or kept on the first core (as it does now). Per session it prints the rate of
the 10th-percentile run and in how many runs the caller was found on the
worker's core; then the median and range of each kind and the ratio pinned /
free of the medians and of the slowest sessions (the baseline, free, measured
in the same run).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--shape", choices=["main", "21"], default="main",
                        help="the GEMM class's main shape, or its 21 FLOP/B one")
    args = parser.parse_args()
    if not {0, 1} <= os.sched_getaffinity(0):
        raise SystemExit("needs cores 0 and 1")

    import numpy as np
    import onnxruntime as ort

    from workbench.models import load_model
    from workbench.targets.calibration import class_model, shape_models

    proto = class_model("gemm") if args.shape == "main" else shape_models("gemm")[1]
    flops = 2.0 * load_model(proto).macs
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    feeds = {"x": np.random.default_rng(0).standard_normal(dims).astype(np.float32)}
    core_now = ctypes.CDLL(None).sched_getcpu
    rates: dict[bool, list[float]] = {False: [], True: []}
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min)")
    for index in range(args.sessions):
        pinned = index % 2 == 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.add_session_config_entry("session.intra_op_thread_affinities", "2")  # core 1
        os.sched_setaffinity(0, {0, 1})
        session = ort.InferenceSession(proto.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        os.sched_setaffinity(0, {0} if pinned else {0, 1})
        for _ in range(20):
            session.run(None, feeds)
        times, shared = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            session.run(None, feeds)
            times.append(time.perf_counter() - start)
            shared += core_now() == 1
        os.sched_setaffinity(0, {0, 1})
        rate = flops / (float(np.percentile(times, 10)) * 1e9)
        rates[pinned].append(rate)
        print(f"session {index:2d}, caller {'on core 0' if pinned else 'free     '}: "
              f"{rate:6.1f} GFLOP/s; caller on the worker's core in {shared}/{args.runs} runs",
              flush=True)
        del session
    for pinned, found in rates.items():
        print(f"caller {'on core 0' if pinned else 'free'}: median {statistics.median(found):.1f}"
              f" GFLOP/s (min {min(found):.1f}, max {max(found):.1f}, n={len(found)})")
    median = statistics.median(rates[True]) / statistics.median(rates[False])
    slowest = min(rates[True]) / min(rates[False])
    print(f"ratio caller on core 0 / free: median {median:.2f}, slowest session "
          f"{slowest:.2f}; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
