"""The ``backends`` command: the installed backends with their formats and options."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli._common import console


def cmd_backends(args: argparse.Namespace) -> int:
    """List every backend plug-in, what it needs on a device, and its options."""
    from workbench import backends

    out = console()
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


def add_parsers(sub: Any) -> None:
    """Register ``backends`` on the top-level subparsers."""
    back = sub.add_parser("backends", help="list the backends and their options")
    back.set_defaults(func=cmd_backends)
