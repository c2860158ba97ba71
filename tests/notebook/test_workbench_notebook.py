"""The notebook UI in a real kernel run by nbclient: Run, the rows shown, and the saved file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipywidgets")

SECRET = "typed-secret-Zq81x"
SHOWN_NAMES = (
    "import html, re\n"
    "def shown(ui):\n"
    "    cells = re.findall(r'<tr class=\"workbench-layer\"><td class=\"n\">\\d+</td>"
    "<td>(.*?)</td>',\n"
    "                       ui.results.table.value)\n"
    "    return [re.sub(r' \\[\\w+\\]$', '', html.unescape(c)) for c in cells]\n")


def _execute(cells: list[str], path: Path) -> Any:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(notebook, path)
    return nbformat.read(path, as_version=4)


def _printed(cell: Any) -> dict[str, Any]:
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    return dict(json.loads(text.strip().splitlines()[-1]))


def test_run_clicked_in_a_kernel_shows_that_profiles_rows_and_the_saved_file_keeps_them(
        conv_model: Path, tmp_path: Path) -> None:
    saved = _execute([
        "from workbench.widgets import Workbench\n"
        f"ui = Workbench({str(conv_model)!r}, warmup=0, runs=3, profile_runs=2)\nui",
        "ui.run_panel.run_button.click()",
        "print('the kernel runs this cell while the job goes on:', sum(range(10)))",
        SHOWN_NAMES + "import json\nprofile = ui.wait(240)\n"
        "expected = [r['name'] for r in profile.select_layers(sort='time').rows][:25]\n"
        "print(json.dumps({'shown': shown(ui), 'expected': expected, 'label': profile.label,"
        " 'profiles': len(ui.profiles)}))",
    ], tmp_path / "run.ipynb")
    report = _printed(saved.cells[3])
    assert report["shown"] == report["expected"] and report["shown"]
    assert report["profiles"] == 1
    outputs = saved.cells[0].outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, outputs
    # the run's profile as an ordinary output: readable without a kernel or widget state
    results = [o for o in outputs if report["label"] in str(o.get("data", {}).get("text/html"))]
    assert results, [sorted(o.get("data", {})) for o in outputs]
    assert "widgets" in saved.metadata  # widget state was saved too


def test_a_password_typed_into_the_ui_never_reaches_the_saved_notebook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The secret reaches the kernel as the browser sends it, never through a cell's source.
    monkeypatch.setenv("WORKBENCH_TEST_TYPED", SECRET)
    path = tmp_path / "secret.ipynb"
    saved = _execute([
        "import os\nfrom workbench.widgets import Workbench\nui = Workbench()\nui",
        "field = ui.device_picker.password\n"
        "field.set_state({'value': os.environ['WORKBENCH_TEST_TYPED']})  # as a typed value\n"
        "field2 = ui.device_picker.passphrase\n"
        "field2.set_state({'value': os.environ['WORKBENCH_TEST_TYPED']})",
        "import json\nprint(json.dumps({'held': ui.device_picker._secrets == "
        "{'password': os.environ['WORKBENCH_TEST_TYPED'], "
        "'passphrase': os.environ['WORKBENCH_TEST_TYPED']}, 'field': field.value}))",
    ], path)
    report = _printed(saved.cells[2])
    assert report == {"held": True, "field": ""}
    assert "widgets" in saved.metadata
    assert SECRET not in path.read_text()
    assert not any(SECRET in p.read_text(errors="ignore") for p in tmp_path.rglob("*")
                   if p.is_file())


def test_the_kernel_runs_other_cells_while_a_run_goes_on_and_cancel_stops_it(
        conv_model: Path, tmp_path: Path) -> None:
    saved = _execute([
        "import time\nfrom workbench.widgets import Workbench\n"
        f"ui = Workbench({str(conv_model)!r}, warmup=0, runs=10**8, profile_runs=0)\nui",
        "ui.run_panel.run_button.click()\n"
        "deadline = time.monotonic() + 120\n"
        "while 'timed' not in ui.run_panel.stages and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)",
        "import json\nprint(json.dumps({'answer': 6 * 7, 'running': not ui.job.done, "
        "'state': ui.job.state}))",
        "ui.run_panel.cancel_button.click()\nui.wait(60)\n"
        "print(json.dumps({'state': ui.job.state, 'profiles': len(ui.profiles)}))",
    ], tmp_path / "busy.ipynb")
    assert _printed(saved.cells[2]) == {"answer": 42, "running": True, "state": "running"}
    assert _printed(saved.cells[3]) == {"state": "cancelled", "profiles": 0}


def test_a_run_waited_for_in_a_cell_leaves_its_profile_and_its_error_as_that_cells_output(
        conv_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "kept.ipynb"
    saved = _execute([
        "from workbench.widgets import Workbench\n"
        f"ui = Workbench({str(conv_model)!r}, warmup=0, runs=2, profile_runs=1)\nui",
        "job = ui.run(wait=True)",
        "ui.backend_form.fields['providers'].value = '[\"NoSuchExecutionProvider\"]'\n"
        "failed = ui.run(wait=True)",
        "import json\nprint(json.dumps({'label': ui.profile.label, 'state': failed.state}))",
    ], path)
    report = _printed(saved.cells[3])
    # read back as a reopened file is: JSON on disk, no kernel, no widget state used
    cells = json.loads(path.read_text())["cells"]
    assert report["state"] == "failed"
    kept = [o for o in cells[1]["outputs"] if o["output_type"] == "display_data"]
    assert len(kept) == 1, cells[1]["outputs"]
    assert "application/vnd.workbench.profile+json" in kept[0]["data"]
    assert report["label"] in "".join(kept[0]["data"]["text/html"])
    shown_error = "".join("".join(o["data"].get("text/html", []))
                          for o in cells[2]["outputs"] if o["output_type"] == "display_data")
    assert "BackendUnavailable" in shown_error and "NoSuchExecutionProvider" in shown_error
    assert "where: local" in shown_error and "hint: " in shown_error
