"""The `workbench` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def workbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "remote")])
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_profile_prints_a_per_layer_summary_and_writes_the_report_and_json(
        conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), "--runs", "3", "--warmup", "0",
                     "--profile-runs", "2", "--out", str(tmp_path / "r.html"),
                     "--json", str(tmp_path / "p.json"), "-q")
    assert done.returncode == 0, done.stderr
    assert "conv1" in done.stdout and "latency" in done.stdout.lower()
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "p.json").read_text())["schema"] == "workbench.profile/1"


def test_backend_options_are_passed_with_dash_o(conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), "--runs", "2", "--profile-runs", "0", "-q",
                     "-o", "intra_op_threads=1", "-o", "graph_optimization_level=basic",
                     "--json", str(tmp_path / "p.json"), "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    options = json.loads((tmp_path / "p.json").read_text())["backend"]["options"]
    assert options["intra_op_threads"] == 1 and options["graph_optimization_level"] == "basic"


def test_a_missing_model_prints_what_where_and_a_hint_without_a_traceback(tmp_path: Path) -> None:
    done = workbench("inspect", str(tmp_path / "nope.onnx"))
    assert done.returncode == 2
    assert "nope.onnx" in done.stderr and "workbench zoo" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_backend_option_exits_non_zero_and_lists_the_accepted_ones(
        conv_model: Path) -> None:
    done = workbench("profile", str(conv_model), "-o", "threads=4", "-q")
    assert done.returncode == 2
    assert "intra_op_threads" in done.stderr and "Traceback" not in done.stderr


def test_inspect_shows_totals_and_op_types() -> None:
    done = workbench("inspect", "zoo:mobilenetv2")
    assert done.returncode == 0, done.stderr
    assert "3.50 M" in done.stdout and "Conv" in done.stdout


def test_zoo_lists_the_bundled_models() -> None:
    done = workbench("zoo")
    assert done.returncode == 0, done.stderr
    for name in ("mobilenetv2", "resnet18", "resnet50", "mlp-dynamic", "digits"):
        assert name in done.stdout


def test_backends_lists_onnxruntime_with_its_options() -> None:
    done = workbench("backends")
    assert done.returncode == 0, done.stderr
    assert "onnxruntime" in done.stdout and "graph_optimization_level" in done.stdout


def test_devices_add_list_and_remove_round_trip_without_secrets(tmp_path: Path) -> None:
    added = workbench("devices", "add", "bench3-pi", "--host", "192.0.2.10", "--user", "pi",
                      "--notes", "lab bench 3")
    assert added.returncode == 0, added.stderr
    listed = workbench("devices")
    assert "bench3-pi" in listed.stdout and "192.0.2.10" in listed.stdout
    assert workbench("devices", "remove", "bench3-pi").returncode == 0
    assert "bench3-pi" not in workbench("devices").stdout


def test_devices_add_without_a_name_is_a_clear_error() -> None:
    done = workbench("devices", "add")
    assert done.returncode == 2 and "needs a device name" in done.stderr


def test_device_setup_on_the_local_machine_is_a_clear_error() -> None:
    done = workbench("device", "setup", "local")
    assert done.returncode == 2 and "local is a local device" in done.stderr
    assert "Traceback" not in done.stderr
