"""Error bars on estimates, and estimates that learn from a device's measured profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench
from tests.conftest import conv_relu_model
from workbench import history, targets
from workbench.jobs import estimate
from workbench.models import Model, load_model
from workbench.profiling import Profile
from workbench.targets.calibration import Calibration, Ceiling
from workbench.targets.kernels import CLASSES, COMPUTE_CLASSES
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
        profiles = [workbench.profile(small, device="local", runs=3, warmup=1, profile_runs=5)
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


def test_an_estimate_with_history_uses_it_says_so_and_narrows_its_error_bar(
        small: Model, own_history: str) -> None:
    without = estimate(small, target="raspberry-pi-5", calibrate=quiet_calibration())
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
    assert section["error_pct"] < without.document["estimate"]["error_pct"]


def test_history_needs_a_device_to_read() -> None:
    with pytest.raises(workbench.errors.EstimateError, match="history=True reads"):
        estimate("zoo:mobilenetv2", target="raspberry-pi-5", history=True)
