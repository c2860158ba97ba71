"""Deploy + profile over SSH vs doing the same by hand, against a real sshd on 127.0.0.1.

By hand: ``scp`` the model and a bare onnxruntime script to the board, ``ssh``
to run it (timed runs without profiling, then profiled runs, as the workbench
does), ``scp`` the profile back. Workbench: ``wb.profile`` with a fresh SSH
device (first deploy: empty board cache), then again with everything cached.
Goals: first deploy ratio <= 1.0; with the model cached, overhead beyond the
compute time (measured inside the bare script) < 0.3 s. Medians of --rounds.

    python benchmarks/bench_ssh_deploy.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

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


def by_hand(server, model: Path, work: Path, args: argparse.Namespace) -> tuple[float, float]:
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


def with_workbench(device, model, args: argparse.Namespace) -> float:
    import workbench as wb

    start = time.perf_counter()
    wb.profile(model, device=device, warmup=args.warmup, runs=args.runs,
               profile_runs=args.profile_runs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile-runs", type=int, default=10)
    args = parser.parse_args()
    from tests.ssh.conftest import make_board
    from tests.ssh.sshd import keygen, start_sshd
    from workbench.models import load_model

    model = load_model("zoo:mobilenetv2")
    path = model.runnable_path()
    first, cached, hand, compute = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = start_sshd(folder / "sshd", keygen(folder / "id_ed25519"))
        try:
            for index in range(args.rounds):
                work = folder / f"round{index}"
                work.mkdir()
                elapsed, inside = by_hand(server, path, work, args)
                hand.append(elapsed)
                compute.append(inside)
                device = make_board(server, work, remote_cache=str(work / "board-cache"))
                first.append(with_workbench(device, model, args))
                cached.append(with_workbench(device, model, args))
                device.close()
        finally:
            server.stop()
    ratio = statistics.median(first) / statistics.median(hand)
    overhead = statistics.median(cached) - statistics.median(compute)
    print(f"by hand (scp + ssh + scp): median {statistics.median(hand):.2f} s {hand}")
    print(f"workbench first deploy:    median {statistics.median(first):.2f} s {first}")
    print(f"workbench cached:          median {statistics.median(cached):.2f} s {cached}")
    print(f"compute inside the bare script: median {statistics.median(compute):.2f} s")
    print(f"ratio first deploy workbench/by hand: {ratio:.2f} (goal <= 1.0)")
    print(f"cached overhead beyond compute: {overhead:.2f} s (goal < 0.3 s)")
    print(f"| SSH first deploy + profile, MobileNetV2 | {ratio:.2f} | by hand "
          f"{statistics.median(hand):.2f} s | workbench {statistics.median(first):.2f} s |")
    print(f"| SSH cached profile overhead beyond compute | {overhead:.2f} s | compute "
          f"{statistics.median(compute):.2f} s | workbench {statistics.median(cached):.2f} s |")


if __name__ == "__main__":
    main()
