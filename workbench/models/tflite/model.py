"""TfliteModel: a loaded .tflite model with the same analysis and tables as an ONNX Model.

``load_model("model.tflite")`` (a path, or bytes that start a TFLite
flatbuffer) returns one; so does ``load_model("zoo:NAME.tflite")`` for the
zoo models' twins. Everything a Model offers works (totals, ``layers``,
``by_op_type()``, ``topology()``, ``files()``) except what needs an ONNX
graph: ``proto`` and ``with_shapes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench import errors
from workbench.models.model import Model, _si
from workbench.models.tflite import analysis, reader


class TfliteModel(Model):
    """A .tflite model (main subgraph) and what static analysis knows about it.

    ``graph`` is the file's main graph as read; ``reference`` the ONNX Model
    a twin was built from (None for other files); ``nhwc_inputs`` names the
    inputs whose layout is NHWC where the reference's is NCHW, so callers can
    feed both the same data.
    """

    format = "tflite"

    def __init__(self, graph: reader.Graph, *, name: str, source: str, sha256: str,
                 file: Path | None = None, data: bytes | None = None,
                 reference: Model | Callable[[], Model] | None = None,
                 nhwc_inputs: Sequence[str] = (), warnings: Sequence[str] = ()) -> None:
        # No ONNX proto: the parent's constructor is not used, its attributes are set here.
        self.name = name
        self.source = source
        self.sha256 = sha256
        self.graph = graph
        self._reference = reference
        self.nhwc_inputs = list(nhwc_inputs)
        self._analysis = analysis.analyse(graph)
        self._file = file
        self._data = None if file is not None else data
        self._external: list[str] = []
        self._base_dir = None
        self._runnable = file
        self._load_warnings = list(warnings)
        self.warnings = [*warnings, *self._analysis.warnings]
        self._graph_inputs = []
        self._overrides = {}
        self.converted_from_opset = None

    @property
    def reference(self) -> Model | None:
        """The ONNX model this twin was built from (loaded on first use), or None."""
        if callable(self._reference) and not isinstance(self._reference, Model):
            self._reference = self._reference()
        return self._reference

    @property
    def proto(self) -> Any:  # type: ignore[override]
        """A .tflite model has no ONNX proto."""
        raise errors.ModelError("A .tflite model has no ONNX ModelProto", where=self.name,
                                hint="Use .graph for the TFLite graph, or .reference for the "
                                "ONNX model a twin was built from")

    @property
    def opset(self) -> int | None:
        """None: opsets are an ONNX notion (the TFLite schema version is ``graph.version``)."""
        return None

    @property
    def format_version(self) -> str:
        """The TFLite schema version the file was written with, e.g. "TFLite schema v3"."""
        return f"TFLite schema v{self.graph.version}"

    @property
    def symbolic_dims(self) -> list[str]:
        """Always empty: a .tflite model's tensors have stored sizes."""
        return []

    def with_shapes(self, dims: Mapping[str, Any] | None = None, /, **sizes: Any) -> Model:
        """Not available for .tflite models (their inputs have stored sizes)."""
        raise errors.OptionError("Fixing dims is not available for a .tflite model",
                                 where=self.name, hint="Its inputs have stored sizes; give "
                                 "inputs of those shapes, or re-export it with other sizes")

    def runnable_path(self) -> Path:
        """The .tflite file: the original, or the bytes written once under the cache."""
        if self._runnable is None:
            from workbench._paths import cache_dir
            from workbench.models._files import atomic_write

            assert self._data is not None  # set whenever there is no file
            path = cache_dir() / "models" / f"{self.sha256}.tflite"
            self._runnable = path if path.is_file() else atomic_write(path, self._data)
        return self._runnable

    def files(self) -> list[Path]:
        """The .tflite file: all a device needs."""
        return [self.runnable_path()]

    def __repr__(self) -> str:
        return (f"<Model {self.name!r} tflite v{self.graph.version}, {_si(self.params)} params, "
                f"{_si(self.macs)} MACs, {len(self._analysis.nodes)} operators, "
                f"sha256 {self.sha256[:12]}>")


def is_tflite(data: bytes) -> bool:
    """Whether bytes carry the TFLite file identifier."""
    return len(data) >= 8 and data[4:8] == b"TFL3"


def from_bytes(data: bytes, *, name: str, source: str, where: str, path: Path | None = None,
               reference: Model | Callable[[], Model] | None = None,
               nhwc_inputs: Sequence[str] = ()) -> TfliteModel:
    """Read and analyse a .tflite flatbuffer."""
    graph = reader.read(data, where)
    return TfliteModel(graph, name=name, source=source, sha256=hashlib.sha256(data).hexdigest(),
                       file=path.absolute() if path is not None else None, data=data,
                       reference=reference, nhwc_inputs=nhwc_inputs)
