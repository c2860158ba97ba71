"""Workshop mode: many students, a few boards, set up by a teacher in a few commands.

It works for a plain list of SSH boards (registry names, ~/.ssh/config
aliases) and for farm places (``labgrid:PLACE``, each reserved while it is
looked at):

* :func:`scan_known_hosts` writes one known_hosts file for every board, so no
  student confirms a fingerprint. A scan over the network is trust on first
  use; given the fingerprints read on each board's console, it checks every
  key against them and writes nothing when one differs.
* :func:`make_seats` makes a key per seat (written 0600) to hand out;
  :func:`install_seats` adds them to the boards' authorized_keys marked
  ``restrict`` (no forwarding, no terminal: the workbench needs neither), and
  :func:`revoke_seat` takes one seat's key off every board in one call.
* :func:`class_check` reports for every board: reachable, runtimes, free disk,
  clock offset, CPU governors and the board's lock; :func:`class_reset`
  clears the boards' caches after class.

The real gate stays SSH: labgrid has no authentication, so whoever reaches the
coordinator can reserve, but only a seat's key logs in to a board.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench.devices.base import Device

__all__ = ["Seat", "class_check", "class_reset", "install_seats", "make_seats",
           "read_fingerprints", "revoke_seat", "scan_known_hosts"]

#: the comment that marks a seat's line in authorized_keys: ``workbench-seat:NAME``
SEAT_MARK = "workbench-seat:"
#: where a board login's authorized_keys is, relative to its home (SFTP starts there)
AUTHORIZED_KEYS = ".ssh/authorized_keys"
_SEAT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@contextlib.contextmanager
def _board(board: str | Device) -> Iterator[Any]:
    """The SSH device of ``board``, reserved around the block when its kind reserves."""
    from workbench.devices import connect
    from workbench.devices.kinds import kind_of
    from workbench.devices.ssh import SSHDevice

    device = connect(board)
    if not isinstance(device, SSHDevice):
        raise errors.InvalidOptionValue(f"{device.name} is not a board reached over SSH",
                                        where="workshop", hint="Give SSH boards or farm places")
    kind = kind_of(device)
    kind.acquire(device)
    try:
        yield device
    finally:
        kind.release(device)


# --- one known_hosts for the class ------------------------------------------------------------


def read_fingerprints(path: str | Path) -> dict[str, str]:
    """Fingerprints read on the boards' consoles: one line per board, its name first and
    somewhere on the line its ``SHA256:...`` (as ``ssh-keygen -lf`` prints it)."""
    found: dict[str, str] = {}
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InvalidOptionValue(
            f"The fingerprints file cannot be read ({type(exc).__name__}: "
            f"{getattr(exc, 'strerror', None) or exc})", where=str(path),
            hint="Give a text file with one line per board: BOARD SHA256:...") from None
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        prints = [w for w in words[1:] if w.startswith("SHA256:")]
        if not prints:
            raise errors.InvalidOptionValue(f"Line {number} names no SHA256 fingerprint",
                                            where=str(path),
                                            hint="Write BOARD SHA256:..., one board a line")
        found[words[0]] = prints[0]
    return found


def scan_known_hosts(boards: Sequence[str], out: str | Path,
                     fingerprints: dict[str, str] | None = None) -> dict[str, Any]:
    """Write one known_hosts file holding every board's host key; returns what was found.

    Without ``fingerprints`` the keys are trusted as the network presents them
    (``trust_on_first_use`` is True in the answer). With them, every board
    must be listed and present that key: otherwise HostKeyChanged (or
    UnknownHostKey for an unlisted board) names each one, and nothing is written.
    """
    from workbench.devices.ssh_connect import fingerprint, presented_key

    lines, keys, wrong = [], {}, []
    for board in boards:
        with _board(board) as device:
            endpoint = device.endpoint
            key = presented_key(endpoint, device._jump if endpoint.proxy_jump else None)
            keys[board] = fingerprint(key)
            lines.append(f"{endpoint.host_entry} {key.get_name()} {key.get_base64()}")
        if fingerprints is not None and fingerprints.get(board) != keys[board]:
            wrong.append(f"{board} presents {keys[board]}, the console read "
                         f"{fingerprints.get(board, 'nothing')}")
    if wrong:
        unlisted = fingerprints is not None and any(b not in fingerprints for b in boards)
        error = errors.UnknownHostKey if unlisted else errors.HostKeyChanged
        raise error("Host keys differ from the fingerprints read on the consoles: "
                    + "; ".join(wrong), where=str(out),
                    hint="Nothing was written. Read the key on that board's console again "
                    "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); a key that still "
                    "differs means something answers in the board's place")
    write_atomic(out, "\n".join(lines) + "\n", error=errors.DeviceError, make_parents=True,
                 mode=0o644)
    return {"known_hosts": str(out), "fingerprints": keys,
            "trust_on_first_use": fingerprints is None}


# --- seat keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One student seat: its private key file and its line for authorized_keys."""

    name: str
    key_file: Path
    public_key: str

    @property
    def authorized_line(self) -> str:
        """The seat's line: ``restrict`` (no forwarding, no terminal) and its mark."""
        return f"restrict {self.public_key} {SEAT_MARK}{self.name}"


