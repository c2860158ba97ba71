"""The ``workbench`` command: a view over the public API, no logic of its own.

One module per command group, each registering its commands with
``add_parsers`` and importing what a command needs only when it runs, so
``workbench --help`` stays fast:

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
from collections.abc import Sequence

from workbench.cli import (
    backends,
    devices,
    emulator,
    farm,
    history,
    jobs,
    profile,
    targets,
    workshop,
)
from workbench.cli._common import EXIT_ERROR, EXIT_INTERRUPTED, console, print_error
from workbench.errors import WorkbenchError

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "main", "parser"]

#: the command groups in the order ``workbench --help`` lists them
GROUPS = (profile, devices, emulator, farm, workshop, backends, history, jobs, targets)


def parser() -> argparse.ArgumentParser:
    """The command line's parser (its help is the CLI's reference)."""
    from workbench import __version__

    top = argparse.ArgumentParser(prog="workbench", description="Profile ML models on Arm "
                                  "edge devices, layer by layer.")
    top.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        print_error(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED
