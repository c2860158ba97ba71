"""The ``farm`` commands: a labgrid farm's places, holders, queue and stale holds."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from typing import Any

from workbench.cli._common import console


def _when(seconds: float | None) -> str:
    if not seconds:
        return "-"
    return _dt.datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


def cmd_farm_status(args: argparse.Namespace) -> int:
    """Print the farm's places (tags, holder, stale holds) and its queue."""
    from rich.table import Table

    from workbench.devices.farm_status import farm_status

    status = farm_status(args.coordinator)
    out = console()
    if args.json:
        out.print_json(json.dumps(status))
        return 0
    places = Table(title=f"places at {status['coordinator']}")
    for column in ("place", "tags", "holder", "since", "waiting", "stale"):
        places.add_column(column)
    for row in status["places"]:
        tags = ",".join(f"{k}={v}" for k, v in sorted(row["tags"].items()))
        places.add_row(row["name"], tags, row["holder"] or "free",
                       _when(row["changed"]) if row["holder"] else "-", str(row["waiting"]),
                       f"STALE: {row['stale']}" if row["stale"] else "")
    out.print(places)
    if not status["queue"]:
        out.print("queue: empty")
        return 0
    queue = Table(title="queue (served in this order)")
    for column in ("#", "owner", "asks for", "prio", "since"):
        queue.add_column(column)
    for entry in status["queue"]:
        asks = ",".join(f"{k}={v}" for k, v in sorted(entry["asks"].items()))
        queue.add_row(str(entry["position"]), entry["owner"], asks, f"{entry['prio']:g}",
                      _when(entry["since"]))
    out.print(queue)
    return 0


def cmd_farm_free(args: argparse.Namespace) -> int:
    """Release a place whose hold is stale."""
    from workbench.devices.farm_status import free_stale

    holder = free_stale(args.place, args.coordinator)
    console().print(f"released {args.place} (its stale holder was {holder})")
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``farm status`` and ``farm free`` on the top-level subparsers."""
    farm = sub.add_parser("farm", help="a labgrid board farm: places, holders, queue")
    commands = farm.add_subparsers(dest="farm_command", required=True)
    status = commands.add_parser("status", help="places, tags, holders, the queue, stale holds")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    free = commands.add_parser("free", help="release a place whose hold is stale")
    free.add_argument("place", help="the place's name")
    for command in (status, free):
        command.add_argument("--coordinator", default=None,
                             help="HOST:PORT of the coordinator (default: $LG_COORDINATOR)")
    status.set_defaults(func=cmd_farm_status)
    free.set_defaults(func=cmd_farm_free)
