"""The target picker: a searchable catalog, detection on a device, estimates beside runs."""

from __future__ import annotations

from workbench import errors
from workbench.widgets import TargetPicker, Workbench


def test_searching_narrows_the_catalog_to_matching_boards() -> None:
    picker = TargetPicker()
    everything = len(picker.choice.options)
    picker.search.value = "a76"
    names = [name for _label, name in picker.choice.options]
    assert "raspberry-pi-5" in names and 0 < len(names) < everything
    picker.search.value = ""
    assert len(picker.choice.options) == everything


def test_a_chosen_board_shows_its_key_figures() -> None:
    picker = TargetPicker()
    picker.choice.value = "raspberry-pi-5"
    assert picker.target is not None and picker.target.name == "raspberry-pi-5"
    assert "Cortex-A76" in picker.figures.value and "GB/s" in picker.figures.value


def test_an_estimate_is_shown_beside_the_measurements_as_a_profile_of_kind_estimate() -> None:
    ui = Workbench("zoo:mlp")
    ui.target_picker.choice.value = "raspberry-pi-5"
    ui.target_picker.estimate_button.click()
    assert ui.target_picker.errors.error is None, ui.target_picker.errors.widget.value
    assert [p.kind for p in ui.profiles] == ["estimate"]
    assert "(estimate)" in ui.results.latency.value
    assert ui.results.shown_rows and "ms" in ui.target_picker.estimate_view.value


def test_estimating_without_a_model_says_to_load_one() -> None:
    picker = TargetPicker("raspberry-pi-5")
    picker.estimate_button.click()
    assert isinstance(picker.errors.error, errors.ModelNotFound)


def test_detecting_on_this_machine_shows_what_detection_found() -> None:
    from workbench.jobs import detect_target

    picker = TargetPicker(device=lambda: "local")
    picker.detect_button.click()
    assert picker.task is not None
    picker.task.result(120)
    expected = detect_target("local").target
    if expected is None:
        assert "no catalog board" in picker.detected.value and picker.target is None
    else:
        assert picker.target is not None and picker.target.name == expected.name


def test_an_estimate_compares_with_a_measured_run_layer_by_layer() -> None:
    ui = Workbench("zoo:mlp", warmup=0, runs=3, profile_runs=2)
    ui.run()
    measured = ui.wait(180)
    assert measured is not None
    ui.target_picker.choice.value = "raspberry-pi-5"
    ui.target_picker.estimate_button.click()
    ui.results.compare_choice.value = (0, 1)
    ui.results.compare_button.click()
    assert ui.results.errors.error is None, ui.results.errors.widget.value
    assert "Estimate against measured" in ui.results.comparison.value
    assert "EstimateComparison estimate" in ui.results.comparison.value


def test_the_run_clusters_are_the_chosen_targets_until_a_device_is_probed() -> None:
    from workbench.jobs import cluster_choices

    ui = Workbench()
    ui.target_picker.choice.value = "radxa-rock-5b"
    assert [v for _l, v in ui.run_panel.cluster.options] == ["big", "little", 0, 1, "all"]
    ui.run_panel.cluster.value = 1
    assert ui.run_panel.settings().cluster == 1
    ui.device_picker.probe_button.click()
    assert ui.device_picker.task is not None
    info = ui.device_picker.task.result(120)
    assert list(ui.run_panel.cluster.options) == cluster_choices(info)
    # index 1 stays chosen only where the probed device has a cluster 1
    offered = [value for _label, value in cluster_choices(info)]
    assert ui.run_panel.cluster.value == (1 if 1 in offered else "big")


def test_a_cluster_set_from_code_is_offered_and_a_wrong_one_refused() -> None:
    import pytest

    from workbench.widgets import RunPanel

    assert RunPanel(cluster="2").settings().cluster == 2
    with pytest.raises(errors.InvalidOptionValue, match="cluster='fastest'"):
        RunPanel(cluster="fastest")


def test_run_counts_left_as_shown_are_lowered_on_an_emulated_board_and_edited_ones_kept() -> None:
    from workbench.widgets import RunPanel

    panel = RunPanel()
    assert (panel.warmup.value, panel.runs.value, panel.profile_runs.value) == (10, "50", 10)
    lowered, line = panel.settings().for_device(emulated=True)
    assert (lowered.warmup, lowered.runs, lowered.profile_runs) == (2, 5, 1) and line
    panel.runs.value = "20"  # the user's own count stays; the fields left as shown do not
    edited, _ = panel.settings().for_device(emulated=True)
    assert (edited.warmup, edited.runs, edited.profile_runs) == (2, 20, 1)
    given, line = RunPanel(warmup=10, runs=50, profile_runs=10).settings().for_device(
        emulated=True)
    assert (given.warmup, given.runs, given.profile_runs, line) == (10, 50, 10, None)


def test_threads_0_is_shown_as_all_cores() -> None:
    picker = TargetPicker("raspberry-pi-5")
    assert picker.threads.value == 0
    assert "0 = all cores" in picker.threads_note.value
    picker.threads.value = 2
    assert "2 cores" in picker.threads_note.value and "all" not in picker.threads_note.value
    picker.threads.value = 0
    assert "all cores" in picker.threads_note.value
