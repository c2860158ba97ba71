"""A kernel interrupt during a blocking ``wb.profile()`` cancels the job, as Ctrl-C does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_a_kernel_interrupt_stops_the_agent_and_frees_the_board(conv_model: Path) -> None:
    cells = [
        "import workbench as wb\nfrom workbench.devices import LocalDevice\n"
        "device = LocalDevice()\nevents = []",
        # runs for hours unless interrupted; the kernel is interrupted once it times out
        f"wb.profile({str(conv_model)!r}, device=device, warmup=0, runs=10**8, "
        "profile_runs=0, on_event=events.append)",
        "import json\nfrom workbench_agent.lock import board_state\n"
        "print(json.dumps({'stages': [e.get('stage') for e in events], "
        "'held': board_state(device.lock_path())['held']}))",
    ]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = nbclient.NotebookClient(notebook, timeout=20, interrupt_on_timeout=True,
                                     allow_errors=True, kernel_name="python3")
    client.execute()
    interrupted = notebook.cells[1].outputs
    assert any(o.get("ename") == "KeyboardInterrupt" for o in interrupted), interrupted
    report = json.loads(notebook.cells[2].outputs[0]["text"])
    assert "timed" in report["stages"], report  # the job was running when interrupted
    assert report["stages"][-1] == "cancelled"
    assert report["held"] is False, "the board's lock outlived the interrupted job"


def test_a_kernel_interrupt_of_a_cell_waiting_on_the_ui_cancels_its_run(
        conv_model: Path) -> None:
    cells = [
        "from workbench.widgets import Workbench\n"
        f"ui = Workbench({str(conv_model)!r}, warmup=0, runs=10**8, profile_runs=0)\nui",
        "ui.run(wait=True)",  # runs for hours unless interrupted
        "import json\nfrom workbench_agent.lock import board_state\n"
        "print(json.dumps({'state': ui.job.state, 'stages': list(ui.run_panel.stages), "
        "'held': board_state(ui.job.prepared.device.lock_path())['held'], "
        "'profiles': len(ui.profiles)}))",
    ]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells])
    # only the waiting cell times out (and is interrupted); the others may take their time
    client = nbclient.NotebookClient(
        notebook, timeout_func=lambda cell: 20 if "wait=True" in cell.source else 300,
        interrupt_on_timeout=True, allow_errors=True, kernel_name="python3")
    client.execute()
    interrupted = notebook.cells[1].outputs
    assert any(o.get("ename") == "KeyboardInterrupt" for o in interrupted), interrupted
    report = json.loads(notebook.cells[2].outputs[0]["text"])
    # cancelled in whatever stage the interrupt found it (on a busy machine, maybe the upload)
    assert report["stages"][0] == "connect" and report["stages"][-1] == "cancelled", report
    assert report["state"] == "cancelled" and report["profiles"] == 0, report
    assert report["held"] is False, "the board's lock outlived the interrupted job"
