"""The per-layer numerical diff: each tensor a device computed between layers, against the
same tensor from a reference, in execution order.

Pure data and numpy; :func:`workbench.diff_layers` makes the reference on the
host. Per tensor (see :func:`workbench.profiling.agreement.output_errors`):
maximum and mean absolute error, cosine, SNR, and ``rel_error``,
‖device − reference‖₂ / ‖reference‖₂, which is comparable across layers of
different scale. A tensor summarised on the board (over the job's
``max_output_values``) is compared by its hash: equal bytes give zero error,
otherwise its figures stay empty.

An integer tensor of a quantised model is dequantised with its scale and zero
point and compared with the fp32 tensor it stands for (``compared`` is
``"dequantised"``, ``reference_tensor`` names the fp32 tensor).

``added_error`` is the error a layer adds: its tensor's ``rel_error`` less the
largest ``rel_error`` of the tensors its node reads (zero for the graph's
inputs and weights; empty when one of them was not compared).

The **first jump** is the first tensor whose ``rel_error`` exceeds both
:data:`JUMP_FLOOR` and :data:`JUMP_FACTOR` times the largest one before it:
where the error starts, not where it is largest (errors carry downstream).
Against the fp32 source of a quantised model every layer rounds, from the
input's quantisation on, so there the jump is the layer that adds the most
error (:func:`largest_added`): where quantisation hurts most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: a relative error below this is rounding noise (fp32 kernels that sum in another order)
JUMP_FLOOR = 1e-3
#: a jump is this many times the largest relative error of the layers before it
JUMP_FACTOR = 10.0

#: columns of :meth:`LayerDiff.to_dataframe`, in order
COLUMNS = ("depth", "layer", "op_type", "original_nodes", "tensor", "shape", "compared",
           "max_abs_error", "mean_abs_error", "rel_error", "added_error", "cosine", "snr_db",
           "jump", "reference_tensor")


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """‖actual − expected‖₂ / ‖expected‖₂ over the positions where both are finite."""
    import numpy as np

    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    e = np.asarray(expected, dtype=np.float64).reshape(-1)
    both = np.isfinite(a) & np.isfinite(e)
    if not both.any():
        return None
    noise = float(np.linalg.norm(a[both] - e[both]))
    scale = float(np.linalg.norm(e[both]))
    if scale == 0:
        return 0.0 if noise == 0 else math.inf
    return noise / scale


def first_jump(rows: list[dict[str, Any]]) -> int | None:
    """Index (in ``rows``, execution order) of the first jump, as in the module doc."""
    worst = 0.0
    for index, row in enumerate(rows):
        rel = row.get("rel_error")
        if rel is None:
            continue
        if rel > JUMP_FLOOR and rel > JUMP_FACTOR * worst:
            return index
        worst = max(worst, rel)
    return None


def largest_added(rows: list[dict[str, Any]]) -> int | None:
    """Index of the row that adds the most error (above :data:`JUMP_FLOOR`), or None."""
    best: int | None = None
    for index, row in enumerate(rows):
        added = row.get("added_error")
        if added is not None and added > JUMP_FLOOR and (
                best is None or added > rows[best]["added_error"]):
            best = index
    return best


def added_errors(rows: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> None:
    """Set ``added_error`` on every row, from the executed graph's ``nodes`` (their inputs and
    outputs): as in the module doc."""
    produced = {t for node in nodes for t in node.get("outputs") or []}
    reads = {t: list(node.get("inputs") or []) for node in nodes
             for t in node.get("outputs") or []}
    errors = {row["tensor"]: row.get("rel_error") for row in rows}
    for row in rows:
        rel = row.get("rel_error")
        inputs = [t for t in reads.get(row["tensor"], []) if t]
        before = [errors.get(t) if t in produced else 0.0 for t in inputs]
        if rel is None or row["tensor"] not in reads or any(b is None for b in before):
            row["added_error"] = None
        else:
            row["added_error"] = rel - max([b for b in before if b is not None] or [0.0])


@dataclass
class LayerDiff:
    """A profile's intermediate tensors against a reference, layer by layer."""

    #: the profile's label
    profile: str
    #: what the reference is, in words
    reference: str
    #: one dict per compared tensor, in execution order; keys as :data:`COLUMNS`
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: tensors not compared, each with ``name`` and ``reason``
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: whether the graph the diff ran is the graph the timed runs ran (None: not known)
    graph_equals_timed: bool | None = None
    #: how the device exposed its tensors, in words
    method: str = ""
    notes: list[str] = field(default_factory=list)
    #: whether integer tensors were dequantised against an fp32 reference (the jump is then
    #: the layer that adds the most error)
    dequantised: bool = False
    #: whether the reference ran the same (quantised) model: the errors are its kernels' own
    same_model: bool = False

    @property
    def first_jump(self) -> dict[str, Any] | None:
        """The row of the first layer where the error jumps, or None when none does."""
        found = [r for r in self.rows if r.get("jump")]
        return found[0] if found else None

    def to_dataframe(self) -> pd.DataFrame:
        """One row per compared tensor, columns as :data:`COLUMNS`."""
        import pandas as pd

        return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in self.rows],
                            columns=list(COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``inf`` SNR where a tensor matches exactly)."""
        return {"profile": self.profile, "reference": self.reference,
                "rows": [dict(r) for r in self.rows], "skipped": list(self.skipped),
                "graph_equals_timed": self.graph_equals_timed, "method": self.method,
                "notes": list(self.notes), "dequantised": self.dequantised,
                "same_model": self.same_model}

    def _summary(self) -> list[str]:
        jump = self.first_jump
        lines = [f"{self.profile} against {self.reference}: {len(self.rows)} tensors compared, "
                 f"{len(self.skipped)} skipped"]
        nodes = ", ".join((jump or {}).get("original_nodes") or []) or "?"
        if jump is None:
            lines.append("no layer's error jumps")
        elif self.dequantised:
            where = ("the int8 kernels add the most error" if self.same_model
                     else "quantisation hurts most")
            lines.append(f"{where} at {jump['layer']} ({jump['op_type']}; "
                         f"model nodes {nodes}): it adds relative error "
                         f"{jump['added_error']:.3g}, {jump['rel_error']:.3g} after it")
        else:
            lines.append(f"the error first jumps at {jump['layer']} ({jump['op_type']}; "
                         f"model nodes {nodes}): relative error {jump['rel_error']:.3g}")
        if self.graph_equals_timed is False:
            lines.append("the graph the diff ran differs from the timed graph")
        return lines + [f"note: {n}" for n in self.notes]

    def __repr__(self) -> str:
        return "\n".join(self._summary())

    def _repr_html_(self) -> str:
        from html import escape

        table: str = self.to_dataframe().to_html(index=False, na_rep="–",
                                                   float_format=lambda v: f"{v:.4g}")
        items = "".join(f"<li>{escape(line)}</li>" for line in self._summary())
        return f"<ul>{items}</ul>{table}"


def tensor_row(entry: Mapping[str, Any], actual: np.ndarray | None, expected: np.ndarray,
               expected_sha256: str) -> dict[str, Any]:
    """The figures of one board tensor (``actual`` None: summarised on the board)."""
    from workbench.profiling.agreement import output_errors

    row: dict[str, Any] = {"tensor": entry["name"], "shape": list(entry.get("shape") or []),
                           "layer": entry.get("node", ""), "op_type": entry.get("op_type", ""),
                           "depth": entry.get("depth")}
    if actual is not None:
        figures = output_errors(actual, expected)
        row.update(compared="values", rel_error=relative_error(actual, expected),
                   **{k: figures[k] for k in ("max_abs_error", "mean_abs_error", "cosine",
                                              "snr_db")})
    elif entry.get("sha256") == expected_sha256:
        row.update(compared="hash", rel_error=0.0, max_abs_error=0.0, mean_abs_error=0.0,
                   cosine=1.0, snr_db=math.inf)
    else:
        row.update(compared="statistics", rel_error=None, max_abs_error=None,
                   mean_abs_error=None, cosine=None, snr_db=None)
    return row


def mark_jump(rows: list[dict[str, Any]], dequantised: bool = False) -> None:
    """Set ``jump`` on every row: True on the first jump only (for a dequantised diff, on the
    layer that adds the most error)."""
    index = largest_added(rows) if dequantised else first_jump(rows)
    for position, row in enumerate(rows):
        row["jump"] = position == index
