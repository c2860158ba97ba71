"""Every way a model can fail to load raises its own error, saying what, where and a hint."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import helper

from tests.models.conftest import make_model, save, weights
from workbench import errors
from workbench.models import load_model, zoo
from workbench.models._validate import max_supported_opset


def _relu(opset: int = 17) -> onnx.ModelProto:
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                      [("x", [1, 4])], [("y", [1, 4])], opset=opset)


def _external(tmp_path: Path) -> Path:
    model = make_model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                       [("x", [1, 64])], [("y", [1, 32])], {"W": weights(64, 32)})
    path = tmp_path / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, location="ext.data", size_threshold=0)
    return path


def test_a_missing_file_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(errors.ModelNotFound) as caught:
        load_model(tmp_path / "missing.onnx")
    assert caught.value.where == str(tmp_path / "missing.onnx")
    assert "workbench zoo" in caught.value.hint


def test_an_empty_file_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(errors.ModelTruncated, match="empty"):
        load_model(path)


def test_a_file_cut_in_half_is_truncated(tmp_path: Path, chain_model: Path) -> None:
    data = chain_model.read_bytes()
    path = tmp_path / "half.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.ModelTruncated, match="cut short") as caught:
        load_model(path)
    assert caught.value.where == str(path)


def test_a_text_file_is_not_an_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("These are my notes about the model.\nNothing binary here.\n")
    with pytest.raises(errors.NotAnOnnxModel, match="text file"):
        load_model(path)


def test_a_png_image_is_not_an_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "cat.onnx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
                     b"\x08\x02\x00\x00\x00\x90wS\xde")
    with pytest.raises(errors.NotAnOnnxModel, match="PNG"):
        load_model(path)


def test_random_binary_bytes_are_not_an_onnx_model() -> None:
    with pytest.raises(errors.NotAnOnnxModel):
        load_model(bytes(range(256)) * 4)


def test_a_missing_external_data_file_is_named(tmp_path: Path) -> None:
    path = _external(tmp_path)
    (tmp_path / "ext.data").unlink()
    with pytest.raises(errors.MissingExternalData, match=r"ext\.data") as caught:
        load_model(path)
    assert caught.value.where == str(tmp_path / "ext.data")


def test_a_short_external_data_file_is_missing_data(tmp_path: Path) -> None:
    path = _external(tmp_path)
    data = tmp_path / "ext.data"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(errors.MissingExternalData, match="is 1000 bytes"):
        load_model(path)


def test_external_data_given_as_bytes_has_no_folder_to_come_from(tmp_path: Path) -> None:
    path = _external(tmp_path)
    with pytest.raises(errors.MissingExternalData, match=r"ext\.data") as caught:
        load_model(path.read_bytes())
    assert "path" in caught.value.hint


def test_an_opset_newer_than_onnxruntime_supports_is_unsupported(tmp_path: Path) -> None:
    newest, basis = max_supported_opset()
    path = save(_relu(opset=newest + 1), tmp_path / "future.onnx")
    with pytest.raises(errors.UnsupportedOpset, match=f"opset {newest + 1}") as caught:
        load_model(path)
    assert basis in caught.value.what


def test_an_opset_below_7_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(errors.UnsupportedOpset, match="below 7"):
        load_model(save(_relu(opset=6), tmp_path / "old.onnx"))


def test_a_graph_the_checker_rejects_is_invalid(tmp_path: Path) -> None:
    # "ghost" is neither an input, an initializer nor any node's output.
    model = make_model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")],
                       [("x", [1, 4])], [("y", [1, 4])])
    with pytest.raises(errors.InvalidGraph, match="checker"):
        load_model(save(model, tmp_path / "dangling.onnx"))


def test_a_graph_strict_shape_inference_rejects_is_invalid(tmp_path: Path) -> None:
    model = make_model([helper.make_node("Add", ["a", "b"], ["y"], name="add")],
                       [("a", [2, 3]), ("b", [4, 5])], [("y", [2, 3])])
    with pytest.raises(errors.InvalidGraph, match="Shape inference"):
        load_model(save(model, tmp_path / "mismatch.onnx"))


def test_an_unknown_zoo_name_lists_the_known_ones() -> None:
    with pytest.raises(errors.UnknownZooModel) as caught:
        load_model("zoo:resnet9000")
    assert "mobilenetv2" in caught.value.hint and "resnet50" in caught.value.hint
    assert caught.value.where == "zoo:resnet9000"


def test_something_that_is_no_model_source_is_refused() -> None:
    with pytest.raises(errors.NotAnOnnxModel, match="not a model source"):
        load_model(42)  # type: ignore[arg-type]


def test_an_op_type_that_is_not_utf8_is_a_corrupt_model() -> None:
    data = zoo.path("small-cnn").read_bytes()
    field = b'"\x04Conv'  # NodeProto.op_type (field 4), length 4
    assert field in data
    with pytest.raises(errors.NotAnOnnxModel, match="not valid UTF-8"):
        load_model(data.replace(field, b'"\x04\xffonv', 1))


@pytest.mark.parametrize("source", ["zoo:small-cnn", "zoo:small-cnn.tflite"])
def test_damaged_copies_of_a_model_fail_only_with_workbench_errors(source: str) -> None:
    """Truncations, bit flips and zeroed runs anywhere in the file: never a raw exception."""
    import random

    data = (zoo.twin_path("small-cnn") if source.endswith(".tflite")
            else zoo.path("small-cnn")).read_bytes()
    rng = random.Random(source)
    for _ in range(150):
        damaged = bytearray(data)
        how = rng.choice(("truncate", "flip", "zero"))
        at = rng.randrange(len(damaged))
        if how == "truncate":
            del damaged[at:]
        elif how == "flip":
            damaged[at] ^= 1 << rng.randrange(8)
        else:
            damaged[at:at + 16] = bytes(len(damaged[at:at + 16]))
        try:
            load_model(bytes(damaged))
        except errors.WorkbenchError:
            pass
