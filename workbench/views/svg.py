"""A small SVG canvas for the report's figures: shapes, text, axes with ticks, a legend.

Figures drawn here are text in the page: crisp at any zoom, searchable (a
layer's name is text, and its full name is each shape's tooltip), small, and
written without matplotlib in a few milliseconds. There is no text measuring:
widths are estimated from the number of characters, so labels are shortened
(the full text stays in the tooltip) and margins are generous.

Every text and attribute value is escaped here, so a name holding ``<&"``
cannot break the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape as _html_escape

from workbench.profiling._text import fmt_si

FONT = 'system-ui,-apple-system,"Segoe UI",sans-serif'
FONT_SIZE = 12
#: an average character's width at FONT_SIZE, generous for sans-serif digits and letters
CHAR_WIDTH = 7.0
AXIS_COLOR = "#444"
GRID_COLOR = "#e4e4e4"
CAVEAT_COLOR = "#b00020"


#: characters XML 1.0 does not allow anywhere (a NUL or vertical tab in a layer's name)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` safe inside an element or a quoted attribute: markup escaped, and each
    character XML cannot hold shown as the replacement character (U+FFFD)."""
    return _html_escape(_NOT_XML.sub("\ufffd", text))


def same_value(low: float, high: float) -> bool:
    """True when ``high`` is not above ``low`` by more than a billionth of their size: a
    range that is one value however its last bits differ."""
    return not high - low > 1e-9 * max(abs(low), abs(high))


