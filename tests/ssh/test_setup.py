"""Putting a runtime on a board that has only plain Python: real wheels, real upload, real run."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench as wb
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd
from workbench import errors
from workbench.devices.setup import fetch_wheels, platform_tags, setup_device

SYSTEM_PYTHON = "/usr/bin/python3"


def test_platform_tags_run_from_the_boards_glibc_down_to_manylinux2014() -> None:
    tags = platform_tags("aarch64", ["glibc", "2.31"])
    assert tags[0] == "manylinux_2_31_aarch64" and "manylinux_2_28_aarch64" in tags
    assert "manylinux2014_aarch64" in tags and "manylinux_2_32_aarch64" not in tags


def test_a_board_without_glibc_is_an_unsupported_platform() -> None:
    with pytest.raises(errors.UnsupportedPlatform, match="not glibc"):
        platform_tags("aarch64", ["", ""])


def test_no_wheel_for_the_board_is_a_clear_error() -> None:
    board = {"version": [3, 11, 2], "machine": "armv7l", "libc": ["glibc", "2.36"]}
    with pytest.raises(errors.UnsupportedPlatform, match="No onnxruntime wheel"):
        fetch_wheels(["onnxruntime"], board)


@pytest.mark.slow
def test_setup_installs_the_runtime_on_a_bare_board_and_then_profiles_run(
        sshd: Sshd, tmp_path: Path, conv_model: Path) -> None:
    device = make_board(sshd, tmp_path, python=SYSTEM_PYTHON)
    if "onnxruntime" in device.probe().runtimes:
        pytest.skip(f"{SYSTEM_PYTHON} already has onnxruntime here")
    with pytest.raises(errors.BackendUnavailable, match="device setup"):
        wb.profile(conv_model, device=device, runs=1)
    report = setup_device(device)
    assert report["versions"]["onnxruntime"]["board"] == report["versions"]["onnxruntime"]["host"]
    assert report["skew"] == []
    p = wb.profile(conv_model, device=device, warmup=0, runs=3, profile_runs=1)
    assert p.to_dict()["device"]["python"] == report["python"]
    assert p.layers


@pytest.mark.slow
def test_setup_for_litert_installs_it_and_a_twin_then_runs_on_the_board(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, python=SYSTEM_PYTHON)
    if "litert" in device.probe().runtimes:
        pytest.skip(f"{SYSTEM_PYTHON} already has LiteRT here")
    with pytest.raises(errors.BackendUnavailable, match="device setup"):
        wb.profile("zoo:small-cnn.tflite", device=device, backend="litert", runs=1)
    report = setup_device(device, backend="litert")
    assert report["versions"]["litert"]["board"] == report["versions"]["litert"]["host"]
    p = wb.profile("zoo:small-cnn.tflite", device=device, backend="litert", warmup=0, runs=3,
                   profile_runs=0)
    assert p.document["backend"]["name"] == "litert" and len(p.latency_samples) == 3
    assert p.document["delegation"]["providers"] == ["XNNPACK"]
