"""Does a client polling the devices endpoint move a running job's latency?

A real `jupyter lab` with the server extension runs on this machine while
this process profiles a small convolutional model on the local device (one
intra-op thread, a few thousand timed runs). During each job a client
alternates windows of WINDOW_S seconds: asking the server, then silent. The
agent's progress events (epoch time, runs done) place every timed run in a
window; runs within GUARD_S after a switch are left out. The ratio is the
median latency of the runs in asking windows over the median of those in
silent windows of the same job: the baseline shares the job, the process and
whatever else the machine runs at that moment. Two clients, one job each per
round:

* polling: ``GET workbench/api/devices`` twice a second, far more often than
  the sidebar asks (on open, on refresh, and while a status is missing). The
  server answers from its cache and checks the device at most every 30 s;
* control: windows switch but nothing is asked (the method's own noise);
* refreshing: one ``POST devices/refresh`` at the start of each asking window:
  the server probes the device and asks the agent's status tool every time.
  No sidebar does this; it bounds what the checks themselves cost (a check
  that outlasts its window counts against the silent one, so this is a lower
  bound of that cost).

Prints the per-job ratios and their median over the rounds (goal for
polling: within 1 %).

    python benchmarks/bench_status_polling.py        # BENCH_ROUNDS=8, BENCH_RUNS=6000
"""

from __future__ import annotations

import bisect
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
RUNS = int(os.environ.get("BENCH_RUNS", "6000"))
WINDOW_S = 2.0
GUARD_S = 0.2
#: condition -> (method, path, seconds between requests in an asking window)
CLIENTS: dict[str, tuple[str, str, float | None]] = {
    "control": ("GET", "", 0.5), "polling": ("GET", "devices", 0.5),
    "refreshing": ("POST", "devices/refresh", None)}


class Client(threading.Thread):
    """Alternates asking and silent windows until stopped; records when each began."""

    def __init__(self, url: str, token: str, method: str, path: str,
                 every: float | None) -> None:
        super().__init__(daemon=True)
        self.request = urllib.request.Request(
            f"{url}/workbench/api/{path}", method=method, data=b"" if method == "POST" else None,
            headers={"Authorization": f"token {token}"})
        self.every = every
        self.stop = threading.Event()
        self.switches: list[tuple[float, bool]] = []  # (epoch time, asking from then on)
        self.answers = 0

    def ask(self) -> None:
        if self.request.full_url.endswith("/api/"):
            return  # the control: windows switch, nothing is asked
        with urllib.request.urlopen(self.request, timeout=120) as response:
            response.read()
        self.answers += 1

    def run(self) -> None:
        asking = False
        while not self.stop.is_set():
            asking = not asking
            began = time.time()
            self.switches.append((began, asking))
            end = began + WINDOW_S
            while asking and not self.stop.is_set() and time.time() < end:
                self.ask()
                if self.every is None:
                    break
                self.stop.wait(min(self.every, max(0.0, end - time.time())))
            self.stop.wait(max(0.0, end - time.time()))


def run_times(events: list[dict[str, Any]], count: int) -> list[float]:
    """When each timed run ended (epoch seconds), from the agent's progress events."""
    marks = sorted((int(e["done"]), float(e["time"])) for e in events
                   if e.get("stage") == "timed" and "done" in e and "time" in e)
    done = [m[0] for m in marks]
    times = []
    for index in range(1, count + 1):
        at = min(bisect.bisect_left(done, index), len(marks) - 1)
        if at == 0 or done[at] == index:
            times.append(marks[at][1])
            continue
        (d0, t0), (d1, t1) = marks[at - 1], marks[at]
        times.append(t0 + (t1 - t0) * (index - d0) / (d1 - d0))
    return times


def split(samples: list[float], ended: list[float],
          switches: list[tuple[float, bool]]) -> tuple[list[float], list[float]]:
    """The samples of asking windows and of silent windows, switches' guard left out."""
    starts = [s[0] for s in switches]
    asking, silent = [], []
    for latency, end in zip(samples, ended, strict=True):
        began = end - latency / 1000.0
        at = bisect.bisect_right(starts, began) - 1
        if at < 0 or began - starts[at] < GUARD_S or (
                at + 1 < len(starts) and end > starts[at + 1]):
            continue
        (asking if switches[at][1] else silent).append(latency)
    return asking, silent


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
    ratios: dict[str, list[float]] = {name: [] for name in CLIENTS}
    answers = dict.fromkeys(CLIENTS, 0)
    with running_lab(home / "lab") as lab:
        lab.get("/workbench/api/devices")  # the first check happens before any timing
        for round_ in range(ROUNDS):
            for name, (method, path, every) in CLIENTS.items():
                client = Client(lab.url, lab.token, method, path, every)
                events: list[dict[str, Any]] = []
                client.start()
                try:
                    profile = wb.profile(model, device="local",
                                         options={"intra_op_threads": 1}, warmup=20,
                                         runs=RUNS, profile_runs=0, on_event=events.append)
                finally:
                    client.stop.set()
                    client.join(120)
                answers[name] += client.answers
                samples = profile.latency_samples
                asking, silent = split(samples, run_times(events, len(samples)),
                                       client.switches)
                ratio = statistics.median(asking) / statistics.median(silent)
                ratios[name].append(ratio)
                print(f"round {round_ + 1} {name}: asking {statistics.median(asking):.4f} ms "
                      f"({len(asking)} runs), silent {statistics.median(silent):.4f} ms "
                      f"({len(silent)} runs), ratio {ratio:.4f}", flush=True)
    print(f"\n{ROUNDS} rounds, {RUNS} timed runs per job, windows of {WINDOW_S} s:")
    for name, values in ratios.items():
        print(f"| {name} | median ratio {statistics.median(values):.4f} | "
              f"{min(values):.4f}-{max(values):.4f} | {answers[name]} answers |")


if __name__ == "__main__":
    main()