def _number(value: float) -> str:
    """A coordinate with two decimals at most: the page stays small."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """The estimated width of ``text`` in pixels."""
    return len(text) * CHAR_WIDTH * size / FONT_SIZE


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart), at most ``count + 1``
    intervals over ``low``..``high``."""
    if same_value(low, high):
        return [low]
    raw = (high - low) / (max(count, 1) + 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def decade_ticks(low: float, high: float) -> list[float]:
    """The powers of ten between ``low`` and ``high`` (both > 0): a log axis's ticks."""
    return [10.0 ** e for e in range(math.ceil(math.log10(low) - 1e-9),
                                      math.floor(math.log10(high) + 1e-9) + 1)]


def tick_label(value: float) -> str:
    """A tick's text: 0.5, 12, 1,500, 2e+06."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:,.6g}"


class Canvas:
    """An SVG image built element by element, in pixels from the top left."""

    def __init__(self, width: float, height: float, label: str) -> None:
        self.width, self.height, self.label = width, height, label
        self._parts: list[str] = []

    def rect(self, x: float, y: float, width: float, height: float, fill: str, *,
             tip: str | None = None, css: str | None = None) -> None:
        """A filled rectangle; ``tip`` shows on hover; ``css`` is its class."""
        attributes = (f'x="{_number(x)}" y="{_number(y)}" width="{_number(max(width, 0))}" '
                      f'height="{_number(max(height, 0))}" fill="{escape(fill)}"')
        self._shape("rect", attributes, tip, css)

    def circle(self, x: float, y: float, radius: float, fill: str, *, tip: str | None = None,
               css: str | None = None) -> None:
        """A filled dot at (``x``, ``y``)."""
        attributes = (f'cx="{_number(x)}" cy="{_number(y)}" r="{_number(radius)}" '
                      f'fill="{escape(fill)}" fill-opacity="0.85"')
        self._shape("circle", attributes, tip, css)

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = AXIS_COLOR, *,
             width: float = 1.0, dash: str | None = None, css: str | None = None) -> None:
        """A straight line; ``dash`` is an SVG dash pattern ("4 3")."""
        attributes = (f'x1="{_number(x1)}" y1="{_number(y1)}" x2="{_number(x2)}" '
                      f'y2="{_number(y2)}" stroke="{escape(color)}" '
                      f'stroke-width="{_number(width)}"')
        if dash:
            attributes += f' stroke-dasharray="{escape(dash)}"'
        self._shape("line", attributes, None, css)

    def text(self, x: float, y: float, text: str, *, anchor: str = "start",
             size: float = FONT_SIZE, color: str = "#222", bold: bool = False,
             rotate: bool = False, tip: str | None = None) -> None:
        """Text whose middle sits at ``y``; ``anchor`` is start, middle or end; ``rotate``
        turns it to read upwards (a vertical axis's label)."""
        attributes = (f'x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" '
                      f'dominant-baseline="central" fill="{escape(color)}"')
        if size != FONT_SIZE:
            attributes += f' font-size="{_number(size)}"'
        if bold:
            attributes += ' font-weight="600"'
        if rotate:
            attributes += f' transform="rotate(-90 {_number(x)} {_number(y)})"'
        inner = escape(text) + (f"<title>{escape(tip)}</title>" if tip else "")
        self._parts.append(f"<text {attributes}>{inner}</text>")

    def title(self, lines: Sequence[str], caveat: str | None) -> float:
        """The figure's title lines and, in red, its caveat; returns the height they take."""
        y = 14.0
        for i, line in enumerate(lines):
            self.text(self.width / 2, y, line, anchor="middle", size=14 if i == 0 else 12,
                      bold=i == 0)
            y += 18
        if caveat:
            self.text(self.width / 2, y, f"[{caveat}]", anchor="middle", color=CAVEAT_COLOR,
                      bold=True)
            y += 18
        return y + 4

    def legend(self, entries: Sequence[tuple[str, str]], x: float, y: float,
               heading: str | None = None, dashes: Sequence[str | None] | None = None) -> float:
        """Swatches with their names in rows from (``x``, ``y``) up to the right edge;
        with ``dashes``, each swatch is a line of that dash pattern (None: solid). Returns
        the height used."""
        left, row = x, y
        if heading:
            self.text(x, row, heading, color="#555")
            x += text_width(heading) + 10
        for i, (name, color) in enumerate(entries):
            width = 16 + text_width(name) + 14
            if x + width > self.width - 8 and x > left + 1:
                x, row = left, row + 18
            if dashes is None:
                self.rect(x, row - 5, 10, 10, color, css="swatch")
            else:
                self.line(x - 4, row, x + 10, row, color, width=1.5, dash=dashes[i])
            self.text(x + 14, row, name)
            x += width
        return row - y + 18

    def svg(self) -> str:
        """The finished ``<svg>`` element: scales to its container, keeps its proportions."""
        # No xmlns: inside an HTML page the parser puts <svg> in the SVG namespace itself.
        return (f'<svg role="img" '
                f'aria-label="{escape(self.label)}" viewBox="0 0 {_number(self.width)} '
                f'{_number(self.height)}" width="{_number(self.width)}" '
                f'height="{_number(self.height)}" style="max-width:100%;height:auto" '
                f'font-family="{escape(FONT)}" font-size="{FONT_SIZE}">'
                f"<title>{escape(self.label)}</title>{''.join(self._parts)}</svg>")

    def _shape(self, tag: str, attributes: str, tip: str | None, css: str | None) -> None:
        if css:
            attributes += f' class="{escape(css)}"'
        if tip:
            self._parts.append(f"<{tag} {attributes}><title>{escape(tip)}</title></{tag}>")
        else:
            self._parts.append(f"<{tag} {attributes}/>")


class Axis:
    """A mapping from data values to pixels along one side of a plot, linear or log;
    ``whole`` keeps whole-number ticks only (counts)."""

    def __init__(self, low: float, high: float, start: float, end: float, *,
                 log: bool = False, whole: bool = False) -> None:
        if log:
            low, high = math.log10(low), math.log10(high)
        if same_value(low, high):
            low, high = low - 0.5, high + 0.5
        self.low, self.high, self.start, self.end, self.log = low, high, start, end, log
        self.whole = whole

    def __call__(self, value: float) -> float:
        """The pixel coordinate of ``value``."""
        position = math.log10(value) if self.log else value
        return self.start + (position - self.low) / (self.high - self.low) * (
            self.end - self.start)

    def label(self, value: float) -> str:
        """A tick's text: SI prefixes on a log axis (10 k, 1 M), plain numbers otherwise."""
        return fmt_si(value) if self.log else tick_label(value)

    def ticks(self) -> list[float]:
        """Tick values inside the axis's range."""
        if self.log:
            return decade_ticks(10.0 ** self.low, 10.0 ** self.high)
        return [t for t in linear_ticks(self.low, self.high)
                if self.low - 1e-9 <= t <= self.high + 1e-9 and not (self.whole and t % 1)]


def frame(canvas: Canvas, x: Axis, y: Axis, x_label: str, y_label: str, *,
          y_ticks: bool = True, grid: bool = True, y_label_x: float | None = None) -> None:
    """A plot's frame: its box, the ticks and grid of both axes and their labels.

    ``y_ticks=False`` leaves the vertical axis's ticks to the figure (layer names), which
    then says where the vertical label goes (``y_label_x``).
    """
    left, right = min(x.start, x.end), max(x.start, x.end)
    top, bottom = min(y.start, y.end), max(y.start, y.end)
    for value in x.ticks():
        px = x(value)
        if grid:
            canvas.line(px, top, px, bottom, GRID_COLOR)
        canvas.line(px, bottom, px, bottom + 4)
        canvas.text(px, bottom + 14, x.label(value), anchor="middle", size=11)
    if y_ticks:
        for value in y.ticks():
            py = y(value)
            if grid:
                canvas.line(left, py, right, py, GRID_COLOR)
            canvas.line(left - 4, py, left, py)
            canvas.text(left - 7, py, y.label(value), anchor="end", size=11)
    canvas.line(left, top, left, bottom)
    canvas.line(left, bottom, right, bottom)
    canvas.text((left + right) / 2, bottom + 34, x_label, anchor="middle")
    canvas.text(left - 52 if y_label_x is None else y_label_x, (top + bottom) / 2, y_label,
                anchor="middle", rotate=True)
