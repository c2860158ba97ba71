"""The notebook UI in real JupyterLab and a real browser (Debian's chromium, driven by Playwright).

Opens a notebook that shows the workbench, runs it, clicks Run in the widget
and waits for the per-layer table; then types a password into the real field
with widget state saved automatically, saves, and reads the files on disk.
Screenshots land in the test's own folder (``lab-*.png``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import conv_relu_model

pytest.importorskip("jupyterlab")
pytest.importorskip("ipywidgets")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECRET = "typed-in-the-browser-7Kq2"
START_S = 120

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: run `bash tests/setup.sh`")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(url: str, token: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # only 127.0.0.1
        return int(answer.status)


def _notebook(*cells: str) -> str:
    """A notebook of code cells, never run."""
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": cell} for cell in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` on 127.0.0.1 with a token, a notebook that shows the workbench, and
    widget state saved automatically; stopped by its own PID afterwards."""
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    model = conv_relu_model(notebooks / "conv_relu.onnx")
    cell = ("from workbench.widgets import Workbench\n"
            f"ui = Workbench({str(model)!r}, warmup=0, runs=3, profile_runs=2)\nui")
    (notebooks / "ui.ipynb").write_text(_notebook(cell))
    (notebooks / "kept.ipynb").write_text(_notebook(cell, "job = ui.run(wait=True)"))
    config = base / "config"
    # no news toast over the page; widget state saved with the notebook, as a user may set it
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    settings = config / "lab" / "user-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "IPYTHONDIR": str(base / "ipython")}
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
               "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    url = f"http://127.0.0.1:{port}"
    with open(base / "server.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=base)
        try:
            deadline = time.monotonic() + START_S
            while True:
                if server.poll() is not None:
                    raise RuntimeError((base / "server.log").read_text()[-3000:])
                try:
                    if _request(f"{url}/api/status", token) == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError((base / "server.log").read_text()[-3000:])
                time.sleep(0.5)
            yield {"url": url, "token": token, "notebooks": notebooks}
        finally:
            try:
                _request(f"{url}/api/shutdown", token, method="POST")  # stops the kernel too
            except OSError:
                pass
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.terminate()
                server.wait(10)


def _kernel_idle(page: Any) -> None:
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
        }""", timeout=START_S * 1000)


@contextlib.contextmanager
def _browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page of headless chromium with a fresh profile folder of its own; what the page
    logs to its console is written to ``console.log`` in ``tmp_path``."""
    console: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch_persistent_context(
            tmp_path / "chromium", executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1800})
        try:
            page = browser.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.set_default_timeout(60_000)
            yield page
        finally:
            (tmp_path / "console.log").write_text("\n".join(console))
            browser.close()


def test_run_in_the_widget_draws_the_layer_table_and_a_typed_password_is_never_saved(
        lab: dict[str, Any], tmp_path: Path) -> None:
    expect = playwright.expect
    with _browser_page(tmp_path) as page:
        page.goto(f"{lab['url']}/lab/tree/ui.ipynb?token={lab['token']}")
        _kernel_idle(page)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # the button's name starts with its icon's glyph
        run = page.get_by_role("button", name=re.compile(r"^\W*Run$"))
        expect(run).to_be_visible(timeout=START_S * 1000)
        run.click()
        rows = page.locator("table.workbench-layers tr.workbench-layer")
        expect(rows.first).to_be_visible(timeout=START_S * 1000)
        expect(page.locator(".widget-html", has_text="median")).not_to_have_count(0)
        assert rows.count() >= 3
        names = " ".join(rows.all_inner_texts())
        assert "conv" in names.lower() or "relu" in names.lower(), names
        page.screenshot(path=str(tmp_path / "lab-results.png"), full_page=True)
        # squeezed by a narrow window, the table's numbers keep their units on their line
        page.set_viewport_size({"width": 800, "height": 1800})
        numbers = page.locator("table.workbench-layers tr.workbench-layer td.n")
        assert numbers.count() >= 3
        lines = numbers.evaluate_all("""cells => cells.map(cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        })""")
        assert set(lines) <= {0, 1} and 1 in lines, (lines, numbers.all_inner_texts())
        page.set_viewport_size({"width": 1400, "height": 1800})

        page.get_by_role("tab", name="Device", exact=True).click()
        page.get_by_text("Add a board over SSH").click()
        field = page.locator("input[type=password]").first
        field.fill(SECRET)
        field.press("Enter")
        expect(field).to_have_value("")  # the kernel cleared it on arrival
        expect(page.locator(".widget-html", has_text="password held in memory only")
               ).to_be_visible()
        page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
        saved = lab["notebooks"] / "ui.ipynb"
        deadline = time.monotonic() + 30
        while "workbench-layer" not in saved.read_text() or '"widgets"' not in (
                saved.read_text()):
            assert time.monotonic() < deadline, "the notebook was not saved"
            time.sleep(0.2)
        page.screenshot(path=str(tmp_path / "lab-saved.png"), full_page=True)
    files = [p for p in lab["notebooks"].rglob("*") if p.is_file()]
    assert any(".ipynb_checkpoints" in p.parts for p in files)
    assert not [p for p in files if SECRET in p.read_text(errors="ignore")]


def _saved_outputs(path: Path, cell: int) -> list[dict[str, Any]]:
    try:
        return list(json.loads(path.read_text())["cells"][cell]["outputs"])
    except (ValueError, KeyError, IndexError):
        return []  # not saved yet, or caught mid-write


def test_a_run_waited_for_in_a_cell_is_saved_as_that_cells_output_in_real_jupyterlab(
        lab: dict[str, Any], tmp_path: Path) -> None:
    expect = playwright.expect
    with _browser_page(tmp_path) as page:
        # reset: not the layout the other test left, with its notebook in front
        page.goto(f"{lab['url']}/lab/tree/kept.ipynb?reset&token={lab['token']}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.context"
            " && window.jupyterapp.shell.currentWidget.context.path === 'kept.ipynb'",
            timeout=START_S * 1000)
        _kernel_idle(page)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # the table fills in the widget while the second cell waits for the run
        rows = page.locator("table.workbench-layers tr.workbench-layer")
        expect(rows.first).to_be_visible(timeout=START_S * 1000)
        second = page.locator(".jp-Notebook .jp-CodeCell").nth(1)
        expect(second.locator(".jp-OutputArea-output")).not_to_have_count(
            0, timeout=START_S * 1000)
        _kernel_idle(page)
        page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
        saved = lab["notebooks"] / "kept.ipynb"
        deadline = time.monotonic() + 30
        while not _saved_outputs(saved, 1):
            assert time.monotonic() < deadline, "the notebook was not saved"
            time.sleep(0.2)
        page.screenshot(path=str(tmp_path / "lab-kept.png"), full_page=True)
    # what a reopened notebook shows without a kernel or widget state: the file's outputs
    kept = [o for o in _saved_outputs(saved, 1) if o["output_type"] == "display_data"]
    assert len(kept) == 1, _saved_outputs(saved, 1)
    bundle = kept[0]["data"]
    assert "application/vnd.workbench.profile+json" in bundle
    assert "conv_relu" in "".join(bundle["text/html"])
