"""`workbench profile` with the flags real exports need: --shape by shown name, input:axis or
a whole input, --input values, arrays and images, --inputs spec files, --upgrade-opset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.models.wild import HIDDEN, SAMPLES, paddle_like, vad_like
from tests.test_cli import workbench


def _profiled(done: object, path: Path) -> dict:
    assert getattr(done, "returncode", None) == 0, getattr(done, "stderr", "")
    return json.loads(path.read_text())


def _run(model: Path, tmp_path: Path, *flags: str) -> object:
    return workbench("profile", str(model), "--warmup", "0", "--runs", "2", "--profile-runs",
                     "1", "-q", "--out", str(tmp_path / "r.html"), "--json",
                     str(tmp_path / "p.json"), *flags)


@pytest.fixture
def vad(tmp_path: Path) -> Path:
    return vad_like(tmp_path / "vad.onnx")


def test_a_scalar_an_array_and_shapes_given_on_the_command_line_reach_the_profile(
        vad: Path, tmp_path: Path) -> None:
    audio = tmp_path / "audio.npy"
    np.save(audio, np.linspace(-1, 1, SAMPLES, dtype=np.float32)[None])
    done = _run(vad, tmp_path, "--shape", f"input=1x{SAMPLES}", "--shape", "state:1=1",
                "--input", "sr=16000", "--input", f"input={audio}")
    document = _profiled(done, tmp_path / "p.json")
    given = {i["name"]: i["spec"].get("given") for i in document["inputs"]}
    assert given == {"input": "file audio.npy", "state": None, "sr": "value 16000"}
    assert [i["shape"] for i in document["inputs"]] == [[1, SAMPLES], [2, 1, HIDDEN], []]
    assert document["backend"]["options"]["free_dimension_overrides"] == {"batch": 1}


def test_dimension_sizes_typed_as_text_join_the_sizes_a_shape_fixed(
        vad: Path, tmp_path: Path) -> None:
    # the text form is read before the model's fixed dims join it (it crashed the command)
    done = _run(vad, tmp_path, "--shape", f"input=1x{SAMPLES}", "--shape", "state:1=1",
                "--input", "sr=16000", "-o", "free_dimension_overrides=unused:3")
    document = _profiled(done, tmp_path / "p.json")
    assert document["backend"]["options"]["free_dimension_overrides"] == {"batch": 1,
                                                                         "unused": 3}


def test_an_input_spec_file_gives_inputs_with_paths_relative_to_it(
        vad: Path, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    np.save(folder / "state.npy", np.zeros((2, 1, HIDDEN), np.float32))
    (folder / "inputs.json").write_text(json.dumps(
        {"sr": 8000, "state": "state.npy", "input": {"kind": "zeros"}}))
    done = _run(vad, tmp_path, "--shape", f"input=1x{SAMPLES}", "--shape", "batch=1",
                "--inputs", str(folder / "inputs.json"), "--input", "sr=16000")
    document = _profiled(done, tmp_path / "p.json")
    specs = {i["name"]: i["spec"] for i in document["inputs"]}
    assert specs["sr"]["given"] == "value 16000"  # --input wins over the file
    assert specs["state"]["given"] == "file state.npy" and specs["input"]["kind"] == "zeros"


def test_an_integer_scalar_without_a_value_exits_2_naming_the_input_and_the_flag(
        vad: Path, tmp_path: Path) -> None:
    done = _run(vad, tmp_path, "--shape", f"input=1x{SAMPLES}", "--shape", "batch=1")
    assert done.returncode == 2  # type: ignore[attr-defined]
    stderr = done.stderr  # type: ignore[attr-defined]
    assert "'sr' is an int64 scalar" in stderr and "--input sr=VALUE" in stderr
    assert "Traceback" not in stderr


def test_a_value_that_is_no_number_file_or_image_exits_2_with_the_forms(
        vad: Path, tmp_path: Path) -> None:
    done = _run(vad, tmp_path, "--input", "sr=sixteen-k")
    assert done.returncode == 2  # type: ignore[attr-defined]
    assert "neither a number" in done.stderr and "--input sr=16000" in done.stderr  # type: ignore[attr-defined]


def test_dims_by_shown_name_and_axis_and_an_image_input_profile_a_paddle_style_export(
        tmp_path: Path) -> None:
    model = paddle_like(tmp_path / "det.onnx")
    Image.new("RGB", (320, 100), (200, 30, 60)).save(tmp_path / "photo.png")
    done = _run(model, tmp_path, "--shape", "x:0=1", "--shape", "x_dim2=48", "--shape",
                "x:3=192", "--input", f"x={tmp_path / 'photo.png'}", "--image-mean",
                "0.5,0.5,0.5", "--image-std", "0.5,0.5,0.5")
    document = _profiled(done, tmp_path / "p.json")
    (x,) = document["inputs"]
    assert x["shape"] == [1, 3, 48, 192] and x["spec"]["given"] == "image photo.png"
    assert document["model"]["macs"] == 1 * 4 * 48 * 192 * 27


def test_inspect_shows_the_names_shape_accepts(tmp_path: Path) -> None:
    done = workbench("inspect", str(paddle_like(tmp_path / "det.onnx")))
    assert done.returncode == 0, done.stderr
    assert "['x_dim0', 3, 'x_dim2', 'x_dim3']" in done.stdout
    fixed = workbench("inspect", str(tmp_path / "det.onnx"), "--shape", "x=1x3x48x192")
    assert "[1, 3, 48, 192]" in fixed.stdout and "[1, 4, 48, 192]" in fixed.stdout


def test_inspect_of_a_tflite_model_shows_its_schema_version() -> None:
    done = workbench("inspect", "zoo:mlp.tflite")
    assert done.returncode == 0, done.stderr
    assert "TFLite schema v3" in done.stdout and "opset None" not in done.stdout
