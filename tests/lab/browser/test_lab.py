"""The lab extension end to end: real JupyterLab, Debian's chromium, a real kernel.

The tests share one page and run in order, as a user would: the extension is
loaded, the launcher card creates the starter notebook, a cell shows a Profile
(with a node named like an HTML attack) in the interactive renderer, nodes and
rows select each other, and the sidebar lists the devices. Screenshots go to
the test output folder printed at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import workbench as wb
from tests.lab.browser.labserver import Lab, chromium_page, notebook_with_output

FIXTURE = (Path(__file__).resolve().parents[2] / "fixtures" / "formats"
           / "profile-1-synthetic.json")
#: a node name that would run script if the renderer ever built HTML from the payload
EVIL = "<img src=x onerror=alert(1)>"
KERNEL_IDLE = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""
OUTPUT = ".jp-OutputArea-output.jp-WbProfile"  # the output area puts its class on our node


def _evil_profile(path: Path) -> Path:
    """The synthetic fixture with node conv2_pw renamed to EVIL (topology and layer rows)."""
    text = FIXTURE.read_text().replace('"conv2_pw"', json.dumps(EVIL))
    return wb.Profile(json.loads(text)).save(path)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"screenshots: {folder}")


@pytest.fixture(scope="module")
def dialogs() -> list[str]:
    """Messages of every alert, confirm or prompt the page opened."""
    return []


@pytest.fixture(scope="module")
def page(lab: Lab, shots: Path, dialogs: list[str]) -> Iterator[Page]:
    _evil_profile(lab.root / "evil.json")
    console: list[str] = []
    with chromium_page() as page:
        try:
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

            def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(f"{lab.url}/lab?token={lab.token}")
            page.wait_for_selector(".jp-Launcher", state="visible")
            yield page
        finally:
            (shots / "console.log").write_text("\n".join(console))


def test_the_extension_is_listed_enabled_and_its_plugins_active(page: Page, lab: Lab) -> None:
    listed = {e["name"]: e for e in lab.get("/lab/api/extensions")}
    assert listed["edge-workbench"]["enabled"] is True
    for plugin in ("edge-workbench:plugin", "edge-workbench:profile-renderer",
                   "edge-workbench:comparison-renderer"):
        page.wait_for_function(
            "id => window.jupyterapp.hasPlugin(id) && window.jupyterapp.isPluginActivated(id)",
            arg=plugin)


def test_the_launcher_card_creates_the_starter_notebook(page: Page, shots: Path) -> None:
    card = page.locator(".jp-LauncherCard", has_text="Edge Workbench")
    expect(card).to_be_visible()
    page.screenshot(path=str(shots / "launcher.png"))
    card.click()
    cells = page.locator(".jp-NotebookPanel:visible .jp-Cell")
    expect(cells.first).to_be_visible()
    expect(page.locator(".jp-NotebookPanel:visible")).to_contain_text('wb.connect("local")')
    expect(page.locator(".jp-NotebookPanel:visible")).to_contain_text("wb.profile(model")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)


def test_the_starter_notebook_runs_from_top_to_bottom(page: Page, lab: Lab,
                                                      tmp_path: Path) -> None:
    path = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    starter = tmp_path / "starter.ipynb"
    starter.write_text(json.dumps(lab.get(f"/api/contents/{path}")["content"]))
    # a kernel of its own, outside the browser's event loop
    done = subprocess.run([sys.executable, "-m", "jupyter", "execute", "--inplace",
                           str(starter)], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = [o for cell in json.loads(starter.read_text())["cells"]
               for o in cell.get("outputs", [])]
    assert any("application/vnd.workbench.profile+json" in o.get("data", {}) for o in outputs)
    assert any("application/vnd.workbench.comparison+json" in o.get("data", {})
               for o in outputs)


def test_a_profile_shows_the_interactive_renderer(page: Page, shots: Path) -> None:
    page.locator(".jp-NotebookPanel:visible .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, in command mode
    page.keyboard.press("Enter")
    page.keyboard.insert_text("import workbench as wb\nwb.Profile.load('evil.json')")
    page.keyboard.press("Shift+Enter")
    output = page.locator(OUTPUT)
    expect(output.locator("tr.jp-WbProfile-row")).to_have_count(7, timeout=90_000)
    expect(output.locator("g.jp-WbGraph-node")).to_have_count(10)
    expect(output.locator(".jp-WbProfile-summary")).to_contain_text("95 % CI")
    # the same words as the library's table: workbench/views/layers.py
    expect(output.locator("th", has_text="share of median")).to_have_count(1)
    expect(output).to_contain_text("Time by op type")
    expect(output).to_contain_text("Timeline of profiled run 0")
    output.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "profile.png"), full_page=True)


def test_a_node_named_like_html_stays_text(page: Page, dialogs: list[str]) -> None:
    output = page.locator(OUTPUT)
    expect(output.locator("tr.jp-WbProfile-row", has_text=EVIL)).to_have_count(1)
    assert output.locator("img").count() == 0
    assert dialogs == []


def test_clicking_a_graph_node_highlights_its_row(page: Page, shots: Path) -> None:
    output = page.locator(OUTPUT)
    output.locator('g.jp-WbGraph-node[data-node="conv2_dw"]').click()
    selected = output.locator("tr.jp-WbProfile-row.jp-mod-selected")
    expect(selected).to_have_count(1)
    expect(selected).to_contain_text("Conv_1")
    # the layer's other node is highlighted with it
    expect(output.locator('g.jp-WbGraph-node.jp-mod-selected[data-node="relu2"]')).to_have_count(1)
    page.screenshot(path=str(shots / "node-selected.png"), full_page=True)


def test_clicking_a_row_highlights_its_nodes(page: Page) -> None:
    output = page.locator(OUTPUT)
    output.locator("tr.jp-WbProfile-row", has_text="Gemm_0").click()
    nodes = output.locator("g.jp-WbGraph-node.jp-mod-selected")
    expect(nodes).to_have_count(2)
    assert sorted(nodes.evaluate_all("ns => ns.map(n => n.dataset.node)")) == ["fc", "flatten"]


def test_the_table_sorts_and_searches(page: Page) -> None:
    output = page.locator(OUTPUT)
    output.locator("th", has_text="median µs").click()
    first = output.locator("tr.jp-WbProfile-row").first
    expect(first).to_contain_text("Conv_2")
    output.locator("input.jp-WbProfile-search").fill("relu")
    expect(output.locator("tr.jp-WbProfile-row")).to_have_count(2)
    output.locator("input.jp-WbProfile-search").fill("")


def test_the_sidebar_lists_the_local_device_with_its_status(page: Page, shots: Path) -> None:
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="edge-workbench-devices"]').click()
    local = page.locator('#edge-workbench-devices li[data-device="local"]')
    expect(local).to_be_visible()
    expect(local.locator(".jp-WbDevices-detail")).to_contain_text("ready", timeout=60_000)
    expect(local.locator(".jp-WbDevices-detail")).to_contain_text("onnxruntime")
    page.screenshot(path=str(shots / "sidebar.png"))


def test_a_saved_untrusted_notebook_shows_profile_and_comparison(page: Page, lab: Lab,
                                                                 shots: Path) -> None:
    profile = wb.Profile.load(FIXTURE)
    estimate = wb.Profile({**profile.to_dict(), "kind": "estimate", "label": "an estimate"})
    notebook = notebook_with_output("p", profile._repr_mimebundle_())
    notebook["cells"][0]["outputs"].append({
        "output_type": "display_data", "metadata": {},
        "data": wb.compare([profile, estimate])._repr_mimebundle_()})
    (lab.root / "saved.ipynb").write_text(json.dumps(notebook))
    page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})",
                  "saved.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(OUTPUT + " tr.jp-WbProfile-row")).to_have_count(7)
    expect(panel.locator(OUTPUT + " g.jp-WbGraph-node")).to_have_count(10)
    comparison = panel.locator(".jp-OutputArea-output.jp-WbComparison")
    expect(comparison).to_contain_text("Comparison of 2 profiles")
    expect(comparison.locator("tr.jp-WbComparison-row")).to_have_count(7)
    comparison.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "saved-comparison.png"))


def test_an_estimate_beside_a_measurement_draws_the_graph_coloured_by_speed_up(
        page: Page, shots: Path) -> None:
    comparison = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output.jp-WbComparison")
    side = comparison.locator(".jp-WbComparison-sideBySide")
    expect(side.locator("g.jp-WbGraph-node")).to_have_count(10)
    expect(side.locator("tr.jp-WbComparison-row")).to_have_count(7)
    expect(side.locator("select.jp-WbGraph-colour")).to_contain_text("speed-up: an estimate")
    # the estimate repeats the measurement: every layer's speed-up is 1, the "same" colour
    node = side.locator('g.jp-WbGraph-node[data-node="conv2_pw"]')
    assert node.locator("rect").get_attribute("fill") == "hsl(130, 45%, 92%)"
    node.click()
    expect(side.locator("tr.jp-WbComparison-row.jp-mod-selected")).to_contain_text("Conv_2")
    side.locator("tr.jp-WbComparison-row", has_text="Gemm_0").click()
    nodes = side.locator("g.jp-WbGraph-node.jp-mod-selected")
    expect(nodes).to_have_count(2)
    side.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "comparison-graph.png"))
