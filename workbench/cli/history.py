"""The ``workbench history`` and ``workbench compare`` commands.

A profile on the command line is a saved JSON file or the id of a profile in
the history (or an unambiguous start or end of one: see
:func:`workbench.history.load_profile`), so a CI pipeline can compare the file
a run just wrote against a baseline it keeps::

    workbench profile model.onnx --json new.json
    workbench compare new.json --baseline baseline.json   # exit 1 when slower
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.cli._common import check_outputs, console

if TYPE_CHECKING:
    from rich.console import Console

#: exit code of ``compare --baseline`` when a profile is slower than the baseline
EXIT_REGRESSED = 1


def _out() -> Console:
    return console(soft_wrap=True)  # long ids and paths stay whole on one line


def cmd_history(args: argparse.Namespace) -> int:
    """List the saved profiles (filtered), or show, export or remove one."""
    from rich.table import Table

    from workbench import history

    if args.action != "list" and not args.id:
        from workbench.errors import InvalidOptionValue

        raise InvalidOptionValue(f"history {args.action} needs a profile id",
                                 where="workbench history", hint="List the ids with "
                                 "`workbench history`")
    if args.action == "show":
        _out().print(history.load_profile(args.id).summary(top=args.top), markup=False)
        return 0
    if args.action == "remove":
        history.remove(args.id)
        _out().print(f"removed {args.id}")
        return 0
    if args.action == "export":
        out = Path(args.out or f"{args.id}.json")
        check_outputs(str(out), None)
        profile = history.load_profile(args.id)
        if args.redact:
            profile = profile.redact(words=args.word or ())
        if out.suffix == ".html":
            profile.to_html(out)
        else:
            profile.save(out)
        _out().print(f"wrote {out}")
        return 0
    found = history.entries(model=args.model, device=args.device, backend=args.backend,
                            kind=args.kind, since=args.since, limit=args.limit)
    if args.json:
        print(json.dumps([entry.__dict__ for entry in found], indent=1))
        return 0
    if not found:
        _out().print(f"no saved profiles match (history: {history.folder()})")
        return 0
    table = Table(box=None, pad_edge=False)
    numbers = ("median ms", "runs", "peak MiB")
    for column in ("id", "created", "kind", "model", "device", "backend", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left")
    for entry in found:
        median = "–" if entry.median_ms is None else f"{entry.median_ms:.3g}"
        peak = "–" if entry.peak_rss_mib is None else f"{entry.peak_rss_mib:.0f}"
        table.add_row(entry.id, entry.created[:19], entry.kind, entry.model, entry.device,
                      entry.backend, median, str(entry.runs), peak)
    _out().print(table)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Profiles side by side, or each against a baseline (exit 1 when one is slower)."""
    from workbench.history import compare, load_profile
    from workbench.profiling.regress import regress

    if args.baseline is None:
        if len(args.profiles) < 2:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue("compare needs two profiles, or one and --baseline",
                                     where="workbench compare",
                                     hint="e.g. workbench compare new.json --baseline old.json")
        comparison = compare(args.profiles, allow_different_models=args.allow_different_models)
        if args.json:
            print(json.dumps(comparison.to_dict(), indent=1))
        else:
            from workbench.views.comparison import comparison_text

            again = shlex.join(["workbench", "compare", *args.profiles, "--json"])
            _out().print(comparison_text(comparison, f"`{again}` prints them (\"layers\")"),
                         markup=False)
        return 0
    profiles = [load_profile(reference) for reference in args.profiles]
    baseline = load_profile(args.baseline)
    reports = [regress(p, baseline, threshold=args.threshold, confidence=args.confidence,
                       allow_different_models=args.allow_different_models) for p in profiles]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=1))
    else:
        for report in reports:
            _out().print(report.summary(), markup=False)
    return EXIT_REGRESSED if any(r.regressed for r in reports) else 0


def add_parsers(sub: Any) -> None:
    """Register ``history`` and ``compare`` on the top-level subparsers."""
    hist = sub.add_parser("history", help="list, show, export or remove saved profiles")
    hist.add_argument("action", nargs="?", choices=("list", "show", "export", "remove"),
                      default="list")
    hist.add_argument("id", nargs="?", help="profile id (show, export, remove)")
    hist.add_argument("--model", help="model name or sha256 prefix")
    hist.add_argument("--device", help="device name")
    hist.add_argument("--backend", help="backend name")
    hist.add_argument("--kind", choices=("measured", "estimate", "emulated"))
    hist.add_argument("--since", help="ISO date or time, e.g. 2026-11-01")
    hist.add_argument("--limit", type=int, default=50, help="at most N rows (default 50)")
    hist.add_argument("--json", action="store_true", help="print the list as JSON")
    hist.add_argument("--out", help="export: a .json or .html path")
    hist.add_argument("--redact", action="store_true",
                      help="export: strip host and user names, paths and addresses")
    hist.add_argument("--word", action="append", help="export --redact: another name to strip")
    hist.add_argument("--top", type=int, default=15, help="show: layers in the summary")
    hist.set_defaults(func=cmd_history)

    comp = sub.add_parser("compare", help="profiles side by side, or against a baseline "
                          "(exit 1 when slower beyond noise)")
    comp.add_argument("profiles", nargs="+", help="profile JSON files or history ids")
    comp.add_argument("--baseline", help="profile to compare against (file or history id)")
    comp.add_argument("--threshold", type=float, default=0.05,
                      help="smallest relative change that counts (default 0.05: 5%%)")
    comp.add_argument("--confidence", type=float, default=0.95,
                      help="confidence level of the intervals (default 0.95)")
    comp.add_argument("--allow-different-models", action="store_true",
                      help="compare runs of different model files")
    comp.add_argument("--json", action="store_true",
                      help="print the comparison (or the reports against --baseline) as JSON")
    comp.set_defaults(func=cmd_compare)