def _seat_name(name: str) -> str:
    if not _SEAT_NAME.fullmatch(name):
        raise errors.InvalidOptionValue(f"{name!r} is not a seat name", where="workshop",
                                        hint="Use letters, digits, '.', '-' or '_'")
    return name


def make_seats(folder: str | Path, count: int, *, prefix: str = "seat") -> list[Seat]:
    """A key per seat in ``folder`` (``seat-01``, ``seat-01.pub``, ...; private keys 0600).

    A seat whose key exists already keeps it: handing out keys again never
    locks out a student who has one.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if count < 1:
        raise errors.InvalidOptionValue(f"{count} seats", where="workshop",
                                        hint="Give one seat or more")
    folder = Path(folder)
    seats = []
    for number in range(1, count + 1):
        name = _seat_name(f"{prefix}-{number:02d}")
        key_file, public_file = folder / name, folder / f"{name}.pub"
        if not key_file.is_file():
            private = Ed25519PrivateKey.generate()
            write_atomic(key_file, private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption()), error=errors.DeviceError, make_parents=True,
                mode=0o600)
            public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                       serialization.PublicFormat.OpenSSH)
            write_atomic(public_file, public.decode() + f" {SEAT_MARK}{name}\n",
                         error=errors.DeviceError, mode=0o644)
        seats.append(Seat(name, key_file, _public_key(key_file, public_file, name)))
    return seats


def _public_key(key_file: Path, public_file: Path, name: str) -> str:
    """The seat's public key (``TYPE BASE64``): from its .pub file, else rebuilt from its
    private key (and the .pub file written again)."""
    from cryptography.hazmat.primitives import serialization

    try:
        words = public_file.read_text().split()
    except (OSError, UnicodeDecodeError):
        words = []
    if len(words) >= 2 and words[0].startswith(("ssh-", "ecdsa-")):
        return f"{words[0]} {words[1]}"
    try:
        private = serialization.load_ssh_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise errors.InvalidOptionValue(
            f"The seat's key file is not an unencrypted OpenSSH private key ({exc})",
            where=str(key_file),
            hint="Remove it (and its .pub file) to make a new key for this seat, or put the "
            "seat's own key back") from None
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    write_atomic(public_file, f"{public} {SEAT_MARK}{name}\n", error=errors.DeviceError,
                 mode=0o644)
    return public


def _edit_authorized_keys(device: Any, path: str, keep: Any, add: Sequence[str]) -> int:
    """Rewrite the board login's authorized_keys: lines ``keep(line)`` refuses go, ``add``
    lines are appended; written to a temporary name and renamed. Returns lines removed."""
    sftp = device.client().open_sftp()
    try:
        try:
            with sftp.open(path, "r") as handle:
                old = handle.read().decode().splitlines()
        except FileNotFoundError:
            old = []
        kept = [line for line in old if keep(line)]
        with contextlib.suppress(OSError):
            sftp.mkdir(str(Path(path).parent) or ".", mode=0o700)
        partial = f"{path}.workbench-partial"
        with sftp.open(partial, "w") as handle:
            handle.write("".join(f"{line}\n" for line in [*kept, *add]).encode())
        sftp.chmod(partial, 0o600)
        sftp.posix_rename(partial, path)
        return len(old) - len(kept)
    finally:
        sftp.close()


def _marked(line: str, seats: set[str]) -> bool:
    return any(word.startswith(SEAT_MARK) and word[len(SEAT_MARK):] in seats
               for word in line.split())


def install_seats(boards: Sequence[str], seats: Sequence[Seat], *,
                  authorized_keys: str = AUTHORIZED_KEYS) -> dict[str, int]:
    """Add the seats' keys to every board's authorized_keys (a seat already there is
    replaced, never doubled); returns the seats installed per board."""
    names = {seat.name for seat in seats}
    done = {}
    for board in boards:
        with _board(board) as device:
            _edit_authorized_keys(device, authorized_keys,
                                  lambda line: not _marked(line, names),
                                  [seat.authorized_line for seat in seats])
            done[board] = len(seats)
    return done


def revoke_seat(boards: Sequence[str], seat: str, *,
                authorized_keys: str = AUTHORIZED_KEYS) -> dict[str, int]:
    """Take ``seat``'s key off every board; returns the lines removed per board."""
    name = _seat_name(seat)
    removed = {}
    for board in boards:
        with _board(board) as device:
            removed[board] = _edit_authorized_keys(
                device, authorized_keys, lambda line: not _marked(line, {name}), [])
    return removed


