"""Arm NN's profiler output becomes per-operator rows with their kernels, on the host.

The fixtures were recorded from Arm NN 22 (Debian bookworm arm64, CpuAcc) running
``zoo:mobilenetv2.tflite`` under qemu-user: the optimized graph
(``IOptimizedNetwork.SerializeToDot``) and the profiler's JSON of two profiled
runs. The end-to-end run on the emulated board is in tests/emulator.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from workbench_agent import armnn_profile

import workbench as wb
from workbench import backends, errors
from workbench.jobs.document import is_mac_kernel, layer_table
from workbench.models import Model
from workbench.profiling.delegation import delegation_section

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "armnn"


@pytest.fixture(scope="module")
def dot() -> str:
    return (FIXTURES / "mobilenetv2-optimized.dot").read_text()


@pytest.fixture(scope="module")
def profiler() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "mobilenetv2-profiler.json").read_text()))


@pytest.fixture(scope="module")
def twin() -> Model:
    return wb.load_model("zoo:mobilenetv2.tflite")


def runner_result(dot: str, profiler: dict[str, Any]) -> dict[str, Any]:
    layers = armnn_profile.graph_layers(dot)
    rows, warnings = armnn_profile.layer_rows(layers, armnn_profile.workload_runs(profiler))
    return {"layers": rows, "warnings": warnings,
            "operator_backends": armnn_profile.placement(layers)}


def test_each_profiled_run_is_read_from_the_raw_lists(profiler: dict[str, Any]) -> None:
    runs = armnn_profile.workload_runs(profiler)
    assert len(runs) == 2 and len(runs[0]) == len(runs[1]) == 104
    assert runs[0][0]["workload"] == "NeonConvolution2dWorkload"
    assert runs[0][0]["us"] != runs[1][0]["us"]


def test_every_operator_of_the_model_has_a_row_and_no_workload_is_left_out(
        dot: str, profiler: dict[str, Any], twin: Model) -> None:
    result = runner_result(dot, profiler)
    assert result["warnings"] == []
    covered = sorted(i for row in result["layers"] for i in row["operators"])
    assert covered == list(range(len(twin.nodes)))
    assert sum(len(row["layers"]) for row in result["layers"]) == 104


def test_a_convolution_with_its_fused_relu6_is_one_row(dot: str, profiler: dict[str, Any],
                                                      twin: Model) -> None:
    rows = backends.get("armnn").layer_rows(runner_result(dot, profiler), twin)
    fused = [r for r in rows if any(name.endswith(":RELU6") for name in r["layers"])]
    assert fused
    for row in fused:
        assert len(row["original_nodes"]) >= 1
        assert [k["name"] for k in row["kernels"]][-1] == "NEActivationLayerKernel"
        assert twin.nodes[row["operators"][-1]].op_type in ("CONV_2D", "DEPTHWISE_CONV_2D")
    # No row of an activation on its own: Arm NN's separate ReLU6 layers all joined a row.
    assert not any(r["op_type"] == "Activation" for r in rows)


def test_rows_name_the_tflite_operators_and_the_onnx_nodes_they_stand_for(
        dot: str, profiler: dict[str, Any], twin: Model) -> None:
    rows = backends.get("armnn").layer_rows(runner_result(dot, profiler), twin)
    onnx_names = {n.name for n in twin.reference.nodes}  # type: ignore[union-attr]
    conv_rows = [r for r in rows if r["op_type"] == "Convolution2d"]
    assert all(r["kind"] == "compute" and r["reference_nodes"] for r in conv_rows)
    assert {n for r in rows for n in r["reference_nodes"]} <= onnx_names
    assert {n for r in rows for n in r["original_nodes"]} == {n.name for n in twin.nodes}


def test_kernel_rows_carry_the_acl_kernel_name_time_and_share(
        dot: str, profiler: dict[str, Any], twin: Model) -> None:
    rows = backends.get("armnn").layer_rows(runner_result(dot, profiler), twin)
    table = layer_table(rows, twin)
    first = table[0]
    names = [k["name"] for k in first["kernels"]]
    assert names == ["NEIm2ColKernel", "NEGEMMAssemblyWrapperKernel/hybrid_fp32_mla_16x4",
                     "NEActivationLayerKernel"]
    assert sum(k["share"] for k in first["kernels"]) == pytest.approx(1.0)
    gemm = first["kernels"][1]
    assert gemm["duration_us"]["median"] == pytest.approx((1348248.775 + 1155555.12) / 2)
    # GFLOP/s counts the layer's MACs against the GEMM kernel, never against im2col.
    assert gemm["gflops_per_s"] == pytest.approx(
        2 * first["macs"] / (gemm["duration_us"]["median"] * 1e3))
    assert first["kernels"][0]["gflops_per_s"] is None
    assert first["kernels"][2]["gflops_per_s"] is None


@pytest.mark.parametrize(("kernel", "macs"), [
    ("NEGEMMAssemblyWrapperKernel/hybrid_fp32_mla_16x4", True),
    ("NEDepthwiseConvolutionAssemblyKernelWrapper", True),
    ("NEGEMMAssemblyWrapperKernel/sgemv_pretransposed", True),
    ("NEGEMMAssemblyWrapperKernel/smallK_hybrid_fp32_mla_4x6", True),
    ("NEWinogradLayerTransformInputKernel", False), ("NEWinogradLayerTransformOutputKernel", False),
    ("NEIm2ColKernel", False), ("NEPadLayerKernel", False), ("NEActivationLayerKernel", False)])
def test_only_gemm_and_convolution_kernels_count_macs(kernel: str, macs: bool) -> None:
    assert is_mac_kernel(kernel) is macs


def test_a_workload_order_that_disagrees_with_the_graph_keeps_the_workload_names(
        dot: str, profiler: dict[str, Any]) -> None:
    layers = armnn_profile.graph_layers(dot)
    runs = copy.deepcopy(armnn_profile.workload_runs(profiler))
    for run in runs:
        run[0]["type"], run[1]["type"] = run[1]["type"], run[0]["type"]
    rows, warnings = armnn_profile.layer_rows(layers, runs)
    assert warnings and "rows keep the workload names" in warnings[0]
    assert all(row["operators"] == [] for row in rows)


def test_the_delegation_report_names_the_layers_that_fell_back_to_cpuref(
        dot: str, profiler: dict[str, Any], twin: Model) -> None:
    # Recorded with every layer on CpuAcc; the graph is edited so one falls back.
    fallback = dot.replace("LayerName : Mean:0:67\\lLayerType : Mean\\lBackendID : CpuAcc",
                           "LayerName : Mean:0:67\\lLayerType : Mean\\lBackendID : CpuRef")
    assert fallback != dot
    backend = backends.get("armnn")
    placed = backend.placement(runner_result(fallback, profiler), twin)
    section = delegation_section([(n.name, n.macs) for n in twin.nodes], placement=placed,
                                 requested=["CpuAcc", "CpuRef"])
    assert section["providers"] == ["CpuAcc", "CpuRef"] and section["source"] == "runtime"
    assert section["fallback_nodes"] == [twin.nodes[67].name]
    assert section["unseen_nodes"] == []


def test_options_take_arm_nn_backend_names_only() -> None:
    backend = backends.get("armnn")
    assert backend.validate_options({})["backends"] == ["CpuAcc", "CpuRef"]
    with pytest.raises(errors.InvalidOptionValue, match="CpuAcc, CpuRef, GpuAcc"):
        backend.validate_options({"backends": ["NEON"]})
    with pytest.raises(errors.UnknownOption, match="threads"):
        backend.validate_options({"threads": 4})


def test_an_onnx_model_runs_through_its_twin_and_its_rows_name_its_own_nodes(
        dot: str, profiler: dict[str, Any]) -> None:
    onnx_model = wb.load_model("zoo:mobilenetv2")
    backend = backends.get("armnn")
    files = backend.prepare(onnx_model, backend.validate_options({}))
    assert files[0].suffix == ".tflite"
    rows = backend.layer_rows(runner_result(dot, profiler), onnx_model)
    onnx_names = {n.name for n in onnx_model.nodes}
    covered = {n for r in rows for n in r["original_nodes"]}
    assert covered <= onnx_names and len(covered) > 0.9 * len(onnx_names)


def test_an_onnx_model_without_a_twin_is_told_to_convert_it_first() -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Erf", ["x"], ["y"], name="erf")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = wb.load_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    backend = backends.get("armnn")
    with pytest.raises(errors.BackendUnavailable, match="Erf") as caught:
        backend.prepare(model, backend.validate_options({}))
    assert "Convert it to .tflite first" in (caught.value.hint or "")


def test_the_layer_table_shows_each_layers_kernels_with_gflops_against_the_peak(
        dot: str, profiler: dict[str, Any], twin: Model) -> None:
    from workbench.views.kernels import kernel_text
    from workbench.views.layers import layer_html

    rows = backends.get("armnn").layer_rows(runner_result(dot, profiler), twin)
    table = layer_table(rows, twin, peak_gflops=153.6)
    gemm = table[0]["kernels"][1]
    assert gemm["peak_share"] == pytest.approx(gemm["gflops_per_s"] / 153.6)
    html = layer_html(table[:3])
    assert html.count('<tr class="kernels">') == 3
    assert "NEGEMMAssemblyWrapperKernel/hybrid_fp32_mla_16x4" in html and "of peak" in html
    lines = kernel_text(table[:1])
    assert lines[0].strip().startswith("1 ") and "NEIm2ColKernel" in lines[1]
    assert "GFLOP/s" in lines[2] and "GFLOP/s" not in lines[1]


def test_a_backend_the_boards_arm_nn_lacks_is_refused_with_the_ones_it_has() -> None:
    from workbench.devices.base import DeviceInfo

    info = DeviceInfo(name="pi", kind="ssh", arch="aarch64", python="3.11.2", runtimes={
        "armnn": {"version": "22.0.0", "providers": ["CpuAcc", "CpuRef"]}})
    backend = backends.get("armnn")
    backend.check_device(info, backend.validate_options({}))
    with pytest.raises(errors.BackendUnavailable, match="GpuAcc is not available") as caught:
        backend.check_device(info, backend.validate_options({"backends": ["GpuAcc", "CpuAcc"]}))
    assert caught.value.hint == "Available backends: CpuAcc, CpuRef"
    assert backend.device_choices(info) == {"backends": ["CpuAcc", "CpuRef"]}


def test_fp16_conversion_layers_join_their_operators_row_without_naming_it() -> None:
    # The optimized graph of a FullyConnected run in fp16 turbo mode (Arm NN 22 on CpuAcc):
    # a conversion to fp16 before the layer and one back to fp32 after it.
    layers = [{"name": name, "type": kind, "backend": "CpuAcc",
               "operators": armnn_profile.operators(name)} for name, kind in (
        ("input", "Input"), ("Reshape:0:6", "Reshape"),
        ("convert_fp32_to_fp16-0-FullyConnected:0:7", "ConvertFp32ToFp16"),
        ("FullyConnected:0:7", "FullyConnected"),
        ("convert_fp16_to_fp32-0-FullyConnected:0:7", "ConvertFp16ToFp32"),
        ("output", "Output"))]

    def workload(kind: str, us: float, *kernels: str) -> dict[str, Any]:
        return {"workload": f"Neon{kind}Workload", "backend": "CpuAcc", "type": kind, "us": us,
                "kernels": [{"name": k, "us": us / 2} for k in kernels]}

    run = [workload("Reshape", 1.0, "NEReshapeLayerKernel"), workload("ConvertFp32ToFp16", 2.0),
           workload("FullyConnected", 30.0, "NEGEMMAssemblyWrapperKernel/sgemv_pretransposed"),
           workload("ConvertFp16ToFp32", 3.0)]
    rows, warnings = armnn_profile.layer_rows(layers, [run])
    assert warnings == []
    assert [(r["name"], r["op_type"]) for r in rows] == [
        ("Reshape:0:6", "Reshape"), ("FullyConnected:0:7", "FullyConnected")]
    fully_connected = rows[1]
    assert fully_connected["durations_us"] == [35.0]
    assert fully_connected["layers"] == [layer["name"] for layer in layers[2:5]]
