"""The model commands: ``inspect`` (static analysis), ``profile`` (run and measure), ``zoo``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from workbench.cli._common import (
    check_outputs,
    console,
    key_values,
    load_model,
    persist_arguments,
    print_lines,
)


def _si(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print a model's inputs, outputs, totals and op types (and, with --layers, its layers)."""
    from rich.table import Table

    from workbench.models.model import qualified_op

    model = load_model(args.model, args.shape, upgrade_opset=args.upgrade_opset)
    out = console()
    out.print(f"[bold]{model.name}[/bold]  sha256 {model.sha256[:16]}  {model.format_version}")
    for tensor in model.inputs:
        out.print(f"  input  {tensor.name}: {tensor.dtype} {tensor.shape}")
    for tensor in model.outputs:
        out.print(f"  output {tensor.name}: {tensor.dtype} {tensor.shape}")
    out.print(f"  params {_si(model.params)}  MACs {_si(model.macs)}  weights "
              f"{_si(model.weight_bytes, 'B')}  "
              f"peak activations {_si(model.peak_activation_bytes, 'B')}")
    table = Table(title="by op type (domain:op type outside the ONNX standard)")
    for column in ("op type", "count", "params", "MACs", "share of MACs"):
        table.add_column(column, justify="left" if column == "op type" else "right")
    for data in model.by_op_type().to_dict("records"):
        table.add_row(qualified_op(data), str(data["count"]), _si(data["params"]),
                      _si(data["macs"]), f"{100 * float(data.get('share_of_macs', 0) or 0):.1f}%")
    out.print(table)
    if args.layers:
        layers = Table(title="layers")
        for column in ("name", "op type", "output shape", "params", "MACs"):
            layers.add_column(column)
        for node in model.nodes:
            shape = node.output_shapes[0] if node.output_shapes else None
            op = qualified_op({"op_type": node.op_type,
                               "domain": "" if node.domain == "ai.onnx" else node.domain})
            layers.add_row(node.name, op, str(shape), _si(node.params), _si(node.macs))
        out.print(layers)
    for warning in getattr(model, "warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    return 0


def _queue_line(event: dict[str, Any]) -> str:
    since = event.get("since")
    held = f" for {time.time() - since:.0f} s" if isinstance(since, (int, float)) else ""
    return (f"waiting for the board: place {event.get('place')} of {event.get('length')}; "
            f"{event.get('holder') or 'a job not named yet'} holds it{held}")


def _show_stage(bar: Any, tasks: dict[str, Any], event: dict[str, Any]) -> None:
    """One stage event on the progress display: a bar per stage, the queue as a line."""
    stage = str(event["stage"])
    if stage == "queue":
        bar.console.print(_queue_line(event), markup=False)
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


def profile_request(args: argparse.Namespace) -> dict[str, Any]:
    """The profile the arguments ask for, as plain data (see :mod:`workbench.jobs.request`)."""
    import os

    inputs: dict[str, Any] = {}
    image_options = (args.image_size, args.image_mean, args.image_std, args.image_scale,
                     args.image_layout)
    if args.inputs or args.input or any(option is not None for option in image_options):
        from workbench.inputs import from_text, image_preprocessing, read_spec

        image = image_preprocessing(size=args.image_size, mean=args.image_mean,
                                    std=args.image_std, scale=args.image_scale,
                                    layout=args.image_layout)
        inputs = read_spec(args.inputs) if args.inputs else {}
        for name, text in key_values(args.input, "--input", parse=False).items():
            inputs[name] = from_text(name, text, image)
    # the cluster goes as typed: RunSettings reads "1" as an index (parse_cluster)
    run = {"warmup": args.warmup, "runs": args.runs, "profile_runs": args.profile_runs,
           "timeout": args.timeout, "cluster": args.cluster, "cores": args.cores,
           "governor": args.governor}
    # counts left out stay the library's defaults, which an emulated board lowers
    run = {name: value for name, value in run.items()
           if value is not None or name not in ("warmup", "runs", "profile_runs")}
    return {"model": args.model, "shapes": key_values(args.shape, "--shape"),
            "upgrade_opset": args.upgrade_opset, "backend": args.backend,
            "options": key_values(args.option, "-o"), "inputs": inputs, "label": args.label,
            "run": run, "device": args.device, "out": args.out, "json": args.json,
            "top": args.top, "quiet": args.quiet, "cwd": os.getcwd()}


class _StageBars:
    """A bar per stage on a terminal, drawn by rich once it has loaded.

    Importing rich's progress display takes about a tenth of a second, as long
    as the rest of the command's start: a thread imports it while the request
    goes out, and the events that come meanwhile wait and are shown when it is
    there (in order). Events arrive on the job's or the link's thread.
    """

    def __init__(self) -> None:
        self._loading = threading.Thread(target=importlib.import_module, args=("rich.progress",),
                                         name="load-rich", daemon=True)
        self._loading.start()
        self._lock = threading.Lock()
        self._waiting: list[dict[str, Any]] = []
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._notes: list[str] = []

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._bar is None:
                if self._loading.is_alive():
                    self._waiting.append(event)
                    return
                self._start()
            self._show(event)

    def _start(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.text import Text

        notes = self._notes

        class Bars(Progress):
            """The bars, under the warnings the profile keeps (gone with the bars)."""

            def get_renderables(self) -> Iterator[Any]:
                yield from (Text(note, style="yellow") for note in notes)
                yield self.make_tasks_table(self.tasks)

        self._bar = Bars(TextColumn("{task.description:<10}"), BarColumn(),
                         TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                         console=console(stderr=True), transient=True)
        self._bar.start()
        waiting, self._waiting = self._waiting, []
        for event in waiting:
            self._show(event)

    def _show(self, event: dict[str, Any]) -> None:
        if event.get("event") == "stage":
            _show_stage(self._bar, self._tasks, event)
        elif event.get("event") == "log" and event.get("kept"):
            # shown while the job runs, gone with the bars: the summary's warnings stay
            self._notes.append(_log_line(event))
            self._bar.refresh()
        elif event.get("event") == "log":
            self._bar.console.print(f"[dim]{event['level']}: {event['message']}[/dim]")

    def close(self) -> None:
        """Take the bars off the terminal (they are transient). Log lines still waiting for
        rich (a quick job ends before it loads) are printed plainly: a warning is never lost."""
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
            waiting, self._waiting = self._waiting, []
        for event in waiting:
            if event.get("event") == "log" and not event.get("kept"):
                print(_log_line(event), file=sys.stderr)


def _stage_line(event: dict[str, Any]) -> str:
    """The start of a job's stage as a line of text: ``stage: timed (50 runs)``."""
    total = event.get("total")
    runs = isinstance(total, int) and event["stage"] in ("warmup", "timed", "profile")
    counted = f" ({total} run{'' if total == 1 else 's'})" if runs else ""
    return f"stage: {event['stage']}{counted}"


def _log_line(event: dict[str, Any]) -> str:
    """A job's log event as a line of text: ``warning: ...``."""
    return f"{event['level']}: {event['message']}"


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Callable[[dict[str, Any]], None]]:
    """What shows a job's events: a bar per stage on a terminal, else the queue and log lines.

    A warning the profile keeps (``kept``) is printed once, in the summary's warnings: on a
    terminal it shows beside the bars while the job runs and goes with them; without one it
    waits. A job that fails has no summary, so the warnings it kept are printed then.
    """
    kept: list[str] = []
    try:
        with _shown_events(args) as show:
            def on_event(event: dict[str, Any]) -> None:
                if event.get("event") == "log" and event.get("kept"):
                    kept.append(_log_line(event))
                show(event)

            yield on_event
    except BaseException:
        for line in kept if not args.quiet else ():
            print(line, file=sys.stderr)
        raise


@contextlib.contextmanager
def _shown_events(args: argparse.Namespace) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A bar per stage on a terminal, else the queue and log lines (see :func:`_progress`)."""
    if args.quiet or not sys.stderr.isatty():
        shown: set[str] = set()

        def plain(event: dict[str, Any]) -> None:
            stage = event.get("stage")
            if event.get("event") == "stage" and stage == "queue":
                print(_queue_line(event), file=sys.stderr)
            elif event.get("event") == "log" and not args.quiet and not event.get("kept"):
                print(_log_line(event), file=sys.stderr)
            elif (event.get("event") == "stage" and not args.quiet and stage not in shown
                  and stage not in ("done", "failed", "cancelled")):
                # a log (no terminal) shows where a long job is: a line as each stage starts
                shown.add(str(stage))
                print(_stage_line(event), file=sys.stderr)

        yield plain
        return
    bars = _StageBars()
    try:
        yield bars
    finally:
        bars.close()


def cmd_profile(args: argparse.Namespace) -> int:
    """Run a model on a device, print its per-layer summary and write the report.

    With a kept connection up (and not ``--no-persist``), its keeper runs the whole
    request and this process only prints what comes back; else it runs here.
    """
    request = profile_request(args)
    check_outputs(args.out, args.json)  # before the job: a mistyped path must not cost a run
    with _progress(args) as on_event:
        lines = None
        if args.persist is not False:
            from workbench._kept_link import profile_kept

            lines = profile_kept(args.device, request, on_event)
        if lines is None:
            from workbench.devices.kept import connect_kept
            from workbench.jobs.request import run_request

            lines = run_request(request, connect_kept(args.device, args.persist), on_event)
    print_lines(lines)
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    """List the bundled models."""
    from rich.table import Table

    from workbench.models import zoo_info

    table = Table(title="bundled models (zoo:NAME)")
    for column in ("name", "params", "MACs", "file", "description"):
        table.add_column(column)
    for info in zoo_info():
        size = info.get("size_bytes") or info.get("size")
        table.add_row(str(info["name"]), _si(info.get("params")), _si(info.get("macs")),
                      _si(size, "B") if size else "not built yet", str(info.get("description", "")))
    console().print(table)
    return 0


def _runs(value: str) -> int | str:
    return value if value == "auto" else int(value)


def _cores(value: str) -> list[int]:
    return [int(core) for core in value.split(",")]


def _model_arguments(parser: Any) -> None:
    parser.add_argument("--shape", action="append", default=[], metavar="DIM=N",
                        help="fix a free dim by its shown name (--shape batch=1), by input and "
                        "axis (--shape x:2=48) or a whole input (--shape x=1x3x48x192)")
    parser.add_argument("--upgrade-opset", action="store_true",
                        help="convert a model below opset 7 with onnx.version_converter")


def add_parsers(sub: Any) -> None:
    """Register ``inspect``, ``profile`` and ``zoo`` on the top-level subparsers."""
    inspect = sub.add_parser("inspect", help="static analysis: layers, shapes, params, MACs")
    inspect.add_argument("model", help="an .onnx or .tflite path, or zoo:NAME")
    _model_arguments(inspect)
    inspect.add_argument("--layers", action="store_true", help="list every layer")
    inspect.set_defaults(func=cmd_inspect)

    prof = sub.add_parser("profile", help="run a model on a device and profile it")
    prof.add_argument("model", help="an .onnx or .tflite path, or zoo:NAME")
    prof.add_argument("--device", default="local", help="device name (default: local)")
    prof.add_argument("--backend", default="onnxruntime", help="backend (default: onnxruntime)")
    persist_arguments(prof)
    prof.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                      help="backend option, e.g. -o intra_op_threads=2 (see `workbench backends`)")
    _model_arguments(prof)
    prof.add_argument("--input", action="append", default=[], metavar="NAME=VALUE",
                      help="what to feed an input: a number (--input sr=16000), a .npy file "
                      "or an image (--input x=cat.jpg); repeat per input")
    prof.add_argument("--inputs", default=None, metavar="SPEC.json",
                      help="an input-spec file: a JSON object from input name to a number, a "
                      "path or a spec; --input entries win")
    prof.add_argument("--image-size", default=None, metavar="HxW",
                      help="resize images to HxW (default: the input's own size)")
    prof.add_argument("--image-mean", default=None, metavar="R,G,B",
                      help="subtract per channel after scaling, e.g. 0.485,0.456,0.406")
    prof.add_argument("--image-std", default=None, metavar="R,G,B",
                      help="divide per channel after the mean, e.g. 0.229,0.224,0.225")
    prof.add_argument("--image-scale", type=float, default=None,
                      help="multiply pixel values first (default 1/255)")
    prof.add_argument("--image-layout", default=None, choices=("NCHW", "NHWC"),
                      help="the input's layout (default NCHW)")
    prof.add_argument("--warmup", type=int, default=None,
                      help="warm-up runs (default 10; 2 on an emulated board)")
    prof.add_argument("--runs", type=_runs, default=None,
                      help="timed runs (default 50; 5 on an emulated board), or 'auto': until "
                      "the median is stable")
    prof.add_argument("--cluster", default="big", help="big, little, all or a cluster index")
    prof.add_argument("--cores", type=_cores, default=None, help="explicit cores, e.g. 2,3")
    prof.add_argument("--governor", default=None, help="cpufreq governor for the run, "
                      "restored after (e.g. performance)")
    prof.add_argument("--profile-runs", type=int, default=None,
                      help="runs with the profiler on, for per-layer times (default 10; 1 on "
                      "an emulated board; 0: off)")
    prof.add_argument("--timeout", type=float, default=None, help="stop the job after N seconds")
    prof.add_argument("--label", default=None, help="a short name for plots and comparisons")
    prof.add_argument("--out", default=None,
                      help="HTML report path (default MODEL-DEVICE.html here; "
                      "MODEL-DEVICE-2.html and on when that file exists: never replaced)")
    prof.add_argument("--json", default=None, help="also save the profile JSON here")
    prof.add_argument("--top", type=int, default=15, help="layers in the printed summary")
    prof.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    prof.set_defaults(func=cmd_profile)

    zoo = sub.add_parser("zoo", help="list the bundled models")
    zoo.set_defaults(func=cmd_zoo)
