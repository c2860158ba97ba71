"""Sweeps over threads, clusters and batch in one agent process."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench import errors


@pytest.fixture(scope="module")
def grid() -> wb.sweeps.Sweep:  # type: ignore[name-defined]
    return wb.sweep("zoo:mlp-dynamic", over={"threads": [1, 2], "batch": [1, 8]},
                    warmup=1, runs=12)


def test_every_point_of_the_grid_has_a_profile_with_its_settings(grid) -> None:  # type: ignore[no-untyped-def]
    frame = grid.to_dataframe()
    assert sorted(zip(frame["threads"], frame["batch"], strict=True)) == [
        (1, 1), (1, 8), (2, 1), (2, 8)]
    options = [p.to_dict()["backend"]["options"]["intra_op_threads"] for p in grid.profiles]
    assert options == list(frame["threads"])
    shapes = [p.to_dict()["inputs"][0]["shape"][0] for p in grid.profiles]
    assert shapes == list(frame["batch"])


def test_latency_throughput_and_memory_are_reported_per_point(grid) -> None:  # type: ignore[no-untyped-def]
    frame = grid.to_dataframe()
    assert (frame["median_ci_low"] <= frame["median_ms"]).all()
    assert (frame["throughput_per_s"] > 0).all() and (frame["peak_rss_mb"] > 0).all()


def test_sweep_plots_have_titles_and_units(grid) -> None:  # type: ignore[no-untyped-def]
    overview, drift = grid.plot(), grid.plot_drift()
    assert [ax.get_ylabel() for ax in overview.axes] == [
        "latency (ms)", "inferences per second", "peak RSS (MB)"]
    assert drift.axes[0].get_xlabel() == "run index"


def test_all_points_run_in_one_agent_process() -> None:
    events: list[dict] = []  # type: ignore[type-arg]
    wb.sweep("zoo:mlp", over={"threads": [1, 2, 1]}, warmup=0, runs=3, on_event=events.append)
    points = [e for e in events if e.get("stage") == "point"]
    assert [e["done"] for e in points] == [1, 2, 3]


def test_an_empty_axis_is_refused() -> None:
    with pytest.raises(errors.InvalidOptionValue, match="non-empty list"):
        wb.sweep("zoo:mlp", over={"threads": []})
