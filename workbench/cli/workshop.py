"""The ``class`` commands: workshop mode for a teacher (boards, seats, checks, reset)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli._common import console


def _size(value: Any) -> str:
    return f"{value / 2**30:.1f} GiB" if isinstance(value, int) else "?"


def cmd_class_check(args: argparse.Namespace) -> int:
    """One row per board: reachable, runtimes, disk, clock, governor, lock."""
    from rich.table import Table

    from workbench.devices.workshop import class_check

    rows = class_check(args.boards)
    out = console()
    if args.json:
        out.print_json(json.dumps(rows))
        return 0 if all(r["reachable"] for r in rows) else 1
    table = Table(title="class check")
    for column in ("board", "reachable", "runtimes", "disk free", "clock", "governor", "lock"):
        table.add_column(column)
    for row in rows:
        if not row["reachable"]:
            table.add_row(row["board"], f"NO: {row['error']}", "", "", "", "", "")
            continue
        runtimes = ", ".join(f"{k} {v}" for k, v in row["runtimes"].items() if v) or "none"
        lock = f"held by {row['lock_holder']}" if row["lock_held"] else "free"
        table.add_row(row["board"], "yes", runtimes, _size(row["disk_free_bytes"]),
                      "?" if row["clock_offset_s"] is None else f"{row['clock_offset_s']:+.2f} s",
                      ", ".join(row["governors"]) or "?",
                      lock)
    out.print(table)
    return 0 if all(r["reachable"] for r in rows) else 1


def cmd_class_reset(args: argparse.Namespace) -> int:
    """Clear every board's cache after class."""
    from workbench.devices.workshop import class_reset

    done = class_reset(args.boards)
    out = console()
    for board, what in done.items():
        out.print(f"{board}: {what.get('error') or 'cache cleared'}", markup=False)
    return 0 if not any("error" in what for what in done.values()) else 1


def cmd_class_known_hosts(args: argparse.Namespace) -> int:
    """Write one known_hosts for every board, checked against console fingerprints if given."""
    from workbench.devices.workshop import read_fingerprints, scan_known_hosts

    expected = read_fingerprints(args.fingerprints) if args.fingerprints else None
    found = scan_known_hosts(args.boards, args.out, expected)
    out = console()
    for board, fingerprint in found["fingerprints"].items():
        out.print(f"{board}: {fingerprint}", markup=False)
    if found["trust_on_first_use"]:
        out.print("These keys were trusted as the network presented them (trust on first use); "
                  "check them with --fingerprints FILE, read on each board's console.")
    out.print(f"wrote {found['known_hosts']}")
    return 0


def cmd_class_seats(args: argparse.Namespace) -> int:
    """Make a key per seat and add them to the boards' authorized_keys."""
    from workbench.devices.workshop import AUTHORIZED_KEYS, install_seats, make_seats

    seats = make_seats(args.folder, args.count)
    if args.boards:
        install_seats(args.boards, seats, authorized_keys=args.authorized_keys or AUTHORIZED_KEYS)
    out = console()
    for seat in seats:
        out.print(f"{seat.name}: {seat.key_file}", markup=False)
    if args.boards:
        out.print(f"installed {len(seats)} seats (restricted) on {', '.join(args.boards)}")
    return 0


def cmd_class_revoke(args: argparse.Namespace) -> int:
    """Take one seat's key off every board."""
    from workbench.devices.workshop import AUTHORIZED_KEYS, revoke_seat

    removed = revoke_seat(args.boards, args.seat,
                          authorized_keys=args.authorized_keys or AUTHORIZED_KEYS)
    console().print(", ".join(f"{board}: {n} line(s) removed" for board, n in removed.items()),
                    markup=False)
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``class check|reset|known-hosts|seats|revoke``."""
    group = sub.add_parser("class", help="workshop mode: boards, seat keys, checks, reset")
    commands = group.add_subparsers(dest="class_command", required=True)
    check = commands.add_parser("check", help="reachable, runtimes, disk, clock, governor, lock")
    check.add_argument("--json", action="store_true", help="print the rows as JSON")
    check.set_defaults(func=cmd_class_check)
    reset = commands.add_parser("reset", help="after class: clear the boards' caches")
    reset.set_defaults(func=cmd_class_reset)
    known = commands.add_parser("known-hosts", help="one known_hosts file for every board")
    known.add_argument("--out", required=True, help="the known_hosts file to write")
    known.add_argument("--fingerprints", help="a file of BOARD SHA256:... lines read on the "
                       "boards' consoles; a key that differs writes nothing")
    known.set_defaults(func=cmd_class_known_hosts)
    seats = commands.add_parser("seats", help="a key per seat (0600), added to the boards")
    seats.add_argument("--count", type=int, required=True, help="how many seats")
    seats.add_argument("--folder", required=True, help="where the seat keys are written")
    seats.set_defaults(func=cmd_class_seats)
    revoke = commands.add_parser("revoke", help="take one seat's key off every board")
    revoke.add_argument("seat", help="the seat's name, e.g. seat-07")
    revoke.set_defaults(func=cmd_class_revoke)
    for command in (seats, revoke):
        command.add_argument("--authorized-keys", default=None,
                             help="the boards' authorized_keys file (default: "
                             "~/.ssh/authorized_keys of the board login)")
    for command in (check, reset, known, seats, revoke):
        command.add_argument("boards", nargs="*" if command is seats else "+",
                             help="the boards: device names, aliases or labgrid:PLACE")
