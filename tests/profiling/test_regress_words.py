"""What a regression report says in words: the reason a change did not count, and the labels
that tell two runs apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.profiling import Profile, summarize
from workbench.profiling.regress import regress

Factory = Callable[..., dict[str, Any]]


def with_threads(document: dict[str, Any], threads: int, samples: list[float]) -> Profile:
    document["backend"]["options"]["intra_op_threads"] = threads
    document["latency"]["samples_ms"] = samples
    document["latency"]["stats"] = summarize(samples)
    return Profile(document)


def test_a_change_within_the_noise_says_so_and_names_the_setting_that_differs(
        document_factory: Factory) -> None:
    rng = np.random.default_rng(1)
    base = (10 * np.exp(0.6 * rng.standard_normal(8))).tolist()
    new = [v * 1.3 for v in (10 * np.exp(0.6 * rng.standard_normal(8))).tolist()]
    report = regress(with_threads(document_factory(), 2, new),
                     with_threads(document_factory(), 1, base))
    first = report.summary().splitlines()[0]
    assert report.verdict == "same" and abs(report.change) > report.threshold
    assert first.startswith("NO CHANGE: ") and "not beyond its noise" in first
    assert "the same as" not in first
    assert "intra_op_threads=2" in report.new_label
    assert "intra_op_threads=1" in report.baseline_label


def test_a_change_below_the_threshold_says_it_is_within_the_threshold(
        document_factory: Factory) -> None:
    rng = np.random.default_rng(0)
    base = (10 + 0.01 * rng.standard_normal(200)).tolist()
    report = regress(with_threads(document_factory(), 1, [v * 1.02 for v in base]),
                     with_threads(document_factory(), 1, base))
    assert report.verdict == "same"
    assert "2.0% slower" in report.summary() and "within the 5.0% threshold" in report.summary()
