"""The Binder configuration (binder/): what repo2docker makes of it, and postBuild run as a
user without root in a fresh virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import unprivileged
from tests.notebooks.test_workshop_notebooks import _text, check_first_profile

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def test_apt_txt_brings_what_the_unprivileged_emulated_board_needs() -> None:
    packages = (BINDER / "apt.txt").read_text().split()
    for package in ("debian-archive-keyring", "mmdebstrap", "qemu-user-static",
                    "openssh-server"):
        assert package in packages
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "emulator build --user --mirror" in (BINDER / "postBuild").read_text()


def test_repo2docker_renders_a_dockerfile_that_installs_apt_txt_and_runs_postbuild(
        tmp_path: Path) -> None:
    repo2docker = shutil.which("jupyter-repo2docker") or str(
        Path(sys.executable).parent / "jupyter-repo2docker")
    if not os.path.exists(repo2docker):
        pytest.skip("jupyter-repo2docker is not installed (the test extra has it)")
    # --no-build renders the Dockerfile only: no Docker engine is reached (none is named here)
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path / 'no-docker.sock'}")
    done = subprocess.run([repo2docker, "--no-build", "--debug", str(ROOT)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    dockerfile = done.stdout + done.stderr
    install = next(line for line in dockerfile.splitlines()
                   if "apt-get install" in line and "mmdebstrap" in line)
    for package in (BINDER / "apt.txt").read_text().split():
        assert package in install
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    # postBuild runs after the repository and its requirements are in place, as the notebook user
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index(
        "RUN ./binder/postBuild")


@pytest.fixture
def home() -> Iterator[Path]:
    with unprivileged.folder() as made:
        yield made


# Run by the fresh venv's Python as the notebook user: notebook 1 in a kernel of that venv,
# then one more cell, as a student would type it, that profiles on the emulated board.
EXECUTE_NOTEBOOK_1 = """
import sys
import nbclient, nbformat
path, executed = sys.argv[1], sys.argv[2]
notebook = nbformat.read(path, as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import sys\\n"
    "board = wb.profile('zoo:mlp', device='qemu:raspberry-pi-5', warmup=0, runs=2,\\n"
    "                   profile_runs=0)\\n"
    "print('kernel', sys.executable, wb.__file__)\\n"
    "print('board', board.document['device']['arch'], board.document['device']['emulated'])",
    id="binder-qemu-board"))
nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": str(sys.argv[3])}}).execute()
nbformat.write(notebook, executed)
"""


def test_postbuild_as_a_user_in_a_fresh_venv_gives_the_extension_a_qemu_board_and_notebook_1(
        home: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    if not (ROOT / "workbench/labextension/package.json").exists():
        pytest.skip("the lab extension is not built: run `bash tests/setup.sh`")
    # postBuild builds the user root where it is missing; the tests keep it between runs
    user_root = unprivileged.user_root()
    # The image's copy of the repository, the notebook user's, with the prebuilt extension.
    repo = home / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".venv", ".git", "node_modules", "__pycache__", "*.egg-info", ".mypy_cache",
        ".ruff_cache", "lib", "tsconfig.tsbuildinfo"))
    # Binder's base environment has JupyterLab and the rest already: the test venv's packages
    # stand for it, so only the project itself is installed into the fresh venv.
    python = unprivileged.python_venv(home / "venv")
    unprivileged.give(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "VIRTUAL",
                                                                    "JUPYTER"))}
    env.update(HOME=str(home), PATH=f"{python.parent}:/usr/bin:/bin",
               WORKBENCH_EMULATOR_DIR=str(user_root),
               WORKBENCH_CACHE_DIR=str(user_root / "cache"))
    env.pop("PYTHONPATH", None)

    def run(*args: str, cwd: Path = repo, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*unprivileged.prefix(), *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)

    installed = run(str(python), "-m", "pip", "install", "--quiet", "--no-deps", ".")
    assert installed.returncode == 0, installed.stderr[-3000:]
    built = run("bash", "binder/postBuild", timeout=900)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    assert "edge-workbench" in built.stdout + built.stderr  # the extension, listed as enabled
    listed = run(str(python), "-m", "workbench.cli", "devices", cwd=home)
    assert "qemu:raspberry-pi-5" in listed.stdout, listed.stdout + listed.stderr

    # notebook 1 as a student opens it from the image's copy of the repository
    executed = home / "class" / "01-first-profile-executed.ipynb"
    executed.parent.mkdir()
    unprivileged.give(executed.parent)
    ran = run(str(python), "-c", EXECUTE_NOTEBOOK_1, str(repo / "notebooks/01-first-profile.ipynb"),
              str(executed), str(executed.parent), cwd=executed.parent, timeout=600)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    cells = {cell.id: cell for cell in nbformat.read(executed, as_version=4).cells}
    check_first_profile(cells, executed.parent)
    kernel = _text(cells["binder-qemu-board"])
    assert f"kernel {home / 'venv'}" in kernel and str(home / "venv") in kernel.split()[2], kernel
    assert "board aarch64 True" in kernel, kernel
