"""Roofline estimates, RAM fit, comparison with a measured profile, and calibration."""

from __future__ import annotations

from typing import Any

import pytest

from workbench import errors, targets
from workbench.formats import PROFILE, validate
from workbench.models import Model, load_model
from workbench.profiling import Profile, compare
from workbench.targets.target import Target


@pytest.fixture(scope="module")
def mobilenet() -> Model:
    return load_model("zoo:mobilenetv2")


def board(name: str) -> Target:
    target = targets.get(name)
    assert isinstance(target, Target)
    return target


def test_mobilenet_estimates_are_faster_on_pi5_than_pi4_than_pi3(mobilenet: Model) -> None:
    times = [board(name).estimate(mobilenet).latency["median"]
             for name in ("raspberry-pi-5", "raspberry-pi-4", "raspberry-pi-3b-plus")]
    assert times[0] < times[1] < times[2]


def test_an_estimate_is_a_valid_profile_of_kind_estimate(mobilenet: Model) -> None:
    estimate = board("raspberry-pi-5").estimate(mobilenet, threads=2)
    validate(estimate.to_dict(), PROFILE)
    assert estimate.kind == "estimate" and estimate.is_estimate
    assert estimate.document["target"]["ceilings"] == "datasheet"
    assert estimate.document["target"]["threads"] == 2
    assert Profile(estimate.to_dict()).latency["median"] == estimate.latency["median"]
    assert "ESTIMATE" in estimate.to_html()


def test_every_layer_says_whether_compute_or_memory_bound_and_both_occur(mobilenet: Model
                                                                         ) -> None:
    estimate = board("raspberry-pi-4").estimate(mobilenet)
    bounds = {layer["bound"] for layer in estimate.layers}
    assert bounds == {"compute", "memory"}
    for layer in estimate.layers:
        expected = "compute" if layer["compute_us"] >= layer["memory_us"] else "memory"
        assert layer["bound"] == expected
    assert sum(layer["share"] for layer in estimate.layers) == pytest.approx(1.0)


def test_int8_estimates_are_faster_than_fp32_on_a_dotprod_core(mobilenet: Model) -> None:
    pi5 = board("raspberry-pi-5")
    assert pi5.estimate(mobilenet, dtype="int8").latency["median"] < \
        pi5.estimate(mobilenet, dtype="fp32").latency["median"]


def test_the_little_cluster_estimate_is_slower_than_the_big_one(mobilenet: Model) -> None:
    rock = board("radxa-rock-5b")
    assert rock.estimate(mobilenet, cluster="little").latency["median"] > \
        rock.estimate(mobilenet, cluster="big").latency["median"]


def test_estimates_compare_like_measured_profiles(mobilenet: Model) -> None:
    frame = compare([board("raspberry-pi-5").estimate(mobilenet),
                     board("raspberry-pi-4").estimate(mobilenet)]).to_dataframe()
    covered = sorted(n for nodes in frame["original_nodes"] for n in nodes.split(", "))
    assert covered == sorted(node.name for node in mobilenet.nodes)


def test_activations_and_batchnorm_are_fused_into_the_conv_before_them(
        mobilenet: Model) -> None:
    pi5 = board("raspberry-pi-5")
    fused, alone = pi5.estimate(mobilenet), pi5.estimate(mobilenet, fuse=False)
    stem = next(row for row in fused.layers if "stem.conv" in row["original_nodes"])
    op_type = {node.name: node.op_type for node in mobilenet.nodes}
    assert [op_type[n] for n in stem["original_nodes"]] == [
        "Conv", "BatchNormalization", "Clip"]
    assert len(alone.layers) == len(mobilenet.nodes) > len(fused.layers)
    # the fused group's intermediate tensors never reach DRAM: fewer bytes, less time
    assert sum(r["bytes"] for r in fused.layers) < sum(r["bytes"] for r in alone.layers)
    assert fused.latency["median"] < alone.latency["median"]


def too_big_for_half_a_gigabyte() -> Model:
    import onnx
    from onnx import TensorProto, helper

    # 100 M floats in and out: 800 MB of live activations, no weights to store
    shape = [1, 100_000_000]
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "big_activations",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return load_model(helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]))


def test_a_model_too_big_for_the_board_ram_warns_in_fits_and_the_estimate() -> None:
    model = too_big_for_half_a_gigabyte()
    small = targets.fits(model, "raspberry-pi-zero-2-w")
    assert not small and small.warning and "does not fit raspberry-pi-zero-2-w" in small.warning
    assert targets.fits(model, "raspberry-pi-5").fits_largest
    estimate = board("raspberry-pi-zero-2-w").estimate(model)
    assert any("does not fit" in w for w in estimate.document["warnings"])
    assert estimate.document["target"]["fits_ram"] is False


