"""Output tensors as they travel back to the host, safe for strict JSON whatever they hold.

Each output is described by its name, dtype, shape, a sha256 of its bytes and
statistics over its finite values, with counts of NaN, +Inf and -Inf (so a
NaN is reported, never a reason for the job to fail). When the job keeps
outputs, the values come back too: as base64 of the little-endian bytes, so
NaN and Inf travel exactly. An output larger than the job's limit comes back
as its summary only, and the job says so in a warning.

Which run: the values are those of the first (cold) run; ``repeatable`` says
whether the run after the timed runs gave the very same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any, Dict, List, Optional, Tuple

#: outputs up to this many values come back whole unless the job sets its own limit
DEFAULT_MAX_VALUES = 1 << 16


def _digest(value: Any) -> str:
    data = value.tobytes() if hasattr(value, "tobytes") else repr(value).encode()
    return hashlib.sha256(data).hexdigest()


def _number(value: Any) -> Optional[float]:
    number = float(value)
    return number if math.isfinite(number) else None


def statistics(value: Any) -> Optional[Dict[str, Any]]:
    """Counts and moments of a numeric array; None for other values (strings, maps)."""
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        return None
    flat = value.reshape(-1)
    stats = {"count": int(flat.size), "nan": 0, "posinf": 0, "neginf": 0}  # type: Dict[str, Any]
    if value.dtype.kind == "f":
        wide = flat.astype(np.float64)
        stats["nan"] = int(np.isnan(wide).sum())
        stats["posinf"] = int(np.isposinf(wide).sum())
        stats["neginf"] = int(np.isneginf(wide).sum())
        wide = wide[np.isfinite(wide)]
    else:
        wide = flat.astype(np.float64)
    stats["finite"] = int(wide.size)
    if wide.size:
        stats.update(min=_number(wide.min()), max=_number(wide.max()),
                     mean=_number(wide.mean()), std=_number(wide.std()))
    else:
        stats.update(min=None, max=None, mean=None, std=None)
    return stats


def encode(value: Any) -> Dict[str, Any]:
    """The array's bytes as base64 (little-endian), exact for NaN and Inf."""
    import numpy as np

    little = value.astype(value.dtype.newbyteorder("<"), copy=False)
    data = np.ascontiguousarray(little).tobytes()
    return {"encoding": "base64", "byteorder": "little",
            "data": base64.b64encode(data).decode("ascii")}


def describe(name: str, value: Any, keep: bool, limit: Optional[int]
             ) -> Tuple[Dict[str, Any], Optional[str]]:
    """An output's entry for the runner result, and a warning when values were dropped."""
    shape = list(getattr(value, "shape", []))
    dtype = str(getattr(value, "dtype", type(value).__name__))
    entry = {"name": name, "dtype": dtype, "shape": shape,
             "sha256": _digest(value)}  # type: Dict[str, Any]
    stats = statistics(value)
    entry["stats"] = stats
    if not keep:
        return entry, None
    if stats is None:
        return entry, ("output %r (%s) is not a numeric tensor: its values were not kept"
                       % (name, dtype))
    if limit is not None and stats["count"] > limit:
        entry["values_dropped"] = True
        return entry, ("output %r has %d values, more than the %d kept: only its statistics "
                       "and hash came back; run with max_output_values=None (or a larger "
                       "limit) for every value" % (name, stats["count"], limit))
    entry["values"] = encode(value)
    return entry, None


def describe_all(names: List[str], values: List[Any], settings: Dict[str, Any],
                 later: Optional[List[Any]] = None) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Entries for every output of a job's cold run, and the warnings they raise.

    ``later`` are the outputs of a run after the timed runs: each entry's
    ``repeatable`` says whether that run gave the same bytes.
    """
    keep = bool(settings.get("keep_outputs"))
    limit = settings.get("max_output_values", DEFAULT_MAX_VALUES)
    limit = None if limit is None else int(limit)
    entries = []
    warnings = []
    for index, (name, value) in enumerate(zip(names, values)):  # noqa: B905 - Python 3.8
        entry, warning = describe(name, value, keep, limit)
        if later is not None and index < len(later):
            entry["repeatable"] = _digest(later[index]) == entry["sha256"]
        entries.append(entry)
        if warning:
            warnings.append(warning)
    return entries, warnings


def make_safe(result: Dict[str, Any]) -> None:
    """Re-encode plain-list output values holding NaN or Inf (a plug-in's runner may
    return them so), so the result still serialises as strict JSON. A result without such
    lists needs nothing, not even numpy (a plug-in's board may lack it)."""
    lists = [entry for entry in result.get("outputs") or []
             if isinstance(entry, dict) and isinstance(entry.get("values"), list)]
    if not lists:
        return
    import numpy as np

    for entry in lists:
        values = entry["values"]
        try:
            array = np.asarray(values, dtype=np.dtype(str(entry.get("dtype") or "float64")))
        except (TypeError, ValueError):
            continue
        if array.dtype.kind == "f" and not bool(np.isfinite(array).all()):
            entry["values"] = encode(array)
            if entry.get("stats") is None:
                entry["stats"] = statistics(array)
