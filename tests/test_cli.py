"""The `workbench` command, run as a real subprocess."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, modules_loaded_by


def workbench(*args: str, cwd: Path | None = None,
              columns: str = "200") -> subprocess.CompletedProcess[str]:
    """The command in a subprocess, its output to pipes, with COLUMNS set to ``columns``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "remote")])
    env["COLUMNS"] = columns
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_profile_without_a_terminal_prints_a_line_as_each_stage_starts(
        conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), "--runs", "3", "--warmup", "1",
                     "--profile-runs", "1", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("stage: ")]
    assert lines[0] == "stage: connect"
    for later in ("stage: upload", "stage: warmup (1 run)", "stage: timed (3 runs)",
                  "stage: profile (1 run)"):
        assert lines.count(later) == 1, done.stderr
    assert lines.index("stage: warmup (1 run)") < lines.index("stage: timed (3 runs)")


def test_profile_prints_a_per_layer_summary_and_writes_the_report_and_json(
        conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), "--runs", "3", "--warmup", "0",
                     "--profile-runs", "2", "--out", str(tmp_path / "r.html"),
                     "--json", str(tmp_path / "p.json"), "-q")
    assert done.returncode == 0, done.stderr
    assert "conv1" in done.stdout and "latency" in done.stdout.lower()
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "p.json").read_text())["schema"] == "workbench.profile/2"


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


def test_a_cluster_that_is_neither_a_word_nor_an_index_exits_2_naming_the_accepted_ones(
        conv_model: Path) -> None:
    done = workbench("profile", str(conv_model), "--cluster", "medium", "-q")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not big, little, all or a cluster index" in done.stderr


def test_a_piped_profile_keeps_each_layer_row_on_one_line(conv_model: Path, tmp_path: Path) -> None:
    # COLUMNS=80 is what a pipe or a CI log gives rich when nothing else is said
    done = workbench("profile", str(conv_model), "--runs", "3", "--warmup", "0",
                     "--profile-runs", "2", "-q", "--out", str(tmp_path / "r.html"), columns="80")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "median µs" in line)
    assert "share" in header and "GMAC/s" in header
    rows = [line for line in lines if re.match(r"\d+  \S", line)]  # "1  layer  op type ..."
    assert any("conv1" in row for row in rows), done.stdout
    for row in rows:  # a wrapped row leaves its share and MACs on the next line
        assert re.search(r"\d %", row), row
    backend = next(line for line in lines if line.startswith("backend"))
    assert "intra_op_threads" in backend and "enable_cpu_mem_arena" in backend


def test_a_piped_table_keeps_each_row_on_one_line() -> None:
    done = workbench("zoo", columns="80")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "small-cnn" in line)
    assert "three conv blocks on 1x3x32x32, 10 classes; fast" in row


def test_the_parser_loads_no_library_module_beyond_errors() -> None:
    heavy = ("rich", "numpy", "onnx", "pandas", "paramiko", "matplotlib", "workbench.jobs",
             "workbench.models", "workbench.devices", "workbench.targets", "workbench.history")
    assert modules_loaded_by("from workbench.cli import parser; parser()", heavy) == []


def test_a_command_imports_the_module_of_its_own_group_alone() -> None:
    from workbench.cli import COMMANDS

    groups = tuple(f"workbench.cli.{group}" for group in dict.fromkeys(COMMANDS.values()))
    # a refused option: argparse has read the command and the options, and says so on stderr
    statement = ("from workbench.cli import main\ntry:\n    main(['profile', '--no-such'])\n"
                 "except SystemExit:\n    pass")
    assert modules_loaded_by(statement, groups) == ["workbench.cli.profile"]


def test_the_command_table_names_every_command_of_every_group_in_help_order() -> None:
    from workbench.cli import COMMANDS, parser

    listed = next(action for action in parser()._actions
                  if isinstance(action, argparse._SubParsersAction))
    assert list(listed.choices) == list(COMMANDS)
    for command, group in COMMANDS.items():
        only = next(action for action in parser(command)._actions
                    if isinstance(action, argparse._SubParsersAction))
        assert command in only.choices and all(COMMANDS[name] == group for name in only.choices)


def test_command_modules_import_only_the_shared_helpers_of_the_cli() -> None:
    # the package's entry modules assemble the groups; a command module reads on its own
    entry = {"__init__.py", "__main__.py"}
    for module in (ROOT / "workbench" / "cli").glob("*.py"):
        allowed = {"workbench.cli._common"} | ({"workbench.cli"} if module.name in entry else set())
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench.cli"):
                assert node.module in allowed, f"{module.name} imports from {node.module}"


def test_profile_says_where_the_time_went_step_by_step(conv_model: Path, tmp_path: Path) -> None:
    done = workbench("profile", str(conv_model), "--runs", "3", "--warmup", "0",
                     "--profile-runs", "1", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "where the time went" in line)
    steps = dict(re.findall(r"([a-z ]+?) (\d+\.\d\d) s", line.split(":", 1)[1]))
    for step in ("connect", "agent start", "session create", "timed", "download",
                 "host assembly"):
        assert step in {name.strip(" ·") for name in steps}, line


def test_on_a_terminal_profile_shows_a_bar_per_stage_and_prints_the_summary(
        conv_model: Path, tmp_path: Path) -> None:
    # stderr is a terminal (a pty): the bars load rich on a thread of their own meanwhile
    import pty

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "remote")]),
           "COLUMNS": "120", "TERM": "xterm"}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "profile", str(conv_model), "--runs", "3",
         "--warmup", "0", "--profile-runs", "1", "--out", str(tmp_path / "r.html")],
        stdout=subprocess.PIPE, stderr=follower, env=env, text=True)
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command closed its end
            break
        if not chunk:
            break
        terminal += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=300)
    assert process.returncode == 0, terminal.decode(errors="replace")
    shown = terminal.decode(errors="replace")
    for stage in ("connect", "timed", "profile", "download"):
        assert stage in shown, shown
    assert "conv1" in stdout


def test_python_dash_m_workbench_is_the_command() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "remote")])}
    done = subprocess.run([sys.executable, "-m", "workbench", "--help"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    from workbench.cli import COMMANDS

    listed = re.search(r"\{([a-z,]+)\}", done.stdout)
    assert listed is not None and listed.group(1).split(",") == list(COMMANDS)


def test_a_warning_that_comes_while_the_bars_load_is_shown_when_the_job_ends(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from workbench.cli import profile as cli_profile

    loaded = threading.Event()

    class SlowLoader:
        """A fake of importlib for the bars' loading thread: rich takes as long as the test
        says."""

        @staticmethod
        def import_module(name: str) -> None:
            loaded.wait(10)

    monkeypatch.setattr(cli_profile, "importlib", SlowLoader)
    bars = cli_profile._StageBars()
    try:
        bars({"event": "stage", "stage": "run", "done": 1, "total": 1})
        bars({"event": "log", "level": "warning", "message": "opset 9 upgraded to 13"})
        bars.close()
    finally:
        loaded.set()
    assert "warning: opset 9 upgraded to 13" in capsys.readouterr().err
