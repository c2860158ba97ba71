"""Fixing free dims of models built like real exports: unnamed and repeated '?' dims, -1
batches, and an If whose branches hold an LSTM; the fixed model profiles with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import helper

import workbench as wb
from tests.models.conftest import make_model, save, weights
from tests.models.wild import HIDDEN, SAMPLES, paddle_like, vad_like
from workbench import errors


@pytest.fixture
def paddle(tmp_path: Path) -> wb.Model:
    return wb.load_model(paddle_like(tmp_path / "paddle.onnx"))


@pytest.fixture
def vad(tmp_path: Path) -> wb.Model:
    return wb.load_model(vad_like(tmp_path / "vad.onnx"))


def test_unnamed_and_placeholder_dims_are_shown_by_the_names_with_shapes_accepts(
        paddle: wb.Model) -> None:
    assert paddle.inputs[0].shape == ["x_dim0", 3, "x_dim2", "x_dim3"]
    assert paddle.symbolic_dims == ["x_dim0", "x_dim2", "x_dim3"]
    fixed = paddle.with_shapes(x_dim0=1, x_dim2=48, x_dim3=192)
    assert fixed.inputs[0].shape == [1, 3, 48, 192]
    assert fixed.outputs[0].shape == [1, 4, 48, 192]
    assert fixed.macs == (1 * 4 * 48 * 192) * 3 * 3 * 3
    assert fixed.symbolic_dims == []


def test_a_dim_by_input_and_axis_and_a_whole_input_fix_the_same_shapes(
        paddle: wb.Model) -> None:
    by_name = paddle.with_shapes(x_dim0=1, x_dim2=48, x_dim3=192)
    by_axis = paddle.with_shapes({"x:0": 1, "x:2": 48, "x:-1": 192})
    whole = paddle.with_shapes(x="1x3x48x192")
    as_list = paddle.with_shapes(x=[1, 3, 48, 192])
    assert {by_axis.sha256, whole.sha256, as_list.sha256} == {by_name.sha256}
    assert by_name.sha256 != paddle.sha256


def test_fixing_some_dims_keeps_the_others_free_and_fixes_compose(paddle: wb.Model) -> None:
    half = paddle.with_shapes({"x:2": 48})
    assert half.symbolic_dims == ["x_dim0", "x_dim3"]
    assert half.with_shapes(x_dim0=1, x_dim3=192).inputs[0].shape == [1, 3, 48, 192]


def test_a_size_for_a_dim_the_model_fixes_must_match_it(paddle: wb.Model) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="fixed at 3"):
        paddle.with_shapes(x="1x4x48x192")
    assert paddle.with_shapes({"x:1": 3}).symbolic_dims == paddle.symbolic_dims


def test_an_unknown_key_lists_the_free_dims_and_the_other_forms(paddle: wb.Model) -> None:
    with pytest.raises(errors.UnknownOption, match="'height'") as caught:
        paddle.with_shapes(height=48)
    assert "x_dim2" in caught.value.hint and "x:0=1" in caught.value.hint
    with pytest.raises(errors.InvalidOptionValue, match="rank 4"):
        paddle.with_shapes({"x:4": 1})
    with pytest.raises(errors.InvalidOptionValue, match="gives 3 dims"):
        paddle.with_shapes(x="1x3x48")


def test_sizes_the_graph_cannot_take_are_refused_plainly(tmp_path: Path) -> None:
    model = wb.load_model(save(make_model(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
        [("x", ["n", "?"])], [("y", ["n", 2])], {"W": weights(4, 2)}), tmp_path / "mm.onnx"))
    assert model.symbolic_dims == ["n", "x_dim1"]
    with pytest.raises(errors.InvalidGraph, match="cannot take x_dim1=5"):
        model.with_shapes(x_dim1=5)
    assert model.with_shapes(n=2, x_dim1=4).outputs[0].shape == [2, 2]


def test_a_model_with_an_lstm_inside_an_if_stays_runnable_once_its_dims_are_fixed(
        vad: wb.Model) -> None:
    import onnxruntime as ort

    fixed = vad.with_shapes({"input": f"1x{SAMPLES}", "state": f"2x1x{HIDDEN}"})
    assert fixed.symbolic_dims == []
    assert fixed.runnable_path().read_bytes() == vad.runnable_path().read_bytes()
    assert fixed.free_dimension_overrides == {"batch": 1}
    # what the device does: the file as loaded, the named dim fixed in the session
    options = ort.SessionOptions()
    options.add_free_dimension_override_by_name("batch", 1)
    session = ort.InferenceSession(str(fixed.runnable_path()), options)
    feeds = {"input": np.ones((1, SAMPLES), np.float32),
             "state": np.zeros((2, 1, HIDDEN), np.float32), "sr": np.array(16000, np.int64)}
    expected = session.run(None, feeds)[0]
    profile = wb.profile(fixed, inputs={"input": feeds["input"], "sr": 16000}, warmup=0, runs=2,
                         profile_runs=1, keep_outputs=True)
    document = profile.to_dict()
    assert document["backend"]["options"]["free_dimension_overrides"] == {"batch": 1}
    assert [i["shape"] for i in document["inputs"]] == [[1, SAMPLES], [2, 1, HIDDEN], []]
    again = wb.profile(fixed, inputs={"input": feeds["input"], "state": {"kind": "zeros"},
                                      "sr": 16000}, warmup=0, runs=1, profile_runs=0,
                       keep_outputs=True)
    np.testing.assert_allclose(again.output_values(), expected,
                               rtol=1e-5, atol=1e-6)


def test_an_int64_scalar_without_a_value_is_refused_naming_it_and_the_flag(
        vad: wb.Model) -> None:
    fixed = vad.with_shapes({"input": f"1x{SAMPLES}", "state": f"2x1x{HIDDEN}"})
    with pytest.raises(errors.InputSpecError, match="'sr' is an int64 scalar") as caught:
        wb.profile(fixed, runs=1, profile_runs=0)
    assert "--input sr=VALUE" in caught.value.hint and "'sr'" in caught.value.hint


def test_the_profile_records_the_value_given_for_a_scalar(vad: wb.Model) -> None:
    fixed = vad.with_shapes({"input": f"1x{SAMPLES}", "state": f"2x1x{HIDDEN}"})
    profile = wb.profile(fixed, inputs={"sr": 8000}, warmup=0, runs=1, profile_runs=0)
    sr = profile.to_dict()["inputs"][2]
    assert sr["name"] == "sr" and sr["spec"]["given"] == "value 8000"
