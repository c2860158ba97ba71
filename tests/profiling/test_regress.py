"""workbench.regress: slower beyond noise, overall and per layer, from the recorded intervals."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from workbench_agent.stats import bootstrap_ci as agent_bootstrap_ci

from workbench.errors import InvalidOptionValue, ProfileError
from workbench.profiling import Profile, summarize
from workbench.profiling.regress import bootstrap_ci, layer_median_ci, regress, t_quantile

Factory = Callable[..., dict[str, Any]]


def with_samples(document: dict[str, Any], samples: list[float]) -> Profile:
    document["latency"]["samples_ms"] = samples
    document["latency"]["stats"] = summarize(samples)
    return Profile(document)


def test_a_run_from_the_same_distribution_is_not_a_regression(
        document_factory: Factory) -> None:
    report = regress(Profile(document_factory(seed=1)), Profile(document_factory(seed=2)))
    assert report.verdict == "same" and not report.regressed
    assert set(report.layers["verdict"]) == {"same"}


def test_a_run_half_again_as_slow_is_a_regression_overall_and_per_layer(
        document_factory: Factory) -> None:
    report = regress(Profile(document_factory(scale=1.5, seed=3)), Profile(document_factory()))
    assert report.regressed and report.verdict == "slower"
    assert report.change == pytest.approx(0.5, abs=0.05)
    assert report.new_ci[0] > report.baseline_ci[1]
    compute = report.layers[report.layers["layer"] != "input_nchwc"]
    assert (compute["verdict"] == "slower").all()
    assert "REGRESSION" in report.summary()


def test_a_faster_run_is_an_improvement_not_a_regression(document_factory: Factory) -> None:
    report = regress(Profile(document_factory(scale=0.6, seed=3)), Profile(document_factory()))
    assert report.verdict == "faster" and not report.regressed
    assert report.change == pytest.approx(-0.4, abs=0.05)


def test_a_change_below_the_threshold_is_not_a_regression_even_when_intervals_separate(
        document_factory: Factory) -> None:
    rng = np.random.default_rng(0)
    base = (10 + 0.01 * rng.standard_normal(200)).tolist()
    new = [v * 1.02 for v in base]
    report = regress(with_samples(document_factory(), new), with_samples(document_factory(), base),
                     threshold=0.05)
    assert report.new_ci[0] > report.baseline_ci[1]  # the intervals are apart...
    assert report.verdict == "same"                   # ...but 2 % is below 5 %
    assert regress(with_samples(document_factory(), new), with_samples(document_factory(), base),
                   threshold=0.01).verdict == "slower"


def test_a_large_change_within_the_noise_is_not_a_regression(document_factory: Factory) -> None:
    rng = np.random.default_rng(1)
    base = (10 * np.exp(0.6 * rng.standard_normal(8))).tolist()
    new = [v * 1.1 for v in (10 * np.exp(0.6 * rng.standard_normal(8))).tolist()]
    report = regress(with_samples(document_factory(), new), with_samples(document_factory(), base))
    assert report.new_ci[0] <= report.baseline_ci[1]
    assert report.verdict == "same"


def test_profiles_of_different_models_are_refused_unless_allowed(
        document_factory: Factory) -> None:
    other = document_factory()
    other["model"]["sha256"] = "ab" * 32
    with pytest.raises(ProfileError, match="different models"):
        regress(Profile(other), Profile(document_factory()))
    report = regress(Profile(other), Profile(document_factory()), allow_different_models=True)
    assert any("different models" in w for w in report.warnings)


def test_differences_in_device_options_and_kind_are_warned(document_factory: Factory) -> None:
    new = document_factory("emulated")
    new["backend"]["options"]["intra_op_threads"] = 2
    report = regress(Profile(new), Profile(document_factory()))
    text = "\n".join(report.warnings)
    assert "devices differ" in text and "intra_op_threads" in text and "EMULATED" in text


def test_a_baseline_without_samples_is_judged_by_the_threshold_alone(
        document_factory: Factory) -> None:
    measured = Profile(document_factory(scale=2.0))
    bare = document_factory()
    bare["latency"]["samples_ms"] = []  # e.g. a profile trimmed before sharing
    bare["latency"]["stats"].pop("median_ci", None)
    report = regress(measured, Profile(bare))
    assert report.baseline_ci[0] == report.baseline_ci[1] == report.baseline_median_ms
    assert any("threshold alone" in w for w in report.warnings)


def test_an_estimate_is_refused_on_either_side(document_factory: Factory,
                                              estimate_profile: Profile) -> None:
    measured = Profile(document_factory())
    with pytest.raises(ProfileError, match="baseline is an estimate"):
        regress(measured, estimate_profile)
    with pytest.raises(ProfileError, match="new run is an estimate"):
        regress(estimate_profile, measured)


def test_a_layer_only_in_one_profile_is_added_or_removed(document_factory: Factory) -> None:
    new = document_factory()
    dropped = new["layers"].pop(0)
    report = regress(Profile(new), Profile(document_factory()))
    row = report.layers[report.layers["layer"] == dropped["name"]].iloc[0]
    assert row["verdict"] == "removed" and math.isnan(row["new_us"])


def test_bad_threshold_and_confidence_are_refused(document_factory: Factory) -> None:
    p = Profile(document_factory())
    with pytest.raises(InvalidOptionValue, match="threshold"):
        regress(p, p, threshold=-0.1)
    with pytest.raises(InvalidOptionValue, match="confidence"):
        regress(p, p, confidence=1.5)


def test_the_report_is_json_able(document_factory: Factory) -> None:
    report = regress(Profile(document_factory(scale=1.5)), Profile(document_factory()))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["regressed"] is True and len(data["layers"]) == len(report.layers)
    assert "<table" in report._repr_html_()


def test_the_host_bootstrap_is_the_agents() -> None:
    samples = list(np.random.default_rng(5).gamma(4.0, 2.0, 60))
    assert bootstrap_ci(samples) == pytest.approx(agent_bootstrap_ci(samples, "median", 0.95,
                                                                     2000, 0))
    low, high = bootstrap_ci(samples, "p90")
    assert low <= float(np.percentile(samples, 90)) <= high


def test_t_quantiles_match_the_published_table() -> None:
    # two-sided 95 % critical values from any statistics table
    for dof, value in ((1, 12.706), (2, 4.303), (3, 3.182), (10, 2.228), (30, 2.042)):
        assert t_quantile(0.975, dof) == pytest.approx(value, abs=0.01)


def test_a_layer_interval_widens_with_spread_and_narrows_with_runs() -> None:
    narrow = layer_median_ci({"median": 100.0, "std": 5.0, "count": 20})
    wide = layer_median_ci({"median": 100.0, "std": 20.0, "count": 20})
    few = layer_median_ci({"median": 100.0, "std": 5.0, "count": 3})
    assert narrow is not None and wide is not None and few is not None
    assert (wide[1] - wide[0]) > (narrow[1] - narrow[0])
    assert (few[1] - few[0]) > (narrow[1] - narrow[0])
    assert layer_median_ci({"median": 100.0, "count": 1}) == (100.0, 100.0)


def test_a_layer_interval_needs_a_confidence_between_0_and_1() -> None:
    for confidence in (1.0, 0.0, "0.95"):
        with pytest.raises(InvalidOptionValue, match="confidence must be between 0 and 1"):
            layer_median_ci({"median": 100.0, "std": 5.0, "count": 5},
                            confidence=confidence)  # type: ignore[arg-type]
