"""The commands about targets: ``targets``, ``target``, ``detect`` and ``estimate``.

A view over :mod:`workbench.targets`; which board an estimate is for (a named
one, or the one detected on a device, with measured ceilings or not) is
decided by :mod:`workbench.jobs.estimate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from workbench.cli._common import check_outputs, console, load_model

if TYPE_CHECKING:
    from workbench.targets import Core


def cmd_targets(args: argparse.Namespace) -> int:
    """List the catalog's boards (and, with --cores, its cores)."""
    from rich.table import Table

    from workbench import targets

    table = Table(title="catalog boards (workbench target NAME)")
    table.add_column("name", no_wrap=True, min_width=max(map(len, targets.names())))
    for column in ("SoC", "clusters", "GB/s", "RAM GiB", "accelerators"):
        table.add_column(column)
    for target in targets.catalog():
        table.add_row(target.name, str(target.entry.get("soc")), target.cluster_text(),
                      f"{target.bandwidth_gbs:g}" if target.bandwidth_gbs else "-",
                      ", ".join(f"{g:g}" for g in target.entry.get("ram_gb") or []),
                      ", ".join(a["name"] for a in target.entry.get("accelerators") or []) or "-")
    out = console()
    out.print(table)
    if args.cores:
        cores = Table(title="catalog cores")
        for column in ("name", "core", "MIDR", "arch", "ISA", "FP32 FLOP/c", "INT8 op/c"):
            cores.add_column(column)
        for key in targets.names("cores"):
            core = cast("Core", targets.get(key))  # a name from names("cores")
            cores.add_row(key, core.name, core.midr, core.arch, core.isa(),
                          f"{core.fp32_flops_per_cycle:g}",
                          f"{core.int8_ops_per_cycle:g}")
        out.print(cores)
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    """Show one board or core with its figures and sources."""
    from workbench import targets
    from workbench.targets.target import Target

    item = targets.get(args.name)
    out = console()
    out.print(repr(item), markup=False)
    if isinstance(item, Target):
        for cluster in item.clusters:
            out.print(f"  {cluster.count}x {cluster.core.name} @ {cluster.max_ghz:g} GHz: "
                      f"{cluster.core.isa()}; peak {cluster.peak_gops('fp32'):.1f} GFLOP/s FP32, "
                      f"{cluster.peak_gops('int8'):.1f} GOP/s INT8", markup=False)
        memory = item.entry.get("memory") or {}
        out.print(f"  memory {memory.get('type')}, {item.bandwidth_gbs} GB/s; RAM "
                  f"{', '.join(f'{g:g}' for g in item.entry.get('ram_gb') or [])} GiB",
                  markup=False)
        for accelerator in item.entry.get("accelerators") or []:
            out.print(f"  {accelerator['kind']}: {accelerator['name']} "
                      f"(runtime: {accelerator['runtime']})", markup=False)
        if item.entry.get("note"):
            out.print(f"  note: {item.entry['note']}", markup=False)
    sources = item.entry["sources"] if isinstance(item, Target) else item.sources
    out.print("  sources: " + "; ".join(f"{k}: {v}" for k, v in sources.items()), markup=False)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    """Detect what a device (default this machine) is."""
    from workbench.jobs import detect_target

    detection = detect_target(args.device)
    out = console()
    out.print(f"{args.device}: {detection.summary()}", markup=False)
    for cluster in detection.clusters:
        features = " ".join(k for k, v in cluster.features.items() if v)
        out.print(f"  cores {cluster.cores}: {cluster.name} ({cluster.midr}) "
                  f"max {cluster.max_mhz or '?'} MHz; {features}", markup=False)
    for warning in detection.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    target = detection.target
    if target is not None:
        out.print(f"target: {target!r}", markup=False)
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    """Print (and optionally save) a roofline estimate of a model on a catalog board."""
    from workbench.jobs.estimate import estimate

    check_outputs(args.out, args.json)
    profile = estimate(load_model(args.model, args.shape), target=args.target,
                       device=args.device, calibrate=args.calibrate, history=args.history,
                       threads=args.threads,
                       dtype=args.dtype, cluster=args.cluster)
    out = console()
    out.print(profile.summary(top=args.top), markup=False)
    bounds = [layer.get("bound") for layer in profile.layers]
    out.print(f"{bounds.count('compute')} compute-bound and {bounds.count('memory')} "
              f"memory-bound layers", markup=False)
    if args.out:
        profile.to_html(Path(args.out))
        out.print(f"report: {args.out}", markup=False)
    if args.json:
        profile.save(args.json)
        out.print(f"profile: {args.json}", markup=False)
    return 0


def add_parsers(subparsers: Any) -> None:
    """Register ``targets``, ``target``, ``detect`` and ``estimate`` on the CLI's subparsers."""
    listing = subparsers.add_parser("targets", help="list the catalog's Arm boards")
    listing.add_argument("--cores", action="store_true", help="also list the catalog's cores")
    listing.set_defaults(func=cmd_targets)

    one = subparsers.add_parser("target", help="show one catalog board or core")
    one.add_argument("name", help="board or core name, e.g. raspberry-pi-5 or cortex-a76")
    one.set_defaults(func=cmd_target)

    detect = subparsers.add_parser("detect", help="detect a device's cores and closest board")
    detect.add_argument("device", nargs="?", default="local",
                        help="device name (default: local)")
    detect.set_defaults(func=cmd_detect)

    estimate = subparsers.add_parser("estimate", help="roofline estimate of a model on a board")
    estimate.add_argument("model", help="an .onnx or .tflite path, or zoo:NAME")
    estimate.add_argument("--target", default=None, help="catalog board, e.g. raspberry-pi-5")
    estimate.add_argument("--device", default=None, help="a device: its detected board is the "
                          "target unless --target is given")
    estimate.add_argument("--calibrate", action="store_true", help="measure the device's "
                          "ceiling per kernel class and use them instead of the datasheet's")
    estimate.add_argument("--history", action="store_true", help="cost layers at the rates "
                          "the device reached in its measured profiles (the history)")
    estimate.add_argument("--shape", action="append", default=[], metavar="DIM=N",
                          help="fix a symbolic dim, e.g. --shape batch=1")
    estimate.add_argument("--threads", type=int, default=None,
                          help="threads (default: every core of the cluster)")
    estimate.add_argument("--dtype", choices=("fp32", "int8"), default="fp32")
    estimate.add_argument("--cluster", default="big", help="big, little, all or an index")
    estimate.add_argument("--out", default=None, help="also write an HTML report here")
    estimate.add_argument("--json", default=None, help="also save the estimate profile JSON here")
    estimate.add_argument("--top", type=int, default=15, help="layers in the printed summary")
    estimate.set_defaults(func=cmd_estimate)
