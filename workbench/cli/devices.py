"""The device commands: ``devices`` (list, add, remove) and ``device`` (one device's actions).

``device`` runs probe, status, setup, clean or trust on one device; what each
can do is the device's own business (a local device cannot be set up or
trusted), so this module only prints.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from workbench.cli._common import console, persist_arguments

if TYPE_CHECKING:
    from workbench.devices.base import Device


def _needs(value: str | None, what: str, example: str) -> None:
    """InvalidOptionValue when an action's positional argument is missing."""
    if not value:
        from workbench.errors import InvalidOptionValue

        raise InvalidOptionValue(what, where="command line", hint=f"e.g. {example}")


def cmd_devices(args: argparse.Namespace) -> int:
    """List the known devices (optionally probing each), or add or remove one."""
    from workbench.devices import connect, known_devices, registry

    out = console()
    if args.action in ("add", "remove"):
        _needs(args.name, f"`workbench devices {args.action}` needs a device name",
               "workbench devices add pi5 --host 192.168.1.20 --user pi")
    if args.action == "add":
        entry = registry.add(args.name, kind=args.kind, notes=args.notes or "", host=args.host,
                             user=args.user, port=args.port, key_filename=args.key,
                             proxy_jump=args.proxy_jump, python=args.python,
                             remote_cache=args.remote_cache, known_hosts=args.known_hosts,
                             replace=args.replace)
        out.print(f"added {args.name}: {json.dumps(entry)}", markup=False)
        return 0
    if args.action == "remove":
        registry.remove(args.name)
        out.print(f"removed {args.name}", markup=False)
        return 0
    from rich.markup import escape

    listed = known_devices(include_ssh_config=args.ssh_config)
    # name and kind as aligned columns; "local" is always listed, so max() has a value
    name_width = max(len(str(e["name"])) for e in listed)
    kind_width = max(len(str(e["kind"])) for e in listed)
    for entry in listed:
        name, kind = str(entry["name"]).ljust(name_width), str(entry["kind"]).ljust(kind_width)
        where = entry.get("host") or ""
        notes = entry.get("notes", "")
        out.print(f"[bold]{escape(name)}[/bold]  {escape(kind)}  {escape(f'{where} {notes}')}")
        if args.probe:
            out.print("  " + connect(entry["name"]).probe().summary(), markup=False)
    return 0


def _duration(seconds: float) -> str:
    """A short duration: 12 s, 3 min 20 s, 2 h 5 min, 3 d 4 h."""
    seconds = max(0, int(seconds))
    for unit, size, smaller, small_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60),
                                            ("min", 60, "s", 1)):
        if seconds >= size:
            rest = (seconds % size) // small_size
            return f"{seconds // size} {unit}" + (f" {rest} {smaller}" if rest else "")
    return f"{seconds} s"


def _when(stamp: Any) -> str:
    """Epoch seconds as local time and how long ago."""
    if not isinstance(stamp, (int, float)):
        return "?"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
    return f"{text} ({_duration(time.time() - stamp)} ago)"


def _print_status(name: str, state: dict[str, Any]) -> None:
    """The board's lock (holder, waiters in order) and this account's job folders."""
    from rich.table import Table

    out = console()
    lock = state.get("lock") or {}
    out.print(f"{name}: board lock {lock.get('lock', '?')}", markup=False)
    holder = lock.get("holder") or {}
    if lock.get("held") and not holder:
        # the lock is taken but its record is blank or names a process that is gone
        out.print("  held by a job whose record names no running process (a job taking over "
                  "the board, or one this check cannot see); run status again", markup=False)
    elif lock.get("held"):
        out.print(f"  held by {holder.get('holder') or '?'} (job {holder.get('job') or '?'}, "
                  f"pid {holder.get('pid', '?')}) since {_when(lock.get('since'))}",
                  markup=False)
    else:
        out.print("  free", markup=False)
    waiters = lock.get("waiters") or []
    if not waiters:
        out.print("  no job is waiting", markup=False)
    for place, waiter in enumerate(waiters, 1):
        out.print(f"  waiting {place}: {waiter.get('holder') or '?'} (job "
                  f"{waiter.get('job') or '?'}, pid {waiter.get('pid', '?')}) since "
                  f"{_when(waiter.get('since'))}", markup=False)
    jobs = state.get("jobs") or []
    if not jobs:
        out.print("no job folders on the device for this account", markup=False)
        return
    table = Table(title="job folders (this account)")
    for column in ("job", "state", "last status", "result"):
        table.add_column(column)
    for job in jobs:
        table.add_row(str(job.get("id")), str(job.get("state")), _when(job.get("time")),
                      "not collected" if job.get("uncollected") else "-")
    out.print(table)


