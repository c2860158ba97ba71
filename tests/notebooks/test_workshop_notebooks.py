"""The workshop notebooks (notebooks/): each runs top to bottom in a real kernel and shows
what it says it shows; the committed files carry no outputs and no widget state."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipywidgets")

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
PROFILE_MIME = "application/vnd.workbench.profile+json"
COMPARISON_MIME = "application/vnd.workbench.comparison+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def saved_state_problems(notebook: Any) -> list[str]:
    """What a committed notebook must not carry: outputs, execution counts, widget state."""
    problems = []
    if "widgets" in notebook.metadata:
        problems.append("notebook metadata holds widget state")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {cell.id} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {cell.id} has an execution count")
        if "widgets" in cell.metadata:
            problems.append(f"cell {cell.id} metadata holds widget state")
    return problems


def _read(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _execute(name: str, folder: Path) -> dict[str, Any]:
    """Run a copy of the notebook in ``folder`` (what it writes stays there); its cells by id."""
    shutil.copy(NOTEBOOKS / name, folder / name)
    notebook = nbformat.read(folder / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return {cell.id: cell for cell in notebook.cells}


def _text(cell: Any) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def _data(cell: Any, mime: str) -> list[Any]:
    return [o["data"][mime] for o in cell.outputs if mime in o.get("data", {})]


def _profile_shown(cell: Any) -> dict[str, Any]:
    shown = _data(cell, PROFILE_MIME)
    assert shown, [sorted(o.get("data", {})) for o in cell.outputs]
    document = shown[0] if isinstance(shown[0], dict) else json.loads(shown[0])
    return dict(document)


# --- the committed files --------------------------------------------------------------------

def test_the_path_has_six_numbered_notebooks_and_a_teachers_readme() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert [n[:3] for n in names] == ["01-", "02-", "03-", "04-", "05-", "06-"]
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in names:
        assert name in readme
    for topic in ("What to prepare", "known_hosts", "no boards", "min"):
        assert topic in readme


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_committed_notebooks_have_no_outputs_and_no_widget_state(name: str) -> None:
    assert saved_state_problems(_read(name)) == []


def test_a_notebook_saved_with_outputs_or_widget_state_is_refused() -> None:
    notebook = _read("01-first-profile.ipynb")
    ran = copy.deepcopy(notebook)
    code = next(c for c in ran.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    code.execution_count = 1
    ran.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    problems = saved_state_problems(ran)
    assert any("outputs" in p for p in problems)
    assert any("execution count" in p for p in problems)
    assert any("widget state" in p for p in problems)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_each_notebook_states_its_goal_and_hides_the_solutions_of_its_exercises(
        name: str) -> None:
    notebook = _read(name)
    assert "**Goal:**" in notebook.cells[0].source
    solutions = [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    exercises = [c for c in notebook.cells
                 if c.cell_type == "markdown" and c.source.startswith("### Exercise")]
    assert solutions and len(solutions) == len(exercises)
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)


# --- each notebook, executed ---------------------------------------------------------------

def test_first_profile_shows_the_model_the_ui_run_the_profile_its_plots_and_exports(
        tmp_path: Path) -> None:
    check_first_profile(_execute("01-first-profile.ipynb", tmp_path), tmp_path)


def check_first_profile(cells: dict[str, Any], folder: Path) -> None:
    """What notebook 1, executed in ``folder``, must show (its cells by id)."""
    assert re.search(r"mobilenetv2: \d+ nodes, 3,504,872 parameters, 301 M MACs",
                     _text(cells["model-figures"]))
    assert "<table" in str(_data(cells["model-layers"], "text/html"))
    assert _data(cells["ui"], WIDGET_MIME)
    assert "done" in _text(cells["ui-run"])
    assert _profile_shown(cells["ui-run"])["model"]["name"] == "mobilenetv2"
    shown = _profile_shown(cells["profile"])
    assert shown["backend"]["options"]["intra_op_threads"] == 2
    assert shown["view"]["graph"]["name"]  # the nodes the graph view draws
    assert re.search(r"median [\d.]+ ms over 20 runs", _text(cells["latency"]))
    assert "original_nodes" in str(_data(cells["layer-table"], "text/html"))
    for plot in ("plot-top", "plot-ops"):
        assert _data(cells[plot], "image/png"), plot
    assert (folder / "first-profile.html").stat().st_size > 0
    assert json.loads((folder / "first-profile-trace.json").read_text())
    assert _data(cells["solution-threads"], COMPARISON_MIME)


def test_targets_estimates_three_boards_and_finds_depthwise_convolutions_memory_bound(
        tmp_path: Path) -> None:
    from workbench import targets

    cells = _execute("02-targets.ipynb", tmp_path)
    assert f"{len(targets.names())} boards:" in _text(cells["catalog"])
    times = dict(re.findall(r"(\S+)\s+estimated\s+([\d.]+) ms", _text(cells["estimates"])))
    assert set(times) == {"raspberry-pi-5", "raspberry-pi-4", "raspberry-pi-zero-2-w"}
    assert float(times["raspberry-pi-5"]) < float(times["raspberry-pi-zero-2-w"])
    assert _data(cells["compare-estimates"], COMPARISON_MIME)
    bound = {kind: (int(m), int(n)) for kind, m, n in re.findall(
        r"(depthwise 3x3|pointwise 1x1): (\d+) of (\d+) memory bound", _text(cells["bound"]))}
    memory, total = bound["depthwise 3x3"]
    assert total > 0 and memory == total
    assert bound["pointwise 1x1"][0] < bound["pointwise 1x1"][1]
    # int8: as fast as the peaks allow; the Pi 4's int8 peak is only twice its fp32 peak
    changed = dict(re.findall(r"(raspberry-pi-\d): int8 [\d.]+ ms, [\d.]+x faster than fp32; "
                              r"int8 peak \dx fp32's; (\d+) layers changed bound",
                              _text(cells["solution-int8"])))
    assert changed == {"raspberry-pi-5": "0", "raspberry-pi-4": changed["raspberry-pi-4"]}
    assert int(changed["raspberry-pi-4"]) > 0 and "(memory -> compute)" in _text(
        cells["solution-int8"])


def test_backends_compares_onnxruntime_options_and_litert_with_delegation_reports(
        tmp_path: Path) -> None:
    cells = _execute("03-backends.ipynb", tmp_path)
    rows = {label: int(n) for label, n in re.findall(r"^(.+?)\s+median [\d.]+ ms, (\d+) layer rows",
                                                     _text(cells["ort-options"]), re.M)}
    # graph optimisation fuses Conv with its activation: fewer rows than node by node
    assert rows["2 threads"] < rows["no graph optimisation"]
    assert _data(cells["ort-compare"], COMPARISON_MIME)
    litert = _text(cells["litert"])
    rows = re.search(r"LiteRT median [\d.]+ ms; per-layer rows: (\d+)", litert)
    assert rows, litert
    assert int(rows[1]) > 0 or "benchmark_model" in litert  # no rows: the note says why
    assert _data(cells["litert-compare"], COMPARISON_MIME)
    assert "CPUExecutionProvider" in str(_data(cells["delegation-ort"], "text/html"))
    assert "XNNPACK" in str(_data(cells["delegation-litert"], "text/html"))
    assert _data(cells["delegation-plot"], "image/png")


@pytest.mark.skipif(not (shutil.which("sshd") or Path("/usr/sbin/sshd").exists()),
                    reason="openssh-server is not installed: run `bash tests/setup.sh`")
def test_remote_boards_confirms_the_host_key_sets_up_profiles_and_queues(
        tmp_path: Path) -> None:
    cells = _execute("04-remote-boards.ipynb", tmp_path)
    refused = _text(cells["host-key-refused"])
    trusted = _text(cells["host-key-trusted"])
    assert "SHA256:" in refused and "trusted, written to" in trusted
    assert "setup" in _text(cells["needs-setup"])
    assert _profile_shown(cells["profile-board"])["device"]["name"] == "practice"
    assert _data(cells["compare"], COMPARISON_MIME)
    queued = _text(cells["queue"])
    assert "second job: waiting" in queued and "'place': 1" in queued
    assert re.search(r"first: cancelled \| second: done \| 5 runs", _text(cells["queue-done"]))
    threads = _text(cells["solution-board-threads"])  # the board beside this machine
    assert threads.count("on practice") == 2 and threads.count("on local") == 2, threads
    assert "board stopped: True" in _text(cells["stop-board"])
    # the key made for the practice board never left its folder
    assert (tmp_path / "practice-board" / "client_ed25519").exists()


def test_accuracy_and_speed_quantises_compares_outputs_and_measures_real_accuracy(
        tmp_path: Path) -> None:
    cells = _execute("05-accuracy-and-speed.ipynb", tmp_path)
    errors = [float(e) for e in re.findall(r"max abs error ([\d.]+)", _text(cells["errors"]))]
    assert errors and all(e > 0 for e in errors)  # int8 differs from fp32, and says by how much
    found = re.search(r"fp32 ([\d.]+)%, int8 ([\d.]+)%", _text(cells["accuracy"]))
    assert found, _text(cells["accuracy"])
    fp32, int8 = float(found[1]), float(found[2])
    assert fp32 > 90 and abs(fp32 - int8) <= 1.5
    assert _data(cells["latency"], COMPARISON_MIME)
    worst = re.search(r"(\d+) tensors compared, worst relative error ([\d.e+-]+)",
                      _text(cells["layer-diff"]))
    assert worst and int(worst[1]) >= 3 and float(worst[2]) < 1e-4, _text(cells["layer-diff"])
    jump = re.search(r"first jump at (\S+) \(model nodes: ([^)]*)\)", _text(cells["edited-layer"]))
    assert jump and "block2.conv" in jump[2].split(", "), _text(cells["edited-layer"])
    assert _data(cells["edited-layer"], "image/png")  # the error-against-depth plot
    # int8 against fp32: integer tensors dequantised, the layer that adds the most named
    table = str(_data(cells["int8-diff"], "text/html"))
    assert "dequantised" in table and "<td>input</td>" in table, table[:2000]
    hurts = re.search(r"quantisation hurts most at (\S+) \((\w+)\): it adds relative error "
                      r"([\d.]+)", _text(cells["int8-hurts"]))
    assert hurts and hurts[2].startswith("Q") and float(hurts[3]) > 0, _text(cells["int8-hurts"])
    assert _data(cells["int8-hurts"], "image/png")
    kernels = str(_data(cells["int8-kernels"], "text/html"))
    assert "against fp32" in kernels and "own</th>" in kernels, kernels[:2000]
    assert re.search(r"static int8 [\d.]+%, fp32 [\d.]+%", _text(cells["solution-dynamic"]))
    assert re.search(r"per tensor: \S+ adds [\d.]+; per channel: \S+ adds [\d.]+\n"
                     r"the kernels' own error there: per tensor [\d.]+, per channel [\d.]+",
                     _text(cells["solution-per-tensor"])), _text(cells["solution-per-tensor"])


def test_vendor_backend_is_installed_profiled_and_passes_the_conformance_check(
        tmp_path: Path) -> None:
    cells = _execute("06-vendor-backend.ipynb", tmp_path)
    assert "'tiny-npu'" in _text(cells["found"])
    shown = _profile_shown(cells["profile"])
    assert shown["backend"]["name"] == "tiny-npu"
    view = shown["view"]
    assert {view["strings"][i] for i in view["layers"]["provider"]} == {"tiny-npu"}
    assert _text(cells["conformance-verdict"]).strip() == "conformant"
    # the exercise's solution: a Sigmoid kernel, checked on a model that has a Sigmoid
    assert "Sigmoid: conformant" in _text(cells["solution-sigmoid"]), _text(
        cells["solution-sigmoid"])
    # installed into the class's folder, not into the environment the tests run in
    assert list((tmp_path / "installed").glob("tiny_npu_backend*"))
    from workbench import backends

    assert "tiny-npu" not in backends.available()
