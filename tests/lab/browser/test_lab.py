"""The lab extension end to end: real JupyterLab, Debian's chromium, a real kernel.

The tests share one page and run in order, as a user would: the extension is
loaded, the launcher card creates the starter notebook (the notebook UI, then
the plain API) and it runs, a cell shows a Profile (with a node named like an
HTML attack) in the interactive renderer, nodes and rows select each other,
the sidebar lists the local device and boards on the test suite's sshd with
their status (busy while a job holds the board, "needs credentials" for a
login the server cannot make), the commands are in the palette, and "new
notebook for this device" fills the device in. Screenshots go to the test
output folder printed at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from workbench_agent.lock import DeviceLock, board_state

import workbench as wb
from tests.conftest import until
from tests.lab.boards import lock_path, registered_board
from tests.lab.browser.labserver import Lab, chromium_page, notebook_with_output
from tests.ssh.sshd import Sshd, keygen, start_sshd
from workbench import emulator

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
#: the graph panel once its canvas shows all ten nodes of the fixture
DRAWN = '.jp-WbGraph[data-drawn="10"]'


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
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The test suite's real sshd with two boards on it, by name: "sshd-board" (ready)
    and "locked-board" (its login key is not authorised: it needs credentials)."""
    folder = tmp_path_factory.mktemp("sshd")
    sshd: Sshd = start_sshd(folder, keygen(folder / "authorized_client"))
    folders = {name: tmp_path_factory.mktemp(name) for name in ("sshd-board", "locked-board")}
    try:
        with registered_board("sshd-board", sshd, folders["sshd-board"]), \
                registered_board("locked-board", sshd, folders["locked-board"],
                                 authorised=False):
            yield folders
    finally:
        sshd.stop()


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


def _sources(page: Page) -> str:
    """The code of the open notebook's cells (from its model: cells out of view are not
    drawn)."""
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.context.isReady")
    source: str = page.evaluate("""() => window.jupyterapp.shell.currentWidget.context.model
        .toJSON().cells.map(c => Array.isArray(c.source) ? c.source.join('') : c.source)
        .join('\\n')""")
    return source


def test_the_launcher_card_creates_the_starter_notebook(page: Page, shots: Path) -> None:
    card = page.locator(".jp-LauncherCard", has_text="Edge Workbench")
    expect(card).to_be_visible()
    # a picture of its own, not the first letter a kernel without an icon gets
    expect(card.locator("img")).to_have_attribute("src", re.compile("^data:image/svg"))
    page.screenshot(path=str(shots / "launcher.png"))
    card.click()
    cells = page.locator(".jp-NotebookPanel:visible .jp-Cell")
    expect(cells.first).to_be_visible()
    sources = _sources(page)
    assert 'Workbench(model="zoo:small-cnn", device="local"' in sources
    assert 'wb.connect("local")' in sources and "wb.profile(model" in sources
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
    cells = [c for c in json.loads(starter.read_text())["cells"] if c["cell_type"] == "code"]

    def kinds(marker: str) -> set[str]:
        """The MIME types the outputs of the cell holding ``marker`` offer."""
        cell = next(c for c in cells if marker in "".join(c["source"]))
        return {kind for output in cell["outputs"] for kind in output.get("data", {})}

    assert "application/vnd.jupyter.widget-view+json" in kinds("Workbench(")
    assert "application/vnd.workbench.profile+json" in kinds("ui.wait()")
    assert "application/vnd.workbench.profile+json" in kinds("wb.profile(")
    assert "application/vnd.workbench.comparison+json" in kinds("wb.compare(")


#: whether a text field shows all of its placeholder (none of the hint cut off)
PLACEHOLDER_FITS = """input => {
    const s = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return ctx.measureText(input.placeholder).width <= room;
}"""


