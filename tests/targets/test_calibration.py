"""Calibration per kernel class: ceilings, spread, refusal under contention, storage, use."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench import errors, targets
from workbench.jobs import calibrate, estimate, stored_calibration
from workbench.models import Model, load_model
from workbench.targets.calibration import (
    BLOCKS,
    JOBS_PER_CLASS,
    MAX_SPREAD_PCT,
    Calibration,
    Ceiling,
    block_rates,
    rates_spread_pct,
    spread_pct,
)
from workbench.targets.kernels import CLASSES, classify
from workbench.targets.roofline import CLASS_ERROR_PCT

#: short runs: these tests are about what a calibration records, not about its precision
QUICK = {"time_budget_s": 0.3, "attempts": 1}


@pytest.fixture(scope="module")
def mobilenet() -> Model:
    return load_model("zoo:mobilenetv2")


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    # a generous limit: the machine running the tests may be busy; refusal has its own test
    return calibrate("local", options={"intra_op_threads": 1}, max_spread_pct=1000,
                     max_others_share=1.0, store=False, **QUICK)  # type: ignore[arg-type]


@pytest.fixture
def busy_core() -> Iterator[int]:
    """A busy loop pinned to one core of this process's, for as long as the test runs."""
    core = min(os.sched_getaffinity(0))
    loop = subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{core}}})"
                             "\nprint('busy', flush=True)\nwhile True: pass"],
                            stdout=subprocess.PIPE, text=True)
    try:
        # the calibration must not start before the loop does (a warm agent starts at once)
        assert loop.stdout is not None and loop.stdout.readline() == "busy\n"
        yield core
    finally:
        loop.kill()
        loop.wait()


def test_every_kernel_class_gets_a_ceiling_with_its_spread_and_conditions(
        calibration: Calibration) -> None:
    assert list(calibration.ceilings) == list(CLASSES)
    for ceiling in calibration.ceilings.values():
        assert ceiling.rate > 0 and ceiling.runs >= 10
        assert ceiling.fast_ms <= ceiling.median_ms <= ceiling.slow_ms
        assert 0 <= ceiling.spread_pct < 100
    assert calibration.ceilings["gemm"].unit == "GFLOP/s"
    assert calibration.ceilings["pooling"].unit == "GB/s"
    assert calibration.conditions["cores_used"]
    assert "loadavg_1m" in calibration.conditions and "others_cpu_share" in calibration.conditions
    # a depthwise kernel does far less arithmetic per byte than a dense one: which class a
    # layer is costed by follows that (their measured rates follow it too, but a busy machine
    # running the tests may slow one class's jobs and not the other's)
    depthwise, gemm = calibration.ceilings["depthwise"], calibration.ceilings["gemm"]
    assert depthwise.intensity is not None and gemm.intensity is not None
    assert depthwise.intensity < gemm.intensity / 4


