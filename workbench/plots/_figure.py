"""What every figure shares: matplotlib loaded on first use (Agg without a display, fonts
for other scripts), the axes to draw into, titles that say when times are not hardware
times, and the PNG bytes of a figure (colours per op type: :mod:`workbench.plots.palette`)."""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.profiling.profile import layer_time_us

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile

LABEL_WIDTH = 28
TIME_LABEL = "median time per run (µs)"


def _pyplot() -> Any:
    import matplotlib

    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _script_fonts(matplotlib)
    return plt


#: families that cover Chinese, Japanese and Korean, where installed (fonts-noto-cjk, ...)
_WIDE_FONTS = ("Noto Sans CJK", "Noto Sans SC", "Noto Sans JP", "Source Han Sans", "WenQuanYi",
               "Droid Sans Fallback", "Unifont")


def _script_fonts(matplotlib: Any) -> None:
    """Let labels in other scripts (a model named in CJK) fall back to an installed font that
    has their glyphs: matplotlib tries the families of ``font.family`` glyph by glyph."""
    # A glyph no installed font has draws as a box; a warning per glyph and per draw says no
    # more (the label's text stays whole in the HTML report and the tables). Set on every use:
    # whoever restores the warning filters (a test runner, catch_warnings) drops it.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
    if getattr(_script_fonts, "done", False):
        return
    _script_fonts.done = True  # type: ignore[attr-defined]
    from matplotlib import font_manager

    wide = sorted({f.name for f in font_manager.fontManager.ttflist
                   if f.name.startswith(_WIDE_FONTS)})
    if wide and matplotlib.rcParams["font.family"] == ["sans-serif"]:
        matplotlib.rcParams["font.family"] = ["sans-serif", *wide]


def _axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new_ax = _pyplot().subplots(figsize=(width, height))
    return fig, new_ax


def _title(text: str, profiles: Sequence[Profile]) -> str:
    if len(profiles) == 1:
        caveat = profiles[0].caveat
        return f"{text} — {profiles[0].label}" + (f"\n[{caveat}]" if caveat else "")
    # Several profiles: the legend or tick labels tag each; the title warns once.
    tags = [tag for tag, flag in (("EMULATED", any(p.is_emulated for p in profiles)),
                                  ("ESTIMATE", any(p.is_estimate and not p.is_emulated
                                                   for p in profiles))) if flag]
    return text + (f"\n[includes {' and '.join(tags)} profiles: not hardware times]"
                   if tags else "")


def _tagged_label(profile: Profile, label: str) -> str:
    if profile.is_emulated:
        return f"{label} [EMULATED]"
    return f"{label} [ESTIMATE]" if profile.is_estimate else label


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")


def _timed_layers(profile: Profile, n: int | None = None) -> list[dict[str, Any]]:
    return [layer for layer in profile.top_layers(n) if layer_time_us(layer) is not None]


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes; the figure is closed afterwards."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()
