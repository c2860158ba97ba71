"""quantize(): int8 QDQ models from onnxruntime's quantiser, linked to their fp32 source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench import errors
from workbench.accuracy import top1_accuracy
from workbench.models.zoo import digits_test_split

#: the largest top-1 drop from fp32 to int8 the digits classifier may show (one point)
DIGITS_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def mobilenet_int8() -> wb.Model:
    fp32 = wb.load_model("zoo:mobilenetv2")
    rng = np.random.default_rng(0)
    feeds = [{"input": rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)}
             for _ in range(4)]
    return wb.quantize(fp32, calibration=feeds)


def test_a_quantised_model_is_qdq_int8_and_keeps_a_link_to_its_source(
        mobilenet_int8: wb.Model) -> None:
    fp32 = wb.load_model("zoo:mobilenetv2")
    ops = {node.op_type for node in mobilenet_int8.nodes}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    link = mobilenet_int8.derived_from
    assert link is not None and link["sha256"] == fp32.sha256 and link["source"] == fp32.source
    assert "static int8 QDQ per-channel" in link["how"]


def test_quantising_reports_the_size_before_and_after(mobilenet_int8: wb.Model) -> None:
    details = (mobilenet_int8.derived_from or {})["details"]
    fp32 = wb.load_model("zoo:mobilenetv2")
    assert details["size_bytes_before"] == sum(p.stat().st_size for p in fp32.files())
    assert details["size_bytes_after"] == sum(p.stat().st_size for p in mobilenet_int8.files())
    assert details["size_bytes_after"] < details["size_bytes_before"] / 2


def test_an_int8_mobilenetv2_runs_and_its_agreement_with_fp32_is_computed(
        mobilenet_int8: wb.Model) -> None:
    profile = wb.profile(mobilenet_int8, warmup=0, runs=2, profile_runs=0, keep_outputs=True)
    assert profile.document["model"]["derived_from"]["name"] == "mobilenetv2"
    against_fp32 = wb.compare_outputs(profile)  # a quantised model's default: its fp32 source
    assert "fp32 source mobilenetv2" in against_fp32.reference
    row = against_fp32.rows[0]
    assert row["top1_agreement"] in (0.0, 1.0) and row["top5_agreement"] in (0.0, 1.0)
    assert row["max_abs_error"] > 0.0 and -1.0 <= row["cosine"] <= 1.0
    # The same int8 model on the host: the backend's own error, far below the quantisation's.
    on_host = wb.compare_outputs(profile, reference="host").rows[0]
    assert on_host["max_abs_error"] < row["max_abs_error"]


def test_the_digits_classifiers_int8_accuracy_is_within_one_point_of_fp32() -> None:
    x_test, y_test = digits_test_split()
    fp32 = wb.load_model("zoo:digits")
    int8 = wb.quantize(fp32)  # calibrated on the digits training split
    assert "digits training split" in (int8.derived_from or {})["details"]["calibration"]
    accuracy = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        profile = wb.profile(model, warmup=0, runs=1, profile_runs=0, keep_outputs=True,
                             inputs={"pixels": x_test})
        accuracy[name] = top1_accuracy(profile, y_test, output="logits")
    assert accuracy["fp32"] > 0.9  # a trained model: real accuracy, not agreement
    assert accuracy["fp32"] - accuracy["int8"] <= DIGITS_TOLERANCE, accuracy


def test_a_model_with_symbolic_dims_quantises_dynamically() -> None:
    model = wb.load_model("zoo:mlp-dynamic")
    int8 = wb.quantize(model, method="dynamic")
    assert int8.symbolic_dims == model.symbolic_dims
    ops = {node.op_type for node in int8.nodes}
    assert "DynamicQuantizeLinear" in ops or "MatMulInteger" in ops
    profile = wb.profile(int8.with_shapes(batch=2), warmup=0, runs=1, profile_runs=0,
                         keep_outputs=True)
    assert profile.document["model"]["derived_from"]["name"] == "mlp-dynamic"


def test_generated_calibration_quantises_a_model_from_outside_the_zoo(tmp_path: Path) -> None:
    from tests.conftest import conv_relu_model

    int8 = wb.quantize(conv_relu_model(tmp_path / "conv.onnx"), per_channel=False)
    link = int8.derived_from or {}
    assert "generated inputs" in link["details"]["calibration"]
    assert "per-tensor" in link["how"]


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="static"):
        wb.quantize("zoo:mlp", method="float16")  # type: ignore[arg-type]


def test_calibration_feeds_must_name_every_input() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="every input"):
        wb.quantize("zoo:mlp", calibration=[{"wrong": np.zeros((1, 256), np.float32)}])


def test_a_tflite_model_is_refused_with_what_to_do() -> None:
    pytest.importorskip("ai_edge_litert")
    with pytest.raises(errors.QuantizationFailed, match="ONNX"):
        wb.quantize("zoo:small-cnn.tflite")
