"""Deploy + profile over SSH vs doing the same by hand, against a real sshd on 127.0.0.1.

By hand: ``scp`` the model and a bare onnxruntime script to the board, ``ssh``
to run it (timed runs without profiling, then profiled runs, as the workbench
does), ``scp`` the profile back. Workbench, per round:

* first deploy: ``wb.profile`` with a fresh SSH device (empty board cache);
* notebook session: the same device again, twice (its warm agent runs them);
* cold agent: the same with a device that starts an agent per job (the code
  before the warm agent, measured in the same run);
* CLI: a new Python process per job that imports the workbench, connects,
  probes and profiles (what ``workbench profile`` pays), the board cache full
  (the probe kept on the host from the second round on);
* CLI kept: the ``workbench profile`` command itself in a new process while a
  kept connection runs (started once before the first round): the keeper
  holds the connection, the warm agent, the probe and the loaded model, and
  runs the whole request; the command asks and prints. Its breakdown adds
  ``command``: the process's wall time beyond the job's printed steps
  (Python start, imports, the request, printing).

Goals: first deploy ratio <= 1.0; overhead beyond the compute time (measured
inside the bare script, after its imports) < 0.1 s in a notebook session and
< 0.3 s from the CLI. Prints medians with their spread (min-max) over
--rounds, and each kind's step breakdown (``Job.steps``, medians per step).

The overhead is given two ways. Against the bare script: the median wall time
less the median compute of the bare script, two medians of separate
processes, so the compute's own noise (±0.1 s here for MobileNetV2) moves it.
Paired: each job's wall time less its own compute steps (session create,
warmup, timed, profiled), its median and spread; printed beside the median
compute of those steps against the bare script's, which says whether the
workbench's compute itself costs more.

    python benchmarks/bench_ssh_deploy.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote"), str(ROOT / "benchmarks")]

BARE = r'''
import json, sys, time
import numpy as np, onnxruntime as ort
path, out, warmup, runs, profile_runs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
start = time.perf_counter()
x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
for _ in range(1 + warmup):
    session.run(None, {"input": x})
times = []
for _ in range(runs):
    t = time.perf_counter(); session.run(None, {"input": x}); times.append(time.perf_counter() - t)
options = ort.SessionOptions(); options.enable_profiling = True
options.profile_file_prefix = out
profiled = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
for _ in range(1 + profile_runs):
    profiled.run(None, {"input": x})
trace = profiled.end_profiling()
print(json.dumps({"trace": trace, "compute_s": time.perf_counter() - start}))
'''


def by_hand(server: Any, model: Path, work: Path, args: argparse.Namespace) -> tuple[float, float]:
    ssh = ["-i", str(server.client_key), "-o", f"UserKnownHostsFile={server.known_hosts}",
           "-o", "BatchMode=yes"]
    remote = f"{work}/hand"
    script = work / "bare.py"
    script.write_text(BARE)
    start = time.perf_counter()
    subprocess.run(["ssh", *ssh, "-p", str(server.port), "root@127.0.0.1", "mkdir", "-p",
                    remote], check=True)
    subprocess.run(["scp", "-q", *ssh, "-P", str(server.port), str(model), str(script),
                    f"root@127.0.0.1:{remote}/"], check=True)
    done = subprocess.run(["ssh", *ssh, "-p", str(server.port), "root@127.0.0.1",
                           sys.executable, f"{remote}/bare.py", f"{remote}/{model.name}",
                           f"{remote}/prof", str(args.warmup), str(args.runs),
                           str(args.profile_runs)], check=True, capture_output=True, text=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    subprocess.run(["scp", "-q", *ssh, "-P", str(server.port),
                    f"root@127.0.0.1:{answer['trace']}", str(work / "trace.json")], check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(remote, ignore_errors=True)
    return elapsed, float(answer["compute_s"])

CLI = r'''
import json, sys, time
sys.path[:0] = sys.argv[1:3]
import workbench as wb
from workbench.devices.ssh import SSHDevice
settings = json.loads(sys.argv[3])
model, run = settings.pop("model"), settings.pop("run")
job = wb.submit(model, device=SSHDevice("testboard", **settings), **run)
job.result()
print(json.dumps(job.steps()))
'''


def with_workbench(device: Any, model: Any, args: argparse.Namespace,
                   steps: list[dict[str, float]]) -> float:
    import workbench as wb

    start = time.perf_counter()
    job = wb.submit(model, device=device, warmup=args.warmup, runs=args.runs,
                    profile_runs=args.profile_runs)
    job.result()
    elapsed = time.perf_counter() - start
    steps.append(job.steps())
    return elapsed


def from_cli(server: Any, work: Path, model: Path, args: argparse.Namespace,
             steps: list[dict[str, float]]) -> float:
    """One job in a new Python process, as ``workbench profile`` runs it."""
    settings = {"host": "127.0.0.1", "port": server.port, "user": "root",
                "key_filename": str(server.client_key), "known_hosts": [str(server.known_hosts)],
                "user_known_hosts": str(work / "user_known_hosts"),
                "ssh_config": str(work / "no_ssh_config"), "allow_agent": False,
                "look_for_keys": False, "python": sys.executable,
                "remote_cache": str(work / "board-cache"), "board_dir": str(work / "board"),
                "timeout": 5, "model": str(model),
                "run": {"warmup": args.warmup, "runs": args.runs,
                        "profile_runs": args.profile_runs}}
    return _process(CLI, settings, steps)


def _process(script: str, settings: dict[str, Any], steps: list[dict[str, float]]) -> float:
    """Run ``script`` in a new Python process; its wall time, its job's steps to ``steps``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(ROOT / "remote"),
                           json.dumps(settings)], check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    steps.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return elapsed