def test_a_profile_shows_the_interactive_renderer(page: Page, shots: Path) -> None:
    page.locator(".jp-NotebookPanel:visible .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, in command mode
    page.keyboard.press("Enter")
    page.keyboard.insert_text("import workbench as wb\nwb.Profile.load('evil.json')")
    page.keyboard.press("Shift+Enter")
    output = page.locator(OUTPUT)
    expect(output.locator("tr.jp-WbProfile-row")).to_have_count(7, timeout=90_000)
    expect(output.locator(DRAWN)).to_have_count(1)
    expect(output.locator(".jp-WbProfile-summary")).to_contain_text("95 % CI")
    # the same words as the library's table: workbench/views/layers.py
    expect(output.locator("th", has_text="share of all layers")).to_have_count(1)
    expect(output).to_contain_text("Time by op type")
    expect(output).to_contain_text("Timeline of profiled run 0")
    # the bars have no axis: the line under them gives the run's span in ms
    expect(output.locator(".jp-WbProfile-section", has_text="Timeline")).to_contain_text(
        re.compile(r"The width is the run's [\d.]+ ms"))
    ops = output.locator(".jp-WbProfile-ops")
    expect(ops).to_contain_text("1 layer")
    expect(ops).not_to_contain_text("1 layers")
    # onnxruntime's model_run in a lane above the seven kernels it holds, not over them
    lanes = output.locator("canvas.jp-WbProfile-lanes")
    expect(lanes).to_have_attribute("data-drawn", "8")
    expect(lanes).to_have_attribute("data-lanes", "2")
    # lanes named for what they are, over an axis of times in ms
    expect(output.locator(".jp-WbProfile-trackName").first).to_have_text("main thread")
    expect(lanes).to_have_attribute("data-ticks", re.compile(r"^0(\.0*)? ms,.* ms$"))
    # the canvas shows no controls: the line above it says how to use it
    expect(output.locator(".jp-WbGraph-status")).to_contain_text("wheel to zoom, drag to pan")
    assert output.locator("input.jp-WbProfile-search").evaluate(PLACEHOLDER_FITS)
    output.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "profile.png"), full_page=True)
    output.locator(".jp-WbProfile-timeline").screenshot(path=str(shots / "timeline.png"))


def test_a_node_named_like_html_stays_text(page: Page, dialogs: list[str]) -> None:
    output = page.locator(OUTPUT)
    expect(output.locator("tr.jp-WbProfile-row", has_text=EVIL)).to_have_count(1)
    assert output.locator("img").count() == 0
    assert dialogs == []


def _ids(*names: str) -> str:
    """A graph's ``data-selected``: the selected node ids as a compact JSON list."""
    return json.dumps(sorted(names), separators=(",", ":"))


def _click_node(graph: Locator, rows: Locator, name: str) -> None:
    """Click the node ``name`` on the graph's canvas, with nothing selected before.

    Find-by-name brings the node to the canvas's centre (and selects it); a click on
    an empty corner clears the selection, in the graph and the table; then the click
    on the centre is the node's.
    """
    graph.locator("input.jp-WbGraph-find").fill(name)
    graph.locator("input.jp-WbGraph-find").press("Enter")
    expect(graph).to_have_attribute("data-selected", re.compile(re.escape(json.dumps(name))))
    canvas = graph.locator("canvas.jp-WbGraph-canvas")
    canvas.click(position={"x": 3, "y": 3})
    expect(graph).to_have_attribute("data-selected", "[]")
    expect(rows.locator(".jp-mod-selected")).to_have_count(0)
    canvas.click()


def test_clicking_a_graph_node_highlights_its_row(page: Page, shots: Path) -> None:
    output = page.locator(OUTPUT)
    graph = output.locator(".jp-WbGraph")
    _click_node(graph, output.locator(".jp-WbProfile-layers tbody"), "conv2_dw")
    selected = output.locator("tr.jp-WbProfile-row.jp-mod-selected")
    expect(selected).to_have_count(1)
    expect(selected).to_contain_text("Conv_1")
    # the layer's other node is highlighted with it
    expect(graph).to_have_attribute("data-selected", _ids("conv2_dw", "relu2"))
    page.screenshot(path=str(shots / "node-selected.png"), full_page=True)


def test_hovering_a_node_shows_its_details(page: Page) -> None:
    canvas = page.locator(OUTPUT).locator("canvas.jp-WbGraph-canvas")
    canvas.hover()  # the node the last test clicked, at the centre
    expect(canvas).to_have_attribute("title", re.compile("conv2_dw\nop type: Conv\nlayer time"))


