"""summarize(): the profile's stats form of a list of timing samples."""

from __future__ import annotations

import statistics

import pytest

from workbench.profiling import summarize


def test_summarize_matches_the_statistics_module_on_known_data() -> None:
    samples = [1.0, 2.0, 3.0, 4.0]
    stats = summarize(samples)
    assert stats["count"] == 4
    assert stats["median"] == statistics.median(samples) == 2.5
    assert stats["mean"] == pytest.approx(statistics.mean(samples))
    assert stats["std"] == pytest.approx(statistics.stdev(samples))  # sample std, ddof=1
    assert (stats["min"], stats["max"]) == (1.0, 4.0)


def test_summarize_percentiles_interpolate_linearly() -> None:
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    # linear: position q * (n - 1) between sorted samples
    assert stats["p90"] == pytest.approx(1.0 + 0.90 * 3)
    assert stats["p99"] == pytest.approx(1.0 + 0.99 * 3)


def test_summarize_ignores_input_order() -> None:
    assert summarize([4.0, 1.0, 3.0, 2.0]) == summarize([1.0, 2.0, 3.0, 4.0])


def test_summarize_of_one_sample_has_zero_std() -> None:
    stats = summarize([7.5])
    assert stats["std"] == 0.0
    assert stats["median"] == stats["p99"] == stats["min"] == stats["max"] == 7.5


def test_summarize_of_no_samples_has_count_zero_and_none_elsewhere() -> None:
    stats = summarize([])
    assert stats["count"] == 0
    assert all(stats[key] is None for key in ("mean", "std", "min", "median", "p90", "p99",
                                               "max"))


def test_summarize_returns_plain_python_numbers() -> None:
    stats = summarize([1, 2, 3])
    assert type(stats["count"]) is int
    assert all(type(stats[key]) is float for key in stats if key != "count")


def test_the_layers_summarized_together_get_the_figures_each_gets_alone() -> None:
    import numpy as np

    from workbench.profiling.stats import summarize_each

    rng = np.random.default_rng(7)
    rows = [list(rng.gamma(2.0, 50.0, size=10)) for _ in range(40)]
    rows += [[], [3.0], list(rng.random(7)), [2.0, 1.0]]  # other lengths, in between
    rows.insert(5, list(rng.random(3)))
    assert summarize_each(rows) == [summarize(row) for row in rows]
