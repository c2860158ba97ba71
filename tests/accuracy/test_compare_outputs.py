"""compare_outputs: a profile's outputs against a reference made on the host."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench import errors
from workbench.profiling.agreement import output_errors


@pytest.fixture(scope="module")
def cnn_profile() -> wb.Profile:
    return wb.profile("zoo:small-cnn", warmup=0, runs=2, profile_runs=0, keep_outputs=True)


def test_an_onnx_model_agrees_with_onnxruntime_fp32_on_the_host(cnn_profile: wb.Profile) -> None:
    result = wb.compare_outputs(cnn_profile)
    row = result.rows[0]
    assert "onnxruntime" in result.reference and "host" in result.reference
    assert row["max_abs_error"] < 1e-4 and row["cosine"] > 0.9999
    assert row["top1_agreement"] == 1.0 and row["top5_agreement"] == 1.0
    assert any("random weights" in note for note in result.notes)
    assert list(result.to_dataframe()["output"]) == [o["name"] for o in cnn_profile.outputs]


def test_error_figures_follow_their_definitions() -> None:
    expected = np.array([[1.0, 2.0, 3.0, 4.0, 0.5, 0.1]], np.float32)
    actual = expected.copy()
    actual[0, 3] = 2.0  # the top class drops to second place
    row = output_errors(actual, expected)
    noise = float(np.sum((expected - actual) ** 2))
    assert row["max_abs_error"] == 2.0
    assert row["mean_abs_error"] == pytest.approx(2.0 / 6)
    assert row["snr_db"] == pytest.approx(10 * math.log10(float(np.sum(expected ** 2)) / noise))
    assert row["cosine"] == pytest.approx(float(np.dot(actual.ravel(), expected.ravel()) / (
        np.linalg.norm(actual) * np.linalg.norm(expected))))
    assert row["top1_agreement"] == 0.0 and row["top5_agreement"] == 1.0


def test_nan_where_the_reference_has_a_number_is_counted_not_averaged() -> None:
    expected = np.array([1.0, 2.0, 3.0], np.float32)
    actual = np.array([1.0, np.nan, 3.0], np.float32)
    row = output_errors(actual, expected)
    assert row["nonfinite_mismatch"] == 1 and row["max_abs_error"] == 0.0


def test_a_changed_output_shows_in_the_figures(cnn_profile: wb.Profile) -> None:
    name = cnn_profile.outputs[0]["name"]
    values = cnn_profile.output_values(name)
    shifted = values.copy()
    shifted.reshape(-1)[int(values.argmax())] -= 100.0
    row = wb.compare_outputs(cnn_profile, {name: shifted}).row(name)
    assert row["max_abs_error"] == pytest.approx(100.0, rel=1e-4)
    assert row["top1_agreement"] == 0.0


def test_a_profile_can_be_the_reference_when_both_ran_on_the_same_inputs(
        cnn_profile: wb.Profile) -> None:
    again = wb.profile("zoo:small-cnn", warmup=0, runs=1, profile_runs=0, keep_outputs=True)
    assert wb.compare_outputs(cnn_profile, again).rows[0]["max_abs_error"] < 1e-5


def test_profiles_that_ran_on_other_inputs_are_refused_as_references(
        cnn_profile: wb.Profile) -> None:
    other = wb.profile("zoo:small-cnn", warmup=0, runs=1, profile_runs=0, keep_outputs=True,
                       inputs={"input": {"seed": 7}})
    with pytest.raises(errors.ReferenceUnavailable, match="different inputs"):
        wb.compare_outputs(cnn_profile, other)


def test_inputs_that_do_not_rebuild_to_the_recorded_hash_are_refused(
        cnn_profile: wb.Profile) -> None:
    document = cnn_profile.to_dict()
    document["inputs"][0]["sha256"] = "0" * 64
    with pytest.raises(errors.ReferenceUnavailable, match="sha256 differs"):
        wb.compare_outputs(wb.Profile(document))


def test_an_array_input_is_found_in_the_host_cache_or_must_be_given(tmp_path: Path) -> None:
    from tests.conftest import conv_relu_model

    model = conv_relu_model(tmp_path / "conv.onnx")
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    profile = wb.profile(model, warmup=0, runs=1, profile_runs=0, keep_outputs=True,
                         inputs={"x": x})
    assert wb.compare_outputs(profile).rows[0]["max_abs_error"] < 1e-4
    document = profile.to_dict()
    document["inputs"][0]["sha256"] = "f" * 64  # no cached array has this hash
    with pytest.raises(errors.ReferenceUnavailable, match="input cache"):
        wb.compare_outputs(wb.Profile(document))


def test_a_profile_without_kept_outputs_says_how_to_get_them() -> None:
    profile = wb.profile("zoo:small-cnn", warmup=0, runs=1, profile_runs=0)
    with pytest.raises(errors.OutputsMissing, match="keep_outputs"):
        wb.compare_outputs(profile)


def test_a_model_that_is_not_the_one_the_job_ran_is_refused(cnn_profile: wb.Profile) -> None:
    with pytest.raises(errors.ReferenceUnavailable, match="not the one the profile ran"):
        wb.compare_outputs(cnn_profile, model="zoo:mlp")


def test_an_unknown_reference_is_refused(cnn_profile: wb.Profile) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not a reference"):
        wb.compare_outputs(cnn_profile, "gpu")


def test_fp32_needs_a_quantised_model(cnn_profile: wb.Profile) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="fp32 source"):
        wb.compare_outputs(cnn_profile, "fp32")


def test_a_tflite_twin_is_checked_against_its_onnx_source_with_layouts_transposed() -> None:
    pytest.importorskip("ai_edge_litert")
    profile = wb.profile("zoo:small-cnn.tflite", backend="litert", warmup=0, runs=1,
                         profile_runs=0, keep_outputs=True)
    result = wb.compare_outputs(profile)
    assert "ONNX model" in result.reference
    assert any("NHWC" in note for note in result.notes)
    row = result.rows[0]
    assert row["cosine"] > 0.9999 and row["top1_agreement"] == 1.0


def test_a_tflite_file_without_an_onnx_source_is_checked_against_litert_without_xnnpack(
        tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    from workbench.models.zoo import twin_path

    file = tmp_path / "cnn.tflite"
    file.write_bytes(twin_path("small-cnn").read_bytes())
    profile = wb.profile(file, backend="litert", warmup=0, runs=1, profile_runs=0,
                         keep_outputs=True)
    result = wb.compare_outputs(profile)
    assert "LiteRT" in result.reference and "XNNPACK off" in result.reference
    assert result.rows[0]["max_abs_error"] < 1e-4