def test_clicking_a_row_highlights_its_nodes(page: Page) -> None:
    output = page.locator(OUTPUT)
    output.locator("tr.jp-WbProfile-row", has_text="Gemm_0").click()
    expect(output.locator(".jp-WbGraph")).to_have_attribute("data-selected",
                                                            _ids("fc", "flatten"))


def test_the_keyboard_selects_a_row_and_sorts_a_column(page: Page) -> None:
    output = page.locator(OUTPUT)
    output.locator("tr.jp-WbProfile-row", has_text="Conv_0").focus()
    page.keyboard.press("Enter")
    expect(output.locator(".jp-WbGraph")).to_have_attribute("data-selected",
                                                            _ids("bn1", "conv1", "relu1"))
    # the table was drawn again: the focus stays on the chosen row, for the next key
    expect(output.locator("tr.jp-WbProfile-row.jp-mod-selected")).to_be_focused()
    # the table is in layer order (#): the key on that header turns it round, and back
    first = output.locator("tr.jp-WbProfile-row").first.locator("td").first
    output.locator("th[data-key=index]").focus()
    page.keyboard.press(" ")
    expect(first).to_have_text("6")
    page.keyboard.press("Enter")
    expect(first).to_have_text("0")
    # the notebook stayed in command mode: the keys went to the table, not the cell
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.mode") == (
        "command")


def test_the_table_sorts_and_searches(page: Page) -> None:
    output = page.locator(OUTPUT)
    output.locator("th", has_text="median µs").click()
    first = output.locator("tr.jp-WbProfile-row").first
    expect(first).to_contain_text("Conv_2")
    output.locator("input.jp-WbProfile-search").fill("relu")
    expect(output.locator("tr.jp-WbProfile-row")).to_have_count(2)
    output.locator("input.jp-WbProfile-search").fill("")


#: record every text the node shows from now on, in window.statusTexts
STATUS_TEXTS = """node => {
    window.statusTexts = [];
    new MutationObserver(() => window.statusTexts.push(node.textContent))
        .observe(node, {childList: true, characterData: true, subtree: true});
}"""


def _device(page: Page, name: str) -> Locator:
    return page.locator(f'#edge-workbench-devices li[data-device="{name}"]')


def test_the_sidebar_lists_the_local_device_and_the_sshd_boards_with_their_status(
        page: Page, shots: Path, boards: dict[str, Path]) -> None:
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="edge-workbench-devices"]').click()
    for name in ("local", "sshd-board"):
        detail = _device(page, name).locator(".jp-WbDevices-detail")
        expect(detail).to_contain_text("ready", timeout=90_000)
        expect(detail).to_contain_text("onnxruntime")
    expect(_device(page, "sshd-board").locator(".jp-WbDevices-kind")).to_have_text("ssh")
    locked = _device(page, "locked-board")
    expect(locked.locator(".jp-WbDevices-detail")).to_have_text("needs credentials",
                                                                 timeout=90_000)
    expect(locked.locator(".jp-WbDevices-message")).to_contain_text("refused the login")
    if emulator.is_built():
        # listed, not probed: each check of an emulated board starts qemu-user
        qemu = _device(page, "qemu:raspberry-pi-5")
        expect(qemu.locator(".jp-WbDevices-detail")).to_have_text("not started")
        expect(qemu.locator("button.jp-WbDevices-check")).to_have_text("check")
    # a tab icon of its own (a chip), not the generic list
    expect(page.locator('.jp-SideBar .lm-TabBar-tab[data-id="edge-workbench-devices"] '
                        'svg[data-icon="edge-workbench:board"]')).to_have_count(1)
    page.screenshot(path=str(shots / "sidebar.png"))


