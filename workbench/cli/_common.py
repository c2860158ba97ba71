"""What every command module of the CLI shares: the console, model loading, key=value pairs.

The command modules import from here and from the library, never from each
other, so each command group reads on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.errors import WorkbenchError
    from workbench.models import Model
    from workbench.profiling import Profile

#: the exit code of a command that failed with a WorkbenchError
EXIT_ERROR = 2
#: the exit code of a command stopped with Ctrl-C (128 + SIGINT, as shells report it)
EXIT_INTERRUPTED = 130
#: the least width of output that is not a terminal (pipes, CI logs), so that a table
#: row or a summary line stays on one line for grep and diff instead of wrapping at 80
PIPE_WIDTH = 200


def console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A rich console on stdout (or stderr) for one command's output.

    On a terminal, text wraps at its width (``soft_wrap`` keeps long lines
    whole); elsewhere nothing wraps and tables lay out at :data:`PIPE_WIDTH`
    columns or more.
    """
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap)
    if not out.is_terminal:
        out.soft_wrap = True
        out.width = max(out.width, PIPE_WIDTH)
    return out


def print_error(error: WorkbenchError) -> None:
    """An error as the command line shows it: its message and hint, no traceback; an
    agent's error with the tail of the agent's stderr below the message."""
    from rich.markup import escape

    from workbench.errors import AgentError

    err = console(stderr=True)
    err.print(f"[bold red]error:[/bold red] {escape(str(error))}")
    # the message leaves the agent's stderr out; below it, the tail keeps its own lines
    if isinstance(error, AgentError) and error.stderr_tail.strip():
        code = f" (exit code {error.exit_code})" if error.exit_code is not None else ""
        err.print(f"the agent's stderr{code} ended with:", markup=False, style="dim")
        err.print(error.stderr_tail.rstrip(), markup=False, soft_wrap=True)


def key_values(pairs: Sequence[str], what: str, *, parse: bool = True) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON (and ``parse``), else
    strings.

    ``what`` names the option the pairs came from, for the error of a pair
    without ``=``.
    """
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            from workbench.errors import InvalidOptionValue

            raise InvalidOptionValue(f"{pair!r} is not key=value", where=what,
                                     hint=f"Write e.g. {what} name=value")
        if not parse:
            parsed[key] = text
            continue
        try:
            parsed[key] = json.loads(text)
        except ValueError:
            parsed[key] = text
    return parsed


def load_model(source: str, shapes: Sequence[str], *, upgrade_opset: bool = False) -> Model:
    """The model at ``source`` (a path or ``zoo:NAME``) with ``--shape DIM=N`` fixed."""
    from workbench.models import load_model as load

    model = load(source, upgrade_opset=upgrade_opset)
    dims = key_values(shapes, "--shape")
    return model.with_shapes(**dims) if dims else model


def print_lines(lines: Sequence[str]) -> None:
    """A command's result lines on stdout, as they are (no markup): on a terminal through
    rich, wrapped at its width; elsewhere plainly, one line each (cheap: no rich import)."""
    import sys

    if sys.stdout.isatty():
        text = console()
        for line in lines:
            text.print(line, markup=False)
        return
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def check_outputs(out: str | None, json_path: str | None) -> None:
    """Raise ReportNotWritten before a command's long work when its ``--out`` or ``--json``
    path cannot be written."""
    from workbench._atomic import check_outputs as check
    from workbench.errors import ReportNotWritten

    check({"--out": out, "--json": json_path}, error=ReportNotWritten)


def show_profile(profile: Profile, *, out: str | None, json_path: str | None,
                 top: int) -> None:
    """Print a profile's summary and write its HTML report (``out``, default MODEL-DEVICE.html,
    numbered when that file exists) and, when asked, its JSON."""
    from pathlib import Path

    from workbench.jobs.request import claimed_report_name, profile_lines

    document = profile.to_dict()
    default = f"{document['model']['name']}-{document['device']['name']}.html"
    with claimed_report_name(".", out, default) as shown:
        lines = profile_lines(profile, out=Path(shown), shown=shown,
                              json_path=Path(json_path) if json_path else None,
                              json_shown=json_path, top=top,
                              beside=default if shown != default and not out else None)
    print_lines(lines)


def persist_arguments(parser: Any) -> None:
    """``--persist`` / ``--no-persist``: whether a board's connection stays up after the
    command (see :mod:`workbench.devices.kept`)."""
    import argparse

    parser.add_argument("--persist", action=argparse.BooleanOptionalAction, default=None,
                        help="keep the board's connection and warm agent up for the next "
                        "commands (stopped after 10 idle minutes or by `workbench device "
                        "disconnect NAME`); default: use a kept one if it runs, or "
                        "start one when WORKBENCH_PERSIST=1")
