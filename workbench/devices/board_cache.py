"""The board's cache from the host: the SFTP session that fills it, and cleaning it (the
agent's ``clean`` tool, its answer as errors)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import paramiko

    from workbench.devices.ssh import SSHDevice


def open_sftp(client: paramiko.SSHClient, name: str) -> paramiko.SFTPClient:
    """An SFTP session on ``client``; BoardEnvironmentError when the board's SSH server has no
    SFTP subsystem (a refusal over a live link, not a drop)."""
    import paramiko

    try:
        return client.open_sftp()
    except paramiko.SSHException:
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            raise  # the link dropped: the caller reopens it or reports the drop
        raise errors.BoardEnvironmentError(
            "The board's SSH server has no SFTP subsystem, which uploads need",
            where=name,
            hint="Enable it on the board: `Subsystem sftp internal-sftp` in /etc/ssh/sshd_config "
            "(OpenSSH), or install an sftp-server for dropbear (e.g. the openssh-sftp-server "
            "package) and restart the SSH server") from None


def holder_name() -> str:
    """Who runs a job or a clean from this process, as shown to jobs waiting for the board:
    ``user@host pid N``."""
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def clean(device: SSHDevice, wait_s: float) -> dict[str, Any]:
    """Run the agent's ``clean`` tool (see ``workbench_agent.cache``); DeviceBusy when the board
    stayed locked for ``wait_s`` seconds."""
    if wait_s < 0:
        raise errors.InvalidOptionValue(f"The wait must be 0 seconds or more, not {wait_s:g}",
                                        where="device clean --wait",
                                        hint="Give --wait SECONDS, e.g. --wait 300")
    answer = device.tool("clean", device.lock_path(), device.cache, repr(float(wait_s)),
                         f"{holder_name()} (device clean)", timeout=wait_s + 300.0)
    busy = answer.get("busy")
    if busy is not None:
        since = busy.get("since")
        held = (f" for {time.time() - since:.0f} s" if isinstance(since, (int, float)) else "")
        raise errors.DeviceBusy(
            f"The board is busy: job {busy.get('job') or '?'} of {busy.get('holder') or 'unknown'}"
            f" holds it{held}; nothing was removed",
            where=device.name,
            hint=f"Wait for it to finish (`workbench device status {device.name}`), then run "
            f"`workbench device clean {device.name}` again, or wait longer with --wait SECONDS")
    return answer