def test_a_refresh_of_the_sidebar_keeps_the_list_and_its_status_line(page: Page) -> None:
    status = page.locator("#edge-workbench-devices .jp-WbDevices-status")
    expect(status).to_contain_text("device(s)")
    status.evaluate(STATUS_TEXTS)
    # showing the panel again asks for the list, as the timer does while checks go on
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click()
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="edge-workbench-devices"]').click()
    page.wait_for_function("() => window.statusTexts.length >= 2")
    texts = page.evaluate("() => window.statusTexts")
    assert not [text for text in texts if "Loading" in text], texts
    expect(_device(page, "local")).to_be_visible()


def test_a_board_held_by_a_job_shows_busy_with_its_holder_and_queue(
        page: Page, shots: Path, boards: dict[str, Path]) -> None:
    lock = str(lock_path(boards["sshd-board"]))
    holder = DeviceLock(lock, "job-alice", "alice@lab")
    holder.acquire()
    waiter = DeviceLock(lock, "job-bob", "bob@lab")
    waiting = threading.Thread(target=lambda: (waiter.acquire(timeout=300), waiter.release()))
    try:
        waiting.start()
        until(lambda: board_state(lock)["waiters"])
        page.locator(".jp-WbDevices-refresh").click()
        detail = _device(page, "sshd-board").locator(".jp-WbDevices-detail")
        expect(detail).to_contain_text("busy, held by alice@lab · 1 waiting", timeout=90_000)
        expect(detail).to_contain_text("onnxruntime")
        page.screenshot(path=str(shots / "sidebar-busy.png"))
    finally:
        holder.release()
        waiting.join(60)
    page.locator(".jp-WbDevices-refresh").click()
    expect(_device(page, "sshd-board").locator(".jp-WbDevices-detail")).to_contain_text(
        "ready", timeout=90_000)


def test_the_commands_are_in_the_palette_and_refresh_the_sidebar(page: Page,
                                                                 shots: Path) -> None:
    page.locator("#edge-workbench-devices .jp-WbDevices-status").evaluate(
        "node => { node.textContent = ''; }")
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette")
    palette.locator("input").fill("Edge Workbench")
    for label in ("Show Edge Workbench Devices", "Refresh Edge Workbench Devices",
                  "Edge Workbench"):
        expect(palette.locator(".lm-CommandPalette-itemLabel", has_text=label).first
               ).to_be_visible()
    page.screenshot(path=str(shots / "palette.png"))
    palette.locator(".lm-CommandPalette-item", has_text="Refresh Edge Workbench Devices").click()
    expect(page.locator("#edge-workbench-devices .jp-WbDevices-status")).to_contain_text(
        "device(s)", timeout=90_000)


def test_new_notebook_for_a_device_fills_the_device_in(page: Page, shots: Path) -> None:
    before = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    _device(page, "sshd-board").locator("button", has_text="new notebook for this device").click()
    page.wait_for_function(
        "p => { const w = window.jupyterapp.shell.currentWidget;"
        " return !!w && !!w.context && w.context.path !== p; }", arg=before)
    expect(page.locator(".jp-NotebookPanel:visible .jp-Cell").first).to_be_visible()
    sources = _sources(page)
    assert 'device="sshd-board"' in sources and 'wb.connect("sshd-board")' in sources
    expect(page.locator(".jp-NotebookPanel:visible .jp-CodeCell").first).to_contain_text(
        "from workbench.widgets import Workbench")
    page.screenshot(path=str(shots / "device-notebook.png"))


def test_a_saved_untrusted_notebook_shows_profile_and_comparison(page: Page, lab: Lab,
                                                                 shots: Path) -> None:
    profile = wb.Profile.load(FIXTURE)
    estimate = wb.Profile({**profile.to_dict(), "kind": "estimate", "label": "an estimate"})
    notebook = notebook_with_output("p", profile._repr_mimebundle_())
    notebook["cells"][0]["outputs"].append({
        "output_type": "display_data", "metadata": {},
        "data": wb.compare([profile, estimate])._repr_mimebundle_()})
    # two runs that differ in settings: their labels repeat the model, the device and more
    runs = [wb.Profile({**profile.to_dict(), "label": "tinycnn on pi5 (onnxruntime, "
                        f"intra_op_threads={n}, graph_optimization_level=basic)"})
            for n in (1, 2)]
    notebook["cells"][0]["outputs"].append({
        "output_type": "display_data", "metadata": {},
        "data": wb.compare(runs)._repr_mimebundle_()})
    (lab.root / "saved.ipynb").write_text(json.dumps(notebook))
    page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})",
                  "saved.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(OUTPUT + " tr.jp-WbProfile-row")).to_have_count(7)
    expect(panel.locator(OUTPUT + " " + DRAWN)).to_have_count(1)
    comparison = panel.locator(".jp-OutputArea-output.jp-WbComparison").first
    expect(comparison).to_contain_text("Comparison of 2 profiles")
    expect(comparison.locator("tr.jp-WbComparison-row")).to_have_count(7)
    comparison.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "saved-comparison.png"))


