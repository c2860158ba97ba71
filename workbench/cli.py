"""The ``workbench`` command: a view over the public API, no logic of its own.

Errors print their message and hint, not a traceback, and exit non-zero; an
agent's error prints the tail of the agent's stderr below its message.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import AgentError, WorkbenchError

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.models import Model
    from workbench.profiling import Profile

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _console(stderr: bool = False, soft_wrap: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap)


def _si(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def _key_values(pairs: Sequence[str], what: str) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else strings."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue(f"{pair!r} is not key=value", where=what,
                                     hint="Write e.g. -o intra_op_threads=2")
        try:
            parsed[key] = json.loads(text)
        except ValueError:
            parsed[key] = text
    return parsed


def _load(source: str, shapes: Sequence[str]) -> Model:
    from workbench.models import load_model

    model = load_model(source)
    dims = _key_values(shapes, "--shape")
    return model.with_shapes(**dims) if dims else model


def cmd_inspect(args: argparse.Namespace) -> int:
    from rich.table import Table

    model = _load(args.model, args.shape)
    out = _console()
    out.print(f"[bold]{model.name}[/bold]  sha256 {model.sha256[:16]}  opset {model.opset}")
    for tensor in model.inputs:
        out.print(f"  input  {tensor.name}: {tensor.dtype} {tensor.shape}")
    for tensor in model.outputs:
        out.print(f"  output {tensor.name}: {tensor.dtype} {tensor.shape}")
    out.print(f"  params {_si(model.params)}  MACs {_si(model.macs)}  weights "
              f"{_si(model.weight_bytes, 'B')}  "
              f"peak activations {_si(model.peak_activation_bytes, 'B')}")
    table = Table(title="by op type")
    for column in ("op type", "count", "params", "MACs", "share of MACs"):
        table.add_column(column, justify="left" if column == "op type" else "right")
    for data in model.by_op_type().to_dict("records"):
        table.add_row(str(data["op_type"]), str(data["count"]), _si(data["params"]),
                      _si(data["macs"]), f"{100 * float(data.get('share_of_macs', 0) or 0):.1f}%")
    out.print(table)
    if args.layers:
        layers = Table(title="layers")
        for column in ("name", "op type", "output shape", "params", "MACs"):
            layers.add_column(column)
        for node in model.nodes:
            shape = node.output_shapes[0] if node.output_shapes else None
            layers.add_row(node.name, node.op_type, str(shape), _si(node.params), _si(node.macs))
        out.print(layers)
    for warning in getattr(model, "warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    return 0


def _print_profile(profile: Profile, top: int) -> None:
    _console().print(profile.summary(top=top), markup=False)


def _show_stage(bar: Any, tasks: dict[str, Any], event: dict[str, Any]) -> None:
    """One stage event on the progress display: a bar per stage, the queue as a line."""
    stage = str(event["stage"])
    if stage == "queue":
        since = event.get("since")
        held = f" for {time.time() - since:.0f} s" if isinstance(since, (int, float)) else ""
        bar.console.print(f"waiting for the board: place {event.get('place')} of "
                          f"{event.get('length')}; {event.get('holder') or '?'} holds it{held}")
        return
    if stage in ("done", "failed", "cancelled"):
        return
    total, done = event.get("total"), event.get("done")
    if stage not in tasks:
        tasks[stage] = bar.add_task(stage, total=max(1, total) if total else 1)
    if isinstance(total, int) and isinstance(done, int):
        bar.update(tasks[stage], completed=done, total=max(1, total))
    else:
        bar.update(tasks[stage], completed=1, total=1)


def cmd_profile(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from workbench.jobs import profile

    model = _load(args.model, args.shape)
    options = _key_values(args.option, "-o")
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=_console(stderr=True),
                  transient=True, disable=args.quiet) as bar:
        tasks: dict[str, Any] = {}

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "stage":
                _show_stage(bar, tasks, event)
            elif event.get("event") == "log" and not args.quiet:
                bar.console.print(f"[dim]{event['level']}: {event['message']}[/dim]")

        result = profile(model, device=args.device, backend=args.backend, options=options,
                         warmup=args.warmup, runs=args.runs, profile_runs=args.profile_runs,
                         timeout=args.timeout, label=args.label, on_event=on_event,
                         cluster=args.cluster if not args.cluster.isdigit() else int(args.cluster),
                         cores=args.cores, governor=args.governor)
    _print_profile(result, args.top)
    out = Path(args.out) if args.out else Path(f"{model.name}-{args.device}.html")
    result.to_html(out)
    _console().print(f"report: {out}")
    if args.json:
        result.save(args.json)
        _console().print(f"profile: {args.json}")
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    from rich.table import Table

    from workbench.models import zoo_info

    table = Table(title="bundled models (zoo:NAME)")
    for column in ("name", "params", "MACs", "file", "description"):
        table.add_column(column)
    for info in zoo_info():
        size = info.get("size_bytes") or info.get("size")
        table.add_row(str(info["name"]), _si(info.get("params")), _si(info.get("macs")),
                      _si(size, "B") if size else "not built yet", str(info.get("description", "")))
    _console().print(table)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from workbench.devices import connect, known_devices, registry

    out = _console()
    if args.action in ("add", "remove") and not args.name:
        from workbench.errors import InvalidOptionValue

        raise InvalidOptionValue(f"`workbench devices {args.action}` needs a device name",
                                 where="command line", hint="e.g. workbench devices add pi5 "
                                 "--host 192.168.1.20 --user pi")
    if args.action == "add":
        entry = registry.add(args.name, kind=args.kind, notes=args.notes or "", host=args.host,
                             user=args.user, port=args.port, key_filename=args.key,
                             proxy_jump=args.proxy_jump, python=args.python,
                             remote_cache=args.remote_cache, known_hosts=args.known_hosts)
        out.print(f"added {args.name}: {json.dumps(entry)}", markup=False)
        return 0
    if args.action == "remove":
        registry.remove(args.name)
        out.print(f"removed {args.name}")
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


def _upload_bar(args: argparse.Namespace) -> Any:
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    return Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                    console=_console(stderr=True), transient=True)


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
    import time as clock

    if not isinstance(stamp, (int, float)):
        return "?"
    text = clock.strftime("%Y-%m-%d %H:%M:%S", clock.localtime(stamp))
    return f"{text} ({_duration(clock.time() - stamp)} ago)"


def _print_device_status(name: str, state: dict[str, Any]) -> None:
    """The board's lock (holder, waiters in order) and this account's job folders."""
    from rich.table import Table

    out = _console()
    lock = state.get("lock") or {}
    out.print(f"{name}: board lock {lock.get('lock', '?')}", markup=False)
    holder = lock.get("holder") or {}
    if lock.get("held"):
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


def cmd_device(args: argparse.Namespace) -> int:
    from workbench.devices import connect

    device = connect(args.name)
    out = _console()
    if args.action == "status":
        state = device.status()
        if args.json:
            print(json.dumps(state, indent=2, sort_keys=True))
        else:
            _print_device_status(args.name, state)
        return 0
    if args.action == "probe":
        from workbench.targets import for_device

        info = device.probe(refresh=True)
        out.print(info.summary(), markup=False)
        out.print(f"target: {for_device(info).summary()}", markup=False)
        return 0
    if args.action == "trust":
        if not args.fingerprint:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue("`workbench device trust` needs the host key's fingerprint",
                                     where="command line",
                                     hint=f"e.g. workbench device trust {args.name} SHA256:...")
        path = device.trust_host_key(args.fingerprint)
        out.print(f"trusted {args.fingerprint} for {args.name} in {path}", markup=False)
        return 0
    if args.action == "clean":
        device.clean_cache()
        out.print(f"removed cached artifacts and job folders on {args.name}")
        return 0
    from workbench.devices.setup import setup_device
    from workbench.devices.ssh import SSHDevice

    if not isinstance(device, SSHDevice):
        from workbench.errors import DeviceError

        raise DeviceError(f"{args.name} is a {device.kind} device: setup installs runtimes on "
                          "boards reached over SSH", where=args.name,
                          hint="Install the runtime into this Python with pip instead")
    with _upload_bar(args) as bar:
        task = bar.add_task("upload", total=None)
        report = setup_device(device, args.backend, bundle=args.bundle,
                              progress=lambda done, total, rate: bar.update(
                                  task, completed=done, total=total))
    out.print(f"{args.name}: Python {report['python']} {report['machine']}, runtime bundle "
              f"{report['bundle']} ({', '.join(report['parts'])})", markup=False)
    for name, versions in report["versions"].items():
        out.print(f"  {name}: host {versions['host']}, board {versions['board']}", markup=False)
    for line in report["skew"] + report["notes"]:
        out.print(f"[yellow]note:[/yellow] {line}", markup=False)
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    from workbench import emulator

    out = _console()
    if args.action == "build":
        with _console(stderr=True).status("building the emulated board's root file system "
                                          "(about 2 minutes)"):
            report = emulator.build()
        out.print(f"built in {report['seconds']} s: Python {report['python']}, "
                  f"{', '.join(report['wheels'])}", markup=False)
    elif args.action == "start":
        state = emulator.start(args.board, args.port)
        out.print(f"{state['device']}: emulated {state['board']} ({state['qemu_cpu']}) on "
                  f"127.0.0.1:{state['port']}; times from it are not hardware times",
                  markup=False)
    elif args.action == "stop":
        stopped = emulator.stop(args.board if args.board_given else None)
        out.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    else:
        running = emulator.status()
        out.print(f"built: {'yes' if emulator.is_built() else 'no'} ({emulator.emulator_dir()})",
                  markup=False)
        for state in running:
            out.print(f"running: {state['device']} ({state['board']}, {state['qemu_cpu']}) on "
                      f"127.0.0.1:{state['port']}", markup=False)
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from workbench import backends

    out = _console()
    for name, backend in backends.load_all().items():
        info = backend.describe()
        out.print(f"[bold]{name}[/bold]: formats {', '.join(info['formats'])}; needs "
                  f"{info['runtime']} on the device")
        if info.get("description"):
            out.print(f"  {info['description']}", markup=False)
        for option in info["options"]:
            choices = f" one of {option['choices']}" if option["choices"] else ""
            out.print(f"  {option['name']} ({option['type']}, default {option['default']!r}"
                      f"{choices}): {option['help']}", markup=False)
    return 0


def _runs(value: str) -> int | str:
    return value if value == "auto" else int(value)


def parser() -> argparse.ArgumentParser:
    """The command line's parser (its help is the CLI's reference)."""
    from workbench import __version__

    top = argparse.ArgumentParser(prog="workbench", description="Profile ML models on Arm "
                                  "edge devices, layer by layer.")
    top.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    inspect = sub.add_parser("inspect", help="static analysis: layers, shapes, params, MACs")
    inspect.add_argument("model", help="an .onnx path or zoo:NAME")
    inspect.add_argument("--shape", action="append", default=[], metavar="DIM=N",
                         help="fix a symbolic dim, e.g. --shape batch=1")
    inspect.add_argument("--layers", action="store_true", help="list every layer")
    inspect.set_defaults(func=cmd_inspect)

    prof = sub.add_parser("profile", help="run a model on a device and profile it")
    prof.add_argument("model", help="an .onnx path or zoo:NAME")
    prof.add_argument("--device", default="local", help="device name (default: local)")
    prof.add_argument("--backend", default="onnxruntime", help="backend (default: onnxruntime)")
    prof.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                      help="backend option, e.g. -o intra_op_threads=2 (see `workbench backends`)")
    prof.add_argument("--shape", action="append", default=[], metavar="DIM=N",
                      help="fix a symbolic dim, e.g. --shape batch=1")
    prof.add_argument("--warmup", type=int, default=10, help="warm-up runs (default 10)")
    prof.add_argument("--runs", type=_runs, default=50,
                      help="timed runs (default 50), or 'auto': until the median is stable")
    prof.add_argument("--cluster", default="big", help="big, little, all or a cluster index")
    prof.add_argument("--cores", type=lambda v: [int(c) for c in v.split(",")], default=None,
                      help="explicit cores, e.g. 2,3")
    prof.add_argument("--governor", default=None, help="cpufreq governor for the run, "
                      "restored after (e.g. performance)")
    prof.add_argument("--profile-runs", type=int, default=10,
                      help="runs with the profiler on, for per-layer times (default 10; 0: off)")
    prof.add_argument("--timeout", type=float, default=None, help="stop the job after N seconds")
    prof.add_argument("--label", default=None, help="a short name for plots and comparisons")
    prof.add_argument("--out", default=None, help="HTML report path (default MODEL-DEVICE.html)")
    prof.add_argument("--json", default=None, help="also save the profile JSON here")
    prof.add_argument("--top", type=int, default=15, help="layers in the printed summary")
    prof.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    prof.set_defaults(func=cmd_profile)

    zoo = sub.add_parser("zoo", help="list the bundled models")
    zoo.set_defaults(func=cmd_zoo)

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
    devices.add_argument("--ssh-config", action="store_true", help="also list ~/.ssh/config hosts")
    devices.add_argument("--probe", action="store_true", help="probe each device")
    devices.set_defaults(func=cmd_devices)

    device = sub.add_parser("device", help="work on one device: probe, status, setup, clean, "
                            "trust")
    device.add_argument("action", choices=("probe", "status", "setup", "clean", "trust"))
    device.add_argument("name", help="device name")
    device.add_argument("fingerprint", nargs="?", help="SHA256:... host key fingerprint (trust)")
    device.add_argument("--backend", default="onnxruntime", help="backend to set up for")
    device.add_argument("--bundle", action="append", help="your own wheel or SDK folder")
    device.add_argument("--json", action="store_true",
                        help="status: print the lock and the job folders as JSON")
    device.set_defaults(func=cmd_device)

    emu = sub.add_parser("emulator", help="an emulated Arm board (qemu-user) for tests and classes")
    emu.add_argument("action", choices=("build", "start", "stop", "status"))
    emu.add_argument("--board", default=None, help="preset board (default raspberry-pi-5)")
    emu.add_argument("--port", type=int, default=None, help="SSH port on 127.0.0.1")
    emu.set_defaults(func=cmd_emulator)

    back = sub.add_parser("backends", help="list the backends and their options")
    back.set_defaults(func=cmd_backends)

    from workbench import cli_history, cli_targets

    cli_history.add_parsers(sub)
    cli_targets.add_parsers(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    args = parser().parse_args(argv)
    if args.command == "emulator":
        args.board_given = args.board is not None
        args.board = args.board or "raspberry-pi-5"
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        from rich.markup import escape

        err = _console(stderr=True)
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        # the message leaves the agent's stderr out; below it, it keeps its own lines
        if isinstance(exc, AgentError) and exc.stderr_tail.strip():
            code = f" (exit code {exc.exit_code})" if exc.exit_code is not None else ""
            err.print(f"the agent's stderr{code} ended with:", markup=False, style="dim")
            err.print(exc.stderr_tail.rstrip(), markup=False, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
