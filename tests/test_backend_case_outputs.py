"""Inputs and outputs pass through the harness unchanged: cases of the onnx package's own
backend test data, profiled with their inputs and compared with their expected outputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import workbench as wb

DATA = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"


def _arrays(case: Path, prefix: str) -> list[np.ndarray]:
    files = sorted((case / "test_data_set_0").glob(f"{prefix}_*.pb"))
    return [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files]


@pytest.mark.parametrize("case", [
    "pytorch-operator/test_operator_sqrt",  # NaN among the outputs
    "pytorch-converted/test_Embedding",  # int64 indices given, not drawn
    "simple/test_single_relu_model",
])
def test_a_backend_case_profiles_to_its_expected_outputs(case: str) -> None:
    folder = DATA / case
    model = wb.load_model(folder / "model.onnx", upgrade_opset=True)
    inputs = dict(zip([t.name for t in model.inputs], _arrays(folder, "input"), strict=True))
    profile = wb.profile(model, inputs=inputs, warmup=0, runs=1, profile_runs=0,
                         keep_outputs=True)
    names = [str(o["name"]) for o in profile.outputs]
    for name, want in zip(names, _arrays(folder, "output"), strict=True):
        np.testing.assert_allclose(profile.output_values(name), want, rtol=1e-3, atol=1e-5,
                                   equal_nan=True)
