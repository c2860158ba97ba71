"""Profile(document) and Profile.load refuse what they cannot read, saying why and where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import ProfileFormatError, WorkbenchError
from workbench.profiling import Profile


def test_a_valid_document_is_accepted(profile_document: dict[str, Any]) -> None:
    assert Profile(profile_document).document is profile_document


def test_unknown_version_names_the_version_and_the_versions_this_build_reads(
        profile_document: dict[str, Any]) -> None:
    profile_document["schema"] = "workbench.profile/9"
    with pytest.raises(ProfileFormatError) as caught:
        Profile(profile_document)
    message = str(caught.value)
    assert "version 9" in message
    assert "workbench.profile/1" in message and "workbench.profile/2" in message


def test_another_kind_of_document_is_refused(profile_document: dict[str, Any]) -> None:
    profile_document["schema"] = "workbench.job/1"
    with pytest.raises(ProfileFormatError, match="Not a profile document"):
        Profile(profile_document)


def test_missing_required_field_is_named(profile_document: dict[str, Any]) -> None:
    del profile_document["latency"]
    with pytest.raises(ProfileFormatError, match="latency"):
        Profile(profile_document)


def test_wrong_type_deep_inside_is_located(profile_document: dict[str, Any]) -> None:
    profile_document["layers"][2]["calls"] = "many"
    with pytest.raises(ProfileFormatError, match="layers/2/calls"):
        Profile(profile_document)


def test_a_json_list_is_not_a_profile() -> None:
    with pytest.raises(ProfileFormatError, match="JSON object"):
        Profile([1, 2, 3])  # type: ignore[arg-type]


def test_load_of_a_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(ProfileFormatError) as caught:
        Profile.load(path)
    assert caught.value.where == str(path)


def test_load_of_text_that_is_not_json_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"schema": "workbench.profile/1", "kind": ', encoding="utf-8")
    with pytest.raises(ProfileFormatError, match="not valid JSON") as caught:
        Profile.load(path)
    assert caught.value.where == str(path)


def test_load_refuses_nan_which_strict_json_does_not_allow(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    path = tmp_path / "run.json"
    text = json.dumps(profile_document).replace('"cold_ms": 14.25', '"cold_ms": NaN')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileFormatError, match="NaN"):
        Profile.load(path)


def test_load_of_a_file_with_an_unknown_version_names_path_and_version(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    profile_document["schema"] = "workbench.profile/9"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(profile_document), encoding="utf-8")
    with pytest.raises(ProfileFormatError, match="version 9") as caught:
        Profile.load(path)
    assert caught.value.where == str(path)


def test_load_of_binary_garbage_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07\xff\xfe\x00binary")
    with pytest.raises(ProfileFormatError):
        Profile.load(path)


def test_format_errors_are_workbench_errors_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as caught:
        Profile.load(tmp_path / "missing.json")
    assert caught.value.hint
