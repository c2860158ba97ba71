"""Does a client polling the devices endpoint move a running job's latency?

A real `jupyter lab` with the server extension runs on this machine while
this process profiles a small convolutional model on the local device (one
intra-op thread, ~2,000 timed runs, a few seconds). Three conditions per
round, in rotating order:

* none: nobody asks the server anything (the baseline);
* polling: a client asks ``GET workbench/api/devices`` twice a second, far
  more often than the sidebar does (on open, on refresh, and while a status
  is missing). The server answers from its cache and checks the device at
  most every 30 s, so a job sees at most one real check;
* refreshing: a client forces a fresh check (``POST devices/refresh``) every
  5 s: the server probes the device and asks the agent's status tool each
  time. No sidebar does this; it bounds what the checks themselves cost.

Each condition's figure is the median of the job's timed runs; the script
prints medians over the rounds and the ratio against "none" (goal for
polling: within 1 %).

    python benchmarks/bench_status_polling.py        # BENCH_ROUNDS=5 by default
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "2000"))
CONDITIONS = {"none": None, "polling": ("GET", "devices", 0.5),
              "refreshing": ("POST", "devices/refresh", 5.0)}


class Client(threading.Thread):
    """Asks the server ``path`` every ``every`` s until stopped; counts its answers."""

    def __init__(self, url: str, token: str, method: str, path: str, every: float) -> None:
        super().__init__(daemon=True)
        self.request = urllib.request.Request(
            f"{url}/workbench/api/{path}", method=method, data=b"" if method == "POST" else None,
            headers={"Authorization": f"token {token}"})
        self.every = every
        self.stop = threading.Event()
        self.answers = 0

    def run(self) -> None:
        while not self.stop.is_set():
            with urllib.request.urlopen(self.request, timeout=60) as response:
                response.read()
            self.answers += 1
            self.stop.wait(self.every)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    # the server and this process share private workbench folders (registry, board lock)
    # (and no emulated boards: the local device is the one the server checks)
    for variable, folder in (("WORKBENCH_CONFIG_DIR", "config"), ("WORKBENCH_DATA_DIR", "data"),
                             ("WORKBENCH_BOARD_DIR", "board"),
                             ("WORKBENCH_EMULATOR_DIR", "no-emulator")):
        os.environ[variable] = str(home / "workbench" / folder)
        os.makedirs(os.environ[variable], exist_ok=True)

    import workbench as wb
    from tests.conftest import conv_relu_model
    from tests.lab.browser.labserver import running_lab

    model = conv_relu_model(home / "conv.onnx", channels=32, size=56)
    medians: dict[str, list[float]] = {name: [] for name in CONDITIONS}
    answers: dict[str, int] = dict.fromkeys(CONDITIONS, 0)
    with running_lab(home / "lab") as lab:
        lab.get("/workbench/api/devices")  # the first check happens before any timing
        wb.profile(model, device="local", options={"intra_op_threads": 1}, warmup=10, runs=50,
                   profile_runs=0)
        names = list(CONDITIONS)
        for round_ in range(ROUNDS):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                client = None
                if CONDITIONS[name] is not None:
                    method, path, every = CONDITIONS[name]  # type: ignore[misc]
                    client = Client(lab.url, lab.token, method, path, every)
                    client.start()
                    time.sleep(0.5)  # the client is asking before the job starts
                try:
                    profile = wb.profile(model, device="local",
                                         options={"intra_op_threads": 1}, warmup=20,
                                         runs=RUNS, profile_runs=0)
                finally:
                    if client is not None:
                        client.stop.set()
                        client.join(60)
                        answers[name] += client.answers
                medians[name].append(float(profile.latency["median"]))
                print(f"round {round_ + 1} {name}: median {medians[name][-1]:.3f} ms",
                      flush=True)
    base = statistics.median(medians["none"])
    print(f"\n{ROUNDS} rounds, {RUNS} timed runs per job; median of the round medians, its "
          "ratio to none, and the median of the per-round ratios:")
    for name, values in medians.items():
        ratio = statistics.median(values) / base
        paired = statistics.median(v / b for v, b in zip(values, medians["none"], strict=True))
        print(f"| {name} | {statistics.median(values):.3f} ms | {ratio:.4f} | {paired:.4f} | "
              f"{answers[name]} answers | {[round(v, 3) for v in values]} |")


if __name__ == "__main__":
    main()
