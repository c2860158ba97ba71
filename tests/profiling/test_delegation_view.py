"""The HTML report's delegation section: long node lists fold away, and a chart only compares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workbench.profiling import Profile
from workbench.profiling.delegation import delegation_section
from workbench.views.delegation import FIGURE_ALT, delegation_html
from workbench.views.parts import NAMES_SHOWN

#: a model far longer than the list a cell shows: 40 nodes, zero-padded so no
#: name is a substring of another
NODES = [f"n{index:03d}" for index in range(40)]
#: the last three nodes on an accelerator, the rest on the CPU
SPLIT = {name: "NPU" if index >= len(NODES) - 3 else "CPU" for index, name in enumerate(NODES)}


def _section(document: dict[str, Any], placement: dict[str, str],
             requested: tuple[str, ...] = ()) -> str:
    document["delegation"] = delegation_section([(name, 10) for name in NODES],
                                                placement=placement, requested=requested)
    return delegation_html(Profile(document))


def _row(section: str, provider: str) -> str:
    found = re.search(rf"<tr><td>{provider}</td>.*?</tr>", section)
    assert found is not None, f"no {provider} row"
    return found.group(0)


def test_a_long_node_list_shows_its_first_names_and_folds_the_rest_into_details(
        profile_document: dict[str, Any]) -> None:
    cpu_nodes = [name for name in NODES if SPLIT[name] == "CPU"]
    row = _row(_section(profile_document, SPLIT), "CPU")
    shown, folded = row.split("<details>")
    assert ", ".join(cpu_nodes[:NAMES_SHOWN]) in shown
    assert f"<summary>{len(cpu_nodes) - NAMES_SHOWN} more</summary>" in folded
    assert ", ".join(cpu_nodes[NAMES_SHOWN:]) in folded
    assert all(row.count(name) == 1 for name in cpu_nodes)


def test_a_short_node_list_stays_whole(profile_document: dict[str, Any]) -> None:
    row = _row(_section(profile_document, SPLIT), "NPU")
    assert ", ".join(NODES[-3:]) in row
    assert "<details>" not in row


def test_a_long_list_of_fallback_nodes_folds_the_same_way(
        profile_document: dict[str, Any]) -> None:
    section = _section(profile_document, SPLIT, requested=("NPU",))
    fallback = section[section.index("Fell back to CPU"):]
    assert f"Fell back to CPU ({len(NODES) - 3}): " in fallback
    assert f"<summary>{len(NODES) - 3 - NAMES_SHOWN} more</summary>" in fallback


@pytest.mark.parametrize(("placement", "chart"), [
    ({name: "CPU" for name in NODES}, False),
    ({name: "CPU" for name in NODES[:30]}, False),  # one provider, the rest not seen
    (SPLIT, True),
], ids=["one provider", "one provider and unseen nodes", "two providers"])
def test_the_chart_is_drawn_only_when_there_are_providers_to_compare(
        profile_document: dict[str, Any], placement: dict[str, str], chart: bool) -> None:
    section = _section(profile_document, placement)
    assert '<table class="delegation">' in section
    assert (f'alt="{FIGURE_ALT}"' in section) is chart