# --- before and after class --------------------------------------------------------------------


def _check_one(device: Any) -> dict[str, Any]:
    info = device.probe(refresh=True)
    before = time.time()
    reading = device.tool("conditions", device.cache)
    after = time.time()
    lock = device.status().get("lock") or {}
    governors = sorted({str(p.get("governor")) for p in (reading.get("policies") or {}).values()
                        if p.get("governor")})
    return {"reachable": True, "error": None,
            "runtimes": {name: (value or {}).get("version")
                         for name, value in sorted(info.runtimes.items())},
            "disk_free_bytes": reading.get("free"),
            "clock_offset_s": _clock_offset(reading.get("time"), before, after),
            "governors": governors, "lock_held": bool(lock.get("held")),
            "lock_holder": lock.get("holder")}


def _clock_offset(board_time: Any, before: float, after: float) -> float | None:
    """The board's clock against this machine's, at the middle of the round trip; None
    when the board's agent reported no time."""
    try:
        return round(float(board_time) - (before + after) / 2, 3)
    except (TypeError, ValueError):
        return None


def class_check(boards: Sequence[str]) -> list[dict[str, Any]]:
    """One row per board: reachable (and why not), runtimes, free disk in the board's cache,
    clock offset from this machine (seconds), CPU governors, and who holds its lock."""
    rows = []
    for board in boards:
        try:
            with _board(board) as device:
                row = _check_one(device)
        except errors.WorkbenchError as exc:
            row = {"reachable": False, "error": str(exc)}
        rows.append({"board": board, **row})
    return rows


def class_reset(boards: Sequence[str], wait_s: float = 60.0) -> dict[str, Any]:
    """After class: clear every board's cache of uploads and job folders (installed runtimes
    stay); per board what was cleaned, or the error."""
    done: dict[str, Any] = {}
    for board in boards:
        try:
            with _board(board) as device:
                done[board] = device.clean_cache(wait_s)
        except errors.WorkbenchError as exc:
            done[board] = {"error": str(exc)}
    return done
