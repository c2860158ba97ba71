"""Do per-layer time shares survive emulation? Rank correlation, emulated vs native.

Profiles zoo models on this machine (native) and on the emulated Raspberry Pi 5
(aarch64 onnxruntime under qemu-user). The two graphs differ (x86 rewrites
into NCHWc, Arm fuses Conv+activation), so layers are compared per original
node: each row's time is shared out over the nodes it covers in proportion to
their MACs (elementwise-only rows evenly). Then Spearman's rank correlation of
the shares of the nodes that do arithmetic (Conv, Gemm, MatMul), the overlap of
the top five, and the emulated/native wall-time ratio.

    python benchmarks/bench_emulated_shares.py [--models small-cnn,mobilenetv2,resnet18]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def node_shares(profile, model) -> dict[str, float]:  # type: ignore[no-untyped-def]
    macs = {n.name: n.macs for n in model.nodes}
    shares: dict[str, float] = {}
    for row in profile.layers:
        nodes = row["original_nodes"]
        if not nodes:
            continue
        weights = [macs.get(n, 0) for n in nodes]
        total = sum(weights)
        for node, weight in zip(nodes, weights, strict=True):
            part = weight / total if total else 1 / len(nodes)
            shares[node] = shares.get(node, 0.0) + row["share"] * part
    return shares


def spearman(a: list[float], b: list[float]) -> float:
    import numpy as np

    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        result = np.empty(len(values))
        result[order] = np.arange(len(values))
        return result

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="small-cnn,mobilenetv2,resnet18")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile-runs", type=int, default=5)
    args = parser.parse_args()
    import workbench as wb
    from workbench import emulator

    if not emulator.is_built():
        emulator.build()
    state = emulator.start("raspberry-pi-5")
    try:
        for name in args.models.split(","):
            model = wb.load_model(f"zoo:{name}")
            settings = dict(warmup=1, runs=args.runs, profile_runs=args.profile_runs)
            native = wb.profile(model, **settings)
            emulated = wb.profile(model, device=state["device"], **settings)
            a, b = node_shares(native, model), node_shares(emulated, model)
            # Compare nodes that do arithmetic (Conv/Gemm/MatMul): fused activations and
            # normalisations carry no MACs and would only add tied zeros.
            heavy = {n.name for n in model.nodes if n.macs > 0}
            common = sorted(set(a) & set(b) & heavy)
            rho = spearman([a[n] for n in common], [b[n] for n in common])
            slow = emulated.latency["median"] / native.latency["median"]
            top_native = sorted(common, key=a.__getitem__, reverse=True)[:5]
            top_emulated = sorted(common, key=b.__getitem__, reverse=True)[:5]
            overlap = len(set(top_native) & set(top_emulated))
            print(f"| {name} | {len(common)} nodes | Spearman {rho:.2f} | top-5 overlap "
                  f"{overlap}/5 | emulated/native median latency {slow:.0f}x |")
    finally:
        emulator.stop("raspberry-pi-5")


if __name__ == "__main__":
    main()
