"""The emulated Arm board end to end: aarch64 sshd, Python, onnxruntime and LiteRT under qemu-user.

Builds the root file system once per cache folder (about 90 s; CI keeps it in
WORKBENCH_EMULATOR_DIR between runs), starts a Raspberry Pi 5 preset and
profiles through ``connect()`` exactly as a user would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workbench as wb
from workbench import emulator, errors
from workbench.devices.base import Device


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(7).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)


@pytest.fixture(scope="module")
def emulated_profile(pi5: Device, pixels: np.ndarray) -> wb.Profile:
    return wb.profile("zoo:small-cnn", device=pi5, inputs={"input": pixels}, warmup=1, runs=5,
                      profile_runs=2, keep_outputs=True, diff=True)


def test_the_board_is_an_aarch64_cortex_a76_running_the_arm_build(pi5: Device) -> None:
    info = pi5.probe()
    assert info.arch == "aarch64" and info.emulated
    cluster = info.cpu["clusters"][0]  # type: ignore[index]
    assert (cluster["implementer"], cluster["part"]) == ("0x41", "0xd0b")  # Arm Cortex-A76
    assert "asimddp" in info.cpu["features"]  # type: ignore[index]
    assert info.runtime_version("onnxruntime")


def test_profiles_from_it_are_marked_emulated_everywhere(emulated_profile: wb.Profile) -> None:
    document = emulated_profile.to_dict()
    assert document["kind"] == "emulated" and document["device"]["emulated"]
    assert "EMULATED" in emulated_profile.summary()
    assert "EMULATED" in emulated_profile.to_html()


def test_its_profiles_name_the_board_detection_found(emulated_profile: wb.Profile) -> None:
    target = emulated_profile.document["target"]
    assert target["name"] == "raspberry-pi-5" and target["is_arm"]
    assert "Cortex-A76" in target["summary"]


def test_per_layer_rows_map_to_the_users_nodes_with_the_arm_kernels(
        emulated_profile: wb.Profile) -> None:
    model = wb.load_model("zoo:small-cnn")
    covered = sorted(n for row in emulated_profile.layers for n in row["original_nodes"])
    assert covered == sorted(node.name for node in model.nodes)
    # The Arm build has no NCHWc layout rewrite: no layout rows, unlike x86.
    assert all(row["kind"] == "compute" for row in emulated_profile.layers)


def test_outputs_match_the_host_fp32_reference(emulated_profile: wb.Profile,
                                               pixels: np.ndarray) -> None:
    import onnxruntime as ort

    model = wb.load_model("zoo:small-cnn")
    session = ort.InferenceSession(str(model.runnable_path()), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"input": pixels})[0]
    emulated = emulated_profile.output_values()
    np.testing.assert_allclose(emulated, reference, rtol=1e-4, atol=1e-5)


def test_the_boards_tensors_between_layers_match_the_host_layer_by_layer(
        emulated_profile: wb.Profile, pixels: np.ndarray) -> None:
    found = emulated_profile.intermediates
    assert found is not None and found["graph_equals_timed"] is True
    assert not found["skipped"]  # the Arm build keeps the standard layout: nothing skipped
    diff = wb.diff_layers(emulated_profile, inputs={"input": pixels})
    fused = [row for row in diff.rows if row["op_type"] == "FusedConv"]
    assert fused and all(row["original_nodes"] for row in fused)
    assert diff.first_jump is None and all(row["rel_error"] < 1e-4 for row in diff.rows)


def test_status_lists_the_running_board(pi5: Device) -> None:
    assert any(state["device"] == pi5.name for state in emulator.status())


def test_a_board_another_caller_joined_runs_on_when_the_starter_lets_go(pi5: Device) -> None:
    started = next(s for s in emulator.status() if s["board"] == "raspberry-pi-5")
    joined = emulator.start("raspberry-pi-5", holder="a benchmark")  # no second board
    assert joined["pid"] == started["pid"] and "a benchmark" in joined["holders"]
    try:
        assert emulator.stop("raspberry-pi-5") == []  # this test process lets go
        # the same board still runs and its sshd still takes connections
        assert [s["pid"] for s in emulator.status()] == [started["pid"]]
    finally:
        emulator.start("raspberry-pi-5")  # the module's other tests hold it again
        assert emulator.stop("raspberry-pi-5", holder="a benchmark") == []
    assert _holders_of("raspberry-pi-5") == [emulator.this_process()]


def _holders_of(board: str) -> list[str]:
    return next(state["holders"] for state in emulator.status() if state["board"] == board)


def test_a_board_qemu_cannot_emulate_has_no_preset() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="raspberry-pi-5"):
        emulator.start("orin-nano")
    assert set(p.qemu_cpu for p in emulator.PRESETS.values()) <= set(
        emulator.presets.QEMU_CPUS)


@pytest.fixture(scope="module")
def qemu_user_run(pi5: Device) -> tuple[Device, list[dict[str, Any]], wb.Profile]:
    """The qemu-user board (no sshd, no root), probed and profiled once with no run counts
    set: the device, the job's events and its profile."""
    # pi5 makes sure the root file system is built. This machine's site-packages on
    # PYTHONPATH (a venv set up by hand) put its x86 numpy and onnxruntime before the
    # root's: the board's probe found no runtime.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(Path(np.__file__).parent.parent))
        device = wb.connect("qemu:raspberry-pi-5")
        device.probe()
        events: list[dict[str, Any]] = []
        profile = wb.profile("zoo:small-cnn", device=device, on_event=events.append)
    return device, events, profile


