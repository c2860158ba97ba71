"""Saving is exact and atomic: a profile loads back as it was, and nothing saved is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import ProfileError
from workbench.profiling import Profile


def test_save_then_load_round_trips_the_document_exactly(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    profile_document["latency"]["cold_ms"] = 0.1 + 0.2  # 0.30000000000000004
    profile_document["latency"]["session_create_ms"] = 1e-300
    profile = Profile(profile_document)
    loaded = Profile.load(profile.save(tmp_path / "run.json"))
    assert loaded.to_dict() == profile.to_dict()
    assert loaded.document["latency"]["cold_ms"] == 0.1 + 0.2
    assert loaded.document["latency"]["session_create_ms"] == 1e-300


def test_round_trip_keeps_key_order(tmp_path: Path, profile: Profile) -> None:
    loaded = Profile.load(profile.save(tmp_path / "run.json"))
    assert list(loaded.document) == list(profile.document)
    assert list(loaded.layers[1]) == list(profile.layers[1])
    assert json.dumps(loaded.document) == json.dumps(profile.document)


def test_save_returns_the_path_and_leaves_no_temporary_files(tmp_path: Path,
                                                             profile: Profile) -> None:
    path = profile.save(tmp_path / "run.json")
    assert path == tmp_path / "run.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_failed_save_leaves_an_existing_file_untouched(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    path = tmp_path / "run.json"
    path.write_text("what the user saved before", encoding="utf-8")
    profile_document["backend"]["options"]["callback"] = object()  # not JSON-serialisable
    with pytest.raises(ProfileError, match="JSON cannot store"):
        Profile(profile_document).save(path)
    assert path.read_text(encoding="utf-8") == "what the user saved before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_save_refuses_nan_instead_of_writing_invalid_json(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    profile_document["latency"]["cold_ms"] = float("nan")
    with pytest.raises(ProfileError):
        Profile(profile_document).save(tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()


def test_save_into_a_missing_folder_is_a_profile_error(tmp_path: Path,
                                                       profile: Profile) -> None:
    with pytest.raises(ProfileError) as caught:
        profile.save(tmp_path / "no" / "such" / "run.json")
    assert "run.json" in str(caught.value.where)


def test_save_replaces_an_existing_profile(tmp_path: Path, document_factory: Any) -> None:
    path = tmp_path / "run.json"
    Profile(document_factory(label="first")).save(path)
    Profile(document_factory(label="second")).save(path)
    assert Profile.load(path).label == "second"


def test_to_dict_is_a_copy(profile: Profile) -> None:
    copied = profile.to_dict()
    copied["layers"][0]["name"] = "changed"
    assert profile.layers[0]["name"] == "input_nchwc"


def test_a_saved_profile_has_a_line_per_field_and_per_layer_and_reads_back_the_same(
        profile: Profile, tmp_path: Path) -> None:
    path = profile.save(tmp_path / "p.json")
    lines = path.read_text(encoding="utf-8").splitlines()
    layers = profile.to_dict()["layers"]
    assert len(layers) >= 2
    start = lines.index(' "layers": [')
    assert lines[start + len(layers) + 1] in (" ]", " ],"), "not one line per layer"
    assert sum(line.startswith(' "') for line in lines) == len(profile.to_dict())
    assert Profile.load(path).to_dict() == profile.to_dict()
