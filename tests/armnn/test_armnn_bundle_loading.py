"""The armnn runner loads an Arm NN bundle's libraries from the runtime folder on its path,
and says so when they do not load (a bundle on a board it was not made for)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from workbench_agent.runner_api import AgentFailure
from workbench_agent.runners import armnn


def test_a_bundle_whose_libraries_do_not_load_is_a_clear_backend_unavailable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libs = tmp_path / "armnn-lib"
    libs.mkdir()
    (libs / "libarmnn.so.22").write_bytes(b"not a shared library for this machine")
    (tmp_path / "armnn-bundle.json").write_text(json.dumps(
        {"libraries": ["libarmnn.so.22"], "backends": "armnn-lib/backends"}))
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setattr(armnn, "_BUNDLE", {})
    with pytest.raises(AgentFailure) as caught:
        armnn.probe()
    assert caught.value.kind == "BackendUnavailable"
    assert "libraries do not load on this board" in caught.value.what
    assert caught.value.where == str(libs) and "bookworm" in (caught.value.hint or "")