def test_a_calibration_on_a_core_shared_with_a_busy_loop_is_refused_and_not_kept(
        busy_core: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    with pytest.warns(UserWarning, match="not kept as its ceilings"):
        refused = calibrate("local", classes=["gemm"], cores=[busy_core], shapes=False,
                            options={"intra_op_threads": 1}, **QUICK)  # type: ignore[arg-type]
    assert not refused.accepted
    # the fast runs stay fast between the busy loop's slices: it is the shared core that refuses
    assert refused.others_share is not None and refused.others_share > 0.25
    assert "of the cores it ran on" in refused.reason()
    assert stored_calibration("local") is None
    with pytest.warns(UserWarning, match="not to be trusted .* none of it is kept"):
        used = estimate("zoo:mobilenetv2", target="raspberry-pi-5", calibrate=refused)
    assert any("was not accepted" in w for w in used.document["warnings"])
    # its spread widens the error bar beyond that of a class ceiling alone
    assert used.document["estimate"]["error_pct"] > CLASS_ERROR_PCT + 1


def test_an_accepted_calibration_is_kept_and_replaces_a_refused_one_in_estimates(
        calibration: Calibration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    kept = calibrate("local", classes=["elementwise"], max_spread_pct=1000,
                     max_others_share=1.0, **QUICK)  # type: ignore[arg-type]
    assert kept.accepted
    loaded = stored_calibration("local")
    assert loaded is not None and loaded.ceilings == kept.ceilings
    wide = Ceiling("elementwise", 1.0, 1.0, 2.0, 3.0, 50.0, 10)
    refused = Calibration("local", {"elementwise": wide}, 1, "now", max_spread_pct=15)
    with pytest.warns(UserWarning, match="uses the one kept"):
        used = estimate("zoo:mobilenetv2", target="raspberry-pi-5", calibrate=refused)
    assert used.document["target"]["calibration"]["ceilings"]["elementwise"]["rate"] == \
        pytest.approx(kept.gbs)


def test_an_unknown_kernel_class_is_refused_before_any_job() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="'winograd' is not a kernel class"):
        calibrate("local", classes=["winograd"])
    with pytest.raises(errors.InvalidOptionValue, match="not a share between 0 and 1"):
        calibrate("local", max_others_share=25)


def _ceiling_of(samples_ms: list[float], work: float = 1e6) -> Ceiling:
    rates = block_rates(samples_ms, work)
    return Ceiling("gemm", statistics.median(rates), 1.0, 1.0, 1.0, rates_spread_pct(rates),
                   len(samples_ms), block_rates=rates, others_share_on_cores=0.05)


def test_jittery_runs_whose_fast_runs_agree_give_a_ceiling_that_is_kept() -> None:
    # a virtual machine's jitter: every fourth run twice as slow, all through the job
    jitter = [2.0 if i % 4 == 3 else 1.0 + 0.01 * (i % 3) for i in range(400)]
    ceiling = _ceiling_of(jitter)
    assert spread_pct(1.0, 2.0) > MAX_SPREAD_PCT  # what the fast-against-slow spread says
    assert ceiling.spread_pct < 2 and ceiling.rate == pytest.approx(1.0, rel=0.02)
    assert Calibration("local", {"gemm": ceiling}, 1, "now").accepted


def test_a_ceiling_whose_fast_runs_drift_between_stretches_is_refused() -> None:
    # the second half of the job ran at half the speed: the ceiling does not reproduce
    drift = [1.0] * 200 + [2.0] * 200
    ceiling = _ceiling_of(drift)
    assert len(ceiling.block_rates) == BLOCKS and ceiling.spread_pct > 30
    refused = Calibration("local", {"gemm": ceiling}, 1, "now")
    assert not refused.accepted and "wider than" in refused.reason()


def test_layers_are_sorted_into_kernel_classes_by_op_and_shapes(mobilenet: Model) -> None:
    found = {classify(n.op_type, n.input_shapes) for n in mobilenet.nodes}
    assert {"gemm", "conv", "depthwise", "elementwise", "pooling"} <= found
    assert classify("Conv", [[1, 32, 56, 56], [32, 1, 3, 3]]) == "depthwise"
    assert classify("Conv", [[1, 32, 56, 56], [64, 32, 1, 1]]) == "gemm"
    assert classify("FusedConv", [[1, 32, 56, 56], [64, 32, 3, 3]]) == "conv"


def test_each_layer_is_costed_at_its_own_classes_calibrated_ceiling(
        calibration: Calibration, mobilenet: Model) -> None:
    calibrated = targets.get("raspberry-pi-5").estimate(mobilenet, ceilings=calibration)
    seen = set()
    for row in calibrated.layers:
        # a compute layer's ceiling is its class's at the layer's arithmetic intensity
        ceiling = calibration.rate_at(row["kernel_class"], 2 * row["macs"] / row["bytes"]
                                      if row["macs"] and row["bytes"] else None)
        assert ceiling is not None
        assert row["rate_source"] == "calibrated"
        assert row["ceiling"].startswith(row["kernel_class"])
        if row["kernel_class"] in ("gemm", "conv", "depthwise"):
            # the MACs at the class's rate, plus what fused BatchNorm and activations add
            macs_us = 2 * row["macs"] / (ceiling.rate * 1e3)
            assert macs_us * 0.999 <= row["compute_us"] <= 1.5 * macs_us
        seen.add(row["kernel_class"])
    assert seen == set(CLASSES)
    # per class, not one GEMM rate for all: depthwise layers get their own, lower rate
    depthwise = next(r for r in calibrated.layers if r["kernel_class"] == "depthwise")
    assert f"{calibration.ceilings['depthwise'].rate:.1f} GFLOP/s" in depthwise["ceiling"]


def test_gemm_and_convolution_are_calibrated_at_three_intensities_and_layers_use_theirs(
        calibration: Calibration, mobilenet: Model) -> None:
    for kernel_class in ("gemm", "conv"):
        measured = calibration.intensities(kernel_class)
        assert len(measured) == 3 and len(set(measured)) == 3
        assert all(c.rate > 0 and c.shape for c in calibration.shapes[kernel_class])
        # every shape is measured in separate jobs, so its spread sees a job-long slow state
        for ceiling in (calibration.ceilings[kernel_class], *calibration.shapes[kernel_class]):
            assert len(ceiling.job_rates) == JOBS_PER_CLASS
            assert min(ceiling.block_rates) <= min(ceiling.job_rates)
            assert max(ceiling.job_rates) <= max(ceiling.block_rates)
    assert "depthwise" not in calibration.shapes  # one shape: its intensity hardly varies
    again = Calibration.from_dict(calibration.to_dict())
    assert again.shapes == calibration.shapes
    calibrated = targets.get("raspberry-pi-5").estimate(mobilenet, ceilings=calibration)
    gemms = [r for r in calibrated.layers if r["kernel_class"] == "gemm" and r["bytes"]]
    low, high = calibration.intensities("gemm")[0], calibration.intensities("gemm")[-1]
    inside = [r for r in gemms if low < 2 * r["macs"] / r["bytes"] < high]
    assert inside, "MobileNetV2 has pointwise layers between the GEMM shapes calibrated"
    for row in gemms:
        assert "calibrated at 3 shapes" in row["ceiling"]
        rate = calibration.rate_at("gemm", 2 * row["macs"] / row["bytes"])
        assert rate is not None and f"gemm {rate.rate:.1f} GFLOP/s" in row["ceiling"]
