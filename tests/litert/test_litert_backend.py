"""The litert backend end to end on this machine, its options, placement and per-op parsing."""

from __future__ import annotations

import pytest

import workbench
from workbench import backends, errors
from workbench.models import load_model
from workbench.testing import check_backend

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def small() -> object:
    return load_model("zoo:small-cnn.tflite")


def _profile(model: object, **options: object) -> dict:
    profile = workbench.profile(model, device="local", backend="litert", options=options,
                                runs=5, warmup=1, profile_runs=2)
    return profile.to_dict()


def test_a_litert_profile_has_latency_and_says_per_op_times_are_unavailable(small) -> None:
    document = _profile(small)
    assert len(document["latency"]["samples_ms"]) == 5
    assert document["latency"]["cold_ms"] > 0
    assert document["model"]["format"] == "tflite"
    assert document["layers"] == []
    assert any(w.startswith("per-op times unavailable") for w in document["warnings"])


def test_an_onnx_model_is_refused_with_a_hint_to_load_the_twin() -> None:
    with pytest.raises(errors.BackendUnavailable, match=r"zoo:NAME\.tflite"):
        workbench.profile(load_model("zoo:small-cnn"), device="local", backend="litert", runs=1)


def test_an_unknown_option_is_rejected_naming_the_accepted_ones() -> None:
    with pytest.raises(errors.UnknownOption, match="xnnpack"):
        backends.get("litert").validate_options({"num_threads": 2})


@pytest.mark.parametrize(("options", "pattern"), [
    ({"threads": -1}, "below the minimum"), ({"xnnpack": "yes"}, "not a bool"),
    ({"external_delegate_options": {"k": "v"}}, "without external_delegate"),
    ({"external_delegate": "/x.so", "external_delegate_options": {"k": [1]}}, "not a string"),
])
def test_a_bad_option_value_is_rejected(options: dict, pattern: str) -> None:
    with pytest.raises(errors.InvalidOptionValue, match=pattern):
        backends.get("litert").validate_options(options)


def test_a_missing_external_delegate_fails_the_job_naming_it(small) -> None:
    with pytest.raises(errors.BackendUnavailable, match="external delegate"):
        _profile(small, external_delegate="/nonexistent/libdelegate.so")


def test_check_backend_passes_for_litert() -> None:
    report = check_backend("litert")
    assert report.ok, report
    assert report["outputs match onnxruntime"].passed is True
    assert report["layers cover nodes"].passed is None


def _placement(model: object, xnnpack: bool) -> dict[str, str]:
    from workbench import jobs

    prepared = jobs.prepare(model, "local", "litert", {"xnnpack": xnnpack}, runs=2, warmup=0,
                            profile_runs=0)
    result = prepared.device.run(prepared.job, None)
    return result["placement"]


def test_placement_puts_every_operator_on_xnnpack_when_it_is_on(small) -> None:
    placement = _placement(small, True)
    assert set(placement) == {n.name for n in small.nodes}
    assert set(placement.values()) == {"XNNPACK"}


def test_placement_puts_every_operator_on_the_cpu_kernels_when_xnnpack_is_off(small) -> None:
    placement = _placement(small, False)
    assert set(placement) == {n.name for n in small.nodes}
    assert set(placement.values()) == {"CPU"}


def test_the_device_probe_reports_the_litert_runtime() -> None:
    from workbench.devices import connect

    info = connect("local").probe(refresh=True)
    assert info.runtime_version("litert")
    assert "XNNPACK" in info.providers("litert")


def test_auto_runs_stop_once_the_median_is_known_with_litert_too(small) -> None:  # type: ignore[no-untyped-def]
    p = workbench.profile(small, backend="litert", warmup=2, runs="auto", profile_runs=0,
                          auto_ci_pct=20.0, time_budget_s=20.0)
    samples = p.latency_samples
    assert len(samples) >= 10 and len(samples) % 10 == 0
    assert p.latency["median_ci"][0] <= p.latency["median"] <= p.latency["median_ci"][1]