#: the pixels of the comparison graph's canvas in each legend colour, by legend label
LEGEND_PIXELS = """graph => {
    const canvas = graph.querySelector('canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const counts = {};
    for (const item of graph.querySelectorAll('.jp-WbGraph-legendItem')) {
        const rgb = getComputedStyle(item.querySelector('.jp-WbGraph-swatch')).backgroundColor
            .match(/\\d+/g).map(Number);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (Math.abs(data[i] - rgb[0]) <= 1 && Math.abs(data[i + 1] - rgb[1]) <= 1
                    && Math.abs(data[i + 2] - rgb[2]) <= 1) n++;
        }
        counts[item.textContent] = n;
    }
    return counts;
}"""


def test_an_estimate_beside_a_measurement_draws_the_graph_coloured_by_speed_up(
        page: Page, shots: Path) -> None:
    comparison = page.locator(
        ".jp-NotebookPanel:visible .jp-OutputArea-output.jp-WbComparison").first
    side = comparison.locator(".jp-WbComparison-sideBySide")
    graph = side.locator(".jp-WbGraph")
    expect(side.locator(DRAWN)).to_have_count(1)
    expect(side.locator("tr.jp-WbComparison-row")).to_have_count(7)
    expect(side.locator("select.jp-WbGraph-colour")).to_contain_text("speed-up: an estimate")
    # an estimate has no runs and no spread: its runs and p90 are blank, not numbers
    estimate = comparison.locator(".jp-WbComparison-latency tr", has_text="an estimate")
    expect(estimate.locator("td").nth(2)).to_have_text("–")
    expect(estimate.locator("td").nth(4)).to_have_text("–")
    # the estimate repeats the measurement: every layer's speed-up is 1, the "same" colour
    pixels = graph.evaluate(LEGEND_PIXELS)
    assert pixels["same"] > 0, pixels
    assert all(pixels[label] == 0 for label in pixels if label not in ("same", "no data")), pixels
    _click_node(graph, side.locator(".jp-WbComparison-layers tbody"), "conv2_pw")
    expect(side.locator("tr.jp-WbComparison-row.jp-mod-selected")).to_contain_text("Conv_2")
    side.locator("tr.jp-WbComparison-row", has_text="Gemm_0").click()
    expect(graph).to_have_attribute("data-selected", _ids("fc", "flatten"))
    side.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "comparison-graph.png"))


def _unclipped(section: Locator) -> bool:
    """Whether a section shows all of its content's width (no hidden right part)."""
    return bool(section.evaluate("s => s.scrollWidth <= s.clientWidth + 1"))


#: whether the matched layers sit beside the graph (true) or below it (false)
BESIDE = """([graph, matched]) => matched.getBoundingClientRect().top
    < graph.getBoundingClientRect().bottom"""


def test_the_matched_layers_fit_beside_the_graph_or_go_below_it(page: Page,
                                                                 shots: Path) -> None:
    side = page.locator(".jp-NotebookPanel:visible .jp-WbComparison-sideBySide").first
    sections = [side.locator(".jp-WbComparison-graph").element_handle(),
                side.locator(".jp-WbComparison-matched").element_handle()]
    matched = side.locator(".jp-WbComparison-matched")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    try:
        for width, beside in ((1900, True), (1000, False)):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_function(f"s => ({BESIDE})(s) === {str(beside).lower()}",
                                   arg=sections)
            # every column of the table is in view: none is cut off on the right
            assert _unclipped(matched), width
            side.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"comparison-{width}px.png"))
    finally:
        page.set_viewport_size({"width": 1500, "height": 1000})
        page.evaluate("() => window.jupyterapp.shell.expandLeft()")