def from_cli_kept(model: Path, work: Path, args: argparse.Namespace,
                  steps: list[dict[str, float]]) -> float:
    """``workbench profile MODEL --device bench-board`` in a new process through the kept
    connection: its wall time; its printed steps, with the process's own time beside the
    job's (``command``: Python start, imports, the request, printing), to ``steps``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "remote")])}
    command = [sys.executable, "-m", "workbench.cli", "profile", str(model), "--device",
               "bench-board", "--warmup", str(args.warmup), "--runs", str(args.runs),
               "--profile-runs", str(args.profile_runs), "--out", str(work / "kept.html"),
               "--json", str(work / "kept.json")]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    line = next(line for line in done.stdout.splitlines() if line.startswith("where the time"))
    printed = {name.strip(" ·"): float(value) for name, value in
               re.findall(r"([a-z ·]+?) (\d+\.\d+) s", line.split(":", 1)[1].split("(sum")[0])}
    steps.append({"command": max(elapsed - sum(printed.values()), 0.0), **printed})
    return elapsed


COMPUTE_STEPS = ("session create", "warmup", "timed", "profiled")


def own_compute(steps: dict[str, float]) -> float:
    """The compute a job measured itself: its steps that the bare script also times."""
    return sum(steps.get(name, 0.0) for name in COMPUTE_STEPS)


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s (min {min(values):.3f}, "
            f"max {max(values):.3f}, n={len(values)})")


def breakdown(title: str, steps: list[dict[str, float]]) -> str:
    names = list(dict.fromkeys(name for one in steps for name in one))
    medians = {name: statistics.median(one.get(name, 0.0) for one in steps) for name in names}
    return f"  {title}: " + ", ".join(f"{name} {value:.3f}" for name, value in medians.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile-runs", type=int, default=10)
    args = parser.parse_args()
    from kept_board import start_kept_board, stop_kept_board

    from tests.ssh.conftest import make_board
    from workbench.models import load_model

    model = load_model("zoo:mobilenetv2")
    path = model.runnable_path()
    kinds = ("first deploy", "notebook session", "cold agent", "CLI", "CLI kept")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    steps: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    hand, compute = [], []
    with tempfile.TemporaryDirectory(prefix="wbb") as tmp:
        folder = Path(tmp)
        server = start_kept_board(folder)  # the keeper: login, probe, warm agent
        try:
            from_cli_kept(path, folder, args, [])  # its first job warms the agent
            for index in range(args.rounds):
                work = folder / f"round{index}"
                work.mkdir()
                elapsed, inside = by_hand(server, path, work, args)
                hand.append(elapsed)
                compute.append(inside)
                device = make_board(server, work)
                times["first deploy"].append(
                    with_workbench(device, model, args, steps["first deploy"]))
                for _ in range(2):
                    times["notebook session"].append(
                        with_workbench(device, model, args, steps["notebook session"]))
                device.close()
                cold = make_board(server, work, warm=False)
                with_workbench(cold, model, args, [])  # its connection and probe
                times["cold agent"].append(
                    with_workbench(cold, model, args, steps["cold agent"]))
                cold.close()
                times["CLI"].append(from_cli(server, work, path, args, steps["CLI"]))
                times["CLI kept"].append(from_cli_kept(path, work, args, steps["CLI kept"]))
        finally:
            stop_kept_board(server)
    median_compute = statistics.median(compute)
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print(f"by hand (scp + ssh + scp): {spread(hand)}")
    print(f"compute inside the bare script: {spread(compute)}")
    for kind in kinds:
        print(f"workbench {kind}: {spread(times[kind])}")
    ratio = statistics.median(times["first deploy"]) / statistics.median(hand)
    rounds = ", ".join(f"{f / h:.2f}" for f, h in zip(times["first deploy"], hand, strict=True))
    print(f"ratio first deploy workbench/by hand: {ratio:.2f} (goal <= 1.0; rounds {rounds})")
    for kind, goal in (("notebook session", "< 0.1 s"), ("CLI kept", "< 0.3 s"),
                       ("CLI", "a new connection per process, the probe kept on the host"),
                       ("cold agent", "the agent per job, as before the warm agent")):
        overhead = statistics.median(times[kind]) - median_compute
        paired = [wall - own_compute(one) for wall, one in
                  zip(times[kind], steps[kind], strict=True)]
        print(f"{kind} overhead beyond compute: {overhead:.3f} s ({goal}); paired with each "
              f"job's own compute steps: {spread(paired)}")
    print("compute steps (session create + warmup + timed + profiled) against the bare "
          f"script's {statistics.median(compute):.3f} s: " + ", ".join(
              f"{kind} {statistics.median(own_compute(one) for one in steps[kind]):.3f} s"
              for kind in kinds))
    print("step breakdown, medians in seconds (Job.steps):")
    for kind in kinds:
        print(breakdown(kind, steps[kind]))


if __name__ == "__main__":
    main()
