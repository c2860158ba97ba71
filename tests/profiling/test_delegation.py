"""Delegation: which of the model's nodes ran on which provider or delegate, and what fell back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench import errors, formats
from workbench.profiling import Profile
from workbench.profiling.delegation import delegation_section, requested_accelerators

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

#: (node, MACs) in graph order: 1000 MACs in all
NODES = [("conv1", 600), ("relu1", 0), ("conv2", 300), ("relu2", 0), ("fc", 100)]
PLACEMENT = {"conv1": "NPU", "relu1": "NPU", "conv2": "NPU", "relu2": "CPU", "fc": "CPU"}


def _entry(section: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in section["per_provider"] if e["name"] == name)
    return found


@pytest.fixture
def delegated(profile_document: dict[str, Any]) -> Profile:
    """The conftest profile with a runtime placement: 7 of 10 nodes on an NPU, flatten unseen."""
    names = [node["name"] for node in profile_document["topology"]["nodes"]]
    macs = {"conv1": 10838016, "conv2_dw": 3612672, "conv2_pw": 25690112, "gap": 401408,
            "fc": 256000}
    placement = {name: "NPU" for name in names if name not in ("gap", "flatten", "softmax")}
    placement.update(gap="CPU", softmax="CPU")
    profile_document["delegation"] = delegation_section(
        [(name, macs.get(name, 0)) for name in names], placement=placement, requested=["NPU"])
    return Profile(profile_document)


# --- a real onnxruntime run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    from tests.conftest import conv_relu_model

    path = conv_relu_model(tmp_path_factory.mktemp("delegation") / "conv_relu.onnx")
    return wb.profile(path, warmup=1, runs=3, profile_runs=2)


def test_a_cpu_onnxruntime_run_places_every_node_on_the_cpu_provider_with_all_macs(
        cpu_profile: Profile) -> None:
    section = cpu_profile.document["delegation"]
    assert section["source"] == "trace"
    assert section["providers"] == ["CPUExecutionProvider"]
    cpu = _entry(section, "CPUExecutionProvider")
    assert cpu["nodes"] == ["conv1", "relu1", "conv2", "relu2", "pool"]
    assert cpu["node_count"] == section["node_count"] == 5
    assert cpu["macs"] == section["model_macs"] == cpu_profile.document["model"]["macs"] > 0
    assert cpu["mac_share"] == pytest.approx(1.0)
    assert section["unseen_nodes"] == [] and section["fallback_nodes"] == []


def test_without_profiled_runs_the_placement_is_marked_not_reported(conv_model: Path) -> None:
    profile = wb.profile(conv_model, warmup=0, runs=1, profile_runs=0)
    section = profile.document["delegation"]
    assert section["source"] is None and section["per_provider"] == []
    assert "Delegation: not reported" in profile.summary()


def test_a_runner_placement_takes_precedence_over_the_trace_providers(conv_model: Path) -> None:
    from workbench.jobs import finish, prepare

    prepared = prepare(conv_model, warmup=0, runs=1, profile_runs=1)
    result = prepared.device.run(prepared.job)
    prepared.device.remove_workdir(prepared.job["workdir"])
    result["placement"] = {"conv1": "NPU", "relu1": "NPU", "conv2": "CPU"}
    section = finish(prepared, result).document["delegation"]
    assert section["source"] == "runtime"
    assert _entry(section, "NPU")["nodes"] == ["conv1", "relu1"]
    assert _entry(section, "CPU")["nodes"] == ["conv2"]
    assert section["unseen_nodes"] == ["relu2", "pool"]


def test_a_placement_that_is_not_names_to_names_breaks_the_runner_format() -> None:
    result = {"runner_api": 1, "runtime": {"name": "x", "version": "1"}, "latency_ms": [1.0],
              "placement": {"conv1": 3}}
    with pytest.raises(errors.FormatError, match="placement"):
        formats.validate(result, formats.RUNNER)


# --- building the section -----------------------------------------------------------------


def test_placement_gives_node_counts_names_and_mac_shares_per_provider() -> None:
    section = delegation_section(NODES, placement=PLACEMENT, requested=["NPU"])
    npu, cpu = section["per_provider"]
    assert (npu["name"], npu["node_count"], npu["nodes"]) == ("NPU", 3,
                                                              ["conv1", "relu1", "conv2"])
    assert (npu["macs"], npu["mac_share"], npu["accelerator"]) == (900, pytest.approx(0.9), True)
    assert (cpu["name"], cpu["node_count"], cpu["nodes"]) == ("CPU", 2, ["relu2", "fc"])
    assert (cpu["macs"], cpu["mac_share"], cpu["accelerator"]) == (100, pytest.approx(0.1), False)
    assert section["source"] == "runtime"


def test_nodes_left_on_the_cpu_when_an_accelerator_was_requested_are_fallbacks() -> None:
    section = delegation_section(NODES, placement=PLACEMENT, requested=["NPU"])
    assert section["requested"] == ["NPU"]
    assert section["fallback_nodes"] == ["relu2", "fc"]


def test_nothing_is_a_fallback_when_only_the_cpu_was_requested() -> None:
    section = delegation_section(NODES, placement=PLACEMENT, requested=["CPUExecutionProvider"])
    assert section["requested"] == [] and section["fallback_nodes"] == []


def test_layer_rows_give_the_placement_when_the_runner_reports_none() -> None:
    layers = [{"provider": "XnnpackExecutionProvider", "original_nodes": ["conv1", "relu1"]},
              {"provider": "CPUExecutionProvider", "original_nodes": ["conv2"]},
              {"provider": "CPUExecutionProvider", "original_nodes": []}]
    section = delegation_section(NODES, layers=layers, requested=["XnnpackExecutionProvider"])
    assert section["source"] == "trace"
    assert _entry(section, "XnnpackExecutionProvider")["mac_share"] == pytest.approx(0.6)
    assert section["fallback_nodes"] == ["conv2"]
    assert section["unseen_nodes"] == ["relu2", "fc"]
    assert section["unseen_macs"] == 100


def test_names_the_model_does_not_have_are_left_out_of_the_counts() -> None:
    section = delegation_section(NODES, placement={**PLACEMENT, "ghost": "NPU"})
    assert _entry(section, "NPU")["node_count"] == 3


def test_a_placement_with_non_string_values_is_a_profile_error() -> None:
    with pytest.raises(errors.ProfileError, match="placement"):
        delegation_section(NODES, placement={"conv1": 1})  # type: ignore[dict-item]


def test_a_model_without_macs_has_no_mac_shares() -> None:
    section = delegation_section([("a", 0), ("b", None)], placement={"a": "NPU", "b": "NPU"})
    assert _entry(section, "NPU")["mac_share"] is None


def test_requested_accelerators_come_from_provider_and_delegate_options() -> None:
    assert requested_accelerators(
        {"providers": ["XnnpackExecutionProvider", "CPUExecutionProvider"]}) == [
        "XnnpackExecutionProvider"]
    assert requested_accelerators({"delegate": "gpu", "external_delegate": ""}) == ["gpu"]
    assert requested_accelerators({"threads": 4}) == []


# --- showing it ---------------------------------------------------------------------------


def test_the_section_in_a_profile_is_schema_valid_and_survives_a_round_trip(
        delegated: Profile, tmp_path: Path) -> None:
    loaded = Profile.load(delegated.save(tmp_path / "p.json"))
    assert loaded.document["delegation"] == delegated.document["delegation"]


def test_profile_delegation_is_a_table_with_a_fallback_flag_and_a_not_seen_row(
        delegated: Profile) -> None:
    table = delegated.delegation
    assert list(table["provider"]) == ["NPU", "CPU", "not seen"]
    assert list(table["fallback"]) == [False, True, False]
    assert list(table["nodes"]) == [7, 2, 1]
    assert table["mac_share"].sum() == pytest.approx(1.0)
    assert table.attrs["source"] == "runtime"


def test_the_text_summary_has_one_line_per_provider_and_the_fallbacks(
        delegated: Profile) -> None:
    text = delegated.summary()
    lines = text[text.index("Delegation"):].splitlines()
    assert lines[1].split()[:4] == ["NPU", "7", "of", "10"]
    assert "% of MACs" in lines[1]
    assert lines[2].split()[:4] == ["CPU", "2", "of", "10"]
    assert "2 nodes fell back to CPU: gap, softmax" in text


def test_the_html_report_has_a_delegation_section_with_fallbacks_and_a_figure(
        delegated: Profile) -> None:
    html = delegated.to_html()
    section = html[html.index("<h2>Delegation</h2>"):html.index("<h2>Figures</h2>")]
    assert '<table class="delegation">' in section
    assert "Fell back to CPU (2): gap, softmax" in section
    assert 'alt="share of MACs per provider or delegate"' in section


def test_released_fixtures_without_the_section_load_and_render_without_it() -> None:
    without = [p for p in sorted(FIXTURES.glob("profile-*.json"))
               if not json.loads(p.read_text(encoding="utf-8")).get("delegation")]
    assert without
    for path in without:
        profile = Profile.load(path)
        assert profile.delegation.empty
        assert "Delegation" not in profile.summary()
        assert "<h2>Delegation</h2>" not in profile.to_html()


def test_an_early_section_holding_only_provider_names_still_loads(
        profile_document: dict[str, Any]) -> None:
    document = copy.deepcopy(profile_document)
    document["delegation"] = {"providers": ["CPUExecutionProvider"]}
    profile = Profile(json.loads(json.dumps(document)))
    assert profile.delegation.empty
    assert profile.summary() and profile.to_html()
