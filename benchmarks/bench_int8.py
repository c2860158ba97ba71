"""int8 (QDQ, static, per-channel) against fp32 latency, onnxruntime, this machine.

    python benchmarks/bench_int8.py [--models mobilenetv2 small-cnn] [--rounds 3] [--runs 30]
                                    [--device local] [--threads 0]

Each model is quantised once with ``workbench.quantize`` (calibrated on 8
generated inputs; ``zoo:digits`` on its training split); each round profiles
the fp32 model (the baseline, same run) and its int8 version through
``workbench.profile`` on the device, alternating, so drift on a shared
machine hits both alike. Prints the median of the rounds' median latencies,
the int8/fp32 ratio, the sizes, and the int8 model's agreement with fp32
(top-1, cosine) from ``compare_outputs`` on the last round. ``digits`` is fed
its held-out test split (450 samples, one batch), and its real top-1
accuracy is printed for both models, as measured on the device.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mobilenetv2", "small-cnn"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--device", default="local")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_HISTORY", "off")

    import numpy as np

    import workbench as wb
    from workbench.accuracy import top1_accuracy
    from workbench.models.zoo import digits_test_split

    options = {"intra_op_threads": args.threads}
    for name in args.models:
        fp32 = wb.load_model(f"zoo:{name}")
        rng = np.random.default_rng(0)
        feeds = None if name == "digits" else [
            {t.name: rng.uniform(-1, 1, [d if isinstance(d, int) else 1 for d in t.shape or []])
             .astype(np.float32) for t in fp32.inputs} for _ in range(8)]
        int8 = wb.quantize(fp32, calibration=feeds)
        medians: dict[str, list[float]] = {"fp32": [], "int8": []}
        last: dict[str, wb.Profile] = {}
        inputs = {"pixels": digits_test_split()[0]} if name == "digits" else None
        for _ in range(args.rounds):
            for key, model in (("fp32", fp32), ("int8", int8)):
                p = wb.profile(model, device=args.device, options=options, warmup=5,
                               runs=args.runs, profile_runs=0, keep_outputs=True, inputs=inputs)
                medians[key].append(p.latency["median"])
                last[key] = p
        base = statistics.median(medians["fp32"])
        m = statistics.median(medians["int8"])
        details = (int8.derived_from or {})["details"]
        row = wb.compare_outputs(last["int8"]).rows[0]
        if name == "digits":
            labels = digits_test_split()[1]
            print(f"| digits top-1 on {args.device} | fp32 "
                  f"{top1_accuracy(last['fp32'], labels, 'logits'):.2%} | int8 "
                  f"{top1_accuracy(last['int8'], labels, 'logits'):.2%} |")
        print(f"| {name} | {args.device} | fp32 {base:.2f} ms | int8 {m:.2f} ms | ratio "
              f"{m / base:.2f} | size {details['size_bytes_before'] / 1e6:.2f} -> "
              f"{details['size_bytes_after'] / 1e6:.2f} MB | top-1 agreement "
              f"{row.get('top1_agreement')} | cosine {row.get('cosine'):.4f} | rounds fp32 "
              f"{', '.join(f'{v:.2f}' for v in medians['fp32'])}; int8 "
              f"{', '.join(f'{v:.2f}' for v in medians['int8'])} |")


if __name__ == "__main__":
    main()
