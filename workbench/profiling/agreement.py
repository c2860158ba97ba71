"""How close a profile's outputs are to a reference: per-output error figures.

Pure numpy: the arrays come from a profile (:func:`output_array` decodes the
values the agent sent, NaN and Inf included) and from a reference the caller
made (:func:`workbench.accuracy.compare_outputs` runs one on the host). Per
output, over the positions where both sides are finite:

* ``max_abs_error`` and ``mean_abs_error``;
* ``cosine``: cosine similarity of the two flattened outputs;
* ``snr_db``: 10·log10(Σ reference² / Σ (reference − output)²), ``inf`` when equal;
* for outputs that look like a classifier's ([batch, classes], classes >= 2):
  ``top1_agreement`` (share of rows whose top class matches) and
  ``top5_agreement`` (share of rows whose reference top class is among the
  output's five highest; classes >= 5);
* ``nonfinite_mismatch``: positions where one side is NaN or Inf and the other
  is not the same value.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: columns of :meth:`OutputAgreement.to_dataframe`, in order
COLUMNS = ("output", "shape", "max_abs_error", "mean_abs_error", "cosine", "snr_db",
           "top1_agreement", "top5_agreement", "nonfinite_mismatch")


def output_array(entry: dict[str, Any]) -> np.ndarray | None:
    """An output's values as an array of its dtype and shape, or None when none were kept.

    Reads both forms a profile holds: base64 bytes (exact, NaN and Inf included)
    and plain nested lists (version 1 documents, plug-in runners).
    """
    import numpy as np

    values = entry.get("values")
    if values is None:
        return None
    dtype = np.dtype(str(entry.get("dtype") or "float32"))
    shape = tuple(int(d) for d in entry.get("shape") or [])
    if isinstance(values, dict):
        data = base64.b64decode(values["data"])
        array = np.frombuffer(data, dtype=dtype.newbyteorder("<")).astype(dtype)
    else:
        array = np.asarray(values, dtype=dtype)
    return array.reshape(shape)


def _classifier_rows(array: np.ndarray) -> np.ndarray | None:
    """The output as [rows, classes] when it looks like a classifier's, else None."""
    if array.dtype.kind != "f" or array.ndim < 1:
        return None
    squeezed = array.reshape([d for d in array.shape if d != 1] or [1])
    if squeezed.ndim == 1 and squeezed.size >= 2:
        return squeezed.reshape(1, -1)
    if squeezed.ndim == 2 and squeezed.shape[1] >= 2:
        return squeezed
    return None


def _topk_agreement(actual: np.ndarray, expected: np.ndarray
                    ) -> tuple[float | None, float | None]:
    import numpy as np

    rows_a, rows_e = _classifier_rows(actual), _classifier_rows(expected)
    if rows_a is None or rows_e is None or rows_a.shape != rows_e.shape:
        return None, None
    clean_a = np.nan_to_num(rows_a.astype(np.float64), nan=-np.inf)
    clean_e = np.nan_to_num(rows_e.astype(np.float64), nan=-np.inf)
    top_e = clean_e.argmax(axis=1)
    top1 = float((clean_a.argmax(axis=1) == top_e).mean())
    if rows_a.shape[1] < 5:
        return top1, None
    five = np.argsort(-clean_a, axis=1, kind="stable")[:, :5]
    top5 = float((five == top_e[:, None]).any(axis=1).mean())
    return top1, top5


def output_errors(actual: np.ndarray, expected: np.ndarray) -> dict[str, Any]:
    """Error figures of one output against its reference (same shape), as in the module doc."""
    import numpy as np

    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    e = np.asarray(expected, dtype=np.float64).reshape(-1)
    both = np.isfinite(a) & np.isfinite(e)
    same_special = ~np.isfinite(a) & ~np.isfinite(e) & ((a == e) | (np.isnan(a) & np.isnan(e)))
    mismatch = int((~both & ~same_special).sum())
    a, e = a[both], e[both]
    row: dict[str, Any] = {"nonfinite_mismatch": mismatch, "compared": int(a.size)}
    if a.size == 0:
        row.update(max_abs_error=None, mean_abs_error=None, cosine=None, snr_db=None)
    else:
        diff = np.abs(a - e)
        norms = float(np.linalg.norm(a) * np.linalg.norm(e))
        noise = float(np.sum((e - a) ** 2))
        signal = float(np.sum(e ** 2))
        row.update(max_abs_error=float(diff.max()), mean_abs_error=float(diff.mean()),
                   cosine=float(np.dot(a, e) / norms) if norms > 0 else None,
                   snr_db=(math.inf if noise == 0 else
                           (10.0 * math.log10(signal / noise) if signal > 0 else None)))
    top1, top5 = _topk_agreement(actual, expected)
    row.update(top1_agreement=top1, top5_agreement=top5)
    return row


@dataclass
class OutputAgreement:
    """Per-output error figures of a profile against a reference, with where both came from."""

    #: what was compared: the profile's label
    profile: str
    #: what the reference is, in words ("onnxruntime 1.20 fp32 on the host CPU", ...)
    reference: str
    #: one dict per output, keys as :data:`COLUMNS` plus ``compared``
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: notes: agreement-only figures (random weights), transposed layouts, skipped outputs
    notes: list[str] = field(default_factory=list)

    def row(self, output: str) -> dict[str, Any]:
        """The figures of one output, by name."""
        for row in self.rows:
            if row["output"] == output:
                return row
        names = ", ".join(r["output"] for r in self.rows)
        raise errors.InvalidOptionValue(f"There is no output called {output!r}",
                                        where=self.profile, hint=f"Outputs: {names}")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per output, columns as :data:`COLUMNS`."""
        import pandas as pd

        return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in self.rows],
                            columns=list(COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able but for ``inf`` SNR when the outputs are equal)."""
        return {"profile": self.profile, "reference": self.reference,
                "rows": [dict(r) for r in self.rows], "notes": list(self.notes)}

    def __repr__(self) -> str:
        lines = [f"{self.profile} against {self.reference}"]
        for row in self.rows:
            parts = [f"max |err| {_fmt(row.get('max_abs_error'))}",
                     f"cosine {_fmt(row.get('cosine'))}", f"SNR {_fmt(row.get('snr_db'))} dB"]
            if row.get("top1_agreement") is not None:
                parts.append(f"top-1 {row['top1_agreement']:.1%}")
            if row.get("top5_agreement") is not None:
                parts.append(f"top-5 {row['top5_agreement']:.1%}")
            if row.get("nonfinite_mismatch"):
                parts.append(f"{row['nonfinite_mismatch']} NaN/Inf mismatches")
            lines.append(f"  {row['output']}: " + ", ".join(parts))
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        table: str = self.to_dataframe().to_html(index=False, na_rep="–",
                                                   float_format=lambda v: f"{v:.4g}")
        return (f"<p><b>{escape(self.profile)}</b> against {escape(self.reference)}</p>"
                f"{table}" + (f"<ul>{notes}</ul>" if notes else ""))


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}"


def agreement(profile: str, reference: str, actual: dict[str, np.ndarray],
              expected: Mapping[str, np.ndarray], shapes: Mapping[str, Sequence[int]],
              notes: Sequence[str] = ()) -> OutputAgreement:
    """Compare outputs by name; every name in ``actual`` must be in ``expected``."""
    rows = []
    for name, array in actual.items():
        rows.append({"output": name, "shape": list(shapes.get(name, array.shape)),
                     **output_errors(array, expected[name])})
    return OutputAgreement(profile, reference, rows, list(notes))
