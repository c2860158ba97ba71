"""Arm NN on the emulated Arm board, end to end: Debian's Arm NN 22 (CpuAcc: the Arm Compute
Library's NEON kernels) profiles MobileNetV2's twin with per-operator and per-kernel rows.

One job of one timed and one profiled run (about 2.4 s per emulated inference on a quiet
machine); the other tests reuse it or run a one-operator model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench import errors
from workbench.devices.base import Device


@pytest.fixture(scope="module")
def armnn_profile(pi5: Device) -> wb.Profile:
    return wb.profile("zoo:mobilenetv2.tflite", device=pi5, backend="armnn", warmup=0, runs=1,
                      profile_runs=1, keep_outputs=True)


def test_the_probe_reports_arm_nn_and_its_backends_beside_onnxruntime(pi5: Device) -> None:
    info = pi5.probe()
    assert (info.runtime_version("armnn") or "").startswith("22.")
    assert {"CpuAcc", "CpuRef"} <= set(info.providers("armnn"))
    # Debian's pyarmnn and PyPI's onnxruntime (with numpy 2.x ahead on the path) in one root.
    assert info.runtime_version("onnxruntime") and (info.numpy or "").startswith("2.")


def test_mobilenetv2_rows_name_their_onnx_nodes_and_the_acl_kernels_that_ran(
        armnn_profile: wb.Profile) -> None:
    assert armnn_profile.kind == "emulated"
    assert armnn_profile.document["versions"]["numpy"].startswith("2.")  # pyarmnn on numpy 2
    rows = armnn_profile.layers
    convolutions = [r for r in rows if r["op_type"] == "Convolution2d"]
    assert len(convolutions) == 35
    assert all(r["reference_nodes"] and r["original_nodes"] for r in convolutions)
    kernels = {k["name"] for r in rows for k in r["kernels"]}
    assert any(k.startswith("NEGEMMAssemblyWrapperKernel/") for k in kernels)
    assert "NEDepthwiseConvolutionAssemblyKernelWrapper" in kernels
    twin = wb.load_model("zoo:mobilenetv2.tflite")
    assert sorted(n for r in rows for n in r["original_nodes"]) == sorted(
        n.name for n in twin.nodes)


def test_the_delegation_report_shows_every_layer_on_cpuacc(armnn_profile: wb.Profile) -> None:
    delegation = armnn_profile.document["delegation"]
    assert delegation["source"] == "runtime" and delegation["providers"] == ["CpuAcc"]
    assert delegation["fallback_nodes"] == [] and delegation["unseen_nodes"] == []


def test_outputs_match_onnxruntime_on_the_host(armnn_profile: wb.Profile) -> None:
    agreement = wb.compare_outputs(armnn_profile)
    row = agreement.rows[0]
    # Arm NN's fp32 GEMM and depthwise kernels sum in another order than onnxruntime's
    # MLAS; over 52 layers the logits differ by rounding only: the same top class, and a
    # cosine that fp32 rounding alone keeps above 0.9999 (a wrong layout or a dropped
    # activation gives < 0.9).
    assert row["top1_agreement"] == 1.0
    assert row["cosine"] > 0.9999
    assert row["max_abs_error"] < 1e-3 * max(1.0, float(np.abs(
        armnn_profile.output_values()).max()))


def _embedding_lookup_model(folder: Path) -> Path:
    """A one-operator .tflite with EMBEDDING_LOOKUP, which Arm NN 22's parser does not take."""
    from workbench.models.tflite import schema as sc
    from workbench.models.tflite.flatbuf import Node, Scalar, Vector, serialize

    ids = Node({sc.TENSOR_SHAPE: Vector("i", [2]), sc.TENSOR_NAME: "ids",
                sc.TENSOR_TYPE: Scalar("b", 2)})  # int32
    table = Node({sc.TENSOR_SHAPE: Vector("i", [4, 3]), sc.TENSOR_NAME: "table",
                  sc.TENSOR_BUFFER: Scalar("I", 1)})
    out = Node({sc.TENSOR_SHAPE: Vector("i", [2, 3]), sc.TENSOR_NAME: "rows"})
    lookup = Node({sc.OP_OPCODE_INDEX: Scalar("I", 0), sc.OP_INPUTS: Vector("i", [0, 1]),
                   sc.OP_OUTPUTS: Vector("i", [2])})
    weights = np.arange(12, dtype=np.float32).tobytes()
    model = Node({
        sc.MODEL_VERSION: Scalar("I", 3),
        sc.MODEL_OPERATOR_CODES: Vector(None, [Node({sc.OPCODE_DEPRECATED_BUILTIN:
                                                     Scalar("b", 7),
                                                     sc.OPCODE_BUILTIN: Scalar("i", 7)})]),
        sc.MODEL_SUBGRAPHS: Vector(None, [Node({
            sc.SUBGRAPH_TENSORS: Vector(None, [ids, table, out]),
            sc.SUBGRAPH_INPUTS: Vector("i", [0]), sc.SUBGRAPH_OUTPUTS: Vector("i", [2]),
            sc.SUBGRAPH_OPERATORS: Vector(None, [lookup])})]),
        sc.MODEL_BUFFERS: Vector(None, [Node(), Node({sc.BUFFER_DATA: Vector("B", weights)})])})
    path = folder / "lookup.tflite"
    path.write_bytes(serialize(model, sc.IDENTIFIER))
    return path


def test_an_operator_arm_nn_cannot_parse_is_named_in_a_clear_error(
        pi5: Device, tmp_path: Path) -> None:
    model = wb.load_model(_embedding_lookup_model(tmp_path))
    with pytest.raises(errors.UnsupportedOperator) as caught:
        wb.profile(model, device=pi5, backend="armnn", inputs={"ids": np.array([0, 2],
                   dtype=np.int32)}, warmup=0, runs=1, profile_runs=0)
    assert "cannot parse" in caught.value.what and "lookup.tflite" in (caught.value.where or "")
    assert "litert" in (caught.value.hint or "")


def test_fp16_turbo_mode_rounds_through_fp16_and_keeps_one_row_per_operator(
        pi5: Device) -> None:
    # What Debian's Arm NN 22 does with fp16 on the emulated Cortex-A76 (which has fp16
    # arithmetic): the optimizer puts fp32<->fp16 conversions around the layers CpuAcc takes
    # in fp16, so the outputs carry fp16's rounding; the GEMM and convolution kernels named
    # in the profile stay the fp32 ones of that Arm Compute Library build.
    runs = {fp16: wb.profile("zoo:small-cnn.tflite", device=pi5, backend="armnn",
                             options={"fp16": fp16}, warmup=0, runs=1, profile_runs=1,
                             keep_outputs=True) for fp16 in (False, True)}
    p = runs[True]
    assert p.document["backend"]["options"]["fp16"] is True
    half, full = (runs[fp16].output_values() for fp16 in (True, False))
    assert not np.array_equal(half, full)  # fp16 changed the numbers...
    # ...by fp16 rounding only (11 significant bits, over a few layers)
    assert np.abs(half - full).max() < 1e-2 * float(np.abs(full).max())
    rows = p.layers
    assert [r["op_type"] for r in rows] == [r["op_type"] for r in runs[False].layers]
    assert not any(row["op_type"].startswith("Convert") for row in rows)
    kernels = {k["name"] for row in rows for k in row["kernels"]}
    assert any("fp32" in k for k in kernels) and not any("fp16" in k for k in kernels)
