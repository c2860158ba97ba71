"""The ``workbench jobs`` command: jobs sent to a board and never collected, and collecting one.

After a dropped link the job goes on on its board; ``workbench jobs`` lists
it and ``workbench jobs collect ID`` brings its profile home (see
:mod:`workbench.jobs.pending`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
from typing import Any

from workbench.cli._common import check_outputs, console, show_profile


def cmd_jobs(args: argparse.Namespace) -> int:
    """List the jobs waiting to be collected, or collect one."""
    from workbench.jobs import pending

    if args.action == "collect":
        if not args.id:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue("jobs collect needs a job id", where="workbench jobs",
                                     hint="List the ids with `workbench jobs`")
        check_outputs(args.out, args.json)
        profile = pending.collect(args.id, wait=args.wait, timeout=args.timeout)
        show_profile(profile, out=args.out, json_path=args.json, top=args.top)
        return 0
    from rich.table import Table

    found = pending.pending()
    out = console(soft_wrap=True)
    if not found:
        out.print(f"no jobs wait to be collected (records: {pending.folder()})", markup=False)
        return 0
    table = Table(box=None, pad_edge=False)
    for column in ("device", "id", "started", "model", "backend", "label"):
        table.add_column(column)
    for job in found:
        started = _dt.datetime.fromtimestamp(job.created).isoformat(timespec="seconds")
        table.add_row(job.device, job.id, started, job.model, job.backend, job.label or "")
    out.print(table)
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``jobs`` on the top-level subparsers."""
    jobs = sub.add_parser("jobs", help="jobs sent to a board and never collected (a dropped "
                          "link); collect one")
    jobs.add_argument("action", nargs="?", choices=("list", "collect"), default="list")
    jobs.add_argument("id", nargs="?", help="collect: the job id `workbench jobs` shows")
    jobs.add_argument("--wait", action="store_true",
                      help="collect: wait for a job still running on its board")
    jobs.add_argument("--timeout", type=float, default=3600.0,
                      help="collect --wait: give up after N seconds (default 3600)")
    jobs.add_argument("--out", default=None, help="HTML report path (default MODEL-DEVICE.html)")
    jobs.add_argument("--json", default=None, help="also save the profile JSON here")
    jobs.add_argument("--top", type=int, default=15, help="layers in the printed summary")
    jobs.set_defaults(func=cmd_jobs)
