"""Models from bytes: a name given with them, and uploads refused over the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import errors
from workbench.models import load_model
from workbench.models.upload import UPLOAD_LIMIT_BYTES, load_upload, upload_name


def test_bytes_take_the_name_given(conv_model: Path) -> None:
    model = load_model(conv_model.read_bytes(), name="detector")
    assert model.name == "detector"
    assert load_model(conv_model.read_bytes()).name == "model"


def test_a_path_and_a_zoo_model_take_the_name_given_too(conv_model: Path) -> None:
    assert load_model(conv_model, name="mine").name == "mine"
    assert load_model("zoo:mlp", name="tiny").name == "tiny"


def test_an_empty_name_is_refused(conv_model: Path) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not a model name"):
        load_model(conv_model.read_bytes(), name=" ")


def test_an_upload_is_named_after_its_file(conv_model: Path) -> None:
    model = load_upload(memoryview(conv_model.read_bytes()), "C:\\models\\det v2.onnx")
    assert model.name == "det v2"
    assert upload_name("") == "model"


def test_an_upload_over_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(errors.UploadTooLarge) as raised:
        load_upload(bytes(UPLOAD_LIMIT_BYTES + 1), "big.onnx")
    assert "over the upload limit of 50 MiB" in raised.value.what
    assert raised.value.where == "upload 'big.onnx'"
    assert "give its path instead" in raised.value.hint
