"""The ONNX package's own backend test cases, profiled through the workbench and checked.

Each case of ``onnx/backend/test/data/{pytorch-converted,pytorch-operator,simple}``
ships a model and ``test_data_set_0`` with its inputs and expected outputs. Every
case is loaded (``upgrade_opset=True``: most are opset 6), fixed to its inputs'
shapes, profiled on the local device with those inputs and ``keep_outputs``, and
its outputs are compared with the expected ones (onnx's backend-test tolerance,
rtol 1e-3, atol 1e-7, loosened to 1e-5 for float noise). The baseline, in the same run, is
onnxruntime run directly in this process on the same (converted) model: a case the
baseline passes and the workbench fails means the harness changed the data.

Outputs over the runner's kept-value limit come back as a sha256 only; they count as
passed when that hash equals the direct run's and the direct run matches.

    .venv/bin/python benchmarks/bench_backend_cases.py [--only NAME] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

import workbench as wb
from workbench import errors

SUITES = ("pytorch-converted", "pytorch-operator", "simple")
RTOL, ATOL = 1e-3, 1e-5


def _cases() -> list[Path]:
    root = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"
    return [Path(p).parent for suite in SUITES
            for p in sorted(glob.glob(str(root / suite / "*" / "model.onnx")))]


def _arrays(folder: Path, prefix: str) -> list[np.ndarray]:
    files = sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    return [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files]


def _close(got: np.ndarray, want: np.ndarray) -> str | None:
    """None when equal within tolerance, else what differs."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != expected {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != expected {want.dtype}"
    if np.issubdtype(want.dtype, np.floating):
        if np.allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True):
            return None
        return f"max abs difference {float(np.nanmax(np.abs(got - want))):.3g}"
    return None if np.array_equal(got, want) else "values differ"


def _direct(model: wb.Model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model.runnable_path()), options)
    return [np.asarray(v) for v in session.run(None, feeds)]


def run_case(folder: Path) -> dict[str, Any]:
    """One case: the workbench's verdict, the direct run's, and the reason of a failure."""
    name = f"{folder.parent.name}/{folder.name}"
    data = folder / "test_data_set_0"
    inputs, expected = _arrays(data, "input"), _arrays(data, "output")
    entry: dict[str, Any] = {"case": name, "opset": None, "workbench": "fail", "direct": "fail",
                             "reason": ""}
    try:
        model = wb.load_model(folder / "model.onnx", upgrade_opset=True)
        entry["opset"] = model.converted_from_opset or model.opset
        names = [t.name for t in model.inputs]
        feeds = dict(zip(names, inputs, strict=True))
        if model.symbolic_dims:
            try:
                model = model.with_shapes({n: list(a.shape) for n, a in feeds.items()})
            except errors.InvalidOptionValue:  # an empty (size 0) input: arrays need no fixing
                pass
    except (errors.WorkbenchError, ValueError) as exc:
        entry["reason"] = f"load: {exc}"
        return entry
    try:
        direct = _direct(model, feeds)
        problems = [p for p in map(_close, direct, expected) if p]
        entry["direct"] = "pass" if not problems and len(direct) == len(expected) else "fail"
    except Exception as exc:  # the baseline's own failure is recorded, not raised
        direct, entry["direct"] = [], f"error: {str(exc).splitlines()[0][:120]}"
    try:
        profile = wb.profile(model, inputs=feeds, warmup=0, runs=1, profile_runs=1,
                             keep_outputs=True, options={"intra_op_threads": 1})
    except errors.WorkbenchError as exc:
        entry["reason"] = f"profile: {exc.what.strip().splitlines()[0]}"
        return entry
    reasons = []
    outputs = profile.to_dict()["outputs"] or []
    for index, (got, want) in enumerate(zip(outputs, expected, strict=False)):
        if got.get("values") is not None:
            problem = _close(profile.output_values(str(got["name"])), want)
        elif index < len(direct) and got["sha256"] == hashlib.sha256(
                np.ascontiguousarray(direct[index]).tobytes()).hexdigest():
            problem = None if entry["direct"] == "pass" else "direct run differs from expected"
        else:
            problem = "large output differs from the direct run"
        if problem:
            reasons.append(f"output {got['name']}: {problem}")
    if len(outputs) != len(expected):
        reasons.append(f"{len(outputs)} outputs, expected {len(expected)}")
    entry["workbench"] = "pass" if not reasons else "fail"
    entry["reason"] = "; ".join(reasons)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="run the cases whose name contains this")
    parser.add_argument("--json", default=None, help="write every case's verdict here")
    args = parser.parse_args()
    cases = [c for c in _cases() if not args.only or args.only in str(c)]
    started = time.perf_counter()
    results = [run_case(case) for case in cases]
    took = time.perf_counter() - started
    for result in results:
        if result["workbench"] != "pass" or result["direct"] != "pass":
            print(f"{result['case']}: workbench {result['workbench']}, direct "
                  f"{result['direct']}: {result['reason']}")
    passed = sum(r["workbench"] == "pass" for r in results)
    direct = sum(r["direct"] == "pass" for r in results)
    print(f"cases {len(results)}; converted from opset < 7: "
          f"{sum((r['opset'] or 99) < 7 for r in results)}")
    print(f"workbench pass {passed}/{len(results)}; direct onnxruntime pass {direct}/"
          f"{len(results)}; ratio {passed / max(direct, 1):.3f}; {took:.0f} s")
    by_suite = Counter(r["case"].split("/")[0] for r in results if r["workbench"] == "pass")
    print("passed per suite: " + ", ".join(f"{k} {v}" for k, v in sorted(by_suite.items())))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
