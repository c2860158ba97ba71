"""Where Edge Workbench keeps its files on the host.

Each folder can be moved with an environment variable (tests point them at a
temporary folder): ``WORKBENCH_CACHE_DIR``, ``WORKBENCH_CONFIG_DIR``,
``WORKBENCH_DATA_DIR``, ``WORKBENCH_RUNTIME_DIR``. Otherwise platformdirs picks
the usual place (the runtime folder: ``$XDG_RUNTIME_DIR/workbench``, else
``/tmp/workbench-UID``).

The board folder is not the user's: it holds this machine's job lock, shared
by every account (``WORKBENCH_BOARD_DIR``, default ``/var/tmp/workbench``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Linux's XDG base folders per kind: the variable that moves it and its default under home
_XDG = {"cache": ("XDG_CACHE_HOME", ".cache"), "config": ("XDG_CONFIG_HOME", ".config"),
        "data": ("XDG_DATA_HOME", ".local/share")}


def _dir(variable: str, kind: str) -> Path:
    override = os.environ.get(variable)
    if override:
        return Path(override)
    if sys.platform.startswith("linux"):
        # platformdirs' own rule on Linux, without its import (25 modules, ~25 ms), which a
        # command through a kept connection would pay for one folder name
        xdg, default = _XDG[kind]
        base = os.environ.get(xdg, "")
        # a relative XDG value ("rel/dir", "~/x") is ignored, as the XDG spec asks
        if base.startswith("/"):
            return Path(base, "workbench")
        return Path(_home(), default, "workbench")
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("workbench"))


def _home() -> str:
    """The home folder as platformdirs finds it on Linux: a relative or empty ``HOME``
    counts as unset, so the account's own home is used."""
    home = os.environ.get("HOME")
    if home is not None and not home.startswith("/"):
        import pwd

        try:
            return pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:  # an account without a password entry: HOME as it is
            return home
    return os.path.expanduser("~")


def cache_dir() -> Path:
    """Built zoo models, content-addressed model copies, local job folders."""
    return _dir("WORKBENCH_CACHE_DIR", "cache")


def config_dir() -> Path:
    """The device registry and user settings."""
    return _dir("WORKBENCH_CONFIG_DIR", "config")


def data_dir() -> Path:
    """Saved profiles (history)."""
    return _dir("WORKBENCH_DATA_DIR", "data")


def runtime_dir() -> Path:
    """The sockets of kept connections (one per device), for this user alone (mode 0700)."""
    override = os.environ.get("WORKBENCH_RUNTIME_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return Path(xdg) / "workbench" if xdg else Path(f"/tmp/workbench-{os.getuid()}")


#: Where boards keep their job lock unless told otherwise (this machine and SSH boards alike).
DEFAULT_BOARD_DIR = "/var/tmp/workbench"


def board_dir() -> Path:
    """This machine's board folder: the job lock every account waits on, and its queue."""
    return Path(os.environ.get("WORKBENCH_BOARD_DIR") or DEFAULT_BOARD_DIR)


def agent_root() -> Path:
    """The folder that holds the ``workbench_agent`` package: put on the agent's path
    locally, zipped for boards, and where the built-in runner modules are found."""
    import workbench_agent

    return Path(workbench_agent.__file__).resolve().parent.parent
