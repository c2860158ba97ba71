"""The versioned documents that cross process and machine boundaries.

Each is a JSON Schema shipped in ``workbench/formats/schemas``:

=====================  ==========================  ==========================================
document               identifier                  written by
=====================  ==========================  ==========================================
job                    ``workbench.job/1``         the host, read by the agent
event stream           ``workbench.events/2``      the agent, one JSON object per line
runner result          ``workbench.runner/1``      a backend's runner module (``runner_api`` 1 or 2)
profile                ``workbench.profile/2``     the host, read by every front end (1 is read)
comparison             ``workbench.comparison/1``  ``Comparison.to_dict``, read by front ends
=====================  ==========================  ==========================================

A change to a document is additive or bumps its version; ``tests/fixtures/formats``
keeps one document of every released version, and the tests load them all.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from workbench.errors import FormatError, WorkbenchError

#: identifier -> schema file name
SCHEMAS: dict[str, str] = {
    "workbench.job/1": "job-1.json",
    "workbench.events/1": "events-1.json",
    "workbench.events/2": "events-2.json",
    "workbench.runner/1": "runner-1.json",
    "workbench.profile/1": "profile-1.json",
    "workbench.profile/2": "profile-2.json",
    "workbench.comparison/1": "comparison-1.json",
}

PROFILE = "workbench.profile/2"
#: the profile format before outputs were declared (read, never written)
PROFILE_1 = "workbench.profile/1"
JOB = "workbench.job/1"
EVENTS = "workbench.events/2"
#: the event stream older agents write (read, translated into version 2)
EVENTS_1 = "workbench.events/1"
RUNNER = "workbench.runner/1"
COMPARISON = "workbench.comparison/1"
#: the runner API the agent speaks: 2 adds intermediates(job, ctx) for the per-layer diff
RUNNER_API = 2
#: every runner API the agent loads
RUNNER_APIS = (1, 2)


@cache
def schema(identifier: str) -> dict[str, Any]:
    """The JSON Schema of a document, e.g. ``schema("workbench.profile/2")``."""
    try:
        filename = SCHEMAS[identifier]
    except KeyError:
        raise FormatError(f"Unknown document format {identifier!r}",
                          hint=f"Known formats: {', '.join(SCHEMAS)}") from None
    folder = resources.files("workbench.formats").joinpath("schemas")
    text = folder.joinpath(filename).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(document: Any, identifier: str, *, where: str | None = None,
             error: type[WorkbenchError] = FormatError) -> None:
    """Raise ``error`` naming the first place where ``document`` breaks its schema."""
    jsonschema = _jsonschema()
    problem = jsonschema.exceptions.best_match(_validator(identifier).iter_errors(document))
    if problem is not None:
        path = "/".join(str(p) for p in problem.absolute_path) or "(top level)"
        raise error(f"Not a valid {identifier} document: {problem.message} at {path}",
                    where=where)


def validate_runner(result: Any, *, where: str | None = None) -> None:
    """:func:`validate` against :data:`RUNNER`, with the same verdict, faster on a job's path.

    Most of a result is its layers' per-run times (``durations_us``, of a layer or of
    its kernels): numbers, checked here by a plain loop, while the schema checks the
    rest with those lists left empty. (Checking them one item at a time through the
    schema was most of the host's time after a warm job.) Layer rows whose every field
    surely meets the schema are then left out of its walk too; one row in doubt sends
    them all through it, so a broken result gets the schema's verdict and message.
    """
    layers = result.get("layers") if isinstance(result, dict) else None
    if isinstance(layers, list):
        slim_layers = []
        for index, row in enumerate(layers):
            slim_layers.append(_times_checked(row, f"layers/{index}", where))
        # rows that surely meet the schema are not walked through it again; any other
        # row sends them all through it, for the schema's own message
        sure = all(_surely_a_layer(row) for row in slim_layers)
        result = dict(result, layers=[] if sure else slim_layers)
    validate(result, RUNNER, where=where)


def _is_text(value: Any) -> bool:
    return type(value) is str


def _surely_a_layer(row: Any) -> bool:
    """Whether ``row`` (its times checked already) surely meets the runner schema's layer
    row; False when in any doubt (the schema then says what is wrong)."""
    if not isinstance(row, dict) or not (
            _is_text(row.get("name")) and _is_text(row.get("op_type"))
            and type(row.get("calls")) is int and type(row.get("durations_us")) is list):
        return False
    if "provider" in row and not (row["provider"] is None or _is_text(row["provider"])):
        return False
    for key in ("input_shapes", "output_shapes"):
        if key in row and not (row[key] is None or type(row[key]) is list):
            return False
    operators = row.get("operators", [])
    if type(operators) is not list or any(type(o) is not int for o in operators):
        return False
    kernels = row.get("kernels", [])
    return type(kernels) is list and all(
        type(k) is dict and _is_text(k.get("name")) and type(k.get("durations_us")) is list
        for k in kernels)


def _times_checked(row: Any, at: str, where: str | None) -> Any:
    """``row`` with its lists of times checked and emptied (its kernels' too): a copy."""
    if not isinstance(row, dict):
        return row
    row = dict(row)
    times = row.get("durations_us")
    if isinstance(times, list):
        for index, value in enumerate(times):
            if type(value) not in (int, float):  # a bool is no number to the schema either
                raise FormatError(f"Not a valid {RUNNER} document: {value!r} is not of type "
                                  f"'number' at {at}/durations_us/{index}", where=where)
        row["durations_us"] = []
    kernels = row.get("kernels")
    if isinstance(kernels, list):
        row["kernels"] = [_times_checked(kernel, f"{at}/kernels/{index}", where)
                          for index, kernel in enumerate(kernels)]
    return row


@cache
def _validator(identifier: str) -> Any:
    """The validator of a schema, read and built once per process."""
    loaded = schema(identifier)
    return _jsonschema().validators.validator_for(loaded)(loaded)


def _jsonschema() -> Any:
    """The jsonschema module, imported without rfc3987_syntax.

    Where rfc3987_syntax is installed (Jupyter's format extras bring it),
    jsonschema imports it, and it compiles some forty grammars at import:
    seconds on every job's path in a new process (each command-line profile).
    The schemas here check no formats, so it is kept out of that import;
    whoever imports it later gets it as usual.
    """
    import sys

    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import fails at once
    try:
        import jsonschema
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    return jsonschema
