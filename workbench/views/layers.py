"""The per-layer table of a profile, as the text summary and the HTML views show it.

Time and share come from one statistic, the median time per run over the
profiled runs, and the headers name it: a layer's share is its median over
the sum of every layer's median (the profile's ``share`` field), so a
slower row never shows a smaller share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us
from workbench.views import parts

#: the statistic the table's time and share columns both use
STATISTIC = "median"

#: column headers, in order; the time and share headers name the statistic
HEADERS = ("layer", "op type", "original nodes", f"{STATISTIC} µs", f"share of {STATISTIC}",
           "MACs", "GMAC/s")
#: which columns hold numbers (aligned right)
NUMERIC = (False, False, False, True, True, True, True)


def layer_cells(layers: Sequence[dict[str, Any]], nodes_width: int | None = 32) -> list[list[str]]:
    """Formatted cells per layer, in :data:`HEADERS` order.

    A row the runtime inserted (a layout conversion, a copy) is tagged with
    its kind; ``nodes_width`` shortens long lists of original nodes (None
    keeps them whole).
    """
    rows = []
    for layer in layers:
        name = str(layer["name"])
        if layer.get("kind") not in (None, "compute"):
            name += f" [{layer['kind']}]"
        rows.append([name, str(layer["op_type"]),
                     fmt.join_nodes(layer.get("original_nodes"), nodes_width),
                     fmt.fmt_number(layer_time_us(layer)), fmt.fmt_share(layer.get("share")),
                     fmt.fmt_si(layer.get("macs")), fmt.fmt_number(layer.get("gmacs_per_s"))])
    return rows


def layer_text(layers: Sequence[dict[str, Any]]) -> list[str]:
    """The table as text lines, rows numbered from 1."""
    rows = [[str(number), *cells] for number, cells in enumerate(layer_cells(layers), 1)]
    return fmt.text_table(["#", *HEADERS], rows, [True, *NUMERIC])


def layer_html(layers: Sequence[dict[str, Any]]) -> str:
    """The table as HTML, every original node listed."""
    return parts.table(list(zip(HEADERS, NUMERIC, strict=True)),
                       parts.text_rows(layer_cells(layers, nodes_width=None), NUMERIC))
