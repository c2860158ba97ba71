"""A profile by the reference a user gives: a file path, a history id, its start or its hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.profiling.conftest import make_document
from tests.test_history import own_history, saved  # noqa: F401  (own_history: autouse)
from workbench import history
from workbench.errors import HistoryError, ProfileFormatError
from workbench.profiling import Profile


def test_a_saved_file_is_read_from_its_path(tmp_path: Path) -> None:
    path = Profile(make_document(seed=4)).save(tmp_path / "run.json")
    assert history.load_profile(str(path)).document == Profile.load(path).document
    assert history.load_profile(path).document == Profile.load(path).document


def test_a_history_id_its_start_or_its_hash_finds_the_saved_profile() -> None:
    entry = saved(model="resnet")
    for reference in (entry.id, entry.id[:18], entry.id.rsplit("-", 1)[1]):
        assert history.load_profile(reference).model_name == "resnet"


def test_a_missing_json_file_is_not_looked_up_as_an_id(tmp_path: Path) -> None:
    saved()
    with pytest.raises(ProfileFormatError, match="There is no profile file"):
        history.load_profile(str(tmp_path / "typo.json"))


def test_an_unknown_id_says_how_to_list_the_ids() -> None:
    with pytest.raises(HistoryError, match="No saved profile has the id") as caught:
        history.load_profile("20990101")
    assert "workbench history" in str(caught.value.hint)
