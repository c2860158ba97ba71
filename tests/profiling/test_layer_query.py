"""select_layers: a table's rows, sorted, filtered, cut and paged the same way everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from workbench import errors
from workbench.profiling import Profile
from workbench.profiling.layer_query import NO_PROVIDER, layer_facets, select_layers


def _row(name: str, op: str, median: float | None, provider: str | None = "CPU",
         macs: int | None = None) -> dict[str, Any]:
    return {"name": name, "op_type": op, "provider": provider, "macs": macs,
            "duration_us": {} if median is None else {"median": median},
            "original_nodes": [name.lower()]}


ROWS = [_row("a", "Conv", 5.0, macs=10), _row("b", "Relu", 1.0), _row("c", "Conv", None),
        _row("d", "Add", 5.0, provider=None), _row("e", "Conv", 9.0, macs=30)]


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["name"] for row in rows]


def test_time_sorts_slowest_first_with_ties_in_order_and_missing_last() -> None:
    assert _names(select_layers(ROWS).rows) == ["e", "a", "d", "b", "c"]


def test_ascending_time_keeps_rows_without_a_time_last() -> None:
    assert _names(select_layers(ROWS, descending=False).rows) == ["b", "a", "d", "e", "c"]


def test_names_sort_a_to_z_and_order_keeps_execution_order() -> None:
    rows = list(reversed(ROWS))
    assert _names(select_layers(rows, sort="name").rows) == ["a", "b", "c", "d", "e"]
    assert _names(select_layers(rows, sort="order").rows) == ["e", "d", "c", "b", "a"]


def test_filters_by_op_type_provider_and_text_combine() -> None:
    assert _names(select_layers(ROWS, op_types=["Conv"]).rows) == ["e", "a", "c"]
    assert _names(select_layers(ROWS, providers=[NO_PROVIDER]).rows) == ["d"]
    assert _names(select_layers(ROWS, op_types="Conv", text="E").rows) == ["e"]


def test_top_cuts_after_sorting_and_matched_counts_before() -> None:
    selection = select_layers(ROWS, op_types=["Conv"], top=2)
    assert _names(selection.rows) == ["e", "a"]
    assert (selection.matched, selection.total) == (3, 5)


def test_pages_split_the_selection() -> None:
    selection = select_layers(ROWS, sort="order")
    assert [_names(selection.page(n, 2)) for n in range(3)] == [["a", "b"], ["c", "d"], ["e"]]
    assert selection.pages(2) == 3 and selection.page(5, 2) == []


@pytest.mark.parametrize("query", [{"sort": "speed"}, {"top": 0}, {"top": True}])
def test_a_query_that_cannot_be_answered_says_what_is_allowed(query: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidOptionValue) as raised:
        select_layers(ROWS, **query)
    assert raised.value.where == "layer table" and raised.value.hint


def test_facets_count_op_types_and_providers() -> None:
    facets = layer_facets(ROWS)
    assert facets["op_types"] == [("Conv", 3), ("Add", 1), ("Relu", 1)]
    assert facets["providers"] == [("CPU", 4), (NO_PROVIDER, 1)]


def test_a_profile_answers_the_same_query(profile: Profile) -> None:
    assert profile.select_layers(top=3).rows == select_layers(profile.layers, top=3).rows
    assert _names(profile.select_layers(top=1).rows) == [profile.top_layers(1)[0]["name"]]
