"""The composed UI drives real local runs: Run, Cancel, progress, errors, results, display."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from tests.conftest import until
from tests.widgets.conftest import HOSTILE_NAME
from workbench import errors
from workbench.widgets import Workbench

WAIT_S = 180


def _shown_names(html: str) -> list[str]:
    """The layer names in a drawn table, unescaped back to what the profile holds (without
    the ``[layout]`` tag of a row that is not a compute layer)."""
    import html as html_module

    cells = re.findall(r'<tr class="workbench-layer"><td class="n">\d+</td><td>(.*?)</td>',
                       html)
    return [re.sub(r" \[\w+\]$", "", html_module.unescape(cell)) for cell in cells]


def test_run_button_shows_the_rows_of_the_profile_it_made(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=0, runs=3, profile_runs=2)
    ui.run_panel.run_button.click()
    profile = ui.wait(WAIT_S)
    assert profile is not None and ui.profile is profile and ui.profiles == [profile]
    assert ui.job is not None and ui.job.result(0) is profile
    expected = [row["name"] for row in profile.select_layers(sort="time").rows]
    assert _shown_names(ui.results.table.value) == expected[:25]
    assert "conv_relu" in ui.results.latency.value
    assert "<b>done</b>" in ui.run_panel.state.value
    for stage in ("connect", "probe", "upload", "runs", "profile"):
        assert f"<td>{stage}</td>" in ui.run_panel.stage_view.value
    # every stage of a finished job did all of its units
    counts = re.findall(r"<td>(?:upload|download|runs)</td><td>(.+?) of (.+?)(?: runs)?</td>",
                        ui.run_panel.stage_view.value)
    assert len(counts) == 3 and all(done == total for done, total in counts), counts
    assert not ui.run_panel.run_button.disabled and ui.run_panel.cancel_button.disabled


def test_the_kernel_is_free_while_a_run_goes_on(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=0, runs=10**8, profile_runs=0)
    job = ui.run()
    until(lambda: "timed" in ui.run_panel.stages, WAIT_S)
    assert not job.done  # the click returned while the job runs on its own thread
    ui.run_panel.cancel_button.click()
    assert ui.wait(30) is None


def test_cancel_button_stops_the_run_and_the_ui_says_cancelled(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=0, runs=10**8, profile_runs=0)
    # how to stop a cell that waits is said only while there is a job to stop
    assert ui.run_panel.cancel_help.layout.display == "none"
    ui.run_panel.run_button.click()
    until(lambda: "timed" in ui.run_panel.stages, WAIT_S)
    assert ui.run_panel.cancel_help.layout.display == ""
    assert "interrupt the kernel" in ui.run_panel.cancel_help.value
    ui.run_panel.cancel_button.click()
    assert ui.wait(30) is None
    assert ui.run_panel.cancel_help.layout.display == "none"
    assert ui.job is not None and ui.job.state == "cancelled"
    assert "<b>cancelled</b>" in ui.run_panel.state.value
    assert ui.profiles == [] and ui.run_panel.errors.error is None
    assert not ui.run_panel.run_button.disabled and ui.run_panel.cancel_button.disabled


def test_progress_reaches_the_widgets_at_most_ten_times_a_second(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=50, runs=200, profile_runs=20)
    ui.run()
    ui.wait(WAIT_S)
    applied = ui.run_panel.throttle.applied
    assert len(applied) >= 2
    gaps = [later - earlier for earlier, later in itertools.pairwise(applied)]
    assert min(gaps) >= 0.099, gaps


def test_a_job_that_fails_shows_what_where_and_hint_in_the_ui(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=0, runs=1, profile_runs=0)
    ui.backend_form.fields["providers"].value = '["NoSuchExecutionProvider"]'
    ui.run_panel.run_button.click()
    assert ui.wait(WAIT_S) is None
    shown = ui.run_panel.errors.widget.value
    assert isinstance(ui.run_panel.errors.error, errors.BackendUnavailable)
    assert "NoSuchExecutionProvider" in shown
    assert "where: local" in shown and "hint: Available providers" in shown


def test_a_setting_that_cannot_be_used_is_shown_not_swallowed(conv_model: Path) -> None:
    ui = Workbench(str(conv_model))
    ui.run_panel.runs.value = "many"
    ui.run_panel.run_button.click()
    assert isinstance(ui.run_panel.errors.error, errors.InvalidOptionValue)
    assert "runs=&#x27;many&#x27; is not a number" in ui.run_panel.errors.widget.value
    assert ui.job is None


def test_run_without_a_model_says_to_load_one() -> None:
    ui = Workbench()
    ui.run_panel.run_button.click()
    assert isinstance(ui.run_panel.errors.error, errors.ModelNotFound)
    assert "hint: Load a model first" in ui.run_panel.errors.widget.value


def test_node_names_are_shown_escaped(wide_model_path: Path) -> None:
    ui = Workbench(str(wide_model_path), warmup=0, runs=2, profile_runs=2)
    ui.run()
    profile = ui.wait(WAIT_S)
    assert profile is not None
    assert HOSTILE_NAME in [row["name"] for row in profile.layers]
    ui.results.text.value = "img src"
    table = ui.results.table.value
    assert _shown_names(table) == [HOSTILE_NAME]
    assert "&lt;img src=x onerror=alert(1)&gt;" in table
    assert "<img" not in table


def test_each_run_updates_an_ordinary_display_output(conv_model: Path) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    published: list[dict[str, object]] = []
    original = shell.display_pub.publish

    def record(data: dict[str, object], *args: object, **kwargs: object) -> None:
        published.append({"data": data, **kwargs})

    shell.display_pub.publish = record  # type: ignore[method-assign]
    try:
        ui = Workbench(str(conv_model), warmup=0, runs=2, profile_runs=1)
        ui._ipython_display_()
        ui.run()
        profile = ui.wait(WAIT_S)
    finally:
        shell.display_pub.publish = original  # type: ignore[method-assign]
    assert profile is not None
    assert any("application/vnd.jupyter.widget-view+json" in p["data"] for p in published)
    update = [p for p in published if p.get("update")]
    assert update, published
    bundle = update[-1]["data"]
    assert isinstance(bundle, dict) and "text/html" in bundle
    assert profile.label in str(bundle["text/plain"])


def test_state_is_reachable_from_code_after_two_runs(conv_model: Path) -> None:
    ui = Workbench(str(conv_model), warmup=0, runs=2, profile_runs=1)
    ui.run()
    first = ui.wait(WAIT_S)
    ui.run_panel.runs.value = "3"
    ui.run()
    second = ui.wait(WAIT_S)
    assert ui.profiles == [first, second] and ui.profile is second
    assert ui.model is not None and ui.model.name == "conv_relu"
    assert second is not None and second.latency["count"] == 3


def test_a_run_waiting_for_a_busy_board_shows_its_place_and_cancels_from_the_queue(
        conv_model: Path) -> None:
    first = Workbench(str(conv_model), warmup=0, runs=10**8, profile_runs=0)
    second = Workbench(str(conv_model), warmup=0, runs=1, profile_runs=0)
    first.run_panel.run_button.click()
    try:
        until(lambda: "timed" in first.run_panel.stages, WAIT_S)
        second.run_panel.run_button.click()
        until(lambda: "queue" in second.run_panel.stages
              and "<td>queue</td>" in second.run_panel.stage_view.value, WAIT_S)
        assert second.job is not None and second.job.state == "waiting"
        assert re.search(r"<td>queue</td><td>place 1 of 1, held by [^<]+</td>",
                         second.run_panel.stage_view.value), second.run_panel.stage_view.value
        second.run_panel.cancel_button.click()
        assert second.wait(30) is None
        assert second.job.state == "cancelled" and "<b>cancelled</b>" in (
            second.run_panel.state.value)
        assert first.job is not None and not first.job.done  # the holder runs on
    finally:
        first.run_panel.cancel_button.click()
        first.wait(30)


def test_the_ui_says_when_cancel_is_read_and_how_to_keep_results_in_the_notebook() -> None:
    ui = Workbench()

    def texts(widget: object) -> list[str]:
        own = [str(getattr(widget, "value", ""))] if type(widget).__name__ == "HTML" else []
        return own + [t for child in getattr(widget, "children", ()) for t in texts(child)]

    shown = " ".join(texts(ui))
    assert "handled while no cell is running" in shown
    assert "ui.run(wait=True)" in shown and "saved notebook" in shown
