"""The :class:`Profile`: one ``workbench.profile/2`` document and what users do with it.

A profile is the result of a job (or an estimate): latency samples, per-layer
rows, one run's raw events and everything needed to reproduce it. This
module owns loading, validating, saving and the data exports (DataFrame,
CSV; the Chrome trace is built in :mod:`workbench.profiling.export`). It
never draws: the text summary, HTML report and notebook bundle are views
(:mod:`workbench.views`), which the thin methods here import on first use.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench._atomic import write_atomic
from workbench.errors import ProfileError, ProfileFormatError
from workbench.formats import PROFILE, PROFILE_1, validate
from workbench.profiling import _text as fmt

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from workbench.profiling.layer_query import LayerSelection

#: the profile formats this build reads
SUPPORTED_SCHEMAS: tuple[str, ...] = (PROFILE, PROFILE_1)
_PROFILE_PREFIX = "workbench.profile/"

#: columns of :meth:`Profile.to_dataframe`, in order
LAYER_COLUMNS = ("name", "op_type", "kind", "original_nodes", "provider", "calls",
                 "time_us_median", "time_us_mean", "time_us_std", "time_us_min", "time_us_p90",
                 "share", "macs", "bytes", "gmacs_per_s")
_INT_COLUMNS = ("calls", "macs", "bytes")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_schema(document: Any, where: str | None) -> None:
    """Refuse non-profiles and unknown versions with a message naming both."""
    reads = ", ".join(SUPPORTED_SCHEMAS)
    if not isinstance(document, dict):
        raise ProfileFormatError(
            f"A profile document is a JSON object, not a {type(document).__name__}", where=where,
            hint=f"Give a {reads} document, as written by Profile.save")
    identifier = document.get("schema")
    if identifier in SUPPORTED_SCHEMAS:
        return
    if isinstance(identifier, str) and identifier.startswith(_PROFILE_PREFIX):
        version = identifier[len(_PROFILE_PREFIX):]
        raise ProfileFormatError(
            f"Profile format version {version} ({identifier}) is not one this build reads; "
            f"it reads {reads}", where=where,
            hint="A newer Edge Workbench wrote it: upgrade (pip install -U edge-workbench), "
                 "or re-run the job with this version")
    what = ("Not a profile document: it has no 'schema' field" if identifier is None
            else f"Not a profile document: its schema is {identifier!r}")
    raise ProfileFormatError(f"{what}; this build reads {reads}", where=where)


def _strict_json(value: Any, indent: int | None = None) -> str:
    """JSON text that any reader accepts (no NaN or Infinity), or ProfileError.

    With ``indent``, a document (a dict) gets a line per field and per item of a field
    that is a list (a layer per line): readable and diffable, while every line is made
    by json's C encoder (``json.dumps`` with ``indent`` encodes in Python, which was
    most of the time to write a profile, and the history's save competed with the next
    job for it)."""
    try:
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
        if indent is None or not isinstance(value, dict) or not value:
            return encode(value)
        pad = " " * indent
        fields = []
        for key, item in value.items():
            if isinstance(item, list) and item:
                body = ("[\n" + ",\n".join(pad * 2 + encode(one) for one in item)
                        + "\n" + pad + "]")
            else:
                body = encode(item)
            fields.append(f"{pad}{encode(str(key))}: {body}")
        return "{\n" + ",\n".join(fields) + "\n}"
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"The profile holds a value JSON cannot store: {exc}",
                           hint="Keep only str, int, finite float, bool, None, "
                                "list and dict values in the document") from exc


def layer_time_us(layer: dict[str, Any]) -> float | None:
    """A layer's median time per run in µs, or None when the row has none."""
    value = (layer.get("duration_us") or {}).get("median")
    return float(value) if fmt.is_number(value) else None


