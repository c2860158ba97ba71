"""The wheel that `pip install .` builds carries everything the main job needs.

The tests run against the source tree; this one builds the real wheel, unpacks it
into a folder of its own and runs the README's main job from there, so a data
file or agent module left out of the build fails here and not on a user's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAIN_JOB = """
import json, sys
import workbench
from workbench.cli import main
code = main(["profile", "zoo:small-cnn", "--runs", "3", "--warmup", "0", "--profile-runs", "1",
             "--out", sys.argv[1], "-q"])
import workbench_agent
print(json.dumps({"code": code, "workbench": workbench.__file__,
                  "agent": workbench_agent.__file__}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    [built] = out.glob("edge_workbench-*.whl")
    return built


def test_the_wheel_holds_the_schemas_the_catalog_and_the_agent(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    # (folder in the source tree, what its files are called inside the wheel relative to)
    sources = [(ROOT / "workbench" / "formats" / "schemas", ROOT),
               (ROOT / "workbench" / "targets" / "data", ROOT),
               (ROOT / "remote" / "workbench_agent", ROOT / "remote")]
    expected = {path.relative_to(base).as_posix() for folder, base in sources
                for path in folder.rglob("*") if path.is_file()
                and "__pycache__" not in path.parts}
    assert expected and not expected - names, f"left out: {sorted(expected - names)}"


def test_the_main_job_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(target)}  # ahead of the editable source tree
    report = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-c", MAIN_JOB, str(report)], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["code"] == 0
    assert found["workbench"].startswith(str(target))
    assert found["agent"].startswith(str(target))
    assert "small-cnn" in report.read_text()


LABEXTENSION = "share/jupyter/labextensions/edge-workbench"


def _shared_data(names: set[str]) -> set[str]:
    """The wheel's shared-data files, relative to the environment's prefix."""
    marker = ".data/data/"
    return {name.split(marker, 1)[1] for name in names if marker in name}


def test_the_wheel_carries_the_prebuilt_lab_extension_and_the_server_config(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shared = _shared_data(names)
    assert f"{LABEXTENSION}/package.json" in shared
    assert f"{LABEXTENSION}/install.json" in shared
    assert f"{LABEXTENSION}/static/style.js" in shared
    assert any(n.startswith(f"{LABEXTENSION}/static/remoteEntry.") for n in shared)
    assert "etc/jupyter/jupyter_server_config.d/workbench.json" in shared
    assert "workbench/server/handlers.py" in names
    # shipped once, under share/, and no TypeScript sources or node_modules
    assert not any(n.startswith("workbench/labextension/") for n in names)
    assert not any("node_modules" in n or n.endswith(".ts") for n in names)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    [built] = out.glob("edge_workbench-*.tar.gz")
    return built


def test_the_sdist_holds_the_extension_sources_and_the_lock_file(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in ("extensions/package.json", "extensions/yarn.lock", "extensions/tsconfig.json",
                 "extensions/src/mime.ts", "extensions/style/base.css",
                 "jupyter-config/jupyter_server_config.d/workbench.json"):
        assert name in names, name
    assert not any("node_modules" in n or n.startswith("workbench/labextension") for n in names)


def test_a_wheel_built_from_the_sdist_builds_the_lab_extension(sdist: Path,
                                                                tmp_path: Path) -> None:
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    [source] = tmp_path.glob("edge_workbench-*")
    out = tmp_path / "wheel"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(out), str(source)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    [built] = out.glob("edge_workbench-*.whl")
    shared = _shared_data(set(zipfile.ZipFile(built).namelist()))
    assert any(n.startswith(f"{LABEXTENSION}/static/remoteEntry.") for n in shared)
