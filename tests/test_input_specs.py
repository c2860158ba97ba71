"""What a user gives for the inputs, before any job runs: spec files, command-line values,
image preprocessing, and integer inputs that must not be drawn at random."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

import workbench as wb
from workbench import errors
from workbench.inputs import from_text, image_preprocessing, job_inputs, read_spec


def _embedding(path: Path) -> wb.Model:
    """ids[1, 4] int64 -> Gather(table[16, 8]) -> y: the ids are indices."""
    table = helper.make_tensor("table", TensorProto.FLOAT, [16, 8], [0.5] * 128)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"], name="lookup")], "embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8])], [table])
    import onnx

    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return wb.load_model(path)


def test_an_index_input_without_a_value_names_the_node_that_reads_it(tmp_path: Path) -> None:
    model = _embedding(tmp_path / "emb.onnx")
    with pytest.raises(errors.InputSpecError, match="Gather node 'lookup'") as caught:
        job_inputs(model)
    assert "--input ids=VALUE" in caught.value.hint
    entries, _ = job_inputs(model, {"ids": {"low": 0, "high": 16}})
    assert entries[0]["high"] == 16


def test_a_spec_file_resolves_paths_beside_it_and_takes_numbers(tmp_path: Path) -> None:
    np.save(tmp_path / "ids.npy", np.array([[1, 2, 3, 4]], np.int64))
    (tmp_path / "spec.json").write_text(json.dumps({"ids": "ids.npy", "sr": 16000}))
    assert read_spec(tmp_path / "spec.json") == {"ids": str(tmp_path / "ids.npy"), "sr": 16000}
    entries, files = job_inputs(_embedding(tmp_path / "emb.onnx"),
                                {"ids": str(tmp_path / "ids.npy")})
    assert entries[0]["given"] == "file ids.npy" and files


@pytest.mark.parametrize(("text", "match"), [
    ("{not json", "not valid JSON"), ("[1, 2]", "does not hold a JSON object")])
def test_a_broken_spec_file_says_what_is_wrong(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "spec.json").write_text(text)
    with pytest.raises(errors.InputSpecError, match=match):
        read_spec(tmp_path / "spec.json")
    with pytest.raises(errors.InputSpecError, match="cannot be read"):
        read_spec(tmp_path / "missing.json")


def test_command_line_values_become_numbers_arrays_or_images() -> None:
    assert from_text("sr", "16000") == 16000
    assert from_text("x", "a.npy") == "a.npy"
    assert from_text("x", "cat.JPG", {"layout": "NHWC"}) == {
        "kind": "image", "path": "cat.JPG", "layout": "NHWC"}
    with pytest.raises(errors.InputSpecError, match="neither a number"):
        from_text("sr", "fast")


def test_image_preprocessing_flags_are_checked() -> None:
    assert image_preprocessing(size="48x192", mean="0.5,0.5,0.5", layout="nhwc") == {
        "size": [48, 192], "mean": [0.5, 0.5, 0.5], "layout": "NHWC"}
    with pytest.raises(errors.InputSpecError, match="not 3 numbers"):
        image_preprocessing(std="0.2,0.2")
    with pytest.raises(errors.InputSpecError, match="NCHW or NHWC"):
        image_preprocessing(layout="CHW")


def test_a_file_that_is_not_an_array_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ids.npy").write_text("not an array")
    with pytest.raises(errors.InputSpecError, match=r"not a \.npy array"):
        job_inputs(_embedding(tmp_path / "emb.onnx"), {"ids": str(tmp_path / "ids.npy")})
