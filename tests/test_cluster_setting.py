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


def test_a_big_little_target_offers_each_cluster_by_index_between_the_words() -> None:
    from workbench.jobs.settings import cluster_choices
    from workbench.targets import get

    choices = cluster_choices(get("radxa-rock-5b"))
    assert [value for _label, value in choices] == ["big", "little", 0, 1, "all"]
    assert dict((v, label) for label, v in choices)[1] == "cluster 1: 4× Cortex-A76 @ 2.4 GHz"
    assert all(RunSettings(cluster=value).cluster == value for _label, value in choices)


def test_a_probed_device_offers_its_own_clusters() -> None:
    from workbench.devices import LocalDevice
    from workbench.jobs.settings import cluster_choices

    info = LocalDevice().probe()
    found = (info.cpu or {}).get("clusters") or []
    values = [value for _label, value in cluster_choices(info)]
    assert values[0] == "big" and values[-1] == "all"
    assert [v for v in values if isinstance(v, int)] == (
        list(range(len(found))) if len(found) > 1 else [])


def test_a_cluster_given_from_code_is_offered_even_when_the_source_lists_none() -> None:
    from workbench.jobs.settings import cluster_choices

    assert cluster_choices(keep="3")[-1] == ("cluster 3 (set from code)", 3)
    with pytest.raises(errors.InvalidOptionValue):
        cluster_choices(keep="fastest")
