"""The targets commands, through workbench.cli.main."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cli import main


def test_targets_lists_the_catalog_boards(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "raspberry-pi-5" in out and "radxa-rock-5b" in out


def test_target_shows_a_board_with_peaks_and_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["target", "raspberry-pi-5"]) == 0
    out = capsys.readouterr().out
    assert "153.6 GFLOP/s FP32" in out and "sources:" in out


def test_target_with_an_unknown_name_exits_2_with_close_matches(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["target", "raspbery-pi-5"]) == 2
    err = capsys.readouterr().err
    assert "raspberry-pi-5" in err and "Traceback" not in err


def test_detect_reports_the_local_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("local: ")
    assert "Arm" in out  # "Arm: ..." on an Arm machine, "not an Arm machine: ..." elsewhere


def test_estimate_prints_the_layers_and_writes_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.html"
    assert main(["estimate", "zoo:mobilenetv2", "--target", "raspberry-pi-4", "--threads", "2",
                 "--dtype", "int8", "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "compute-bound" in out and "memory-bound" in out and "ESTIMATE" in out
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the error bar and the kernel classes, in the printed summary and in the report
    for shown in (out, page):
        assert "at least " in shown and "(a lower bound: every layer costed at the datasheet " \
            "peaks" in shown and "depthwise" in shown
        assert "± 100 %" not in shown and "0 runs" not in shown
    assert "<h2>Kernel classes</h2>" in page


def test_estimate_on_a_core_instead_of_a_board_exits_2(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["estimate", "zoo:mobilenetv2", "--target", "cortex-a76"]) == 2
    assert "not a board" in capsys.readouterr().err


def test_estimate_of_a_model_with_symbolic_dims_exits_2_and_takes_shape(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "zoo:mlp-dynamic", "--target", "raspberry-pi-5"]) == 2
    assert "--shape batch=1" in capsys.readouterr().err
    assert main(["estimate", "zoo:mlp-dynamic", "--target", "raspberry-pi-5",
                 "--shape", "batch=1"]) == 0
    assert "ESTIMATE" in capsys.readouterr().out


def test_estimate_needs_a_target_or_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "zoo:small-cnn"]) == 2
    assert "--target" in capsys.readouterr().err
    assert main(["estimate", "zoo:small-cnn", "--target", "raspberry-pi-5", "--calibrate"]) == 2
    assert "--device" in capsys.readouterr().err


def test_estimate_for_a_device_uses_its_detected_board_or_says_why_not(
        capsys: pytest.CaptureFixture[str]) -> None:
    import platform

    code = main(["estimate", "zoo:small-cnn", "--device", "local"])
    if platform.machine() in ("x86_64", "AMD64"):
        assert code == 2
        assert "No Arm target was detected on local" in capsys.readouterr().err
    else:
        assert code == 0


def test_estimate_with_the_devices_measured_ceilings_says_so(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "estimate.json"
    assert main(["estimate", "zoo:small-cnn", "--target", "raspberry-pi-5", "--device", "local",
                 "--calibrate", "--json", str(out)]) == 0
    from workbench.profiling import Profile

    target = Profile.load(out).document["target"]
    assert target["ceilings"] == "calibrated" and target["calibration"]["device"] == "local"
