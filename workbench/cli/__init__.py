"""The ``workbench`` command: a view over the public API, no logic of its own.

One module per command group, each registering its commands with
``add_parsers`` and importing what a command needs only when it runs. A
command's run imports its own group's module alone (:data:`COMMANDS` says
which); ``workbench --help`` and a mistyped command import them all:

* :mod:`~workbench.cli.profile`: ``inspect``, ``profile``, ``zoo``;
* :mod:`~workbench.cli.devices`: ``devices``, ``device probe|status|setup|clean|trust|
  connect|disconnect``;
* :mod:`~workbench.cli.emulator`: ``emulator build|start|stop|status``;
* :mod:`~workbench.cli.farm`: ``farm status``, ``farm free PLACE`` (labgrid board farms);
* :mod:`~workbench.cli.workshop`: ``class check|reset|known-hosts|seats|revoke``;
* :mod:`~workbench.cli.backends`: ``backends``;
* :mod:`~workbench.cli.history`: ``history``, ``compare``;
* :mod:`~workbench.cli.jobs`: ``jobs``, ``jobs collect ID``;
* :mod:`~workbench.cli.targets`: ``targets``, ``target``, ``detect``, ``estimate``.

What they share (the console, model loading, key=value pairs, exit codes) is in
:mod:`workbench.cli._common`. Errors print their message and hint, not a
traceback, and exit with :data:`EXIT_ERROR`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workbench.cli._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    console,
    print_error,
    print_lines,
)
from workbench.errors import ReportNotWritten, WorkbenchError

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_INTERRUPTED", "main", "parser"]

#: every command and the module of its group, in the order ``workbench --help`` lists them
COMMANDS = {
    "inspect": "profile", "profile": "profile", "zoo": "profile",
    "devices": "devices", "device": "devices",
    "emulator": "emulator",
    "farm": "farm",
    "class": "workshop",
    "backends": "backends",
    "history": "history", "compare": "history",
    "jobs": "jobs",
    "targets": "targets", "target": "targets", "detect": "targets", "estimate": "targets",
}


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser (its help is the CLI's reference).

    Given a known ``command``, it holds that command's group alone, whose module
    is the only one imported; else every group.
    """
    from workbench import __version__

    top = argparse.ArgumentParser(prog="workbench", description="Profile ML models on Arm "
                                  "edge devices, layer by layer.")
    top.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    groups = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for group in groups:
        # __import__ rather than importlib.import_module: -X importtime reports the former only
        name = f"workbench.cli.{group}"
        __import__(name)
        sys.modules[name].add_parsers(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # the top level has only flags without values (-h, --version): the first word is the command
    command = next((word for word in argv if not word.startswith("-")), None)
    args = parser(command).parse_args(argv)
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        if isinstance(exc, ReportNotWritten):
            print_lines(exc.lines)  # the job's summary is not lost with its report
        print_error(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED
