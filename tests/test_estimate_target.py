"""Which board an estimate is for, and the estimate itself (workbench.jobs.estimate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import errors
from workbench.devices.base import DeviceInfo
from workbench.jobs.estimate import estimate, estimate_target
from workbench.models import load_model
from workbench.targets.target import board

CPUINFO = Path(__file__).resolve().parent / "fixtures" / "cpuinfo"


def probed(fixture: str, name: str = "bench-board") -> DeviceInfo:
    """The DeviceInfo a probe of a board with this /proc/cpuinfo gives (no sysfs clocks)."""
    return DeviceInfo(name=name, kind="ssh", arch="aarch64",
                      cpu={"cpuinfo": (CPUINFO / fixture).read_text()})


def test_a_named_board_is_the_target_and_the_device_is_not_touched() -> None:
    # a device that does not exist would raise DeviceNotFound if it were connected
    target = estimate_target("Raspberry-Pi-5", device="no-such-device")
    assert target.name == "raspberry-pi-5" and not target.detected


def test_a_target_object_is_taken_as_it_is() -> None:
    rock = board("radxa-rock-5b")
    assert estimate_target(rock) is rock


def test_a_core_is_not_a_board_for_an_estimate() -> None:
    with pytest.raises(errors.UnknownTarget, match="not a board"):
        estimate_target("cortex-a76")


def test_without_a_board_the_one_detected_on_the_device_is_the_target() -> None:
    target = estimate_target(device=probed("rk3588-rock-5b.txt"))
    assert target.name == "radxa-rock-5b" and target.detected
    assert sorted(c.core.key for c in target.clusters) == ["cortex-a55", "cortex-a76"]


def test_a_device_without_an_arm_board_says_so_and_how_to_name_one() -> None:
    with pytest.raises(errors.EstimateError, match="No Arm target was detected on xeon") as caught:
        estimate_target(device=probed("x86_64-xeon.txt", name="xeon"))
    assert "--target" in str(caught.value.hint) and "target=" in str(caught.value.hint)


def test_neither_a_board_nor_a_device_is_an_estimate_error() -> None:
    with pytest.raises(errors.EstimateError, match="needs a target"):
        estimate_target()


def test_the_estimate_takes_the_cluster_as_text_and_records_it() -> None:
    profile = estimate("zoo:small-cnn", target="radxa-rock-5b", cluster=" Little ")
    section = profile.document["target"]
    assert profile.is_estimate and section["name"] == "radxa-rock-5b"
    assert section["cluster"] == "little" and section["ceilings"] == "datasheet"
    by_index = estimate("zoo:small-cnn", target="radxa-rock-5b", cluster="0")
    assert by_index.document["target"]["cluster"] == 0


def test_an_unknown_cluster_is_refused_before_any_board_is_looked_up() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="cluster='medium'"):
        estimate("zoo:small-cnn", target="no-such-board", cluster="medium")


def test_calibrating_without_a_device_is_an_estimate_error() -> None:
    with pytest.raises(errors.EstimateError, match="measures a device") as caught:
        estimate("zoo:small-cnn", target="raspberry-pi-5", calibrate=True)
    assert "--device" in str(caught.value.hint)


def test_a_calibrated_estimate_uses_the_ceilings_measured_on_the_device() -> None:
    model = load_model("zoo:small-cnn")
    profile = estimate(model, target="raspberry-pi-5", device="local", calibrate=True)
    section = profile.document["target"]
    assert section["ceilings"] == "calibrated" and section["calibration"]["device"] == "local"
    assert section["bandwidth_gbs"] == pytest.approx(section["calibration"]["gbs"])


def test_a_datasheet_estimate_shows_one_line_a_lower_bound_and_no_runs(conv_model: Path) -> None:
    import workbench as wb

    estimate = wb.targets.get("raspberry-pi-5").estimate(load_model(conv_model))
    assert {row["rate_source"] for row in estimate.layers} == {"datasheet"}
    lines = estimate.summary().splitlines()
    shown = [line for line in lines if line.startswith(("latency", "estimate"))]
    assert len(shown) == 1 and shown[0].startswith("estimate  at least ")
    assert "a lower bound" in shown[0] and "±" not in shown[0]
    for view in (estimate.to_html(), estimate._repr_mimebundle_()["text/html"]):
        assert "at least " in view and "0 runs" not in view and "± 100" not in view
