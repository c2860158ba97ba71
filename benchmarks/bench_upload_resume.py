"""Resuming an upload after a drop at half way vs a fresh upload, against a real sshd on 127.0.0.1.

Baseline (same run): a fresh upload of a file of --megabytes to an empty board
cache. Resume: the same upload cut at half way (every sshd session killed),
then a new run (a new device, as after a Ctrl-C) ensures the file; only the
second run is timed. Goal: the resume takes about half the fresh time.
Medians of --rounds.

    python benchmarks/bench_upload_resume.py [--megabytes 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    from tests.ssh.conftest import make_board
    from tests.ssh.sshd import keygen, start_sshd
    from workbench import errors

    folder = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    try:
        server = start_sshd(folder / "sshd", keygen(folder / "id_ed25519"))
        local = folder / "model.bin"
        local.write_bytes(np.random.default_rng(0).bytes(args.megabytes << 20))
        half = (args.megabytes << 20) // 2
        fresh, resumed, kept = [], [], []
        for round_ in range(args.rounds):
            work = folder / f"round-{round_}"
            device = make_board(server, work / "fresh")
            device.probe()  # connect and send the agent outside the timed part
            start = time.perf_counter()
            device.ensure(local)
            fresh.append(time.perf_counter() - start)
            device.close()

            cut = make_board(server, work / "resume")
            cut.probe()

            def drop(done: int, total: int, rate: float) -> None:
                if done >= half:
                    server.drop_connections()

            try:
                cut.ensure(local, drop)
                raise SystemExit("the upload was not cut")
            except errors.LinkDropped:
                pass
            cut.close()
            partial = next((work / "resume" / "board-cache" / "artifacts").rglob("*.partial"))
            kept.append(partial.stat().st_size / (args.megabytes << 20))
            again = make_board(server, work / "resume")
            again.probe()
            start = time.perf_counter()
            again.ensure(local)
            resumed.append(time.perf_counter() - start)
            again.close()
            shutil.rmtree(work, ignore_errors=True)
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    fresh_s, resumed_s = statistics.median(fresh), statistics.median(resumed)
    print(f"{args.megabytes} MB, median of {args.rounds}: fresh upload {fresh_s:.2f} s, "
          f"resumed after a drop at 50 % {resumed_s:.2f} s; ratio resumed/fresh "
          f"{resumed_s / fresh_s:.2f} (goal about 0.5); the partial file kept "
          f"{statistics.median(kept):.0%} of the bytes at the drop")


if __name__ == "__main__":
    main()
