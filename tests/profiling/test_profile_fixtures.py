"""Every released profile format still loads (tests/fixtures/formats/profile-*.json)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.profiling import Profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
PROFILE_FIXTURES = sorted(FIXTURES.glob("profile-*.json"))


def test_there_is_a_fixture_of_every_profile_version() -> None:
    for version in ("1", "2"):
        assert any(path.name.startswith(f"profile-{version}-") for path in PROFILE_FIXTURES)


@pytest.mark.parametrize("path", PROFILE_FIXTURES, ids=lambda path: path.name)
def test_released_profile_fixture_loads_and_renders(path: Path) -> None:
    profile = Profile.load(path)
    assert profile.summary()
    assert len(profile.to_dataframe()) == len(profile.layers)