class Profile:
    """One profile document (``workbench.profile/2`` or /1), validated, with views and exporters.

    ``Profile(document)`` validates the dict against the schema and raises
    :class:`~workbench.errors.ProfileFormatError` naming the first problem.
    The profile wraps the dict it is given rather than copying it; treat it
    as read-only (:meth:`to_dict` gives a copy to edit).
    """

    def __init__(self, document: dict[str, Any], *, where: str | None = None) -> None:
        _check_schema(document, where)
        validate(document, document["schema"], where=where, error=ProfileFormatError)
        self._document = document

    @classmethod
    def built(cls, document: dict[str, Any]) -> Profile:
        """A profile of a document this package just built from a runner result it
        validated (:func:`workbench.jobs.build.finish`): not validated again, which is a
        job's largest host-side step; the tests check that the builder's documents are
        valid."""
        profile = cls.__new__(cls)
        profile._document = document
        return profile

    # --- files ------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile saved by :meth:`save`; ProfileFormatError when it cannot be used."""
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProfileFormatError("There is no profile file", where=where,
                                     hint="Check the path; Profile.save writes one") from None
        except UnicodeDecodeError as exc:
            raise ProfileFormatError("The file is not UTF-8 text, so not a profile",
                                     where=where) from exc
        except OSError as exc:
            raise ProfileFormatError(f"Cannot read the profile: {exc.strerror or exc}",
                                     where=where, hint="Give the path of a profile JSON file "
                                     "you can read") from exc
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ProfileFormatError(f"The file is not valid JSON: {exc}", where=where,
                                     hint="It may be cut short or edited by hand; "
                                          "re-run the job or restore a copy") from exc
        return cls(document, where=where)

    def to_json(self, indent: int | None = 1) -> str:
        """The document as JSON text (strict: no NaN); ProfileError if a value cannot be saved."""
        return _strict_json(self._document, indent)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the document to ``path`` atomically and return the path.

        The JSON is built in memory first, so a value that cannot be stored
        raises before any file is touched; an existing file is replaced only
        once the new one is completely on disk.
        """
        return write_atomic(path, self.to_json() + "\n", error=ProfileError)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the document."""
        return copy.deepcopy(self._document)

    def redact(self, *, words: Iterable[str] = ()) -> Profile:
        """A copy safe to share: host and user names, paths and addresses taken out.

        What ran and how fast stays (model hash, CPU, runtime versions, every
        number, layer names); who ran it and where goes. ``words`` are more
        names to take out (an SSH alias, a project). See
        :mod:`workbench.profiling.redact` for exactly what is replaced.
        """
        from workbench.profiling.redact import redact

        return Profile(redact(self._document, words=words), where=f"{self.label} (redacted)")

    # --- properties -------------------------------------------------------------

    @property
    def document(self) -> dict[str, Any]:
        """The wrapped document itself (not a copy)."""
        return self._document

    @property
    def kind(self) -> str:
        """``"measured"``, ``"estimate"`` or ``"emulated"``."""
        return str(self._document["kind"])

    @property
    def model_name(self) -> str:
        """The model's name."""
        return str(self._document["model"]["name"])

    @property
    def device_name(self) -> str:
        """The device's name (a catalog target's name for an estimate)."""
        return str(self._document["device"]["name"])

    @property
    def backend_name(self) -> str:
        """The backend's name, e.g. ``"onnxruntime"``."""
        return str(self._document["backend"]["name"])

    @property
    def label(self) -> str:
        """The document's label, or ``"{model} on {device} ({backend})"``."""
        label = self._document.get("label")
        if label:
            return str(label)
        return f"{self.model_name} on {self.device_name} ({self.backend_name})"

    @property
    def latency(self) -> dict[str, Any]:
        """Latency statistics in ms (count, mean, std, min, median, p90, p99, max)."""
        stats: dict[str, Any] = self._document["latency"]["stats"]
        return stats

    @property
    def latency_samples(self) -> list[float]:
        """The timed runs' latencies in ms, in run order (empty for an estimate)."""
        return [float(v) for v in self._document["latency"].get("samples_ms", [])]

    @property
    def layers(self) -> list[dict[str, Any]]:
        """The per-layer rows, in execution order."""
        layers: list[dict[str, Any]] = self._document["layers"]
        return layers

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The model's outputs after the cold run: name, dtype, shape, sha256, statistics
        (NaN and Inf counted) and, when the job kept them, the values (empty when the
        runner reported none)."""
        return list(self._document.get("outputs") or [])

    def output_values(self, name: str | None = None) -> np.ndarray:
        """An output's values as an array (the first output's without a name).

        NaN and Inf come back as they were. Raises OutputsMissing when the job did
        not keep them (or the output was over its ``max_output_values``).
        """
        from workbench.errors import InvalidOptionValue, OutputsMissing
        from workbench.profiling.agreement import output_array

        outputs = self.outputs
        if not outputs:
            raise OutputsMissing("The profile records no outputs", where=self.label,
                                 hint="Run the job again with keep_outputs=True")
        names = [str(o.get("name")) for o in outputs]
        if name is not None and name not in names:
            raise InvalidOptionValue(f"The profile has no output called {name!r}",
                                     where=self.label, hint=f"Its outputs: {', '.join(names)}")
        entry = outputs[names.index(name) if name is not None else 0]
        array = output_array(entry)
        if array is None:
            why = ("it has more values than the job's max_output_values"
                   if entry.get("values_dropped") else "the job did not keep outputs")
            raise OutputsMissing(f"Output {entry.get('name')!r} has no values in the profile: "
                                 f"{why}", where=self.label,
                                 hint="Run the job again with keep_outputs=True (and "
                                      "max_output_values=None for large outputs)")
        return array

    @property
    def intermediates(self) -> dict[str, Any] | None:
        """The tensors between layers from a ``diff=True`` run (or why there are none);
        None when the job did not ask for them. :func:`workbench.diff_layers` reads them."""
        found: dict[str, Any] | None = self._document.get("intermediates")
        return found

    @property
    def trace_events(self) -> list[dict[str, Any]]:
        """The raw events of the stored run (empty when there is no trace)."""
        trace = self._document.get("trace") or {}
        return list(trace.get("events") or [])

    @property
    def is_estimate(self) -> bool:
        """True for a profile predicted from the catalog, not measured."""
        return self.kind == "estimate"

    @property
    def is_emulated(self) -> bool:
        """True when measured on an emulated board: its times are not hardware times."""
        doc = self._document
        device = doc.get("device") or {}
        environment = doc.get("environment") or {}
        return bool(self.kind == "emulated" or device.get("kind") == "emulated"
                    or device.get("emulated") or environment.get("emulated"))

    @property
    def caveat(self) -> str | None:
        """The warning every human-facing output carries, or None for a hardware measurement."""
        if self.is_emulated:
            return fmt.EMULATED_CAVEAT
        if self.is_estimate:
            return fmt.ESTIMATE_CAVEAT
        return None

    @property
    def delegation(self) -> pd.DataFrame:
        """Where the model's nodes ran: one row per provider or delegate, then ``not seen``."""
        from workbench.profiling.delegation import delegation_dataframe

        return delegation_dataframe(self._document.get("delegation"))

    def top_layers(self, n: int | None = None) -> list[dict[str, Any]]:
        """Layers by median time per run, slowest first (rows without a time last)."""
        def slowest_first(layer: dict[str, Any]) -> float:
            time = layer_time_us(layer)
            return math.inf if time is None else -time

        ranked = sorted(self.layers, key=slowest_first)
        return ranked if n is None else ranked[:n]

    def select_layers(self, **query: Any) -> LayerSelection:
        """Layer rows sorted, filtered and cut for a table: see
        :func:`workbench.profiling.layer_query.select_layers` for the keywords
        (``sort``, ``descending``, ``op_types``, ``providers``, ``text``, ``top``)."""
        from workbench.profiling.layer_query import select_layers

        return select_layers(self.layers, **query)

    def __repr__(self) -> str:
        median = fmt.fmt_number(self.latency.get("median"))
        tag = " EMULATED" if self.is_emulated else ""
        return (f"<Profile {self.label!r} {self.kind}{tag}, median {median} ms, "
                f"{len(self.layers)} layers>")

    # --- tables -------------------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """One row per layer, in execution order, with the columns in ``LAYER_COLUMNS``."""
        import pandas as pd

        columns: dict[str, list[Any]] = {c: [] for c in LAYER_COLUMNS}
        for layer in self.layers:
            stats = layer.get("duration_us") or {}
            columns["name"].append(layer["name"])
            columns["op_type"].append(layer["op_type"])
            columns["kind"].append(layer.get("kind", "compute"))
            columns["original_nodes"].append(fmt.join_nodes(layer.get("original_nodes")))
            columns["provider"].append(layer.get("provider"))
            for key in ("median", "mean", "std", "min", "p90"):
                value = stats.get(key)
                columns[f"time_us_{key}"].append(float(value) if fmt.is_number(value)
                                                 else math.nan)
            for key in ("share", "gmacs_per_s"):
                value = layer.get(key)
                columns[key].append(float(value) if fmt.is_number(value) else math.nan)
            for key in _INT_COLUMNS:
                value = layer.get(key)
                columns[key].append(int(value) if fmt.is_number(value) else None)
        data: dict[str, Any] = dict(columns)
        for key in _INT_COLUMNS:
            data[key] = pd.array(columns[key], dtype="Int64")
        return pd.DataFrame(data, columns=list(LAYER_COLUMNS))

    def latency_dataframe(self) -> pd.DataFrame:
        """The timed runs: columns ``run`` (0-based index) and ``latency_ms``."""
        import pandas as pd

        samples = self.latency_samples
        return pd.DataFrame({"run": list(range(len(samples))), "latency_ms": samples})

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The per-layer table as CSV text; also written atomically to ``path`` if given."""
        text: str = self.to_dataframe().to_csv(index=False, lineterminator="\n")
        if path is not None:
            write_atomic(path, text, error=ProfileError)
        return text

    # --- exporters ------------------------------------------------------------------

    def to_chrome_trace(self, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """A Chrome trace (opens in Perfetto or chrome://tracing); written to ``path`` if given.

        Holds the stored run's raw events, process/thread names for the
        device and backend, and a track of the timed runs laid end to end.
        """
        from workbench.profiling.export import chrome_trace

        trace = chrome_trace(self)
        if path is not None:
            write_atomic(path, _strict_json(trace), error=ProfileError)
        return trace

    def to_model_explorer(self, path: str | os.PathLike[str] | None = None, *,
                          value: str = "time") -> dict[str, Any]:
        """Per-node data for Google Model Explorer; written to ``path`` if given.

        Load the model's ONNX file in Model Explorer (with the
        ``model-explorer-onnx`` adapter), then this file as node data: each
        node is coloured by ``value``, ``"time"`` (median µs of the layer that
        ran it), ``"share"`` (share of all layers' time) or ``"macs"``. The file is
        written whole or not at all.
        """
        from workbench.profiling.model_explorer import node_data

        document = node_data(self, value)
        if path is not None:
            write_atomic(path, _strict_json(document, indent=1), error=ProfileError)
        return document

    # --- views (workbench.views, imported on first use) ---------------------------

    def layer_table_rows(self, layers: Sequence[dict[str, Any]],
                         nodes_width: int | None = 32) -> list[list[str]]:
        """Formatted cells per layer, in the columns of the summary's and report's layer table."""
        from workbench.views.layers import layer_cells

        return layer_cells(layers, nodes_width)

    def summary(self, top: int = 10) -> str:
        """A plain-text summary: header, latency, and a table of the ``top`` slowest layers."""
        from workbench.views.summary import profile_summary

        return profile_summary(self, top)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML report (figures as inline SVG); written to ``path`` if given."""
        from workbench.views.profile import html_report

        text = html_report(self)
        if path is not None:
            write_atomic(path, text, error=ProfileError)
        return text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Notebook display: the lab extension's MIME type, with HTML, PNG and text fallbacks."""
        from workbench.views.profile import profile_mimebundle

        return profile_mimebundle(self, include=include, exclude=exclude)
