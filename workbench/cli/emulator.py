"""The ``emulator`` command: build, start, stop and list emulated Arm boards (qemu-user)."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli._common import console


def cmd_emulator(args: argparse.Namespace) -> int:
    """Build the root file system, start or stop a board, or say what is built and running."""
    from workbench import emulator

    out = console()
    if args.action == "build" and args.user:
        from workbench.emulator.user_build import DEBIAN_MIRROR, build_user

        with console(stderr=True).status("unpacking an aarch64 root for qemu: boards, "
                                         "without root (about a minute)"):
            report = build_user(emulator.emulator_dir(), args.mirror or DEBIAN_MIRROR,
                                force=args.force)
        if report.get("kept"):
            what = "a full root" if report.get("mode") == "full" else "a user root"
            out.print(f"{what} is already built in {emulator.emulator_dir()}; it serves qemu: "
                      "boards (--force builds the user root again)", markup=False)
            return 0
        out.print(f"built in {report['seconds']} s without root: Python {report['python']}, "
                  f"{', '.join(report['wheels'])}; use device qemu:BOARD", markup=False)
    elif args.action == "build":
        with console(stderr=True).status("building the emulated board's root file system "
                                         "(about 2 minutes)"):
            report = emulator.build()
        out.print(f"built in {report['seconds']} s: Python {report['python']}, "
                  f"{', '.join(report['wheels'])}", markup=False)
    elif args.action == "start":
        # without --board, the emulator's own default board; the command line holds it
        # until `workbench emulator stop`
        state = emulator.start(args.board or emulator.DEFAULT_BOARD, args.port,
                               holder=emulator.COMMAND_LINE_HOLDER)
        out.print(f"{state['device']}: emulated {state['board']} ({state['qemu_cpu']}) on "
                  f"127.0.0.1:{state['port']}; times from it are not hardware times",
                  markup=False)
    elif args.action == "stop":
        stopped = emulator.stop(args.board, holder=emulator.COMMAND_LINE_HOLDER,
                                everything=args.all)
        out.print(f"stopped: {', '.join(stopped) or 'nothing'}", markup=False)
        for state in emulator.status():
            if args.board in (None, state["board"]):
                out.print(f"still running: {state['device']}, used by "
                          f"{', '.join(state.get('holders', [])) or 'nobody'} (--all stops it)",
                          markup=False)
    else:
        from workbench.emulator.user_build import is_user_built

        built = "yes" if emulator.is_built() else (
            "a user root, for qemu: boards only" if is_user_built(emulator.emulator_dir())
            else "no")
        out.print(f"built: {built} ({emulator.emulator_dir()})", markup=False)
        for state in emulator.status():
            out.print(f"running: {state['device']} ({state['board']}, {state['qemu_cpu']}) on "
                      f"127.0.0.1:{state['port']}", markup=False)
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``emulator`` on the top-level subparsers."""
    emu = sub.add_parser("emulator", help="an emulated Arm board (qemu-user) for tests and classes")
    emu.add_argument("action", choices=("build", "start", "stop", "status"))
    emu.add_argument("--board", default=None, help="preset board (default raspberry-pi-5; "
                     "stop: every board started from the command line)")
    emu.add_argument("--all", action="store_true", help="stop: every running board, whoever "
                     "started it (tests, benchmarks, notebooks)")
    emu.add_argument("--port", type=int, default=None, help="SSH port on 127.0.0.1")
    emu.add_argument("--user", action="store_true", help="build: without root or namespaces "
                     "(mmdebstrap chrootless), for qemu:BOARD only (Binder, JupyterHub)")
    emu.add_argument("--force", action="store_true", help="build --user: build again even "
                     "when a user root of this version is there")
    emu.add_argument("--mirror", default=None, help="build --user: the Debian mirror "
                     "(default http://deb.debian.org/debian)")
    emu.set_defaults(func=cmd_emulator)
