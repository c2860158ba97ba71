"""Reading a cluster as a user gives it (workbench.jobs.settings.parse_cluster, RunSettings)."""

from __future__ import annotations

import pytest

from workbench import errors
from workbench.jobs.settings import RunSettings, parse_cluster


@pytest.mark.parametrize(("given", "read"), [
    ("big", "big"), ("Little", "little"), (" all ", "all"), ("1", 1), ("02", 2), (3, 3), (0, 0),
])
def test_a_cluster_word_or_index_is_read_as_jobs_take_it(given: str | int,
                                                         read: str | int) -> None:
    assert parse_cluster(given) == read


@pytest.mark.parametrize("given", ["medium", "", "-1", "1.5", "big,little", -1, True])
def test_anything_else_is_an_invalid_option_value_with_the_accepted_ones(
        given: str | int) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not big, little, all or a cluster"):
        parse_cluster(given)


def test_run_settings_read_the_cluster_the_same_way() -> None:
    assert RunSettings(cluster="1").cluster == 1
    assert RunSettings.of(cluster="LITTLE").job_section()["cluster"] == "little"
    with pytest.raises(errors.InvalidOptionValue, match="cluster='medium'"):
        RunSettings(cluster="medium")
