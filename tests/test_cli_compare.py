"""``workbench compare A B``: the readable comparison, its JSON, and the same refusal of
different models as ``--baseline``."""

from __future__ import annotations

import json

import pytest

from tests.profiling.conftest import make_document
from tests.test_cli import workbench
from workbench.profiling import Profile


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two runs of one model (1 and 2 threads, the second 20 % faster) and a run of another."""
    folder = tmp_path_factory.mktemp("compare")
    one, two, other = make_document(), make_document(scale=0.8, seed=3), make_document()
    one["backend"]["options"]["intra_op_threads"] = 1
    two["backend"]["options"]["intra_op_threads"] = 2
    other["model"].update(name="othernet", sha256="ab" * 32)
    paths = {}
    for name, document in (("one", one), ("two", two), ("other", other)):
        paths[name] = str(Profile(document).save(folder / f"{name}.json"))
    return paths


def test_compare_prints_latency_speed_up_and_layers_won_without_a_dataframe_index(
        saved: dict[str, str]) -> None:
    done = workbench("compare", saved["one"], saved["two"])
    assert done.returncode == 0, done.stderr
    assert "speed-up" in done.stdout and "layers won" in done.stdout and "median ms" in done.stdout
    faster = next(line for line in done.stdout.splitlines() if "intra_op_threads=2)" in line)
    assert "1.25×" in faster and "7 of 7" in faster
    assert "2.60" in done.stdout and "2.6000" not in done.stdout  # figures, not raw floats


def test_compare_with_json_prints_the_comparison_document(saved: dict[str, str]) -> None:
    done = workbench("compare", saved["one"], saved["two"], "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "workbench.comparison/1"
    assert document["latency"][1]["speedup"] == pytest.approx(1.25, rel=0.05)


def test_compare_refuses_different_models_unless_allowed(saved: dict[str, str]) -> None:
    refused = workbench("compare", saved["one"], saved["other"])
    assert refused.returncode == 2
    assert "different models" in refused.stderr and "--allow-different-models" in refused.stderr
    allowed = workbench("compare", saved["one"], saved["other"], "--allow-different-models")
    assert allowed.returncode == 0 and "othernet" in allowed.stdout


def test_compare_against_a_baseline_names_the_settings_that_differ(
        saved: dict[str, str]) -> None:
    done = workbench("compare", saved["two"], "--baseline", saved["one"])
    first = done.stdout.splitlines()[0]
    assert "intra_op_threads=2" in first and "intra_op_threads=1" in first


def test_the_commands_comparison_points_at_its_json_option_not_at_a_python_method(
        saved: dict[str, str]) -> None:
    done = workbench("compare", saved["one"], saved["two"])
    assert done.returncode == 0, done.stderr
    footer = done.stdout.strip().splitlines()[-1]
    assert "--json" in footer and saved["one"] in footer and ".to_dataframe()" not in footer
