"""Error bars on estimates, and estimates that learn from a device's measured profiles."""

from __future__ import annotations

import copy
import statistics
from pathlib import Path

import pytest

import workbench
from tests.conftest import conv_relu_model
from workbench import history, targets
from workbench.jobs import estimate
from workbench.models import Model, load_model
from workbench.profiling import Profile
from workbench.targets.calibration import Calibration, Ceiling
from workbench.targets.kernels import CLASSES, COMPUTE_CLASSES, shape_key
from workbench.targets.observations import FLOOR_PCT, Observations
from workbench.targets.roofline import CLASS_ERROR_PCT, DATASHEET_ERROR_PCT


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return load_model(conv_relu_model(tmp_path_factory.mktemp("model") / "conv_relu.onnx"))


@pytest.fixture(scope="module")
def kept(small: Model, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Profile]]:
    """Three measured profiles of the small model, in a history folder of their own."""
    folder = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_DATA_DIR", str(folder))
        profiles = [workbench.profile(small, device="local", runs=20, warmup=1, profile_runs=15)
                    for _ in range(3)]
        history.wait_saved()
    return folder, profiles


@pytest.fixture
def measured(kept: tuple[Path, list[Profile]]) -> list[Profile]:
    return kept[1]


@pytest.fixture
def own_history(kept: tuple[Path, list[Profile]], monkeypatch: pytest.MonkeyPatch) -> str:
    """The device's name, with the history holding only the three profiles."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(kept[0]))
    return kept[1][0].device_name


def quiet_calibration() -> Calibration:
    """Ceilings as a calibration on a quiet core gives them: every class within ±2 %."""
    return Calibration("local", {c: Ceiling(c, 20.0 if c in COMPUTE_CLASSES else 10.0,
                                            1.0, 1.01, 1.04, 2.0, 30) for c in CLASSES},
                       threads=1, created="2026-11-30T00:00:00+00:00")


def test_every_estimate_carries_an_error_bar_shown_in_its_summary(small: Model) -> None:
    datasheet = targets.get("raspberry-pi-5").estimate(small)
    assert datasheet.document["estimate"]["error_pct"] == pytest.approx(DATASHEET_ERROR_PCT)
    assert all(row["error_pct"] == DATASHEET_ERROR_PCT for row in datasheet.layers)
    calibrated = targets.get("raspberry-pi-5").estimate(small, ceilings=quiet_calibration())
    bar = calibrated.document["estimate"]["error_pct"]
    assert CLASS_ERROR_PCT < bar < DATASHEET_ERROR_PCT
    total = calibrated.latency["median"]
    shown = f"{workbench.profiling._text.fmt_number(total)} ms ± {bar:.0f} %"
    summary = calibrated.summary()  # the report's rendering is checked with the CLI's
    assert f"estimate  {shown}" in summary
    # which class each layer fell in, and at which calibrated ceiling it was costed
    conv = next(c for c in calibrated.document["estimate"]["classes"]
                if c["kernel_class"] == "conv")
    assert conv["layers"] == 2 and conv["sources"] == {"calibrated": 2}
    assert "conv 20.0 GFLOP/s ± 2%" in summary


def test_compare_estimate_says_whether_the_measurement_fell_inside_the_error_bar(
        small: Model, measured: list[Profile]) -> None:
    calibrated = targets.get("raspberry-pi-5").estimate(small, ceilings=quiet_calibration())
    result = targets.compare_estimate(calibrated, measured[0])
    bar = calibrated.document["estimate"]["error_pct"]
    assert result.overall["error_bar_pct"] == pytest.approx(bar)
    assert result.within == (abs(result.overall["error_pct"]) <= bar)
    assert ("inside" if result.within else "OUTSIDE") in repr(result)
    table = result.table.dropna(subset=["measured_us", "estimate_us"])
    assert {"kernel_class", "error_bar_pct", "within"} <= set(table.columns)
    assert all(w == (abs(e) <= b) for w, e, b in
               zip(table["within"], table["error_pct"], table["error_bar_pct"], strict=True))


def test_measured_profiles_give_per_layer_observations_by_kernel_class(own_history: str) -> None:
    seen = history.observations(own_history)
    assert seen.profiles == 3
    summary = seen.summary()
    assert summary["per_class"]["conv"] >= 6  # two convolutions in each of three profiles
    assert all(o.rate > 0 for o in seen.items)


def test_an_estimate_with_history_costs_its_layers_at_the_observed_rates_and_says_so(
        small: Model, own_history: str) -> None:
    learned = estimate(small, target="raspberry-pi-5", device=own_history, history=True,
                       calibrate=quiet_calibration())
    section = learned.document["estimate"]
    convs = [r for r in learned.layers if r["kernel_class"] == "conv"]
    assert convs and all(r["rate_source"] == "history" and r["observations"] == 3
                         for r in convs)
    assert all("history, 3 at these shapes" in r["ceiling"] for r in convs)
    assert section["layers_from_history"] >= len(convs)
    assert section["observations_used"] >= 3 * len(convs)
    assert "history" in section["error_source"]
    assert any("history" in w for w in learned.document["warnings"])
    # each layer's bar is how much the three profiles disagreed at its shapes, however
    # much a busy machine made them disagree
    seen = history.observations(own_history)
    for row in convs:
        rate = seen.rate("conv", shape_key(row["op_type"], row["input_shapes"],
                                           row["output_shapes"]))
        assert rate is not None and rate.matched == "shape"
        assert row["error_pct"] == pytest.approx(rate.error_pct)
    assert section["error_pct"] == pytest.approx(
        max(section["layers_error_pct"], section["total_ratio"]["error_pct"]))


@pytest.fixture
def agreeing_history(measured: list[Profile], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> str:
    """The device's name, with a history of one measured profile kept at three times.

    The three observations of each layer agree exactly: what the estimate's bar
    does with history is then apart from how busy the machine was.
    """
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    for hour in (8, 9, 10):
        document = copy.deepcopy(measured[0].document)
        document["created"] = f"2026-11-30T{hour:02d}:00:00+00:00"
        history.save(Profile(document))
    return measured[0].device_name


def test_history_whose_observations_agree_narrows_the_error_bar(
        small: Model, agreeing_history: str) -> None:
    assert history.observations(agreeing_history).profiles == 3
    without = estimate(small, target="raspberry-pi-5", calibrate=quiet_calibration())
    learned = estimate(small, target="raspberry-pi-5", device=agreeing_history, history=True,
                       calibrate=quiet_calibration())
    convs = [r for r in learned.layers if r["kernel_class"] == "conv"]
    assert convs and all(r["observations"] == 3 and r["error_pct"] == FLOOR_PCT for r in convs)
    section = learned.document["estimate"]
    assert section["layers_error_pct"] < without.document["estimate"]["error_pct"]
    # three equal totals: the total-to-layers ratio is known to its floor, so the total narrows too
    assert section["total_ratio"]["error_pct"] == FLOOR_PCT
    assert section["error_pct"] < without.document["estimate"]["error_pct"]


def test_history_needs_a_device_to_read() -> None:
    with pytest.raises(workbench.errors.EstimateError, match="history=True reads"):
        estimate("zoo:mobilenetv2", target="raspberry-pi-5", history=True)


def test_an_estimate_with_history_scales_its_total_by_the_devices_total_to_layers_ratio(
        small: Model, own_history: str, measured: list[Profile]) -> None:
    learned = estimate(small, target="raspberry-pi-5", device=own_history, history=True,
                       calibrate=quiet_calibration())
    gap = learned.document["estimate"]["total_ratio"]
    # each profile's median total over the sum of its layers' medians, read off the profiles
    ratios = [p.latency["median"] * 1e3 / sum(r["duration_us"]["median"] for r in p.layers)
              for p in measured]
    assert gap["profiles"] == 3 and gap["matched"] == "model"
    assert gap["ratio"] == pytest.approx(statistics.median(ratios))
    layers_ms = sum(r["duration_us"]["median"] for r in learned.layers) / 1e3
    assert gap["sum_of_layers_ms"] == pytest.approx(layers_ms)
    assert learned.latency["median"] == pytest.approx(layers_ms * gap["ratio"])
    # the ratios' disagreement is part of the bar, and the source says the total was scaled
    assert learned.document["estimate"]["error_pct"] >= gap["error_pct"]
    assert "the sum of its layers" in learned.document["estimate"]["error_source"]


def test_a_layer_from_history_holding_little_of_the_work_does_not_set_the_error_bar(
        small: Model, measured: list[Profile]) -> None:
    # history that saw only the first, small convolution, and saw it 50 times slower than
    # the ceiling: the estimate gives that layer most of its time, yet it is a fifth of the work
    document = copy.deepcopy(measured[0].document)
    document["layers"] = [copy.deepcopy(r) for r in document["layers"]
                          if "conv1" in (r.get("original_nodes") or [])][:1]
    assert document["layers"], "the measured profile has a row for conv1"
    for key, value in document["layers"][0]["duration_us"].items():
        if key != "count" and isinstance(value, (int, float)):
            document["layers"][0]["duration_us"][key] = value * 50
    seen = Observations.of("local", [document])
    mixed = targets.get("raspberry-pi-5").estimate(small, ceilings=quiet_calibration(),
                                                   observations=seen)
    rows = mixed.layers
    from_history = [r for r in rows if r["rate_source"] == "history"]
    assert len(from_history) == 1 and from_history[0]["share"] > 0.5
    section = mixed.document["estimate"]
    at_ceiling = sum(r["ceiling_us"] for r in rows)
    assert section["history_share"] == pytest.approx(from_history[0]["ceiling_us"] / at_ceiling)
    assert section["history_share"] < 0.5
    # weighted by the estimate's own times the bar would be mostly the history's ±10 %
    by_estimate = sum(r["error_pct"] * r["share"] for r in rows)
    layers_bar = sum(r["error_pct"] * r["ceiling_us"] for r in rows) / at_ceiling
    assert layers_bar > by_estimate + 5
    assert section["layers_error_pct"] == pytest.approx(layers_bar)
    assert section["error_pct"] == pytest.approx(
        max(layers_bar, section["total_ratio"]["error_pct"]))


def test_other_models_totals_widen_the_bar_but_do_not_scale_the_total(
        small: Model, measured: list[Profile]) -> None:
    # the same profiles, as if another model's: their ratio depends on that model's run length
    others = []
    for profile in measured:
        document = copy.deepcopy(profile.document)
        document["model"]["name"] = "another-model"
        others.append(document)
    seen = Observations.of("local", others)
    learned = targets.get("raspberry-pi-5").estimate(small, ceilings=quiet_calibration(),
                                                     observations=seen)
    gap = learned.document["estimate"]["total_ratio"]
    assert gap["matched"] == "device" and gap["ratio"] == 1.0 and gap["profiles"] == 3
    assert learned.latency["median"] == pytest.approx(gap["sum_of_layers_ms"])
    ratios = [p.latency["median"] * 1e3 / sum(r["duration_us"]["median"] for r in p.layers)
              for p in measured]
    # ± percent between each ratio and 1, the farthest of them (3 % at the least)
    assert gap["error_pct"] == pytest.approx(
        max(3.0, *(100 * abs(r - 1) / (r + 1) for r in ratios)))
    assert "profiles of other models" in learned.document["estimate"]["error_source"]


def test_layers_costed_at_their_class_over_other_shapes_are_named_in_a_warning(
        small: Model, own_history: str, tmp_path: Path) -> None:
    # the history holds the small model's two convolutions; a wider model's are unseen
    wider = load_model(conv_relu_model(tmp_path / "wider.onnx", channels=48, size=64))
    guessed = estimate(wider, target="raspberry-pi-5", device=own_history, history=True)
    convs = [r for r in guessed.layers if r["kernel_class"] == "conv"]
    assert convs and all(r["history_match"] == "class" for r in convs)
    unseen = [r for r in guessed.layers if r["history_match"] == "class"]
    [warning] = [w for w in guessed.document["warnings"] if "over other shapes" in w]
    assert warning.startswith(f"{len(unseen)} layers (100% of the work; conv")
    assert "--calibrate" in warning
    # at shapes history has seen, no such warning
    known = estimate(small, target="raspberry-pi-5", device=own_history, history=True)
    assert not [w for w in known.document["warnings"] if "over other shapes" in w]
    # nor when the device's calibration gives the unseen layers their ceilings
    calibrated = estimate(wider, target="raspberry-pi-5", device=own_history, history=True,
                          calibrate=quiet_calibration())
    assert not [w for w in calibrated.document["warnings"] if "over other shapes" in w]
