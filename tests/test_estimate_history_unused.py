"""An estimate asked to learn from a device's history says when there is nothing to learn."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import conv_relu_model
from tests.profiling.conftest import make_document
from workbench import history
from workbench.jobs import estimate
from workbench.profiling import Profile


def test_an_estimate_from_a_history_of_emulated_runs_only_says_they_are_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    history.save(Profile(make_document("emulated")))
    made = estimate(conv_relu_model(tmp_path / "m.onnx"), target="raspberry-pi-5",
                    device="emu-pi5", history=True)
    said = made.document["warnings"][0]
    assert said.startswith("history: no measured profiles of emu-pi5")
    assert "1 emulated runs are not used" in said and "datasheet" in said


def test_an_estimate_from_an_empty_history_says_to_profile_the_device_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    made = estimate(conv_relu_model(tmp_path / "m.onnx"), target="raspberry-pi-5",
                    device="pi5", history=True)
    assert "workbench profile MODEL --device pi5" in made.document["warnings"][0]