#: the WCAG contrast of an element's text against what shows behind it: its own background
#: and its ancestors' composited (a translucent error background over the dark page)
CONTRAST = """node => {
    const rgba = text => { const v = text.match(/[\\d.]+/g).map(Number);
        return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
        const bg = rgba(getComputedStyle(n).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
    }
    let under = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
        under = [0, 1, 2].map(i => [r, g, b][i] * a + under[i] * (1 - a));
    }
    const fg = rgba(getComputedStyle(node).color);
    const lum = c => { const l = c.slice(0, 3).map(x => { x /= 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
    const [a, b] = [lum(fg), lum(under)];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


LAYOUT_COLOUR = ("() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0')"
                 ".trim()")


def _run_in_a_new_cell(page: Page, code: str) -> Locator:
    """Type ``code`` into a new cell at the end of the open notebook and run it; the
    notebook's panel."""
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, in command mode
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    return panel


def test_in_the_dark_theme_a_widget_error_and_the_speed_ups_stay_readable(
        page: Page, shots: Path) -> None:
    panel = _run_in_a_new_cell(page, "from workbench.widgets import ModelPicker\n"
                                     "ModelPicker('no-such-model.onnx')")
    error = panel.locator(".workbench-error")
    expect(error).to_contain_text("ModelNotFound", timeout=120_000)
    light = page.evaluate(LAYOUT_COLOUR)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                  " {theme: 'JupyterLab Dark'})")
    try:
        # the dark theme's stylesheet is in once the page's colours changed
        page.wait_for_function(f"c => ({LAYOUT_COLOUR})() !== c", arg=light)
        error.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "dark-error.png"))
        assert error.evaluate(CONTRAST) >= 4.5
        speedups = panel.locator(".jp-WbComparison-latency td:nth-child(6), "
                                 ".jp-WbComparison-layers td[style*=background]")
        assert speedups.count() >= 8
        for cell in speedups.all():
            assert cell.evaluate(CONTRAST) >= 4.5, cell.inner_text()
        panel.locator(".jp-WbComparison").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "dark-comparison.png"))
    finally:
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                      " {theme: 'JupyterLab Light'})")


def test_at_1280_px_with_the_sidebar_open_two_runs_compared_show_every_column(
        page: Page, shots: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    try:
        page.evaluate("() => window.jupyterapp.shell.expandLeft()")
        matched = page.locator(".jp-NotebookPanel:visible .jp-WbComparison-matched").last
        expect(matched.locator("tr.jp-WbComparison-row")).to_have_count(7)
        # the headers keep what tells the runs apart; each column, speed-up too, is in view
        expect(matched.locator("th").last).to_have_text("intra_op_threads=2: speed-up")
        matched.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "comparison-1280px-sidebar.png"))
        assert _unclipped(matched)
    finally:
        page.set_viewport_size({"width": 1500, "height": 1000})


def test_a_large_models_graph_opens_with_legible_nodes(page: Page, shots: Path) -> None:
    panel = _run_in_a_new_cell(page, "import workbench as wb\nwb.profile("
                                     "'zoo:mobilenetv2', warmup=0, runs=1, profile_runs=1)")
    graph = panel.locator('.jp-WbGraph[data-nodes="152"]')
    expect(graph).to_have_count(1, timeout=120_000)
    # fitted whole, its 152 nodes were a thin line of boxes under 2 px tall
    expect(graph).to_have_attribute("data-node-px", re.compile(r"^(1[89]|[2-9]\d)$"))
    expect(graph.locator(".jp-WbGraph-status")).to_contain_text("“fit” for all of it")
    graph.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "mobilenetv2-graph.png"))
    graph.locator("button.jp-WbGraph-fit").click()
    expect(graph).not_to_have_attribute("data-node-px", re.compile(r"^(1[89]|[2-9]\d)$"))
    expect(graph.locator(".jp-WbGraph-status")).not_to_contain_text("the start shown")
