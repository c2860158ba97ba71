"""The results view: latency summary, a per-layer table a page at a time, runs, history, export.

The table asks :func:`workbench.profiling.layer_query.select_layers` for its
rows and draws one page (``PAGE_SIZE`` rows) with the library's own table view
(:func:`workbench.views.layers.layer_html`: the report's columns and headers,
plus the provider), so a model of thousands of layers never puts more than a
page into the widget state, and the widget and the report never word a column
differently.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from workbench import errors
from workbench.views.layers import SORT_CHOICES, layer_html
from workbench.widgets._base import (
    MUTED,
    WARN,
    ErrorView,
    esc,
    heading,
    help_html,
    help_text,
    shown_errors,
    zero_means,
)

if TYPE_CHECKING:
    from workbench.profiling import Profile
    from workbench.profiling.layer_query import LayerSelection

__all__ = ["PAGE_SIZE", "ResultsView", "latency_html"]

#: rows of the per-layer table on one page
PAGE_SIZE = 25
#: the Plots tab's choices: label -> function of workbench.plots drawing one profile
PLOTS = {"top layers": "top_layers", "latency distribution": "latency_distribution",
         "time by op type": "time_by_op_type", "time against MACs": "time_vs_macs",
         "delegation": "delegation"}
_EXPORTS = {"HTML report": ("html", "to_html"), "CSV": ("csv", "to_csv"),
            "Chrome trace": ("trace.json", "to_chrome_trace"), "profile JSON": ("json", "save")}


def latency_html(profile: Profile) -> str:
    """The latency summary: median with its 95% interval, p90, mean ± std, runs, warnings."""
    from workbench.profiling import _text as fmt

    stats = profile.latency
    lines = [f"<b>{esc(profile.label)}</b> "
             f"<span style='color:{MUTED}'>({esc(profile.kind)})</span>"]
    if profile.caveat:
        lines.append(f"<span style='background:#b00020;color:#fff;padding:0 .4em'>"
                     f"{esc(profile.caveat)}</span>")
    median = f"median <b>{esc(fmt.fmt_number(stats.get('median')))} ms</b>"
    if stats.get("median_ci"):
        low, high = stats["median_ci"]
        median += f" (95% CI {esc(fmt.fmt_number(low))}–{esc(fmt.fmt_number(high))})"
    lines.append(f"{median} · p90 {esc(fmt.fmt_number(stats.get('p90')))} ms · mean "
                 f"{esc(fmt.fmt_number(stats.get('mean')))} ± "
                 f"{esc(fmt.fmt_number(stats.get('std')))} ms · {esc(stats.get('count', 0))} runs")
    for key, colour in (("notes", MUTED), ("warnings", WARN)):
        said = profile.document.get(key) or []
        if said:
            lines.append("<ul style='margin:.2em 0'>" + "".join(
                f"<li style='color:{colour}'>{esc(line)}</li>" for line in said) + "</ul>")
    return "<div class='workbench-latency'>" + "<br>".join(lines) + "</div>"


#: the layer table's looks: numbers to the right (the view marks their cells with class n)
#: (a number never breaks between its digits and its unit: "10.8 M" read as two rows)
_TABLE_STYLE = ("<style>.workbench-layers{font-size:.9em}"
                ".workbench-layers .n{text-align:right;white-space:nowrap}"
                ".workbench-layers th{text-align:left}</style>")


class ResultsView(w.VBox):  # type: ignore[misc]
    """A profile's results: latency, the per-layer table (sort, filter, top-N, pages),
    this session's runs with a compare view, the history, and export buttons.

    ``view.profile`` is the profile shown, ``view.profiles`` every profile
    added; ``view.selection`` the table's rows after sort and filters, and
    ``view.shown_rows`` the page on screen.
    """

    def __init__(self, profile: Profile | None = None, *, export_dir: str | Path = ".") -> None:
        self.errors = ErrorView()
        self.latency = w.HTML()
        self.sort = w.Dropdown(options=SORT_CHOICES, value="time", description="sort by")
        self.descending = w.Checkbox(value=True, description="largest first", indent=False)
        self.op_types = w.SelectMultiple(options=[], description="op types", rows=4)
        self.providers = w.SelectMultiple(options=[], description="providers", rows=4)
        self.text = w.Text(description="find", placeholder="layer or node name")
        self.top = w.BoundedIntText(value=0, min=0, max=10**7, description="top N",
                                    tooltip="0 shows every row")
        self.top_note = zero_means(self.top, "0 = all layers",
                                   lambda n: f"the {n} first in this order")
        self.previous_button = w.Button(description="◀", layout=w.Layout(width="3em"))
        self.next_button = w.Button(description="▶", layout=w.Layout(width="3em"))
        self.page_label = w.HTML()
        self.table = w.HTML()
        self.runs = w.Dropdown(options=[], description="show run")
        self.compare_choice = w.SelectMultiple(options=[], description="compare", rows=3)
        self.compare_button = w.Button(description="Compare", icon="columns")
        self.comparison = w.HTML()
        self.history_choice = w.Dropdown(options=[], description="history")
        self.history_refresh = w.Button(description="Refresh", icon="refresh")
        self.history_load = w.Button(description="Reload", icon="history")
        self.plot_choice = w.Dropdown(options=["", *PLOTS], value="", description="plot")
        self.plot = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.delegation = w.HTML()
        self.export_dir = w.Text(value=str(export_dir), description="export to")
        self.export_buttons = [w.Button(description=name) for name in _EXPORTS]
        self.exported = w.HTML()
        #: the profile shown and every profile added, oldest first
        self.profile: Profile | None = None
        self.profiles: list[Profile] = []
        self.selection: LayerSelection | None = None
        self.shown_rows: list[dict[str, Any]] = []
        self.page = 0
        #: seconds the last table update took (select + draw), for benchmarks
        self.last_draw_s = 0.0
        self._quiet = False

        guard = shown_errors(self.errors)
        for control in (self.descending, self.op_types, self.providers, self.text, self.top):
            control.observe(guard(lambda _c: self._requery()), names="value")
        self.sort.observe(guard(self._sort_changed), names="value")
        self.previous_button.on_click(guard(lambda _b: self.turn(-1)))
        self.next_button.on_click(guard(lambda _b: self.turn(1)))
        self.runs.observe(guard(self._run_chosen), names="value")
        self.compare_button.on_click(guard(lambda _b: self.compare()))
        self.plot_choice.observe(guard(lambda _c: self.draw_plot()), names="value")
        self.history_refresh.on_click(guard(lambda _b: self.refresh_history()))
        self.history_load.on_click(guard(lambda _b: self.reload_history()))
        for button, kind in zip(self.export_buttons, _EXPORTS, strict=True):
            button.on_click(guard(lambda _b, kind=kind: self.export(kind)))

        table_tab = w.VBox([
            w.HBox([self.sort, self.descending, self.top, self.top_note]),
            w.HBox([self.op_types, self.providers]),
            w.HBox([self.text, self.previous_button, self.page_label, self.next_button]),
            self.table])
        runs_tab = w.VBox([self.runs, w.HBox([self.compare_choice, self.compare_button]),
                           self.comparison])
        history_tab = w.VBox([w.HBox([self.history_choice, self.history_refresh,
                                      self.history_load]),
                              help_text("profiles saved by earlier jobs (workbench history)")])
        export_tab = w.VBox([self.export_dir, w.HBox(self.export_buttons), self.exported])
        plots_tab = w.VBox([self.plot_choice, self.plot, heading("Where the nodes ran"),
                            self.delegation])
        self.tabs = w.Tab(children=[table_tab, plots_tab, runs_tab, history_tab, export_tab],
                          titles=("Layers", "Plots", "Runs", "History", "Export"))
        super().__init__([heading("Results"), self.errors.widget, self.latency, self.tabs])
        if profile is not None:
            self.add(profile)

    # --- profiles --------------------------------------------------------------------

    def add(self, profile: Profile) -> None:
        """Add ``profile`` to this session's runs and show it."""
        self.profiles.append(profile)
        labels = [(f"#{i + 1} {p.label}", i) for i, p in enumerate(self.profiles)]
        with self.hold_sync():
            self._quiet = True
            try:
                self.runs.options = labels
                self.compare_choice.options = labels
                self.runs.value = len(self.profiles) - 1
            finally:
                self._quiet = False
            self.show(profile)

    def _run_chosen(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] is not None:
            self.show(self.profiles[change["new"]])

    def show(self, profile: Profile) -> None:
        """Show ``profile``: its latency and its layers (filters reset to its op types)."""
        from workbench.profiling.layer_query import layer_facets

        self.errors.clear()
        self.profile = profile
        facets = layer_facets(profile.layers)
        with self.hold_sync():
            self._quiet = True
            try:
                self.latency.value = latency_html(profile)
                # drawn again on request only: a figure costs more than the table
                self.plot_choice.value, self.plot.value = "", b""
                self.delegation.value = profile.delegation.to_html(index=False, escape=True)
                self.op_types.options = [(f"{op} ({n})", op) for op, n in facets["op_types"]]
                self.providers.options = [(f"{p} ({n})", p) for p, n in facets["providers"]]
                self.op_types.value, self.providers.value, self.text.value = (), (), ""
            finally:
                self._quiet = False
            self._requery()

    # --- the table ---------------------------------------------------------------------

    def _sort_changed(self, change: dict[str, Any]) -> None:
        from workbench.profiling.layer_query import SORT_KEYS

        # numbers read best largest first, names A to Z; one redraw for both changes
        self._quiet = True
        try:
            self.descending.value = SORT_KEYS[change["new"]][1] and change["new"] != "order"
        finally:
            self._quiet = False
        self._requery()

    def _requery(self) -> None:
        if self._quiet or self.profile is None:
            return
        started = time.perf_counter()
        self.selection = self.profile.select_layers(
            sort=self.sort.value, descending=self.descending.value,
            op_types=list(self.op_types.value), providers=list(self.providers.value),
            text=self.text.value, top=self.top.value or None)
        self.page = 0
        self._draw()
        self.last_draw_s = time.perf_counter() - started

    def turn(self, pages: int) -> None:
        """Go ``pages`` pages on (negative: back), staying within the table."""
        if self.selection is None:
            return
        self.page = max(0, min(self.selection.pages(PAGE_SIZE) - 1, self.page + pages))
        self._draw()

    def _draw(self) -> None:
        assert self.profile is not None and self.selection is not None
        selection = self.selection
        self.shown_rows = selection.page(self.page, PAGE_SIZE)
        first = self.page * PAGE_SIZE
        with self.hold_sync():
            self.page_label.value = (
                f"rows {first + 1 if self.shown_rows else 0}–{first + len(self.shown_rows)} "
                f"of {len(selection.rows)} (matched {selection.matched} of {selection.total})")
            self.previous_button.disabled = self.page == 0
            self.next_button.disabled = self.page >= selection.pages(PAGE_SIZE) - 1
            self.table.value = (_TABLE_STYLE + layer_html(
                                    self.shown_rows, first=first, nodes_width=48,
                                    with_provider=True, css="workbench-layers",
                                    row_css="workbench-layer")
                                if self.shown_rows else
                                help_html("no layer rows (profile runs was 0, or the "
                                          "filters match none)"))

    # --- runs, history, export ----------------------------------------------------------------

    def compare(self) -> None:
        """Compare the runs chosen in the Runs tab, layer by layer."""
        import workbench as wb

        chosen = [self.profiles[i] for i in self.compare_choice.value]
        if len(chosen) < 2:
            raise errors.InvalidOptionValue("Choose two runs or more to compare",
                                            where="results: compare",
                                            hint="Select runs with Ctrl or Shift held")
        comparison = wb.compare(chosen)
        text = comparison._repr_mimebundle_()["text/html"]
        estimates = [p for p in chosen if p.is_estimate]
        measured = [p for p in chosen if not p.is_estimate]
        if len(estimates) == 1 and len(measured) == 1:
            from workbench.targets import compare_estimate

            text += ("<p><b>Estimate against measured</b></p>"
                     + compare_estimate(estimates[0], measured[0])._repr_html_())
        self.comparison.value = text

    def draw_plot(self) -> None:
        """Draw the plot chosen in the Plots tab for the profile shown."""
        if self.profile is None or not self.plot_choice.value:
            self.plot.value = b""
            return
        from workbench import plots

        figure = getattr(plots, PLOTS[self.plot_choice.value])(self.profile)
        self.plot.value = plots.figure_png(figure)

    def refresh_history(self) -> None:
        """List the saved profiles, newest first."""
        from workbench import history

        self.history_choice.options = [
            (f"{e.created} {e.label} ({e.median_ms if e.median_ms is not None else '?'} ms)", e.id)
            for e in history.entries(limit=200)]

    def reload_history(self) -> Profile:
        """Load the saved profile chosen in the History tab and show it as a run."""
        from workbench import history

        if not self.history_choice.value:
            raise errors.HistoryError("No saved profile chosen", where="results: history",
                                      hint="Press Refresh, then choose one")
        profile = history.load(self.history_choice.value)
        self.add(profile)
        return profile

    def export(self, kind: str) -> Path:
        """Write the shown profile as ``kind`` (a key of the Export tab) beside the notebook."""
        if self.profile is None:
            raise errors.ProfileError("No profile to export", where="results: export",
                                      hint="Run a job first")
        suffix, method = _EXPORTS[kind]
        stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in
                       f"{self.profile.model_name}-{self.profile.device_name}")
        path = Path(self.export_dir.value or ".").expanduser() / f"{stem}.{suffix}"
        getattr(self.profile, method)(path)
        self.exported.value = f"{esc(kind)} written to <code>{esc(path.resolve())}</code>"
        return path
