"""The profile command's own cost: its start, and the kept path in a pipe and on a terminal.

Each figure is a new ``python -m workbench.cli`` process's wall and CPU time, the change
against its baseline alternated in the same run (medians of --repeats, min-max):

* ``profile --help``: the command imports its own group's module alone, against
  the same command with every command module imported first (the CLI before);
* ``profile MODEL --device bench-board`` through a kept connection (a keeper on
  a real sshd on 127.0.0.1, started once; a small conv model, 3 timed runs), its
  output to pipes, against every command module and platformdirs imported first;
  then with stderr on a terminal (a pty, where the stage bars
  draw): rich's progress display loaded on a thread while the request goes out,
  against rich imported before the command starts (the command before).

    python benchmarks/bench_cli_start.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote"), str(ROOT / "benchmarks")]

#: the command, optionally with ``PRELOAD`` imported first (the baselines)
RUN = ("import importlib, sys\n"
       "for name in sys.argv[1].split(','):\n"
       "    name and importlib.import_module(name)\n"
       "from workbench.cli import main\n"
       "sys.exit(main(sys.argv[2:]))\n")


def command(preload: list[str], args: list[str], terminal: bool) -> tuple[float, float]:
    """One command's wall time and CPU time (user + system); stderr on a pty when
    ``terminal``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "remote")]),
           "COLUMNS": "120", "TERM": "xterm"}
    argv = [sys.executable, "-c", RUN, ",".join(preload), *args]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if not terminal:
        subprocess.run(argv, env=env, check=True, capture_output=True)
        return time.perf_counter() - start, _cpu_since(used)
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    while True:
        try:
            if not os.read(leader, 65536):
                break
        except OSError:
            break
    process.communicate()
    elapsed = time.perf_counter() - start
    os.close(leader)
    if process.returncode:
        raise SystemExit(f"the command failed: {argv}")
    return elapsed, _cpu_since(used)


def _cpu_since(used: resource.struct_rusage) -> float:
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


def spread(values: list[float]) -> str:
    return (f"median {1e3 * statistics.median(values):.0f} ms "
            f"(min {1e3 * min(values):.0f}, max {1e3 * max(values):.0f})")


def compare(title: str, new: list[str], old: list[str], args: list[str], terminal: bool,
            repeats: int) -> None:
    runs: dict[str, list[tuple[float, float]]] = {"now": [], "before": []}
    for _ in range(repeats):
        runs["before"].append(command(old, args, terminal))
        runs["now"].append(command(new, args, terminal))
    for i, what in ((0, "wall"), (1, "CPU")):
        now, before = ([run[i] for run in runs[key]] for key in ("now", "before"))
        saved = statistics.median(before) - statistics.median(now)
        print(f"{title}, {what}: now {spread(now)}; before {spread(before)}; "
              f"ratio before/now {statistics.median(before) / statistics.median(now):.2f}, "
              f"{1e3 * saved:.0f} ms less")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    options = parser.parse_args()
    from kept_board import NAME, start_kept_board, stop_kept_board

    from tests.conftest import conv_relu_model
    from workbench.cli import COMMANDS

    groups = [f"workbench.cli.{group}" for group in dict.fromkeys(COMMANDS.values())]
    print(f"load average at the start: {os.getloadavg()}")
    compare("profile --help", [], groups, ["profile", "--help"], False, options.repeats)
    with tempfile.TemporaryDirectory(prefix="wbc") as tmp:
        folder = Path(tmp)
        server = start_kept_board(folder)
        model = conv_relu_model(folder / "conv_relu.onnx")
        profile = ["profile", str(model), "--device", NAME, "--warmup", "0", "--runs",
                   "3", "--profile-runs", "1", "--out", str(folder / "r.html")]
        try:
            command([], profile, False)  # the keeper's first job: the warm agent, the model
            # before: every command module, and platformdirs for the default folders (which
            # a user without WORKBENCH_*_DIR variables paid; this run sets them for its keeper)
            compare("kept profile, piped", [], [*groups, "platformdirs"], profile, False,
                    options.repeats)
            compare("kept profile, on a terminal", [], ["rich.progress"], profile, True,
                    options.repeats)
        finally:
            stop_kept_board(server)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
