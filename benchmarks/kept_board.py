"""A board behind a kept connection for the benchmarks: a real sshd on 127.0.0.1 registered
as ``bench-board``, and its keeper (login, probe, warm agent), with this run's own config,
data and runtime folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

NAME = "bench-board"


def start_kept_board(folder: Path) -> Any:
    """Point the workbench's folders into ``folder``, start an sshd there, register it as
    :data:`NAME` and keep its connection; the sshd, to stop with :func:`stop_kept_board`."""
    from tests.ssh.conftest import register_board
    from tests.ssh.sshd import keygen, start_sshd
    from workbench.devices.kept import keep

    # config, history, kept probes and the keeper's socket of this run alone
    for variable, name in (("WORKBENCH_CONFIG_DIR", "config"), ("WORKBENCH_DATA_DIR", "data"),
                           ("WORKBENCH_RUNTIME_DIR", "run")):
        os.environ[variable] = str(folder / name)
    server = start_sshd(folder / "sshd", keygen(folder / "id_ed25519"))
    register_board(NAME, server, folder / "kept")
    try:
        keep(NAME)
    except BaseException:
        server.stop()
        raise
    return server


def stop_kept_board(server: Any) -> None:
    """Stop the keeper, then the sshd."""
    from workbench.devices.kept import disconnect

    try:
        disconnect(NAME)
    finally:
        server.stop()