def test_mobilenet_fits_every_raspberry_pi(mobilenet: Model) -> None:
    for name in ("raspberry-pi-zero-2-w", "raspberry-pi-3b-plus", "raspberry-pi-5"):
        assert targets.fits(mobilenet, name).fits_smallest


def test_an_estimate_needs_a_known_dtype(mobilenet: Model) -> None:
    with pytest.raises(errors.InvalidOptionValue):
        board("raspberry-pi-5").estimate(mobilenet, dtype="int4")


@pytest.fixture(scope="module")
def measured(mobilenet: Model) -> Profile:
    import workbench

    return workbench.profile(mobilenet, device="local", runs=5, warmup=1, profile_runs=2)


def test_an_estimate_compares_with_a_measured_profile_per_layer_and_overall(
        mobilenet: Model, measured: Profile) -> None:
    estimate = board("raspberry-pi-5").estimate(mobilenet)
    result = targets.compare_estimate(estimate, measured)
    table: Any = result.table
    assert {"measured_us", "estimate_us", "ratio", "error_pct", "bound"} <= set(table.columns)
    assert result.overall["layers_matched"] > 10
    matched = table.dropna(subset=["measured_us", "estimate_us"])
    row = matched.iloc[0]
    assert row["ratio"] == pytest.approx(row["estimate_us"] / row["measured_us"])
    assert result.overall["ratio"] == pytest.approx(
        estimate.latency["median"] / measured.latency["median"])
    assert "ratio" in repr(result)


def test_calibration_on_the_local_device_gives_ceilings_an_estimate_records(
        mobilenet: Model) -> None:
    from workbench.jobs import calibrate

    calibration = calibrate("local", runs=5, warmup=1, attempts=1, store=False, shapes=False)
    assert calibration.gflops > 0.5 and calibration.gbs > 0.1
    calibrated = board("raspberry-pi-5").estimate(mobilenet, ceilings=calibration)
    target = calibrated.document["target"]
    assert target["ceilings"] == "calibrated"
    assert target["bandwidth_gbs"] == pytest.approx(calibration.gbs)
    assert target["calibration"]["gflops"] == pytest.approx(calibration.gflops)
    validate(calibrated.to_dict(), PROFILE)


def test_an_estimate_of_a_model_with_symbolic_dims_asks_for_sizes() -> None:
    dynamic = load_model("zoo:mlp-dynamic")
    with pytest.raises(errors.EstimateError, match=r"symbolic dims \(batch\)") as caught:
        board("raspberry-pi-5").estimate(dynamic)
    assert "with_shapes(batch=1" in caught.value.hint
    with pytest.raises(errors.EstimateError, match="symbolic dims"):
        targets.fits(dynamic, "raspberry-pi-5")
    fixed = board("raspberry-pi-5").estimate(dynamic.with_shapes(batch=1))
    assert fixed.latency["median"] > 0 and fixed.document["model"]["macs"] > 0


def test_fits_refuses_an_overhead_that_is_not_a_byte_count(mobilenet: Model) -> None:
    for overhead in (-1, 1.5, "200M"):
        with pytest.raises(errors.InvalidOptionValue, match="overhead_bytes"):
            targets.fits(mobilenet, "raspberry-pi-5", overhead_bytes=overhead)  # type: ignore[arg-type]
    assert targets.fits(mobilenet, "raspberry-pi-5", overhead_bytes=0).overhead_bytes == 0


def test_fits_on_a_core_says_it_is_a_core_not_a_board(mobilenet: Model) -> None:
    with pytest.raises(errors.UnknownTarget, match="'cortex-a76' is a core, not a board"):
        targets.fits(mobilenet, "cortex-a76")
    assert targets.fits(mobilenet, "Raspberry-Pi-5").board == "raspberry-pi-5"


def test_threads_must_be_a_whole_number() -> None:
    with pytest.raises(errors.InvalidOptionValue, match=r"threads=2\.5"):
        board("raspberry-pi-5").peak_gops("fp32", threads=2.5)  # type: ignore[arg-type]


def test_compare_estimate_refuses_an_estimate_as_the_measurement(mobilenet: Model) -> None:
    estimate = board("raspberry-pi-5").estimate(mobilenet)
    with pytest.raises(errors.InvalidOptionValue, match="second profile is an estimate"):
        targets.compare_estimate(estimate, board("raspberry-pi-4").estimate(mobilenet))
