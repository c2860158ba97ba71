"""A layer's ceiling follows its shape, and a runtime's folded epilogues cost what they move."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from workbench import targets
from workbench.models import Model, load_model
from workbench.targets.calibration import Calibration, Ceiling

ELEMENT = 4  # bytes of a float32


def residual_model(path: Path, channels: int = 8, size: int = 16) -> Path:
    """x -> Conv -> Add(x) -> Relu -> Conv -> Add(x) -> y: one residual folded, one not.

    The second Add's convolution output is also a graph output, so a runtime
    cannot fold the Add into it.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(
        (rng.standard_normal((channels, channels, 3, 3)) / 16).astype(np.float32), f"w{i}")
        for i in (1, 2)]
    shape = [1, channels, size, size]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c1", "x"], ["a1"], name="add1"),
        helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "x"], ["y"], name="add2"),
    ]
    graph = helper.make_graph(
        nodes, "residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("c2", TensorProto.FLOAT, shape)], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="module")
def residual(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return load_model(residual_model(tmp_path_factory.mktemp("model") / "residual.onnx"))


def test_a_residual_add_and_its_relu_cost_only_the_residual_read_inside_the_convolution(
        residual: Model) -> None:
    estimate = targets.get("raspberry-pi-5").estimate(residual)
    rows = {r["name"]: r for r in estimate.layers}
    tensor = ELEMENT * 8 * 16 * 16
    assert rows["add1"]["folded_into"] == "conv1" and rows["add1"]["bytes"] == tensor
    assert "folded into conv1: reads the residual only" in rows["add1"]["ceiling"]
    assert rows["relu1"]["folded_into"] == "conv1" and rows["relu1"]["bytes"] == 0
    # the convolution's output is a graph output too: the Add runs as a pass of its own
    assert rows["add2"]["folded_into"] is None and rows["add2"]["bytes"] == 3 * tensor
    unfused = targets.get("raspberry-pi-5").estimate(residual, fuse=False)
    assert all(r.get("folded_into") is None for r in unfused.layers)
    assert {r["name"]: r for r in unfused.layers}["add1"]["bytes"] == 3 * tensor


def _ceiling(rate: float, intensity: float, spread: float = 2.0) -> Ceiling:
    return Ceiling("conv", rate, 1.0, 1.0, 1.0, spread, 30, intensity=intensity,
                   shape=f"at {intensity:g}")


def test_a_layers_ceiling_is_interpolated_by_intensity_between_the_shapes_calibrated() -> None:
    calibration = Calibration("local", {"conv": _ceiling(80.0, 100.0)}, 2, "now",
                              shapes={"conv": (_ceiling(20.0, 25.0, spread=9.0),)})
    # halfway in the logarithm of the intensity: halfway in the logarithm of the rate
    middle = calibration.rate_at("conv", 50.0)
    assert middle is not None and middle.rate == pytest.approx(math.sqrt(80.0 * 20.0))
    assert middle.spread_pct == 9.0  # the wider of the two it lies between
    assert calibration.rate_at("conv", 5.0).rate == pytest.approx(20.0)  # type: ignore[union-attr]
    assert calibration.rate_at("conv", 500.0).rate == pytest.approx(80.0)  # type: ignore[union-attr]
    assert calibration.rate_at("conv", None).rate == 80.0  # type: ignore[union-attr]
    one_shape = Calibration("local", {"conv": _ceiling(80.0, 100.0)}, 2, "now")
    assert one_shape.rate_at("conv", 25.0).rate == 80.0  # type: ignore[union-attr]


def test_convolutions_of_equal_work_and_different_intensity_get_different_ceilings(
        residual: Model) -> None:
    rows = {r["name"]: r for r in targets.get("raspberry-pi-5").estimate(residual).layers}
    intensity = 2 * rows["conv1"]["macs"] / rows["conv1"]["bytes"]
    # calibrated either side of this model's convolutions, so each is interpolated
    calibration = Calibration(
        "local", {"conv": _ceiling(80.0, 4 * intensity), "elementwise": Ceiling(
            "elementwise", 10.0, 1.0, 1.0, 1.0, 2.0, 30)}, 2, "now",
        shapes={"conv": (_ceiling(20.0, intensity / 4),)})
    estimate = targets.get("raspberry-pi-5").estimate(residual, ceilings=calibration)
    conv1 = {r["name"]: r for r in estimate.layers}["conv1"]
    assert "calibrated at 2 shapes" in conv1["ceiling"]
    assert conv1["compute_us"] == pytest.approx(2 * conv1["macs"] / (40.0 * 1e3))


def _three_shapes(rates: tuple[float, float, float], rule: str = "fit") -> Calibration:
    low, middle, high = (_ceiling(r, i) for r, i in zip(rates, (10.0, 20.0, 40.0), strict=True))
    return Calibration("local", {"conv": middle}, 2, "now", shapes={"conv": (low, high)},
                       intensity_rule=rule)


def _rate(calibration: Calibration, intensity: float) -> float:
    found = calibration.rate_at("conv", intensity)
    assert found is not None
    return found.rate


def test_one_shape_measured_slow_moves_layers_either_side_of_it_alike_under_the_fit() -> None:
    # the middle shape's dip, between two equal ones, is noise to the fit: a flat line at
    # the rates' geometric mean, where interpolation splits the layers either side apart
    fitted = _three_shapes((100.0, 60.0, 100.0))
    flat = (100.0 * 60.0 * 100.0) ** (1 / 3)
    assert _rate(fitted, 15.0) == pytest.approx(flat)
    assert _rate(fitted, 30.0) == pytest.approx(flat)
    interpolated = _three_shapes((100.0, 60.0, 100.0), rule="interpolate")
    assert _rate(interpolated, 15.0) < 100.0 and _rate(interpolated, 20.0) == pytest.approx(60.0)


def test_the_fitted_rate_is_the_least_squares_line_in_log_log_held_within_the_shapes() -> None:
    import numpy as np

    fitted = _three_shapes((50.0, 80.0, 90.0))
    slope, offset = np.polyfit(np.log([10.0, 20.0, 40.0]), np.log([50.0, 80.0, 90.0]), 1)
    for intensity in (10.0, 14.0, 25.0, 40.0):
        line = math.exp(offset + slope * math.log(intensity))
        assert _rate(fitted, intensity) == pytest.approx(min(max(line, 50.0), 90.0))
    # a roofline's bend (rising, then flat): the line would pass above the flat part's rate
    bend = _three_shapes((10.0, 100.0, 100.0))
    assert max(_rate(bend, i) for i in (10.0, 20.0, 30.0, 40.0, 400.0)) == pytest.approx(100.0)
    assert min(_rate(bend, i) for i in (1.0, 10.0, 20.0)) >= 10.0
    # monotone, and outside the calibrated intensities held at the ends
    rates = [_rate(fitted, i) for i in (2.0, 10.0, 15.0, 30.0, 40.0, 400.0)]
    assert rates == sorted(rates) and rates[0] == rates[1] and rates[-1] == rates[-2]
    # the spread is the widest of the shapes' (the middle one here at 2 %)
    wide = Calibration("local", {"conv": _ceiling(80.0, 20.0)}, 2, "now",
                       shapes={"conv": (_ceiling(50.0, 10.0, spread=7.0), _ceiling(90.0, 40.0))})
    assert wide.rate_at("conv", 30.0).spread_pct == 7.0  # type: ignore[union-attr]


def test_the_intensity_rule_is_kept_with_the_calibration_and_an_unknown_one_is_refused() -> None:
    from workbench.errors import InvalidOptionValue

    interpolated = _three_shapes((50.0, 80.0, 90.0), rule="interpolate")
    again = Calibration.from_dict(interpolated.to_dict())
    assert again.intensity_rule == "interpolate"
    assert _rate(again, 15.0) == pytest.approx(_rate(interpolated, 15.0))
    # a calibration stored before the rule existed reads as the fit
    old = interpolated.to_dict()
    del old["intensity_rule"]
    assert Calibration.from_dict(old).intensity_rule == "fit"
    # a stored one naming an unknown rule does not read, as a calibration file that is cut short
    with pytest.raises(ValueError, match="spline"):
        Calibration.from_dict(dict(old, intensity_rule="spline"))
    with pytest.raises(InvalidOptionValue, match="intensity_rule='spline'") as caught:
        _three_shapes((50.0, 80.0, 90.0), rule="spline")
    assert "fit, interpolate" in str(caught.value)
