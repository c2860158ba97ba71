"""Models below opset 7: refused with the way out, or converted on request and said so.

The cases come from the onnx package itself (its backend test data, opset 6, with
inputs and expected outputs), so they are real exports, not built here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import workbench as wb
from tests.test_cli import workbench
from workbench import errors

CASE = Path(os.path.dirname(onnx.__file__)) / "backend/test/data/pytorch-converted/test_Conv2d"


def _array(name: str) -> np.ndarray:
    return numpy_helper.to_array(onnx.load_tensor(str(CASE / "test_data_set_0" / name)))


def test_an_opset_6_model_is_refused_with_the_flag_that_converts_it() -> None:
    with pytest.raises(errors.UnsupportedOpset, match="opset 6") as caught:
        wb.load_model(CASE / "model.onnx")
    assert "upgrade_opset=True" in caught.value.hint and "--upgrade-opset" in caught.value.hint


def test_a_converted_model_says_so_and_its_profile_matches_the_expected_outputs() -> None:
    model = wb.load_model(CASE / "model.onnx", upgrade_opset=True)
    assert model.opset == 13 and model.converted_from_opset == 6
    assert "converted from opset 6 to 13" in model.source
    assert any("onnx.version_converter" in w for w in model.warnings)
    assert model.runnable_path() != CASE / "model.onnx"  # the user's file is left alone
    (name,) = [t.name for t in model.inputs]
    profile = wb.profile(model, inputs={name: _array("input_0.pb")}, warmup=0, runs=1,
                         profile_runs=1, keep_outputs=True)
    document = profile.to_dict()
    assert document["model"]["converted_from_opset"] == 6
    np.testing.assert_allclose(profile.output_values(), _array("output_0.pb"), rtol=1e-3,
                               atol=1e-5)


def test_a_model_the_converter_cannot_convert_is_refused_naming_the_op() -> None:
    graph = helper.make_graph(
        [helper.make_node("Scan", ["x"], ["y"], num_scan_inputs=1)], "old",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    proto.ir_version = 3
    with pytest.raises(errors.UnsupportedOpset, match=r"cannot convert.*Scan"):
        wb.load_model(proto, upgrade_opset=True)


def test_the_command_line_converts_with_upgrade_opset(tmp_path: Path) -> None:
    refused = workbench("inspect", str(CASE / "model.onnx"))
    assert refused.returncode == 2 and "--upgrade-opset" in refused.stderr
    done = workbench("inspect", str(CASE / "model.onnx"), "--upgrade-opset")
    assert done.returncode == 0, done.stderr
    assert "opset 13" in done.stdout and "converted from opset 6" in done.stdout
