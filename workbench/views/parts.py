"""Building blocks the views share: HTML cells and tables, embedded PNG figures, caveat
banners, collapsed name lists, and the notebook bundle's include/exclude rule.

Every text that reaches HTML through these helpers is escaped here, so a view
cannot forget to.
"""

from __future__ import annotations

import base64
from collections.abc import Container, Sequence
from html import escape

#: names shown before a long list of names collapses into a <details> element
NAMES_SHOWN = 8


def wanted(key: str, include: Container[str] | None, exclude: Container[str] | None) -> bool:
    """True when a notebook bundle should hold ``key``, per IPython's ``include``/``exclude``."""
    return (include is None or key in include) and (exclude is None or key not in exclude)


def png_base64(png: bytes) -> str:
    """PNG bytes as base64 text, the form notebooks and data URIs take."""
    return base64.b64encode(png).decode("ascii")


def png_img(png: bytes, alt: str) -> str:
    """An ``<img>`` that carries the PNG itself as a data URI (no file next to the page)."""
    return f'<img src="data:image/png;base64,{png_base64(png)}" alt="{escape(alt)}">'


def cell(text: str, numeric: bool = False, css: str = "", tag: str = "td") -> str:
    """One table cell with escaped text; numeric cells align right (class ``n``)."""
    classes = " ".join(c for c in ("n" if numeric else "", css) if c)
    attribute = f' class="{classes}"' if classes else ""
    return f"<{tag}{attribute}>{escape(text)}</{tag}>"


def table(headers: Sequence[tuple[str, bool]], rows: Sequence[str], css: str = "") -> str:
    """A table of (header, numeric) columns over ready-made ``<tr>`` rows."""
    head = "".join(cell(text, numeric, tag="th") for text, numeric in headers)
    attribute = f' class="{css}"' if css else ""
    return (f"<table{attribute}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def text_rows(rows: Sequence[Sequence[str]], numeric: Sequence[bool], css: str = "") -> list[str]:
    """``<tr>`` rows of plain-text cells, aligned per column by ``numeric``; ``css`` names
    each row's class."""
    start = f'<tr class="{escape(css)}">' if css else "<tr>"
    return [start + "".join(cell(text, right) for text, right in zip(row, numeric, strict=True))
            + "</tr>" for row in rows]


def facts_table(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table of name and value, names as row headers."""
    cells = "".join(f"<tr>{cell(name, tag='th')}{cell(value)}</tr>" for name, value in rows)
    return f'<table class="facts">{cells}</table>'


def caveat_banner(caveat: str | None) -> str:
    """The red banner an emulated or estimated profile carries; "" for a hardware measurement."""
    if not caveat:
        return ""
    # Styled inline: a notebook cell has no stylesheet of ours.
    style = "background:#b00020;color:#fff;font-weight:bold;padding:.4em .8em;display:inline-block"
    return f'<p class="caveat" style="{style}">{escape(caveat)}</p>'


def name_list(names: Sequence[str], shown: int = NAMES_SHOWN) -> str:
    """Names joined by commas; past ``shown`` names, the rest fold into a <details> element.

    A model's node list can run to hundreds of names, which would otherwise
    fill a table cell; "–" stands for an empty list.
    """
    texts = [str(name) for name in names]
    if not texts:
        return "–"
    if len(texts) <= shown:
        return escape(", ".join(texts))
    rest = texts[shown:]
    return (f"{escape(', '.join(texts[:shown]))}, … <details><summary>{len(rest)} more"
            f"</summary>{escape(', '.join(rest))}</details>")
