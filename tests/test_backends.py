"""Backend plug-ins: an out-of-tree backend found by its entry point, run end to end,
checked for conformance; a broken plug-in hides no other; options are validated.

The reference backend lives in tests/plugins/workbench-reference-backend, a package of
its own that tests/setup.sh installs; nothing in the workbench names it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workbench as wb
from tests.conftest import ROOT
from workbench import backends, errors, jobs
from workbench.backends import BackendPluginWarning
from workbench.testing import check_backend

INSTALL = "pip install -e tests/plugins/workbench-reference-backend (tests/setup.sh does it)"
CONV_NODES = ["conv1", "relu1", "conv2", "relu2", "pool"]


@pytest.fixture
def reference() -> backends.Backend:
    assert "reference" in backends.available(), f"the reference plug-in is not installed: {INSTALL}"
    return backends.get("reference")


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed distribution whose entry point names a module that does not exist."""
    info = tmp_path / "broken_backend-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-backend\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[workbench.backends]\n"
                                           "broken = no_such_module:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))


# --- discovery ------------------------------------------------------------------------------


def test_an_out_of_tree_plugin_is_found_through_its_entry_point(
        reference: backends.Backend) -> None:
    entry = {e.name: e for e in entry_points(group=backends.GROUP)}["reference"]
    assert entry.value == "workbench_reference_backend:ReferenceBackend"
    assert entry.dist is not None and entry.dist.name == "workbench-reference-backend"
    module_file = Path(str(importlib.import_module(entry.module).__file__)).resolve()
    assert ROOT / "workbench" not in module_file.parents
    assert "reference" not in backends._BUILTIN


def test_the_plugin_describes_its_options_and_what_its_layer_timer_covers(
        reference: backends.Backend) -> None:
    described = reference.describe()
    assert described["runtime"] == "numpy"
    assert [o["name"] for o in described["options"]] == ["dtype", "keep_outputs"]
    assert "exactly one numpy evaluation" in described["description"]


def test_an_unknown_backend_name_lists_the_installed_ones(reference: backends.Backend) -> None:
    with pytest.raises(errors.BackendNotFound, match="onnxruntime, reference"):
        backends.get("no-such-backend")


# --- running --------------------------------------------------------------------------------


def test_a_job_ships_the_plugins_runner_file_and_the_agent_loads_it_by_path(
        reference: backends.Backend, conv_model: Path) -> None:
    prepared = jobs.prepare(conv_model, "local", "reference", runs=1, warmup=0, profile_runs=0)
    runner = prepared.job["backend"]["runner"]
    assert not runner.startswith("builtin:")
    assert Path(runner).read_bytes() == reference.runner_path().read_bytes()
    profile = jobs.execute(prepared)
    assert profile.to_dict()["backend"]["name"] == "reference"


def test_profile_with_the_reference_backend_gives_one_row_per_original_node(
        reference: backends.Backend, conv_model: Path) -> None:
    profile = wb.profile(conv_model, backend="reference", warmup=1, runs=3, profile_runs=2)
    document = profile.to_dict()
    assert [row["name"] for row in profile.layers] == CONV_NODES
    assert [row["original_nodes"] for row in profile.layers] == [[n] for n in CONV_NODES]
    assert all(row["duration_us"]["count"] == 2 and row["calls"] == 1 for row in profile.layers)
    assert profile.layers[0]["macs"] == 16 * 32 * 32 * 3 * 3 * 3
    assert profile.layers[0]["output_shapes"] == [[1, 16, 32, 32]]
    assert document["backend"]["providers"] == ["numpy"]
    assert document["versions"]["numpy"] == np.__version__
    assert [e["name"] for e in profile.trace_events] == CONV_NODES
    assert len(document["latency"]["samples_ms"]) == 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reference_outputs_match_onnxruntime_in_the_models_types(
        reference: backends.Backend, conv_model: Path, dtype: str) -> None:
    options = {"dtype": dtype, "keep_outputs": True}
    ours = wb.profile(conv_model, backend="reference", options=options, warmup=0, runs=1,
                      profile_runs=0, inputs={"x": {"seed": 3}})
    theirs = wb.profile(conv_model, warmup=0, runs=1, profile_runs=0, inputs={"x": {"seed": 3}},
                        keep_outputs=True)
    assert ours.outputs[0]["dtype"] == theirs.outputs[0]["dtype"] == "float32"
    # a plug-in's runner sends plain lists, the built-in runners base64: both read back alike
    np.testing.assert_allclose(ours.output_values(), theirs.output_values(), rtol=1e-4, atol=1e-6)