def test_without_namespaces_qemu_user_runs_the_same_arm_build(
        qemu_user_run: tuple[Device, list[dict[str, Any]], wb.Profile]) -> None:
    device, events, p = qemu_user_run
    assert device.name == "qemu:raspberry-pi-5"  # errors and hints name it as typed
    info = device.probe()
    assert info.arch == "aarch64" and info.emulated and info.kind == "emulated"
    # no run counts set: an emulated board runs a few, and says so
    run = p.to_dict()["run"]
    assert (run["warmup"], run["runs"], run["profile_runs"]) == (2, 5, 1)
    assert [e["message"] for e in events if e["event"] == "log" and
            e["message"].startswith("emulated board: 2 warm-up, 5 timed")]
    assert p.to_dict()["kind"] == "emulated"
    assert any(row["op_type"] == "FusedConv" for row in p.layers)  # the Arm build's kernels


def test_the_few_runs_an_emulated_board_chose_are_a_note_with_their_spread_not_a_warning(
        qemu_user_run: tuple[Device, list[dict[str, Any]], wb.Profile]) -> None:
    document = qemu_user_run[2].to_dict()
    assert document["run"]["runs_lowered"] is True
    assert not [w for w in document["warnings"] if "not stable" in w]
    [note] = document["notes"]
    assert note.startswith("5 timed runs (the emulated board's default): the median may move "
                           "by ±") and "set runs=10 or more" in note
    stats = document["latency"]["stats"]
    low, high = stats["median_ci"]
    spread = max(stats["median"] - low, high - stats["median"]) / stats["median"] * 100
    assert f"±{spread:.0f} %" in note
    assert f"Notes:\n- {note}" in qemu_user_run[2].summary()


def test_a_user_who_set_few_runs_on_the_emulated_board_is_still_warned(
        emulated_profile: wb.Profile) -> None:
    document = emulated_profile.to_dict()  # runs=5 set by the caller
    assert "only 5 timed runs: the median is not stable; use 10 or more" in document["warnings"]
    assert "notes" not in document and "runs_lowered" not in document["run"]


def test_under_qemu_user_the_jobs_own_cpu_time_is_not_counted_as_other_processes(
        qemu_user_run: tuple[Device, list[dict[str, Any]], wb.Profile]) -> None:
    # qemu-user answers /proc/self/stat with zero CPU times: read there, the job's own
    # time went to "other processes", whose share then came out near 1 on a quiet machine.
    # This machine may not be quiet, so the check is that the job's time is its own and
    # the two shares split the cores (within the clock ticks read at slightly other times)
    conditions = qemu_user_run[2].to_dict()["environment"]["conditions"]
    own = conditions["own_share_of_cores_used"]
    others = conditions["other_processes_share_of_cores_used"]
    assert own is not None and own > 0.05, conditions
    assert others is not None and own + others <= 1.1, conditions


def test_on_the_emulated_board_pinning_works_and_missing_sysfs_is_unavailable(
        pi5: Device) -> None:
    p = wb.profile("zoo:small-cnn", device=pi5, warmup=0, runs=3, profile_runs=0, cores=[1])
    environment = p.to_dict()["environment"]
    assert environment["cores_used"] == [1]
    conditions = environment["conditions"]
    assert conditions["frequency"] is None  # no cpufreq under qemu-user: unavailable, not 0
    assert conditions["temperature_c"]["max"] is None


def test_litert_runs_its_arm_build_with_xnnpack_and_matches_the_host(
        pi5: Device, pixels: np.ndarray) -> None:
    import onnxruntime as ort

    twin = wb.load_model("zoo:small-cnn.tflite")  # NHWC twin of the same weights
    p = wb.profile(twin, device=pi5, backend="litert", inputs={"input": pixels.transpose(
        0, 2, 3, 1)}, warmup=1, runs=3, profile_runs=0, keep_outputs=True)
    assert p.kind == "emulated" and p.document["backend"]["name"] == "litert"
    assert pi5.probe(refresh=True).runtime_version("litert")
    delegation = p.document["delegation"]
    assert delegation["source"] == "runtime" and delegation["providers"] == ["XNNPACK"]
    model = wb.load_model("zoo:small-cnn")
    session = ort.InferenceSession(str(model.runnable_path()), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"input": pixels})[0]
    emulated = p.output_values()
    np.testing.assert_allclose(emulated.reshape(reference.shape), reference, rtol=1e-4,
                               atol=1e-5)


def test_a_calibration_of_the_emulated_board_warms_up_with_its_lowered_count(
        pi5: Device, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 warm-up runs per job, as on a board, cost seconds each under qemu (18 jobs)
    from workbench import history
    from workbench.jobs import calibrate
    from workbench.jobs.settings import EMULATED_COUNTS
    from workbench.targets.calibration import JOBS_PER_CLASS

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    found = calibrate(pi5, classes=["elementwise"], shapes=False, time_budget_s=0.2,
                      attempts=1, store=False, max_spread_pct=1000, max_others_share=1.0)
    assert found.ceilings["elementwise"].rate > 0
    runs = [entry.load().document["run"] for entry in history.entries(device=found.device)]
    assert len(runs) == JOBS_PER_CLASS
    assert all(run["warmup"] == EMULATED_COUNTS["warmup"] for run in runs), runs
