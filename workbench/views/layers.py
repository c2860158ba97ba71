"""The per-layer table of a profile, as the text summary and the HTML views show it.

Time and share come from one statistic, the median time per run over the
profiled runs, and the headers name it: a layer's share is its median over
the sum of every layer's median (the profile's ``share`` field, "share of
all layers"), so a slower row never shows a smaller share. That total is not the
latency (profiled runs time each layer, and the latency covers the whole run
with the profiler off), so the views show it beside the latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us
from workbench.views import parts
from workbench.views.kernels import kernel_row_html

#: the statistic the table's time and share columns both use
STATISTIC = "median"

#: column headers, in order; the time and share headers name the statistic
HEADERS = ("layer", "op type", "original nodes", f"{STATISTIC} µs", "share of all layers",
           "MACs", "GMAC/s")
#: which columns hold numbers (aligned right)
NUMERIC = (False, False, False, True, True, True, True)
#: the column a table filtered by provider adds, after the op type
PROVIDER_HEADER = "provider"
#: the sort keys of :func:`workbench.profiling.layer_query.select_layers`, named as the
#: headers name their columns, for a front end's sort picker
SORT_CHOICES = ((HEADERS[3], "time"), (HEADERS[4], "share"), (HEADERS[5], "macs"),
                (HEADERS[6], "gmacs_per_s"), ("execution order", "order"), (HEADERS[0], "name"),
                (HEADERS[1], "op_type"), (PROVIDER_HEADER, "provider"))


def layers_total_ms(layers: Sequence[dict[str, Any]]) -> float | None:
    """The sum of the layers' median times per run (ms): what the share column divides by."""
    times = [time for time in map(layer_time_us, layers) if time is not None]
    return sum(times) / 1000 if times else None


def layers_total_text(layers: Sequence[dict[str, Any]]) -> str | None:
    """The layers' total as the views show it beside the latency, or None without layers."""
    total = layers_total_ms(layers)
    if total is None:
        return None
    return (f"{fmt.fmt_number(total)} ms per run (the sum of the layers' {STATISTIC} times "
            "in the profiled runs: what each layer's share is of)")


def columns(with_provider: bool = False) -> list[tuple[str, bool]]:
    """The table's (header, numeric) columns; ``with_provider`` adds the provider's."""
    found = list(zip(HEADERS, NUMERIC, strict=True))
    if with_provider:
        found.insert(2, (PROVIDER_HEADER, False))
    return found


def layer_cells(layers: Sequence[dict[str, Any]], nodes_width: int | None = 32, *,
                with_provider: bool = False) -> list[list[str]]:
    """Formatted cells per layer, in :func:`columns` order.

    A row the runtime inserted (a layout conversion, a copy) is tagged with
    its kind; ``nodes_width`` shortens long lists of original nodes (None
    keeps them whole).
    """
    from workbench.profiling.layer_query import provider_of

    rows = []
    for layer in layers:
        name = str(layer["name"])
        if layer.get("kind") not in (None, "compute"):
            name += f" [{layer['kind']}]"
        cells = [name, str(layer["op_type"]),
                 fmt.join_nodes(layer.get("original_nodes"), nodes_width),
                 fmt.fmt_number(layer_time_us(layer)), fmt.fmt_share(layer.get("share")),
                 fmt.fmt_si(layer.get("macs")), fmt.fmt_number(layer.get("gmacs_per_s"))]
        if with_provider:
            cells.insert(2, provider_of(layer))
        rows.append(cells)
    return rows


def layer_text(layers: Sequence[dict[str, Any]]) -> list[str]:
    """The table as text lines, rows numbered from 1."""
    rows = [[str(number), *cells] for number, cells in enumerate(layer_cells(layers), 1)]
    return fmt.text_table(["#", *HEADERS], rows, [True, *NUMERIC])


def layer_html(layers: Sequence[dict[str, Any]], *, first: int | None = None,
               nodes_width: int | None = None, with_provider: bool = False, css: str = "",
               row_css: str = "") -> str:
    """The table as HTML (every cell escaped), every original node listed unless
    ``nodes_width`` shortens the lists.

    ``first`` numbers the rows from ``first + 1`` in a leading "#" column, for
    one page of a longer table; ``with_provider`` adds the provider column;
    ``css`` and ``row_css`` name the table's and each row's class.
    """
    shown = columns(with_provider)
    rows = layer_cells(layers, nodes_width, with_provider=with_provider)
    if first is not None:
        shown.insert(0, ("#", True))
        rows = [[str(first + number), *cells] for number, cells in enumerate(rows, 1)]
    numeric = [right for _header, right in shown]
    html_rows = parts.text_rows(rows, numeric, css=row_css)
    # A layer's kernels (where the runtime names them) in a row of their own under it.
    html_rows = [row + kernel_row_html(layer, len(shown))
                 for row, layer in zip(html_rows, layers, strict=True)]
    return parts.table(shown, html_rows, css=css)