def test_output_values_stay_on_the_device_unless_asked_for(
        reference: backends.Backend, conv_model: Path) -> None:
    outputs = wb.profile(conv_model, backend="reference", warmup=0, runs=1,
                         profile_runs=0).to_dict()["outputs"]
    assert "values" not in outputs[0] and len(outputs[0]["sha256"]) == 64


def _tricky_model(path: Path) -> Path:
    """Strided, grouped, dilated and padded windows, ceil_mode pools, BatchNormalization,
    broadcasting, Reshape, Gather, MatMul and Softmax of opset 11 (flattening semantics)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)

    def const(name: str, array: Any) -> Any:
        return numpy_helper.from_array(np.asarray(array), name)

    initializers = [
        const("w1", rng.standard_normal((6, 2, 3, 2)).astype(np.float32)),
        const("b1", rng.standard_normal(6).astype(np.float32)),
        *(const(f"bn.{p}", rng.uniform(0.5, 1.5, 6).astype(np.float32))
          for p in ("scale", "bias", "mean", "var")),
        const("half", np.float32(0.5)), const("shape", np.array([1, 6, -1], np.int64)),
        const("index", np.array([-1, 0, 2], np.int64)),
        const("w2", rng.standard_normal((20, 5)).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], name="conv", group=2,
                         strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["n"], name="bn", epsilon=1e-3),
        helper.make_node("AveragePool", ["n"], ["a"], name="avg", kernel_shape=[3, 2],
                         strides=[2, 2], pads=[1, 1, 1, 0], ceil_mode=1, count_include_pad=1),
        helper.make_node("MaxPool", ["n"], ["m"], name="max", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        helper.make_node("Mul", ["m", "half"], ["h"], name="mul"),
        helper.make_node("Add", ["a", "h"], ["s"], name="add"),
        helper.make_node("Reshape", ["s", "shape"], ["r"], name="reshape"),
        helper.make_node("Gather", ["r", "index"], ["g"], name="gather", axis=1),
        helper.make_node("MatMul", ["g", "w2"], ["mm"], name="matmul"),
        helper.make_node("Softmax", ["mm"], ["y"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tricky", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 11, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5])], initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), path)
    return path


def test_the_reference_backend_agrees_with_onnxruntime_on_tricky_windows_and_opsets(
        reference: backends.Backend, tmp_path: Path) -> None:
    report = check_backend("reference", _tricky_model(tmp_path / "tricky.onnx"))
    assert report.ok, str(report)
    assert report["outputs match onnxruntime"].passed is True


def test_a_model_with_an_op_the_reference_lacks_is_refused_before_it_is_shipped(
        reference: backends.Backend, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Erf", ["x"], ["y"], name="erf")], "erf",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(errors.BackendUnavailable, match="no kernel for Erf"):
        wb.profile(path, backend="reference", runs=1)


# --- conformance ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["onnxruntime", "reference"])
def test_check_backend_passes_for_a_conforming_backend(name: str) -> None:
    assert name in backends.available(), INSTALL
    report = check_backend(name)
    assert report.ok, str(report)
    assert report["outputs match onnxruntime"].passed is True
    assert report["layers cover nodes"].passed is True


class _Careless(backends.Backend):
    """A backend that breaks the contract in several ways at once."""

    name = "careless"
    runtime = "numpy"
    options = (backends.Option("level", "int", "high", "a default of the wrong type"),
               backends.Option("level", "int", 1, "the same name again"))

    def prepare(self, model: Any, options: dict[str, Any]) -> list[Path]:
        return model.files()

    def runner_path(self) -> Path:
        return Path("/nonexistent/careless_runner.py")


def test_check_backend_reports_broken_contracts_without_raising() -> None:
    report = check_backend(_Careless())
    assert not report.ok
    failed = {check.name for check in report.failed}
    assert {"option schema", "runner file", "real run"} <= failed
    assert "'level'" in report["option schema"].detail
    assert report["outputs match onnxruntime"].passed is None
    assert "FAIL  runner file" in str(report) and "FAIL" in report._repr_html_()


def test_check_backend_reports_a_runner_of_another_api(tmp_path: Path) -> None:
    runner = tmp_path / "old_runner.py"
    runner.write_text("RUNNER_API = 0\n\ndef run(job):\n    return {}\n")

    class OldRunner(_Careless):
        options = ()

        def runner_path(self) -> Path:
            return runner

    check = check_backend(OldRunner())["runner API"]
    assert check.passed is False
    assert "RUNNER_API is 0" in check.detail and "run takes (job)" in check.detail


# --- broken plug-ins ------------------------------------------------------------------------


def test_a_broken_plugin_warns_by_name_and_hides_no_other(
        broken_plugin: None, reference: backends.Backend) -> None:
    assert "broken" in backends.available()
    with pytest.warns(BackendPluginWarning, match="'broken'"):
        loaded = backends.load_all()
    assert {"onnxruntime", "reference"} <= set(loaded)
    assert "broken" not in loaded


def test_getting_a_broken_plugin_raises_backend_not_found_naming_the_cause(
        broken_plugin: None) -> None:
    with pytest.raises(errors.BackendNotFound, match="No module named 'no_such_module'") as caught:
        backends.get("broken")
    assert caught.value.where == "no_such_module:Thing"


# --- options --------------------------------------------------------------------------------


def test_an_unknown_option_lists_the_accepted_ones(reference: backends.Backend) -> None:
    with pytest.raises(errors.UnknownOption, match="Accepted options: dtype, keep_outputs"):
        reference.validate_options({"dtpye": "float64"})


@pytest.mark.parametrize("options", [{"dtype": 64}, {"dtype": "float16"},
                                     {"keep_outputs": "yes"}, {"keep_outputs": 1}])
def test_a_bad_type_or_choice_raises_invalid_option_value(
        reference: backends.Backend, options: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidOptionValue, match=next(iter(options))):
        reference.validate_options(options)


def test_profile_refuses_a_bad_option_before_running(
        reference: backends.Backend, conv_model: Path) -> None:
    events: list[dict[str, Any]] = []
    with pytest.raises(errors.InvalidOptionValue, match="Choose one of 'float32', 'float64'"):
        wb.profile(conv_model, backend="reference", options={"dtype": "float16"},
                   on_event=events.append)
    # refused before connecting: the only stage is the verdict
    assert [e.get("stage") for e in events] == ["failed"]
    assert events[0]["error"]["type"] == "InvalidOptionValue"


def test_options_get_their_defaults(reference: backends.Backend) -> None:
    assert reference.validate_options({"keep_outputs": True}) == {
        "dtype": "float32", "keep_outputs": True}


def test_onnxruntime_refuses_a_tflite_model_before_it_is_shipped() -> None:
    from workbench.models import load_model

    with pytest.raises(errors.BackendUnavailable, match=r"runs \.onnx models") as caught:
        wb.profile(load_model("zoo:small-cnn.tflite"), device="local", backend="onnxruntime",
                   runs=1)
    assert "litert" in caught.value.hint


@pytest.mark.parametrize("backend", ["onnxruntime", "litert"])
def test_a_runtime_missing_on_a_device_is_named_with_the_setup_command_for_its_backend(
        backend: str) -> None:
    from workbench.devices.base import DeviceInfo

    info = DeviceInfo.from_probe("pi5", "ssh", {"arch": "aarch64", "python": "3.11.2",
                                                "runtimes": {}})
    with pytest.raises(errors.BackendUnavailable, match="not installed") as missing:
        backends.get(backend).check_device(info, {})
    assert f"`workbench device setup pi5 --backend {backend}`" in (missing.value.hint or "")


@pytest.mark.parametrize(("name", "kind", "wanted", "refused"), [
    ("local", "local", "`pip install ai-edge-litert`", "device setup"),
    ("qemu:raspberry-pi-5", "emulated", "`workbench emulator build --user`", "device setup"),
    ("emu-pi5", "emulated", "`workbench device setup emu-pi5 --backend litert`", "pip")])
def test_a_missing_runtime_hints_the_install_that_works_for_the_device_kind(
        name: str, kind: str, wanted: str, refused: str) -> None:
    from workbench.devices.base import DeviceInfo

    info = DeviceInfo.from_probe(name, kind, {"arch": "aarch64", "python": "3.11.2",
                                              "runtimes": {}})
    with pytest.raises(errors.BackendUnavailable, match="not installed") as missing:
        backends.get("litert").check_device(info, {})
    assert missing.value.where == name
    assert wanted in (missing.value.hint or "") and refused not in (missing.value.hint or "")


def test_arm_nn_on_a_machine_that_is_not_aarch64_says_it_needs_an_arm_board_first() -> None:
    import platform

    if platform.machine() in ("aarch64", "arm64"):
        pytest.skip("this machine is an Arm machine")
    with pytest.raises(errors.BackendUnavailable,
                       match="Arm NN runs on aarch64 boards with Debian bookworm") as caught:
        wb.profile("zoo:small-cnn", device="local", backend="armnn", runs=1)
    assert caught.value.where == "local"
    assert "device setup local" not in (caught.value.hint or "")


def test_a_litert_profile_keeps_its_outputs_warnings_beside_the_per_op_times_own() -> None:
    pytest.importorskip("ai_edge_litert")
    profile = wb.profile("zoo:small-cnn.tflite", backend="litert", warmup=0, runs=1,
                         profile_runs=1, keep_outputs=True, max_output_values=1)
    warnings = profile.document["warnings"]
    assert any("more than the 1 kept" in w for w in warnings), warnings
