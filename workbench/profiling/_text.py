"""Number and name formatting shared by the text summary, the HTML report and plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard

EMULATED_CAVEAT = "EMULATED — times are not hardware times"
ESTIMATE_CAVEAT = "ESTIMATE — predicted from the catalog, not measured"


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for a finite int or float (not bool, not None, not NaN)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in an ellipsis when cut."""
    if width < 2 or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def join_nodes(nodes: Sequence[str] | None, width: int | None = None) -> str:
    """Original node names as ``"a, b"``; with ``width``, shortened as ``"a, b +3"``."""
    names = [str(n) for n in nodes or []]
    text = ", ".join(names)
    if width is None or len(text) <= width:
        return text
    for keep in range(len(names) - 1, 0, -1):
        head = ", ".join(names[:keep]) + f" +{len(names) - keep}"
        if len(head) <= width:
            return head
    return shorten(names[0], max(2, width - len(f" +{len(names) - 1}"))) + f" +{len(names) - 1}"


def fmt_number(value: Any, digits: int = 3) -> str:
    """A float with ``digits`` significant digits (at least the integer part); "–" if missing."""
    if not is_number(value):
        return "–"
    value = float(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def fmt_si(value: Any, unit: str = "") -> str:
    """A count with an SI prefix: 12.3 M, 4.56 G; "–" if missing."""
    if not is_number(value):
        return "–"
    value = float(value)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}".rstrip()
    return f"{value:.3g} {unit}".rstrip()


def estimate_line(document: dict[str, Any]) -> str | None:
    """An estimate's total with its error bar, ``"5.8 ms ± 15 % (whence)"``, or, costed from
    datasheet peaks alone, as the one-sided bound it is (``"at least 5.8 ms (...)"``); None
    without an estimate."""
    section = document.get("estimate")
    if not isinstance(section, dict) or not is_number(section.get("error_pct")):
        return None
    total = ((document.get("latency") or {}).get("stats") or {}).get("median")
    layers = document.get("layers") or []
    # peak throughput is the best a core can do: a total from peaks alone bounds from below
    if layers and all(row.get("rate_source") == "datasheet" for row in layers):
        return (f"at least {fmt_number(total)} ms (a lower bound: every layer costed at the "
                "datasheet peaks, which a real run does not reach)")
    line = f"{fmt_number(total)} ms ± {section['error_pct']:.0f} %"
    return f"{line} ({section['error_source']})" if section.get("error_source") else line


def fmt_bytes(value: Any) -> str:
    """Bytes in binary units: 1.5 MiB; "–" if missing."""
    if not is_number(value):
        return "–"
    value = float(value)
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {unit}"
    return f"{value:.0f} B"


def fmt_share(value: Any) -> str:
    """A 0..1 share as a percentage with one decimal; "–" if missing."""
    return f"{100 * float(value):.1f} %" if is_number(value) else "–"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               right: Sequence[bool]) -> list[str]:
    """Rows laid out in columns; ``right`` says which columns align right."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w)
                 for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]
