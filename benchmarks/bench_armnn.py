"""Arm NN, LiteRT and onnxruntime on the emulated Raspberry Pi 5, lined up layer by layer.

EMULATED TIMES ARE NOT REAL SPEEDS: qemu-user translates every NEON instruction,
so which runtime is faster here says nothing about a real Cortex-A76. What this
shows is that the three runtimes' profiles line up: onnxruntime runs
zoo:mobilenetv2 (ONNX), Arm NN (CpuAcc) and LiteRT (XNNPACK) run its .tflite twin,
and every Arm NN row names the ONNX nodes it stands for, so shares are compared
per ONNX node (each row's share spread over its nodes by MACs, as in
bench_emulated_shares.py). LiteRT has per-layer rows only where the board has the
benchmark_model tool (the emulated root has not): its latency is still compared.

Baseline: onnxruntime, measured in the same run. Per round, each backend gets
``--runs`` timed runs and one profiled run; the figures are medians over rounds.

    WORKBENCH_EMULATOR_DIR=... python benchmarks/bench_armnn.py [--rounds 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote"), str(ROOT / "benchmarks")]

CASES = (("onnxruntime", "zoo:mobilenetv2"), ("armnn", "zoo:mobilenetv2.tflite"),
         ("litert", "zoo:mobilenetv2.tflite"))


def main() -> None:
    from bench_emulated_shares import node_shares, spearman

    import workbench as wb
    from workbench import emulator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    emulator.check_supported()
    if not emulator.is_built():
        emulator.build()
    state = emulator.start("raspberry-pi-5")
    try:
        device = wb.connect(state["device"])
        medians: dict[str, list[float]] = {name: [] for name, _ in CASES}
        last: dict[str, wb.Profile] = {}
        for _ in range(args.rounds):
            for backend, model in CASES:
                profile = wb.profile(model, device=device, backend=backend, warmup=1,
                                     runs=args.runs, profile_runs=1)
                medians[backend].append(profile.document["latency"]["stats"]["median"])
                last[backend] = profile
    finally:
        emulator.stop("raspberry-pi-5")

    print("EMULATED (qemu-user, cortex-a76): these times are not real speeds; they show the "
          "three runtimes lined up, not which is faster on hardware.")
    base = statistics.median(medians["onnxruntime"])
    for backend, _ in CASES:
        value = statistics.median(medians[backend])
        print(f"{backend:12s} median latency {value:9.1f} ms  ratio to onnxruntime "
              f"{value / base:5.2f}  (rounds: {', '.join(f'{v:.0f}' for v in medians[backend])})")

    onnx_model = wb.load_model("zoo:mobilenetv2")
    twin = wb.load_model("zoo:mobilenetv2.tflite")
    ort_shares = node_shares(last["onnxruntime"], onnx_model)
    armnn_rows = [{**row, "original_nodes": row.get("reference_nodes") or []}
                  for row in last["armnn"].layers]
    armnn_shares = node_shares(_Rows(armnn_rows), onnx_model)
    heavy = [n.name for n in onnx_model.nodes if n.op_type in ("Conv", "Gemm")
             and n.name in ort_shares and n.name in armnn_shares]
    print(f"Arm NN rows: {len(last['armnn'].layers)} for {len(twin.nodes)} TFLite operators; "
          f"ONNX nodes lined up with onnxruntime: {len(set(ort_shares) & set(armnn_shares))} "
          f"of {len(onnx_model.nodes)}")
    rho = spearman([armnn_shares[n] for n in heavy], [ort_shares[n] for n in heavy])
    print(f"per-node share rank correlation, Conv/Gemm nodes (n={len(heavy)}): Arm NN vs "
          f"onnxruntime {rho:.3f}")
    print(f"LiteRT per-layer rows on this board: {len(last['litert'].layers)} "
          "(0: no benchmark_model tool in the emulated root)")
    kernels = sorted({k["name"] for row in last["armnn"].layers for k in row.get("kernels", [])})
    print(f"Arm Compute Library kernels seen: {len(kernels)}, e.g. {', '.join(kernels[:4])}")


class _Rows:
    """A profile-like holder of layer rows, for node_shares."""

    def __init__(self, layers: list[dict[str, object]]) -> None:
        self.layers = layers


if __name__ == "__main__":
    main()
