"""The host's default folders: platformdirs' places, found on Linux without importing it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import modules_loaded_by
from workbench import _paths

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="elsewhere the folders come from platformdirs itself")

XDG = {"cache": "XDG_CACHE_HOME", "config": "XDG_CONFIG_HOME", "data": "XDG_DATA_HOME"}


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/xdg", "/srv/xdg/", "rel/dir", "~/x"])
@pytest.mark.parametrize("kind", list(XDG))
def test_a_default_folder_is_where_platformdirs_puts_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str, xdg: str | None) -> None:
    import platformdirs

    monkeypatch.delenv(f"WORKBENCH_{kind.upper()}_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv(XDG[kind], raising=False)
    else:
        monkeypatch.setenv(XDG[kind], xdg)
    expected = Path(getattr(platformdirs, f"user_{kind}_dir")("workbench"))
    assert getattr(_paths, f"{kind}_dir")() == expected


@pytest.mark.parametrize("home", ["", "rel/home"])
def test_a_relative_home_counts_as_unset_as_in_platformdirs(
        monkeypatch: pytest.MonkeyPatch, home: str) -> None:
    import platformdirs

    for kind in XDG:
        monkeypatch.delenv(f"WORKBENCH_{kind.upper()}_DIR", raising=False)
        monkeypatch.delenv(XDG[kind], raising=False)
    monkeypatch.setenv("HOME", home)
    for kind in XDG:
        expected = Path(getattr(platformdirs, f"user_{kind}_dir")("workbench"))
        assert expected.is_absolute()
        assert getattr(_paths, f"{kind}_dir")() == expected


def test_finding_a_kept_connections_socket_does_not_import_platformdirs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in XDG:
        monkeypatch.delenv(f"WORKBENCH_{kind.upper()}_DIR", raising=False)
    statement = "import workbench._kept_link as link; link.socket_path('pi5')"
    assert modules_loaded_by(statement, ("platformdirs",)) == []
