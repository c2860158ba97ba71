"""wb.compare: profiles given as saved files, and the refusal of different models when asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.errors import InvalidOptionValue, ProfileError
from workbench.profiling import Profile

Factory = Callable[..., dict[str, Any]]


def test_compare_takes_saved_profile_files(document_factory: Factory, tmp_path: Path) -> None:
    paths = []
    for scale in (1.0, 2.0):
        path = tmp_path / f"p{scale:g}.json"
        Profile(document_factory(scale=scale, label=f"x{scale:g}")).save(path)
        paths.append(str(path))
    comparison = wb.compare(paths)
    assert comparison.labels == ("x1", "x2")
    assert comparison.latency_speedups()[1] == pytest.approx(0.5, rel=0.1)


def test_compare_refuses_what_is_neither_a_profile_nor_a_path() -> None:
    with pytest.raises(InvalidOptionValue, match="is not a profile"):
        wb.compare([3, 4])  # type: ignore[list-item]


def test_compare_refuses_profiles_of_different_models_only_when_asked(
        document_factory: Factory) -> None:
    other = document_factory()
    other["model"]["sha256"] = "ab" * 32
    profiles = [Profile(document_factory()), Profile(other)]
    with pytest.raises(ProfileError, match="different models"):
        wb.compare(profiles, allow_different_models=False)
    assert len(wb.compare(profiles).labels) == 2

