"""Make a job's input arrays from their specs (numpy only)."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Tuple


def _failure(what: str, where: str, hint: str) -> Exception:
    from workbench_agent.runner_api import AgentFailure

    return AgentFailure("InputSpecError", what, where=where, hint=hint)


def _random(spec: Dict[str, Any], np: Any) -> Any:
    dtype = np.dtype(spec["dtype"])
    shape = tuple(spec["shape"])
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        low = int(spec.get("low", 0))
        high = int(spec.get("high", 10))
        if high <= low:
            raise _failure("Integer input range is empty: low=%d, high=%d" % (low, high),
                           spec["name"], "Set high above low (high is exclusive)")
        return rng.integers(low, high, size=shape, dtype=dtype)
    low = float(spec.get("low", -1.0))
    high = float(spec.get("high", 1.0))
    return rng.uniform(low, high, size=shape).astype(dtype)


def _from_npy(spec: Dict[str, Any], np: Any) -> Any:
    path = spec.get("path", "")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _failure("Cannot read the input array: %s" % exc, path,
                       "Give a .npy file saved with numpy.save") from None
    if str(array.dtype) != spec["dtype"]:
        raise _failure("Input %r has dtype %s, the model expects %s"
                       % (spec["name"], array.dtype, spec["dtype"]), path,
                       "Convert it with array.astype(%r)" % spec["dtype"])
    if list(array.shape) != list(spec["shape"]):
        raise _failure("Input %r has shape %s, the model expects %s"
                       % (spec["name"], list(array.shape), spec["shape"]), path,
                       "Reshape the array or set the model's symbolic dims to match")
    return array


def make_inputs(specs: List[Dict[str, Any]]) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Arrays by input name, and a record per input: the spec plus a sha256 of the data."""
    import numpy as np

    arrays: Dict[str, Any] = {}
    records: List[Dict[str, Any]] = []
    for spec in specs:
        kind = spec.get("kind")
        if kind == "random":
            array = _random(spec, np)
        elif kind == "zeros":
            array = np.zeros(tuple(spec["shape"]), dtype=np.dtype(spec["dtype"]))
        elif kind == "npy":
            array = _from_npy(spec, np)
        else:
            raise _failure("Unknown input kind %r" % kind, spec.get("name", "?"),
                           "Use random, zeros or npy")
        array = np.require(array, requirements="C")  # keeps a 0-d array 0-d
        arrays[spec["name"]] = array
        digest = hashlib.sha256(array.tobytes()).hexdigest()
        spec_record = {k: v for k, v in spec.items()
                       if k not in ("name", "dtype", "shape", "sha256")}
        records.append({"name": spec["name"], "dtype": str(array.dtype),
                        "shape": list(array.shape), "spec": spec_record, "sha256": digest})
    return arrays, records
