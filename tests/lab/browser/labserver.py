"""Start and stop a real `jupyter lab` on 127.0.0.1 for the browser tests and benchmarks.

The server gets a random token, its own config, runtime and IPython folders,
no news or update checks, and ``window.jupyterapp`` exposed for the checks.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class Lab:
    """A running JupyterLab: where it listens, its token, its notebook folder and its log."""

    url: str
    token: str
    root: Path
    log: Path

    def get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_up(lab: Lab, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited: {lab.log.read_text()[-3000:]}")
        try:
            lab.get("/api/status")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not start: {lab.log.read_text()[-3000:]}") from None
            time.sleep(0.3)


def _stop(lab: Lab, server: subprocess.Popen[bytes]) -> None:
    request = urllib.request.Request(f"{lab.url}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {lab.token}"})
    try:
        urllib.request.urlopen(request, timeout=10).close()
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


#: per front end: the command's app, and its flags beyond the server's
_APPS = {
    "lab": ["lab", "--LabApp.expose_app_in_browser=True",
            # no requests from the server to the internet
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly"],
    # Notebook 7: the same extensions, one document per page
    "notebook": ["notebook", "--JupyterNotebookApp.expose_app_in_browser=True"],
}


@contextmanager
def running_lab(home: Path, app: str = "lab",
                env: dict[str, str] | None = None) -> Iterator[Lab]:
    """A JupyterLab (or Notebook 7) serving ``home/notebooks``, its log in ``home/lab.log``;
    ``env`` adds to (or overrides) this process's environment for the server."""
    root = home / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    # no "get notified about Jupyter news?" toast over the page
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    token = secrets.token_hex(16)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           **(env or {})}
    name, *flags = _APPS[app]
    command = [sys.executable, "-m", "jupyter", name, "--no-browser", "--allow-root",
               "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *flags]
    log_path = home / "lab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=home)
        lab = Lab(f"http://127.0.0.1:{port}", token, root, log_path)
        try:
            _wait_until_up(lab, server)
            yield lab
        finally:
            _stop(lab, server)


@contextmanager
def chromium_page(width: int = 1500, height: int = 1000) -> Iterator[Any]:
    """A page in Debian's chromium, headless, through Playwright's sync API.

    ``launch()`` gives chromium a fresh, empty user data folder of its own;
    actions wait up to 60 s.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def notebook_with_output(source: str, bundle: dict[str, Any]) -> dict[str, Any]:
    """An nbformat 4 notebook of one code cell whose saved output is ``bundle``.

    Saved outputs of a notebook opened from disk are untrusted: only renderers
    registered as safe show them.
    """
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "cells": [{"cell_type": "code", "id": "profile", "metadata": {},
                       "execution_count": 1, "source": source,
                       "outputs": [{"output_type": "display_data", "metadata": {},
                                    "data": bundle}]}]}