def _setup(args: argparse.Namespace, device: Device) -> None:
    """Install a backend's runtime on the device with an upload bar; print the report."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("upload", total=None)
        report = device.setup(args.backend, bundle=args.bundle, shared=args.shared,
                              apt=args.apt, progress=lambda done, total, rate: bar.update(
                                  task, completed=done, total=total))
    out = console()
    installed = (f"apt-get installed {', '.join(report['apt'])}" if report.get("apt") else
                 f"runtime bundle {report['bundle']} ({', '.join(report['parts'])})")
    out.print(f"{args.name}: Python {report['python']} {report['machine']}, {installed}",
              markup=False)
    for name, versions in report["versions"].items():
        out.print(f"  {name}: host {versions['host']}, board {versions['board']}", markup=False)
    for line in report["skew"] + report["notes"]:
        out.print(f"[yellow]note:[/yellow] {line}", markup=False)


def cmd_device(args: argparse.Namespace) -> int:
    """One device: probe it, show its lock and jobs, set it up, clean it, trust its key, or
    keep its connection up (connect, disconnect)."""
    from workbench.devices import connect
    from workbench.devices.kept import IDLE_S, connect_kept, disconnect, keep

    out = console()
    if args.action == "connect":
        keeper = keep(args.name, idle_s=args.idle if args.idle is not None else IDLE_S)
        assert keeper is not None  # keep() starts one unless told not to
        out.print(f"{args.name}: connection kept by process {keeper.keeper_pid} "
                  f"({keeper.socket_path}); `workbench device disconnect {args.name}` stops it",
                  markup=False)
        return 0
    if args.action == "disconnect":
        stopped = disconnect(args.name)
        out.print(f"{args.name}: " + ("kept connection stopped" if stopped else
                                      "no kept connection was running"), markup=False)
        return 0
    # setting up and trusting are the device's own business: always a direct connection
    device = (connect(args.name) if args.action in ("setup", "trust")
              else connect_kept(args.name, args.persist))
    if args.action == "status":
        state = device.status()
        if args.json:
            print(json.dumps(state, indent=2, sort_keys=True))
        else:
            _print_status(args.name, state)
    elif args.action == "probe":
        from workbench.jobs import detect_target

        info = device.probe(refresh=True)
        out.print(info.summary(), markup=False)
        out.print(f"target: {detect_target(info).summary()}", markup=False)
    elif args.action == "trust":
        _needs(args.fingerprint, "`workbench device trust` needs the host key's fingerprint",
               f"workbench device trust {args.name} SHA256:...")
        path = device.trust_host_key(args.fingerprint)
        out.print(f"trusted {args.fingerprint} for {args.name} in {path}", markup=False)
    elif args.action == "clean":
        cleaned = device.clean_cache(args.wait)
        kept = len(cleaned.get("kept", []))
        out.print(f"removed {len(cleaned.get('removed', []))} cached artifacts and job folders "
                  f"on {args.name}" + (f"; {kept} in use stay" if kept else ""), markup=False)
    else:
        _setup(args, device)
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``devices`` and ``device`` on the top-level subparsers."""
    devices = sub.add_parser("devices", help="list, add or remove devices")
    devices.add_argument("action", nargs="?", choices=("list", "add", "remove"), default="list")
    devices.add_argument("name", nargs="?", help="device name (add, remove)")
    devices.add_argument("--kind", default="ssh", help="device kind (default ssh)")
    devices.add_argument("--host", help="host name or address")
    devices.add_argument("--user", help="login user")
    devices.add_argument("--port", type=int, help="SSH port")
    devices.add_argument("--key", help="private key file")
    devices.add_argument("--proxy-jump", help="jump host, as in ssh -J")
    devices.add_argument("--python", help="Python on the board (default python3)")
    devices.add_argument("--remote-cache", help="cache folder on the board")
    devices.add_argument("--known-hosts", action="append", help="extra known_hosts file")
    devices.add_argument("--notes", help="a note shown in listings")
    devices.add_argument("--replace", action="store_true",
                         help="add: overwrite a device already registered under that name")
    devices.add_argument("--ssh-config", action="store_true", help="also list ~/.ssh/config hosts")
    devices.add_argument("--probe", action="store_true", help="probe each device")
    devices.set_defaults(func=cmd_devices)

    device = sub.add_parser("device", help="work on one device: probe, status, setup, clean, "
                            "trust, connect, disconnect")
    device.add_argument("action", choices=("probe", "status", "setup", "clean", "trust",
                                           "connect", "disconnect"))
    device.add_argument("name", help="device name")
    device.add_argument("fingerprint", nargs="?", help="SHA256:... host key fingerprint (trust)")
    device.add_argument("--backend", default="onnxruntime", help="backend to set up for")
    device.add_argument("--bundle", action="append", help="your own wheel or SDK folder")
    device.add_argument("--shared", action="store_true",
                        help="setup: install the runtime once, read-only, for every account")
    device.add_argument("--apt", action="store_true",
                        help="setup --backend armnn: install Debian's packages with the board's "
                        "apt-get (root or passwordless sudo) instead of a bundle")
    device.add_argument("--json", action="store_true",
                        help="status: print the lock and the job folders as JSON")
    device.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                        help="clean: how long to wait for a running job (default 60)")
    device.add_argument("--idle", type=float, default=None, metavar="SECONDS",
                        help="connect: stop the kept connection after this long without a "
                        "command (default 600)")
    persist_arguments(device)
    device.set_defaults(func=cmd_device)
