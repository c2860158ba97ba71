"""The kernels under each layer (Arm NN: the Arm Compute Library kernels that ran it).

A layer row may carry ``kernels`` (see the profile schema): each kernel's name,
its median time per run, its share of the layer's kernel time, and for the
layer's GEMM or convolution kernels the achieved GFLOP/s and its share of the
detected board's peak. These views show them under their layer; they compute
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from workbench.profiling import _text as fmt


def kernel_line(kernel: dict[str, Any]) -> str:
    """One kernel as text: name, median µs, share of the layer, GFLOP/s (and of peak)."""
    median = (kernel.get("duration_us") or {}).get("median")
    text = (f"{kernel['name']} {fmt.fmt_number(median)} µs "
            f"({fmt.fmt_share(kernel.get('share'))} of the layer)")
    if kernel.get("gflops_per_s") is not None:
        text += f", {fmt.fmt_number(kernel['gflops_per_s'])} GFLOP/s"
        if kernel.get("peak_share") is not None:
            text += f" ({fmt.fmt_share(kernel['peak_share'])} of peak)"
    return text


def kernel_text(layers: Sequence[dict[str, Any]]) -> list[str]:
    """Text lines: each layer with kernels, numbered as in the layer table, then its kernels."""
    lines = []
    for number, layer in enumerate(layers, 1):
        kernels = layer.get("kernels") or []
        if kernels:
            lines.append(f"{number:>3} {layer['name']}")
            lines += [f"      {kernel_line(k)}" for k in kernels]
    return lines


def kernel_row_html(layer: dict[str, Any], width: int, css: str = "kernels") -> str:
    """A ``<tr>`` spanning the table's ``width`` columns that lists the layer's kernels;
    "" for a layer without kernel rows."""
    kernels = layer.get("kernels") or []
    if not kernels:
        return ""
    items = "".join(f"<li>{escape(kernel_line(k))}</li>" for k in kernels)
    return (f'<tr class="{escape(css)}"><td colspan="{width}"><ul style="margin:0">{items}'
            "</ul></td></tr>")
