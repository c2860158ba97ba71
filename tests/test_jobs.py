"""profile(): a real onnxruntime run on this machine, end to end."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workbench as wb
from workbench import errors, formats


@pytest.fixture(scope="module")
def conv_profile(tmp_path_factory: pytest.TempPathFactory) -> wb.Profile:
    from tests.conftest import conv_relu_model

    path = conv_relu_model(tmp_path_factory.mktemp("conv") / "conv_relu.onnx")
    return wb.profile(path, warmup=2, runs=12, profile_runs=4)


def test_a_profile_is_a_valid_versioned_document(conv_profile: wb.Profile) -> None:
    document = conv_profile.to_dict()
    formats.validate(document, formats.PROFILE)
    assert document["kind"] == "measured"
    assert document["device"]["name"] == "local"


def test_latency_comes_from_timed_runs_and_cold_and_creation_times_are_apart(
        conv_profile: wb.Profile) -> None:
    latency = conv_profile.to_dict()["latency"]
    assert len(latency["samples_ms"]) == 12
    assert latency["stats"]["median"] == pytest.approx(float(np.median(latency["samples_ms"])))
    assert latency["cold_ms"] > 0 and latency["session_create_ms"] > 0
    assert "profiling off" in latency["source"]


def test_peak_memory_after_creation_and_after_runs_is_recorded(conv_profile: wb.Profile) -> None:
    memory = conv_profile.to_dict()["memory"]
    assert memory["peak_rss_after_runs_bytes"] >= memory["peak_rss_after_create_bytes"] > 0


def test_every_original_node_is_covered_by_exactly_one_layer_row(
        conv_profile: wb.Profile) -> None:
    covered = [n for row in conv_profile.layers for n in row["original_nodes"]]
    assert sorted(covered) == sorted(["conv1", "relu1", "conv2", "relu2", "pool"])


def test_fused_conv_relu_rows_name_both_nodes_and_carry_their_macs(
        conv_profile: wb.Profile) -> None:
    rows = {tuple(r["original_nodes"]): r for r in conv_profile.layers}
    first = rows[("conv1", "relu1")]
    assert first["macs"] == 16 * 32 * 32 * 3 * 3 * 3 + 0  # Conv MACs; Relu is elementwise
    assert first["gmacs_per_s"] > 0
    assert first["duration_us"]["count"] == 4


@pytest.mark.skipif(__import__("platform").machine() != "x86_64",
                    reason="onnxruntime's NCHWc layout rewrite happens on x86 only")
def test_nchwc_layout_conversions_on_x86_are_labelled_layout(conv_profile: wb.Profile) -> None:
    layout = [r for r in conv_profile.layers if r["kind"] == "layout"]
    assert layout and all(r["original_nodes"] == [] for r in layout)
    assert any(r["op_type"].startswith("Reorder") for r in layout)


def test_without_graph_optimisation_rows_map_one_to_one(conv_model: Path) -> None:
    p = wb.profile(conv_model, options={"graph_optimization_level": "disable"}, warmup=0,
                   runs=2, profile_runs=1)
    assert {r["name"]: r["original_nodes"] for r in p.layers} == {
        n: [n] for n in ["conv1", "relu1", "conv2", "relu2", "pool"]}


def test_shares_of_layer_time_sum_to_one(conv_profile: wb.Profile) -> None:
    assert sum(r["share"] for r in conv_profile.layers) == pytest.approx(1.0)


def test_the_raw_events_of_one_run_are_kept(conv_profile: wb.Profile) -> None:
    events = conv_profile.to_dict()["trace"]["events"]
    kernels = [e for e in events if e["name"].endswith("_kernel_time")]
    assert len(kernels) == len(conv_profile.layers)


def test_unknown_option_lists_the_accepted_ones(conv_model: Path) -> None:
    with pytest.raises(errors.UnknownOption) as caught:
        wb.profile(conv_model, options={"threads": 4}, runs=1)
    assert "intra_op_threads" in str(caught.value)


def test_an_option_value_outside_its_choices_is_refused_before_running(conv_model: Path) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="graph_optimization_level"):
        wb.profile(conv_model, options={"graph_optimization_level": "max"}, runs=1)


def test_an_execution_provider_missing_on_the_device_is_refused_with_the_available_ones(
        conv_model: Path) -> None:
    with pytest.raises(errors.BackendUnavailable, match="CPUExecutionProvider"):
        wb.profile(conv_model, options={"providers": ["XnnpackExecutionProvider"]}, runs=1)


def test_an_unknown_backend_names_the_installed_ones(conv_model: Path) -> None:
    with pytest.raises(errors.BackendNotFound, match="onnxruntime"):
        wb.profile(conv_model, backend="tensorrt", runs=1)


def embedding_model(path: Path, vocabulary: int = 100) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    table = numpy_helper.from_array(np.arange(vocabulary * 4, dtype=np.float32)
                                    .reshape(vocabulary, 4), "table")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"], name="lookup")], "embed",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4])], [table])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_integer_inputs_stay_inside_the_range_given(tmp_path: Path) -> None:
    model = embedding_model(tmp_path / "embed.onnx")
    p = wb.profile(model, inputs={"ids": {"low": 0, "high": 100, "seed": 3}}, warmup=0, runs=2,
                   profile_runs=0)
    record = p.to_dict()["inputs"][0]
    assert record["spec"]["high"] == 100 and record["spec"]["seed"] == 3
    expected = np.random.default_rng(3).integers(0, 100, size=(1, 8), dtype=np.int64)
    assert record["sha256"] == hashlib.sha256(expected.tobytes()).hexdigest()


def test_an_array_given_as_input_is_used_and_its_hash_recorded(conv_model: Path) -> None:
    array = np.full((1, 3, 32, 32), 0.5, np.float32)
    p = wb.profile(conv_model, inputs={"x": array}, warmup=0, runs=2, profile_runs=0)
    assert p.to_dict()["inputs"][0]["sha256"] == hashlib.sha256(array.tobytes()).hexdigest()


def test_an_input_the_model_does_not_have_is_an_input_spec_error(conv_model: Path) -> None:
    with pytest.raises(errors.InputSpecError, match="Its inputs: x"):
        wb.profile(conv_model, inputs={"pixels": {"low": 0}}, runs=1)


def test_symbolic_dims_must_be_fixed_before_running() -> None:
    with pytest.raises(errors.InputSpecError, match="with_shapes"):
        wb.profile("zoo:mlp-dynamic", runs=1)


def test_an_input_without_a_shape_is_an_input_spec_error(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("SequenceAt", ["s", "i"], ["y"], name="at")], "seq",
        [helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("i", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "seq.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(errors.InputSpecError, match="'s' has no known shape"):
        wb.profile(path, runs=1)


def test_a_model_with_fixed_dims_runs_after_with_shapes() -> None:
    model = wb.load_model("zoo:mlp-dynamic").with_shapes(batch=4)
    p = wb.profile(model, warmup=0, runs=2, profile_runs=1)
    assert p.to_dict()["inputs"][0]["shape"][0] == 4


def test_profiles_save_and_load_back_exactly(conv_profile: wb.Profile, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    conv_profile.save(path)
    assert wb.Profile.load(path).to_dict() == conv_profile.to_dict()


def test_submit_runs_in_the_background_and_can_be_cancelled(conv_model: Path) -> None:
    started = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("stage") == "timed":
            started.set()

    job = wb.submit(conv_model, warmup=0, runs=1_000_000, profile_runs=0, on_event=on_event)
    assert started.wait(60)
    job.cancel()
    with pytest.raises(errors.JobCancelled):
        job.result(timeout=60)
    assert job.done


def test_a_job_that_times_out_waiting_for_the_board_says_so_and_who_held_it(
        conv_model: Path) -> None:
    from workbench_agent.lock import DeviceLock

    from workbench.devices import connect

    held = DeviceLock(connect("local").lock_path(), "job-held", "alice@lab pid 1")
    held.acquire()
    try:
        with pytest.raises(errors.JobTimeout) as waited:
            wb.profile(conv_model, warmup=0, runs=1, profile_runs=0, timeout=3)
    finally:
        held.release()
    message = str(waited.value)
    # the whole limit the user gave, the holder, and no advice about runs: none ran
    assert "waited for the board longer than its time limit (3 s)" in message
    assert "alice@lab pid 1 held the board" in message
    assert "number of runs" not in message and "device status" in message


def test_a_job_reads_as_waiting_for_the_board_only_until_it_took_it() -> None:
    from workbench.devices._stream import AgentStream

    stream = AgentStream("board")
    queued = {"event": "stage", "stage": "queue", "place": 1, "holder": "alice@lab pid 1"}
    stream.take(queued)
    stream.take({"event": "heartbeat"})
    assert stream.waiting is queued
    # the agent logs as it takes the board; a slow import or cool-down may follow, no stage
    stream.take({"event": "log", "level": "info", "message": "took the board after waiting"})
    assert stream.waiting is None


def test_a_timeout_stops_the_job_with_a_clear_error(conv_model: Path) -> None:
    with pytest.raises(errors.JobTimeout, match="longer than"):
        wb.profile(conv_model, warmup=0, runs=10_000_000, profile_runs=0, timeout=2)


@pytest.mark.skipif(__import__("platform").machine() != "x86_64",
                    reason="onnxruntime's NCHWc Conv+Add fusion happens on x86 only")
def test_residual_adds_fused_into_convs_on_x86_stay_with_their_block() -> None:
    p = wb.profile("zoo:mobilenetv2", warmup=0, runs=1, profile_runs=1)
    rows_with_adds = [r for r in p.layers if any(n.endswith(".add") for n in r["original_nodes"])]
    assert rows_with_adds
    for row in rows_with_adds:
        block = next(n for n in row["original_nodes"] if n.endswith(".add")).split(".")[0]
        assert all(n.startswith(block + ".") for n in row["original_nodes"]), row


def test_an_image_input_is_resized_normalised_and_laid_out_as_the_model_expects(
        tmp_path: Path) -> None:
    from PIL import Image

    from tests.conftest import conv_relu_model

    model = conv_relu_model(tmp_path / "small.onnx", size=8)
    picture = np.random.default_rng(1).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    Image.fromarray(picture).save(tmp_path / "cat.png")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    p = wb.profile(model, inputs={"x": {"kind": "image", "path": str(tmp_path / "cat.png"),
                                        "mean": mean, "std": std}},
                   warmup=0, runs=1, profile_runs=0)
    resized = np.asarray(Image.fromarray(picture).resize((8, 8)), dtype=np.float32) * (1 / 255)
    expected = ((resized - np.float32(mean)) / np.float32(std)).transpose(2, 0, 1)[None]
    record = p.to_dict()["inputs"][0]
    assert record["shape"] == [1, 3, 8, 8]
    assert record["sha256"] == hashlib.sha256(expected.astype(np.float32).tobytes()).hexdigest()


def test_auto_runs_stop_once_the_median_is_known_well_enough(conv_model: Path) -> None:
    p = wb.profile(conv_model, warmup=2, runs="auto", profile_runs=0, auto_ci_pct=25.0,
                   time_budget_s=20)
    stats = p.to_dict()["latency"]["stats"]
    low, high = stats["median_ci"]
    assert low <= stats["median"] <= high
    assert stats["count"] % 10 == 0 and 10 <= stats["count"] < 10000


def test_latency_statistics_carry_bootstrap_intervals(conv_profile: wb.Profile) -> None:
    stats = conv_profile.to_dict()["latency"]["stats"]
    assert stats["median_ci"][0] <= stats["median"] <= stats["median_ci"][1]
    assert stats["p90_ci"][0] <= stats["p90"] <= stats["p90_ci"][1]


def test_model_load_time_and_the_runtimes_arena_are_recorded(conv_profile: wb.Profile) -> None:
    document = conv_profile.to_dict()
    assert document["latency"]["model_load_ms"] > 0
    assert document["memory"]["arena_bytes"] > 0


def test_threads_follow_the_cores_used_and_flushing_keeps_runs_apart(conv_model: Path) -> None:
    p = wb.profile(conv_model, warmup=0, runs=3, profile_runs=1, cores=[0, 1],
                   flush_cache=True)
    document = p.to_dict()
    assert document["environment"]["cores_used"] == [0, 1]
    assert document["run"]["cores"] == [0, 1] and len(document["latency"]["samples_ms"]) == 3


def test_the_local_machine_is_reported_as_the_target_it_is(conv_profile: wb.Profile) -> None:
    import platform

    target = conv_profile.document["target"]
    assert target["detected"] and target["summary"] in conv_profile.summary()
    if platform.machine() in ("x86_64", "AMD64"):
        assert target["is_arm"] is False and target["name"] is None
        assert target["summary"].startswith("not an Arm machine")
    else:
        assert target["is_arm"] is (platform.machine() in ("aarch64", "arm64"))


@pytest.mark.parametrize("timeout", [0, -1, -0.5])
def test_a_timeout_that_no_job_can_meet_is_refused_before_anything_runs(
        conv_model: Path, timeout: float) -> None:
    with pytest.raises(errors.InvalidOptionValue, match=r"timeout=.* is not allowed") as refused:
        wb.submit(conv_model, runs=1, warmup=0, profile_runs=0, timeout=timeout)
    assert "> 0" in (refused.value.hint or "")
