"""The Comparison compare() returns: labels, speed-ups, winners, documents and views."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import modules_loaded_by
from workbench import formats
from workbench.errors import InvalidOptionValue
from workbench.profiling import Comparison, Profile, compare
from workbench.views.comparison import COMPARISON_MIME

Factory = Callable[..., dict[str, Any]]

#: layer name -> median µs of two variants: the second is faster on some layers only
BASELINE_US = {"input_nchwc": 40.0, "Conv_0": 800.0, "Conv_1": 300.0, "Conv_2": 1100.0,
               "GlobalAveragePool_0": 40.0, "Gemm_0": 120.0, "Softmax_0": 6.0}
VARIANT_US = {"input_nchwc": 50.0, "Conv_0": 400.0, "Conv_1": 330.0, "Conv_2": 500.0,
              "GlobalAveragePool_0": 40.0, "Gemm_0": 150.0, "Softmax_0": 3.0}


def _with_times(document: dict[str, Any], times: dict[str, float]) -> dict[str, Any]:
    for layer in document["layers"]:
        time = times[layer["name"]]
        layer["duration_us"] = {"count": 1, "mean": time, "median": time}
        layer["share"] = time / sum(times.values())
    return document


def _with_threads(document: dict[str, Any], threads: int) -> dict[str, Any]:
    document["backend"]["options"]["intra_op_threads"] = threads
    return document


@pytest.fixture
def variants(document_factory: Factory) -> list[Profile]:
    """The same model, device and backend with 4 and with 2 threads, known layer times."""
    return [Profile(_with_threads(_with_times(document_factory(), BASELINE_US), 4)),
            Profile(_with_threads(_with_times(document_factory(seed=3), VARIANT_US), 2))]


def _rows_by_layer(comparison: Comparison) -> dict[str, Any]:
    frame = comparison.to_dataframe()
    return {row["layer"]: row for _, row in frame.iterrows()}


# --- labels -------------------------------------------------------------------------


def test_profiles_differing_only_in_an_option_are_labelled_by_that_option(
        variants: list[Profile]) -> None:
    first, second = compare(variants).labels
    assert "intra_op_threads=4" in first and "intra_op_threads=2" in second
    for label in (first, second):
        assert "tinycnn" in label and "pi5" in label and "onnxruntime" in label
        assert "graph_optimization_level" not in label  # the same in both: not named
        assert "#" not in label


def test_a_differing_run_setting_names_the_labels(document_factory: Factory) -> None:
    auto = document_factory()
    auto["run"]["runs"] = "auto"
    labels = compare([Profile(document_factory()), Profile(auto)]).labels
    assert "runs=40" in labels[0] and "runs=auto" in labels[1]


def test_an_option_only_one_profile_records_reads_default(document_factory: Factory) -> None:
    plain = document_factory()
    del plain["backend"]["options"]["intra_op_threads"]
    labels = compare([Profile(document_factory()), Profile(plain)]).labels
    assert "intra_op_threads=4" in labels[0] and "intra_op_threads=default" in labels[1]


def test_profiles_alike_in_every_setting_are_numbered(profile: Profile) -> None:
    labels = compare([profile, profile, profile]).labels
    assert labels == (profile.label, f"{profile.label} #2", f"{profile.label} #3")


def test_profiles_with_different_labels_keep_them(document_factory: Factory) -> None:
    labels = compare([Profile(document_factory(label="before")),
                      Profile(document_factory(label="after"))]).labels
    assert labels == ("before", "after")


# --- speed-ups and winners ------------------------------------------------------------


def test_each_layer_has_the_speedup_over_the_baseline_and_its_winner(
        variants: list[Profile]) -> None:
    comparison = compare(variants)
    rows = _rows_by_layer(comparison)
    assert set(rows) == set(BASELINE_US)
    for name, base in BASELINE_US.items():
        row, variant = rows[name], VARIANT_US[name]
        assert row[comparison.time_column(0)] == base
        assert row[comparison.time_column(1)] == variant
        assert row[comparison.speedup_column(1)] == pytest.approx(base / variant)
        assert row["winner"] == comparison.labels[0 if base <= variant else 1]


def test_the_baseline_can_be_any_profile(variants: list[Profile]) -> None:
    comparison = compare(variants, baseline=1)
    rows = _rows_by_layer(comparison)
    assert comparison.baseline == 1
    speedups = [c for c in comparison.to_dataframe().columns if c.endswith(": speedup")]
    assert speedups == [comparison.speedup_column(0)]
    with pytest.raises(InvalidOptionValue, match="baseline has no speed-up"):
        comparison.speedup_column(1)
    for name, base in VARIANT_US.items():
        assert rows[name][comparison.speedup_column(0)] == pytest.approx(
            base / BASELINE_US[name])
    latency = comparison.latency()
    medians = [p.latency["median"] for p in variants]
    assert list(latency["speedup"]) == pytest.approx([medians[1] / medians[0], 1.0])


def test_layers_won_counts_the_layers_and_the_time_each_profile_wins_by(
        variants: list[Profile]) -> None:
    comparison = compare(variants)
    won = comparison.layers_won().set_index("label")
    times = [BASELINE_US, VARIANT_US]
    winners = {name: 0 if base <= VARIANT_US[name] else 1  # a tie goes to the first
               for name, base in BASELINE_US.items()}
    for index, label in enumerate(comparison.labels):
        mine, theirs = times[index], times[1 - index]
        names = [name for name, winner in winners.items() if winner == index]
        assert won.loc[label, "layers_won"] == len(names)
        assert won.loc[label, "time_us"] == pytest.approx(sum(mine[n] for n in names))
        assert won.loc[label, "margin_us"] == pytest.approx(
            sum(theirs[n] - mine[n] for n in names))


def test_end_to_end_speedup_is_the_baseline_median_over_each_median(
        variants: list[Profile]) -> None:
    latency = compare(variants).latency()
    medians = [p.latency["median"] for p in variants]
    assert list(latency["median_ms"]) == medians
    assert list(latency["speedup"]) == pytest.approx([1.0, medians[0] / medians[1]])


def test_a_baseline_that_is_no_profile_is_refused(variants: list[Profile]) -> None:
    with pytest.raises(InvalidOptionValue, match="baseline=2"):
        compare(variants, baseline=2)


def test_comparing_no_profiles_is_refused() -> None:
    with pytest.raises(InvalidOptionValue, match="no profiles"):
        compare([])


def test_a_comparison_of_one_profile_works(profile: Profile) -> None:
    comparison = compare([profile])
    frame = comparison.to_dataframe()
    assert comparison.labels == (profile.label,)
    assert not [c for c in frame.columns if c.endswith(": speedup")]
    assert (frame["winner"] == profile.label).all()
    assert list(comparison.latency()["speedup"]) == [1.0]
    assert comparison.wins()[0]["layers_won"] == len(profile.layers)
    formats.validate(comparison.to_dict(), formats.COMPARISON)
    assert profile.label in str(comparison)


# --- documents and views --------------------------------------------------------------


def test_the_mime_bundle_carries_a_comparison_document_that_validates(
        profile: Profile, estimate_profile: Profile) -> None:
    estimate_profile.document["layers"][2]["duration_us"]["median"] = None  # a missing time
    bundle = compare([profile, estimate_profile])._repr_mimebundle_()
    assert set(bundle) == {COMPARISON_MIME, "text/html", "text/plain"}
    document = bundle[COMPARISON_MIME]
    formats.validate(document, formats.COMPARISON)
    assert document["schema"] == formats.COMPARISON
    json.dumps(document, allow_nan=False)  # NaN became null
    assert any(time is None for layer in document["layers"] for time in layer["time_us"])


def test_the_document_lists_follow_the_labels(variants: list[Profile]) -> None:
    document = compare(variants).to_dict()
    assert document["labels"] == list(compare(variants).labels)
    conv = next(layer for layer in document["layers"] if layer["layer"] == "Conv_2")
    assert conv["time_us"] == [BASELINE_US["Conv_2"], VARIANT_US["Conv_2"]]
    assert conv["winner"] == 1


def test_the_mime_bundle_honours_include(variants: list[Profile]) -> None:
    bundle = compare(variants)._repr_mimebundle_(include=["text/plain"])
    assert list(bundle) == ["text/plain"]


def test_html_escapes_a_malicious_label_and_layer_name(document_factory: Factory,
                                                       profile: Profile) -> None:
    evil = "<img src=x onerror=alert(1)>"
    document = document_factory(label=evil)
    document["layers"][0]["name"] = evil
    comparison = compare([Profile(document), profile])
    for html in (comparison._repr_mimebundle_()["text/html"], comparison.to_html()):
        assert evil not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_to_html_writes_a_self_contained_page(variants: list[Profile], tmp_path: Path) -> None:
    comparison = compare(variants)
    path = tmp_path / "compare.html"
    text = comparison.to_html(path)
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("<!DOCTYPE html>")
    assert all(label in text for label in comparison.labels)
    assert "<link" not in text and "<script" not in text  # nothing fetched from elsewhere
    assert [p.name for p in tmp_path.iterdir()] == ["compare.html"]  # no temporary left


def test_the_text_view_has_latency_speedup_and_layers_won(variants: list[Profile]) -> None:
    comparison = compare(variants)
    text = repr(comparison)
    medians = [p.latency["median"] for p in variants]
    wins = comparison.wins()
    assert f"{medians[0] / medians[1]:.2f}×" in text
    for label, won in zip(comparison.labels, wins, strict=True):
        line = next(line for line in text.splitlines() if label in line and "measured" in line)
        assert f"{won['layers_won']} of {len(BASELINE_US)}" in line


def test_importing_the_comparison_module_loads_neither_matplotlib_nor_pandas() -> None:
    assert modules_loaded_by("import workbench.profiling.comparison",
                             ("matplotlib", "pandas")) == []


# --- the model graph ------------------------------------------------------------------


def test_a_comparison_of_one_model_carries_its_graph(variants: list[Profile]) -> None:
    document = compare(variants).to_dict()
    formats.validate(document, formats.COMPARISON)
    topology = variants[0].document["topology"]
    assert [n["name"] for n in document["topology"]["nodes"]] == \
        [n["name"] for n in topology["nodes"]]
    assert document["topology"]["edges"] == [{"from": e["from"], "to": e["to"]}
                                             for e in topology["edges"]]
    # every node of the graph is named by a matched layer, so each can take its speed-up
    names = {n["name"] for n in document["topology"]["nodes"]}
    covered = {node for layer in document["layers"] for node in layer["original_nodes"]}
    assert names <= covered


def test_profiles_of_different_models_carry_no_graph(document_factory: Factory) -> None:
    other = document_factory()
    other["model"]["sha256"] = "f" * 64
    document = compare([Profile(document_factory()), Profile(other)]).to_dict()
    assert "topology" not in document
    formats.validate(document, formats.COMPARISON)
