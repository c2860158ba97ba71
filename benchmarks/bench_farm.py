"""Board farm (labgrid) costs, against a real coordinator, exporter and sshd on 127.0.0.1.

* hand-off: one user gives a place back (cancel the reservation, then
  release) while the next user's job waits for it; measured from the moment
  the release returns to the moment the waiting job's next stage (its SSH
  connect) starts. Goal: under 0.5 s on loopback. For comparison, the same
  hand-off done in labgrid's other order (release, then cancel) is measured
  in the same run: the next user then waits for the coordinator's own tick.
* farm job overhead: the same small profile on a ``labgrid:`` device (reserve,
  acquire, NetworkService, run, cancel, release) and on a plain SSH device
  to the same sshd (the baseline), alternating; the ratio and the difference.

Prints medians (with min-max) over --rounds.

    python benchmarks/bench_farm.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def _spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import os

    folder = Path(tempfile.mkdtemp(prefix="bench-farm-"))
    for variable in ("CACHE", "CONFIG", "DATA"):
        os.environ[f"WORKBENCH_{variable}_DIR"] = str(folder / variable.lower())
    os.environ["WORKBENCH_BOARD_DIR"] = str(folder / "board")

    import workbench as wb
    from tests.conftest import conv_relu_model
    from tests.ssh.labgrid_farm import start_farm
    from tests.ssh.sshd import keygen, start_sshd
    from workbench.devices.farm import farm_for
    from workbench.devices.labgrid_device import LabgridDevice
    from workbench.devices.ssh import SSHDevice

    key = keygen(folder / "id_ed25519")
    sshd = start_sshd(folder / "sshd", key)
    farm = start_farm(folder / "farm", {"pi-a": ("board-a", {"soc": "bcm2712"})})
    try:
        farm.export(sshd, ["board-a"])
        model = conv_relu_model(folder / "model.onnx")
        ssh: dict[str, Any] = dict(
            key_filename=str(key), known_hosts=[sshd.known_hosts],
            user_known_hosts=folder / "user_known_hosts", ssh_config=folder / "no_config",
            allow_agent=False, look_for_keys=False, python=sys.executable,
            remote_cache=str(folder / "board-cache"), board_dir=str(folder / "board"),
            timeout=10)
        run = dict(warmup=0, runs=3, profile_runs=0)

        def farm_device() -> LabgridDevice:
            device = wb.connect("labgrid:soc=bcm2712", coordinator=farm.address, **ssh)
            assert isinstance(device, LabgridDevice)
            return device

        wb.profile(model, device=farm_device(), **run)  # uploads, runtime imports: warm up

        def hand_off(release_first: bool) -> float:
            first, second = farm_device(), farm_device()
            first.hold()
            started: dict[str, float] = {}
            queued = threading.Event()

            def on_event(event: dict[str, Any]) -> None:
                if event.get("stage") == "queue":
                    queued.set()
                if event.get("stage") == "connect" and queued.is_set():
                    started.setdefault("connect", time.time())

            job = wb.submit(model, device=second, on_event=on_event, **run)
            queued.wait(60)
            hold = first._hold
            assert hold is not None and hold.place is not None
            first._hold = None  # given back by hand below, in the order measured
            with first._connect_lock:
                first.close()
            if release_first:
                hold.farm.release(hold.place)
                released = time.time()
                hold.farm.cancel(hold.token)
            else:
                hold.farm.cancel(hold.token)
                hold.farm.release(hold.place)
                released = time.time()
            job.result(timeout=120)
            return started["connect"] - released

        handoffs, handoffs_other_order = [], []
        for _ in range(args.rounds):
            handoffs.append(hand_off(release_first=False))
        for _ in range(min(args.rounds, 2)):  # each waits for the coordinator's 15 s tick
            handoffs_other_order.append(hand_off(release_first=True))

        direct = SSHDevice("direct", host="127.0.0.1", port=sshd.port, user="root", **ssh)
        farmed = farm_device()
        direct_s, farm_s = [], []
        steps: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for label, device, times in (("direct", direct, direct_s),
                                         ("farm", farmed, farm_s)):
                start = time.perf_counter()
                job = wb.submit(model, device=device, **run)
                job.result(timeout=300)
                times.append(time.perf_counter() - start)
                steps[label] = job.steps()

        print(f"hand-off, cancel then release (workbench): {_spread(handoffs)}")
        print(f"hand-off, release then cancel (baseline):  {_spread(handoffs_other_order)}")
        print(f"  ratio baseline/workbench: "
              f"{statistics.median(handoffs_other_order) / statistics.median(handoffs):.1f}")
        print(f"job on a plain SSH device (baseline): {_spread(direct_s)}")
        print(f"job on a labgrid: device:             {_spread(farm_s)}")
        print(f"  ratio farm/direct: {statistics.median(farm_s) / statistics.median(direct_s):.2f}"
              f", overhead {statistics.median(farm_s) - statistics.median(direct_s):+.3f} s")
        for label, taken in steps.items():
            print(f"steps of the last {label} job: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in taken.items() if v >= 0.05))
        farm_for(farm.address).close()
    finally:
        farm.stop()
        sshd.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
