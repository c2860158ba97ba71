"""A summary without per-layer rows says the real reason, not always profile_runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.profiling import Profile

Factory = Callable[..., dict[str, Any]]


def test_a_profile_without_layers_says_the_runners_reason_not_profile_runs(
        document_factory: Factory) -> None:
    document = document_factory()
    document["layers"], document["trace"] = [], None
    document["warnings"] = ["per-op times unavailable: this device has no benchmark_model tool"]
    summary = Profile(document).summary()
    assert "No per-layer rows: per-op times unavailable" in summary
    assert "profile_runs was 0" not in summary


def test_a_profile_run_without_profiling_says_profile_runs_was_0(
        document_factory: Factory) -> None:
    document = document_factory()
    document["layers"], document["trace"], document["run"]["profile_runs"] = [], None, 0
    assert "No per-layer rows (profile_runs was 0)." in Profile(document).summary()
