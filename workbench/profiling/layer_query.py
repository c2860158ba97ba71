"""Sorting, filtering and paging a profile's per-layer rows, for tables that show a few at a time.

    sel = select_layers(p.layers, sort="time", op_types=["Conv"], top=20)
    sel.rows          # the rows, in the order asked for
    sel.matched       # how many rows passed the filters (before top)
    sel.page(2, 25)   # rows 25-49 of the selection
    layer_facets(p.layers)   # op types and providers with their counts, for filter pickers

The notebook widgets, the lab extension and scripts all ask here, so a table
shows the same rows in the same order in every front end. Nothing here
formats a value: that is the views' part.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench import errors
from workbench.profiling import _text as fmt
from workbench.profiling.profile import layer_time_us

__all__ = ["NO_PROVIDER", "SORT_KEYS", "LayerSelection", "layer_facets", "select_layers"]

#: what rows without a provider are filed under in facets and filters
NO_PROVIDER = "(none)"


def _number(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def provider_of(layer: dict[str, Any]) -> str:
    """The provider or delegate a row ran on, or :data:`NO_PROVIDER`."""
    provider = layer.get("provider")
    return str(provider) if provider else NO_PROVIDER


#: sort key name -> (what it reads from a row, whether it is a number)
SORT_KEYS: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "order": (lambda layer: None, True),  # execution order: the rows as the profile has them
    "time": (layer_time_us, True),
    "share": (lambda layer: _number(layer.get("share")), True),
    "macs": (lambda layer: _number(layer.get("macs")), True),
    "gmacs_per_s": (lambda layer: _number(layer.get("gmacs_per_s")), True),
    "calls": (lambda layer: _number(layer.get("calls")), True),
    "name": (lambda layer: str(layer.get("name", "")).lower(), False),
    "op_type": (lambda layer: str(layer.get("op_type", "")).lower(), False),
    "provider": (lambda layer: provider_of(layer).lower(), False),
}


@dataclass(frozen=True)
class LayerSelection:
    """The rows a query selected, and how many there were before the top-N cut."""

    rows: list[dict[str, Any]]
    #: rows that passed the filters
    matched: int
    #: rows in the profile
    total: int

    def page(self, number: int, size: int) -> list[dict[str, Any]]:
        """Rows of page ``number`` (0-based) with ``size`` rows a page; empty past the end."""
        if size < 1 or number < 0:
            raise errors.InvalidOptionValue(f"page {number} of size {size} does not exist",
                                            where="layer table",
                                            hint="Pages count from 0 and hold at least one row")
        return self.rows[number * size:(number + 1) * size]

    def pages(self, size: int) -> int:
        """How many pages of ``size`` rows the selection fills (at least 1)."""
        return max(1, math.ceil(len(self.rows) / max(1, size)))


def _as_set(values: str | Iterable[str] | None) -> set[str]:
    if values is None:
        return set()
    if isinstance(values, str):
        return {values}
    return {str(v) for v in values}


def select_layers(layers: Sequence[dict[str, Any]], *, sort: str = "time",
                  descending: bool | None = None, op_types: str | Iterable[str] | None = None,
                  providers: str | Iterable[str] | None = None, text: str = "",
                  top: int | None = None) -> LayerSelection:
    """The rows of ``layers`` that pass the filters, sorted, cut to the first ``top``.

    ``sort`` is a key of :data:`SORT_KEYS` (``"order"`` keeps execution order);
    numbers sort largest first and names A to Z unless ``descending`` says
    otherwise; rows without the value come last either way, and ties keep
    execution order. ``op_types`` and ``providers`` keep rows of those op types
    and providers (empty: all; :data:`NO_PROVIDER` matches rows without one).
    ``text`` keeps rows whose name, op type or original nodes contain it
    (case-insensitive). ``top`` keeps the first rows after sorting.
    """
    if sort not in SORT_KEYS:
        raise errors.InvalidOptionValue(f"{sort!r} is not a column to sort by",
                                        where="layer table",
                                        hint=f"Sort by one of {', '.join(SORT_KEYS)}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise errors.InvalidOptionValue(f"top={top!r} is not a number of rows",
                                        where="layer table", hint="Give a whole number >= 1, "
                                        "or None for every row")
    wanted_ops, wanted_providers = _as_set(op_types), _as_set(providers)
    needle = text.strip().lower()

    def keep(layer: dict[str, Any]) -> bool:
        if wanted_ops and str(layer.get("op_type")) not in wanted_ops:
            return False
        if wanted_providers and provider_of(layer) not in wanted_providers:
            return False
        if needle:
            haystack = " ".join([str(layer.get("name", "")), str(layer.get("op_type", "")),
                                 *map(str, layer.get("original_nodes") or [])]).lower()
            return needle in haystack
        return True

    kept = [layer for layer in layers if keep(layer)]
    read, numeric = SORT_KEYS[sort]
    if sort != "order":
        down = numeric if descending is None else descending
        present = [layer for layer in kept if read(layer) is not None]
        missing = [layer for layer in kept if read(layer) is None]
        # sorted() is stable, so equal values keep execution order in both directions
        kept = sorted(present, key=read, reverse=down) + missing
    elif descending:
        kept = kept[::-1]
    rows = kept if top is None else kept[:top]
    return LayerSelection(rows=rows, matched=len(kept), total=len(layers))


def layer_facets(layers: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """Op types and providers in ``layers`` with their row counts, most rows first."""
    ops = Counter(str(layer.get("op_type")) for layer in layers)
    providers = Counter(provider_of(layer) for layer in layers)
    return {"op_types": sorted(ops.items(), key=lambda item: (-item[1], item[0])),
            "providers": sorted(providers.items(), key=lambda item: (-item[1], item[0]))}
