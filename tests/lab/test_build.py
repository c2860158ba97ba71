"""The lab extension is installed with the package: JupyterLab and jupyter_server see it enabled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

JUPYTER = [sys.executable, "-m", "jupyter"]


def _listing(*args: str) -> str:
    # Only this environment's own folders, as in a fresh venv; both listings print to stderr.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    done = subprocess.run([*JUPYTER, *args], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def test_jupyterlab_lists_the_extension_enabled_and_ok() -> None:
    listing = _listing("labextension", "list")
    assert re.search(r"edge-workbench v\S+ enabled\s+OK", listing), listing


def test_the_labextension_comes_from_this_environment() -> None:
    installed = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "edge-workbench"
    assert (installed / "package.json").is_file()
    assert list((installed / "static").glob("remoteEntry.*.js"))


def test_jupyter_server_loads_the_server_extension() -> None:
    listing = _listing("server", "extension", "list")
    assert re.search(r"workbench\.server\s+enabled", listing), listing
    assert re.search(r"workbench\.server\s+OK", listing), listing
