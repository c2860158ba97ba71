"""Outputs travel back safely: NaN and Inf, large outputs as summaries, values on request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench import errors
from workbench.accuracy import profile_inputs


@pytest.fixture(scope="module")
def nan_profile(nan_model: Path) -> wb.Profile:
    return wb.profile(nan_model, warmup=1, runs=3, profile_runs=1, keep_outputs=True)


def test_a_nan_output_survives_the_round_trip_through_a_saved_profile(
        nan_profile: wb.Profile, tmp_path: Path) -> None:
    x = profile_inputs(nan_profile)["x"]
    loaded = wb.Profile.load(nan_profile.save(tmp_path / "nan.json"))
    root = loaded.output_values("root")
    with np.errstate(invalid="ignore"):
        expected = np.sqrt(x)
    assert np.isnan(root).any() and np.isnan(expected).any()
    np.testing.assert_array_equal(root, expected)  # NaN positions and every other value
    assert root.dtype == np.float32 and root.shape == x.shape


def test_an_infinite_output_comes_back_infinite(nan_profile: wb.Profile) -> None:
    inverse = nan_profile.output_values("inverse")
    assert np.isposinf(inverse).all()


def test_output_statistics_count_nan_and_inf_and_describe_the_finite_values(
        nan_profile: wb.Profile) -> None:
    x = profile_inputs(nan_profile)["x"]
    by_name = {o["name"]: o for o in nan_profile.outputs}
    root = by_name["root"]["stats"]
    assert root["nan"] == int((x < 0).sum())
    assert root["finite"] == int((x >= 0).sum())
    assert root["max"] == pytest.approx(float(np.sqrt(x[x >= 0]).max()))
    assert by_name["inverse"]["stats"]["posinf"] == x.size
    assert by_name["inverse"]["stats"]["mean"] is None


def test_the_saved_profile_is_strict_json(nan_profile: wb.Profile) -> None:
    json.loads(nan_profile.to_json(), parse_constant=lambda name: pytest.fail(name))


def test_kept_outputs_are_the_cold_runs_and_say_whether_a_later_run_gave_the_same(
        nan_profile: wb.Profile) -> None:
    assert all(o["repeatable"] for o in nan_profile.outputs)


def test_without_keep_outputs_only_statistics_and_hash_come_back(nan_model: Path) -> None:
    profile = wb.profile(nan_model, warmup=0, runs=1, profile_runs=0)
    entry = profile.outputs[0]
    assert entry["sha256"] and entry["stats"]["count"] == 16 and "values" not in entry
    with pytest.raises(errors.OutputsMissing, match="did not keep outputs"):
        profile.output_values("root")


def test_an_output_over_the_limit_comes_back_summarised_with_a_warning(nan_model: Path) -> None:
    profile = wb.profile(nan_model, warmup=0, runs=1, profile_runs=0, keep_outputs=True,
                         max_output_values=10)
    entry = profile.outputs[0]
    assert entry["values_dropped"] and entry["stats"]["count"] == 16
    warnings = profile.document["warnings"]
    assert any("'root' has 16 values, more than the 10 kept" in w for w in warnings)
    with pytest.raises(errors.OutputsMissing, match="max_output_values"):
        profile.output_values("root")


def test_every_value_comes_back_on_request(tmp_path: Path) -> None:
    from tests.accuracy.conftest import special_values_model

    model = special_values_model(tmp_path / "big.onnx", size=300)  # 90,000 values per output
    profile = wb.profile(model, warmup=0, runs=1, profile_runs=0, keep_outputs=True,
                         max_output_values=None)
    assert profile.output_values("inverse").size == 90_000
    assert not profile.document["warnings"] or not any(
        "more than" in w for w in profile.document["warnings"])


def test_a_negative_output_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="max_output_values"):
        wb.RunSettings(max_output_values=-1)


def test_an_unknown_output_name_is_refused_with_the_names(nan_profile: wb.Profile) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="root, inverse"):
        nan_profile.output_values("logits")


def test_a_plug_in_runners_nan_values_in_a_list_are_made_safe_for_json() -> None:
    from workbench_agent.outputs import make_safe

    result = {"outputs": [{"name": "y", "dtype": "float32", "shape": [3],
                           "values": [1.0, float("nan"), float("-inf")]}]}
    make_safe(result)
    json.dumps(result, allow_nan=False)
    from workbench.profiling.agreement import output_array

    back = output_array(result["outputs"][0])
    assert back is not None and back[0] == 1.0 and np.isnan(back[1]) and np.isneginf(back[2])
    assert result["outputs"][0]["stats"]["nan"] == 1


def test_redacting_a_profile_keeps_its_output_values() -> None:
    import base64

    from tests.profiling.conftest import make_document

    kept = np.array([252, 1, 47, 47], np.uint8)
    values = {"encoding": "base64", "byteorder": "little",
              "data": base64.b64encode(kept.tobytes()).decode()}
    assert values["data"].startswith("/")  # reads like a path to a scrubber
    document = make_document()
    document["outputs"] = [{"name": "y", "dtype": "uint8", "shape": [4], "values": values}]
    redacted = wb.Profile(document).redact()
    np.testing.assert_array_equal(redacted.output_values("y"), kept)


def test_the_released_version_2_fixture_keeps_its_nan_and_inf_values() -> None:
    fixture = Path(__file__).parents[1] / "fixtures" / "formats" / "profile-2-nan-outputs.json"
    profile = wb.Profile.load(fixture)
    root = profile.output_values("root")
    assert int(np.isnan(root).sum()) == profile.outputs[0]["stats"]["nan"] > 0
    assert np.isposinf(profile.output_values("inverse")).all()
