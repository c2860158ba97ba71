"""The per-layer table on a 720-node profile: sort, filter, top-N and pages, read back."""

from __future__ import annotations

import html
from typing import Any

from tests.widgets.test_run_flow import _shown_names
from workbench.widgets import ResultsView
from workbench.widgets._base import WARN
from workbench.widgets.results import PAGE_SIZE


def _time(row: dict[str, Any]) -> float:
    return float(row["duration_us"]["median"])


def test_the_table_shows_one_page_of_the_slowest_layers_first(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    assert len(wide_profile.layers) >= 700
    assert len(view.shown_rows) == PAGE_SIZE
    times = [_time(row) for row in view.shown_rows]
    assert times == sorted(times, reverse=True)
    assert times[0] == max(_time(row) for row in wide_profile.layers)
    # one page in the widget state, not the whole profile
    assert len(view.table.value) < 20_000


def test_sorting_by_name_orders_the_rows_a_to_z(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    view.sort.value = "name"
    assert view.descending.value is False
    names = [row["name"] for row in view.selection.rows]  # type: ignore[union-attr]
    assert names == sorted(names, key=str.lower)
    assert _shown_names(view.table.value) == names[:PAGE_SIZE]
    view.descending.value = True
    assert [row["name"] for row in view.shown_rows] == sorted(names, key=str.lower,
                                                              reverse=True)[:PAGE_SIZE]


def test_filtering_by_op_type_keeps_only_those_rows(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    expected = [row for row in wide_profile.layers if row["op_type"] in ("Relu", "Tanh")]
    view.op_types.value = ("Relu", "Tanh")
    assert view.selection is not None and view.selection.matched == len(expected) > 100
    assert {row["op_type"] for row in view.selection.rows} == {"Relu", "Tanh"}
    assert f"of {len(expected)} (matched {len(expected)} of {len(wide_profile.layers)})" in (
        view.page_label.value)


def test_filtering_by_provider_uses_the_providers_the_profile_has(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    providers = [value for _label, value in view.providers.options]
    assert "CPUExecutionProvider" in providers
    view.providers.value = ("CPUExecutionProvider",)
    cpu = [r for r in wide_profile.layers if r.get("provider") == "CPUExecutionProvider"]
    assert view.selection is not None and view.selection.matched == len(cpu)


def test_top_n_cuts_the_sorted_rows(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    view.top.value = 10
    assert view.selection is not None and len(view.selection.rows) == 10
    slowest = sorted(wide_profile.layers, key=_time, reverse=True)[:10]
    assert [r["name"] for r in view.shown_rows] == [r["name"] for r in slowest]
    assert view.next_button.disabled


def test_pages_turn_forward_and_stop_at_the_last(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    view.sort.value = "order"
    view.next_button.click()
    assert [r["name"] for r in view.shown_rows] == [
        r["name"] for r in wide_profile.layers[PAGE_SIZE:2 * PAGE_SIZE]]
    pages = view.selection.pages(PAGE_SIZE)  # type: ignore[union-attr]
    for _ in range(pages + 3):
        view.next_button.click()
    assert view.page == pages - 1 and view.next_button.disabled
    assert view.shown_rows[-1]["name"] == wide_profile.layers[-1]["name"]


def test_export_writes_files_beside_the_notebook_and_says_where(
        wide_profile: Any, tmp_path: Any) -> None:
    view = ResultsView(wide_profile, export_dir=tmp_path)
    for button in view.export_buttons:
        button.click()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["wide-local.csv", "wide-local.html", "wide-local.json",
                       "wide-local.trace.json"]
    assert str(tmp_path / "wide-local.json") in view.exported.value
    assert view.errors.error is None


def test_a_chosen_plot_is_drawn_as_a_png_of_the_profile_shown(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    assert view.plot.value == b""  # nothing drawn until asked for
    view.plot_choice.value = "top layers"
    assert view.plot.value[:8] == b"\x89PNG\r\n\x1a\n" and view.errors.error is None
    assert "CPUExecutionProvider" in view.delegation.value


def test_the_delegation_report_shows_node_names_escaped(wide_profile: Any) -> None:
    from tests.widgets.conftest import HOSTILE_NAME

    view = ResultsView(wide_profile)
    assert HOSTILE_NAME not in view.delegation.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.delegation.value


def test_two_runs_compare_layer_by_layer_with_readable_labels(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    view.add(wide_profile)
    view.compare_choice.value = (0, 1)
    view.compare_button.click()
    assert view.errors.error is None, view.errors.widget.value
    assert "Comparison of 2 profiles" in view.comparison.value


def test_comparing_one_run_asks_for_two(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    view.compare_choice.value = (0,)
    view.compare_button.click()
    assert "Choose two runs or more" in view.errors.widget.value


def test_the_widgets_table_has_the_reports_headers_plus_the_provider(wide_profile: Any) -> None:
    import re

    from workbench.views.layers import HEADERS

    view = ResultsView(wide_profile)
    header = view.table.value.split("</thead>")[0]
    assert re.findall(r"<th(?: class=\"n\")?>(.*?)</th>", header) == [
        "#", *HEADERS[:2], "provider", *HEADERS[2:]]
    assert "share of all layers" in header and ">share<" not in header
    assert dict(view.sort.options)["share of all layers"] == "share"


def test_the_history_tab_lists_saved_profiles_and_reloads_one_as_a_run(
        wide_profile: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from workbench import history

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    entry = history.save(wide_profile)
    view = ResultsView()
    view.history_refresh.click()
    assert [value for _label, value in view.history_choice.options] == [entry.id]
    view.history_choice.value = entry.id
    view.history_load.click()
    assert view.errors.error is None, view.errors.widget.value
    assert len(view.profiles) == 1 and view.profile is view.profiles[0]
    assert view.profile.document == wide_profile.document
    assert len(view.shown_rows) == PAGE_SIZE


def test_reloading_with_no_saved_profile_chosen_says_what_to_do(tmp_path: Any,
                                                                 monkeypatch: Any) -> None:
    from workbench import errors

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    view = ResultsView()
    view.history_refresh.click()
    view.history_load.click()
    assert isinstance(view.errors.error, errors.HistoryError)
    assert "hint: Press Refresh, then choose one" in view.errors.widget.value


def test_the_latency_summary_shows_the_median_with_its_95_percent_interval(
        conv_model: Any) -> None:
    import workbench as wb
    from workbench.profiling._text import fmt_number

    profile = wb.profile(conv_model, warmup=1, runs=15, profile_runs=0)
    view = ResultsView(profile)
    low, high = profile.latency["median_ci"]
    assert f"(95% CI {fmt_number(low)}–{fmt_number(high)})" in view.latency.value
    assert "15 runs" in view.latency.value


def test_the_latency_summary_lists_the_profiles_warnings(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    warnings = wide_profile.document.get("warnings") or []
    assert warnings  # two timed runs are too few for a stable median
    for warning in warnings:
        assert f"<li style='color:{WARN}'>{html.escape(str(warning), quote=True)}</li>" in (
            view.latency.value)


def test_top_n_0_is_shown_as_all_layers(wide_profile: Any) -> None:
    view = ResultsView(wide_profile)
    assert view.top.value == 0 and "0 = all layers" in view.top_note.value
    view.top.value = 5
    assert "the 5 first" in view.top_note.value
    assert len(view.shown_rows) == 5
