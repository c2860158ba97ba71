"""The Model: a loaded ONNX model with its static analysis, ready to profile.

Create one with :func:`workbench.models.load_model`. A Model never holds
external weights in memory; ``runnable_path()`` and ``files()`` name the
files a device needs.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx

from workbench import errors
from workbench.models import _files
from workbench.models.analysis import Analysis, analyse, free_dims, infer_shapes, light_copy
from workbench.models.info import NodeInfo, TensorInfo

if TYPE_CHECKING:
    import pandas as pd

_TOP_OP_TYPES = 8


def _si(value: float, unit: str = "") -> str:
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def qualified_op(row: Mapping[Any, Any]) -> str:
    """A ``by_op_type()`` row's operator as ``domain:op_type``, the standard's without domain."""
    return f"{row['domain']}:{row['op_type']}" if row.get("domain") else str(row["op_type"])


class Model:
    """A loaded ONNX model and what static analysis knows about it.

    ``sha256`` is the hash of the .onnx bytes as given (the file, the bytes,
    or the serialized ModelProto); for a model with external data it covers
    the .onnx file only, not the weights. ``proto`` is the model as loaded,
    without external weights, with every node named (nameless nodes get
    ``{op_type}_{index}``). Totals cover the main graph (not the bodies of
    If/Loop nodes); ``macs`` counts Conv, ConvTranspose, Gemm and MatMul only,
    other operations are in ``ops_by_category``.
    """

    #: the file format: "onnx" here, "tflite" for :class:`workbench.models.tflite.TfliteModel`
    format = "onnx"
    #: for a model made from another (``workbench.quantize``): the source's name, sha256,
    #: path and how it was made; profiles carry it, so outputs and layers line up with it
    derived_from: dict[str, Any] | None = None

    def __init__(self, proto: onnx.ModelProto, analysis: Analysis, *, name: str, source: str,
                 sha256: str, file: Path | None = None, base_dir: Path | None = None,
                 external: Sequence[str] = (), warnings: Sequence[str] = (),
                 graph_inputs: Sequence[onnx.ValueInfoProto] | None = None,
                 overrides: Mapping[str, int] | None = None) -> None:
        self.proto = proto
        self.name = name
        self.source = source
        self.sha256 = sha256
        self._analysis = analysis
        self._file = file
        self._base_dir = base_dir
        self._external = list(external)
        self._runnable: Path | None = None
        self._load_warnings = list(warnings)
        self.warnings: list[str] = [*warnings, *analysis.warnings]
        # the graph inputs as fixed by with_shapes; the proto's own ones otherwise
        self._graph_inputs = list(graph_inputs if graph_inputs is not None
                                  else proto.graph.input)
        self._overrides = dict(overrides or {})
        #: the opset the file had when ``load_model(..., upgrade_opset=True)`` converted it
        self.converted_from_opset: int | None = None

    # --- identity and interface ------------------------------------------------

    @property
    def opset(self) -> int | None:
        """Version of the default ONNX domain the model imports."""
        for entry in self.proto.opset_import:
            if entry.domain in ("", "ai.onnx"):
                return int(entry.version)
        return None

    @property
    def format_version(self) -> str:
        """The format and its version as shown to users, e.g. "opset 17"."""
        return f"opset {self.opset}"

    @property
    def inputs(self) -> list[TensorInfo]:
        """Graph inputs (initializers excluded), symbolic dims by name."""
        return list(self._analysis.inputs)

    @property
    def outputs(self) -> list[TensorInfo]:
        """Graph outputs with their inferred shapes."""
        return list(self._analysis.outputs)

    @property
    def nodes(self) -> list[NodeInfo]:
        """Every node of the main graph, in graph (topological) order."""
        return list(self._analysis.nodes)

    @property
    def symbolic_dims(self) -> list[str]:
        """Names of the inputs' dims that are not fixed, as shown; ``with_shapes`` takes them."""
        constants = {t.name for t in self.proto.graph.initializer}
        return sorted({d.name for d in free_dims(self._graph_inputs, constants)})

    # --- totals -------------------------------------------------------------------

    @property
    def params(self) -> int:
        """Learned parameters (a shared initializer counts once; BN mean/var do not count)."""
        return self._analysis.params

    @property
    def macs(self) -> int:
        """Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul nodes."""
        return self._analysis.macs

    @property
    def weight_bytes(self) -> int:
        """Bytes of all initializers and Constant values of the main graph."""
        return self._analysis.weight_bytes

    @property
    def peak_activation_bytes(self) -> int:
        """Largest sum of live activation bytes over the node order (unknown shapes count 0)."""
        return self._analysis.peak_activation_bytes

    @property
    def ops_by_category(self) -> dict[str, int]:
        """Operations per node category (MACs for conv/matmul, element ops for the others)."""
        return dict(self._analysis.ops_by_category)

    # --- tables -------------------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """One row per node: shapes, dtypes, category, params, MACs, ops and bytes."""
        import pandas as pd

        columns = list(NodeInfo.__dataclass_fields__)
        return pd.DataFrame([node.to_dict() for node in self._analysis.nodes], columns=columns)

    @property
    def layers(self) -> pd.DataFrame:
        """The per-node table (same as ``to_dataframe()``)."""
        return self.to_dataframe()

    def by_op_type(self) -> pd.DataFrame:
        """Per op type and domain: count, params, MACs, ops, weight bytes and share of the
        model's MACs. ``domain`` is empty for the ONNX standard's operators; an operator of
        another domain (``com.vendor``) runs only where a runtime registers that domain."""
        import pandas as pd

        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for node in self._analysis.nodes:
            domain = "" if node.domain == "ai.onnx" else node.domain
            row = rows.setdefault((domain, node.op_type), {
                "op_type": node.op_type, "domain": domain, "count": 0, "params": 0, "macs": 0,
                "ops": 0, "weight_bytes": 0})
            row["count"] += 1
            for key in ("params", "macs", "ops", "weight_bytes"):
                row[key] += getattr(node, key)
        total = self.macs
        table = pd.DataFrame(list(rows.values()), columns=["op_type", "domain", "count", "params",
                                                           "macs", "ops", "weight_bytes"])
        table["share_of_macs"] = table["macs"] / total if total else 0.0
        return table.sort_values(["macs", "count", "op_type"], ascending=[False, False, True],
                                 ignore_index=True)

    def topology(self) -> dict[str, Any]:
        """The graph as plain data (nodes, edges between nodes, graph inputs and outputs).

        Enough to draw the graph from a profile alone; edges run from the node
        producing a tensor to each node consuming it.
        """
        produced = {t: n.name for n in self._analysis.nodes for t in n.outputs if t}
        edges: list[dict[str, str]] = []
        seen: set[tuple[str, str, str]] = set()
        for node in self._analysis.nodes:
            for tensor in node.inputs:
                key = (produced.get(tensor, ""), node.name, tensor)
                if tensor in produced and key not in seen:
                    seen.add(key)
                    edges.append({"from": key[0], "to": node.name, "tensor": tensor})
        return {
            # MACs per node let a graph be coloured by work without the model at hand
            "nodes": [{"name": n.name, "op_type": n.op_type, "macs": n.macs,
                       "inputs": [t for t in n.inputs if t], "outputs": [t for t in n.outputs if t]}
                      for n in self._analysis.nodes],
            "edges": edges,
            "inputs": [t.name for t in self._analysis.inputs],
            "outputs": [t.name for t in self._analysis.outputs],
        }

    # --- variants and files -----------------------------------------------------

    def with_shapes(self, dims: Mapping[str, Any] | None = None, /, **sizes: Any) -> Model:
        """A copy with free input dims fixed, shapes re-inferred.

        Dims are named as the model shows them (``batch=1``, ``x_dim2=48``), by
        input and axis (``{"x:2": 48}``), or a whole input at once
        (``{"x": "1x3x48x192"}`` or a list); see :mod:`workbench.models.shapes`.
        The file a device runs stays the model as loaded: onnxruntime runs the
        inputs at the fixed sizes, and real dim names reach it as
        ``free_dimension_overrides``. Raises InvalidGraph when the sizes
        contradict the graph.
        """
        from workbench.models import shapes

        wanted = {**(dims or {}), **sizes}
        constants = {t.name for t in self.proto.graph.initializer}
        fixed = shapes.fix_inputs(self._graph_inputs, constants, wanted, where=self.name)
        shaped = light_copy(self.proto)
        del shaped.graph.input[:]
        shaped.graph.input.extend(fixed)
        # A declared -1 ("any size", as some exporters write it) would contradict the sizes now
        # inferred; for the analysis it becomes an unknown dim. The runnable file keeps it.
        for value in [*shaped.graph.output, *shaped.graph.value_info]:
            for dim in value.type.tensor_type.shape.dim:
                if dim.HasField("dim_value") and dim.dim_value < 0:
                    dim.Clear()
        given = ", ".join(f"{k}={v}" for k, v in wanted.items())
        try:
            inferred, warnings = infer_shapes(shaped, where=self.name)
        except errors.InvalidGraph as exc:
            raise errors.InvalidGraph(
                f"The model cannot take {given}: {exc.what}", where=self.name,
                hint="Give sizes the graph allows (`workbench inspect` shows its inputs)"
            ) from None
        digest = hashlib.sha256(self.sha256.encode())
        for value in fixed:
            digest.update(value.SerializeToString())
        fixed_model = Model(self.proto, analyse(inferred), name=self.name,
                     source=f"{self.source} with_shapes({given})", sha256=digest.hexdigest(),
                     file=self._file, base_dir=self._base_dir, external=self._external,
                     warnings=[*self._load_warnings, *warnings], graph_inputs=fixed,
                     overrides=shapes.free_dimension_overrides(self.proto.graph.input, fixed,
                                                               constants))
        fixed_model.converted_from_opset = self.converted_from_opset
        fixed_model.derived_from = self.derived_from  # fixing dims keeps the link to a source
        return fixed_model

    @property
    def free_dimension_overrides(self) -> dict[str, int]:
        """Real dim names fixed by ``with_shapes`` -> size, for onnxruntime's session options."""
        return dict(self._overrides)

    def runnable_path(self) -> Path:
        """An .onnx file whose node names equal ``nodes``' names.

        The original file when the model came from a path and nothing was
        renamed; otherwise the model written once, content-addressed, under
        the cache folder (see ``_files.runnable_copy`` for external data).
        """
        if self._runnable is None:
            self._runnable = self._file if self._file is not None else _files.runnable_copy(
                self.proto.SerializeToString(), self._base_dir, self._external)
        return self._runnable

    def files(self) -> list[Path]:
        """The runnable .onnx file and its external-data files: what a device needs."""
        path = self.runnable_path()
        return [path, *(path.parent / location for location in self._external)]

    # --- display ----------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"<Model {self.name!r} opset {self.opset}, {_si(self.params)} params, "
                f"{_si(self.macs)} MACs, {len(self._analysis.nodes)} nodes, "
                f"sha256 {self.sha256[:12]}>")

    def _repr_html_(self) -> str:
        e = html.escape

        def tensors(kind: str, items: list[TensorInfo]) -> str:
            return "".join(f"<tr><td>{kind}</td><td><code>{e(t.name)}</code></td>"
                           f"<td>{e(t.dtype)}</td><td>{e(str(t.shape))}</td></tr>" for t in items)

        totals = [("params", f"{_si(self.params)} ({self.params:,})"),
                  ("MACs", f"{_si(self.macs)} ({self.macs:,})"),
                  ("weights", _si(self.weight_bytes, "B")),
                  ("peak activations", _si(self.peak_activation_bytes, "B")),
                  ("nodes", str(len(self._analysis.nodes)))]
        top = self.by_op_type().head(_TOP_OP_TYPES)
        op_rows = "".join(
            f"<tr><td>{e(qualified_op(r))}</td><td>{r['count']}</td><td>{e(_si(r['params']))}</td>"
            f"<td>{e(_si(r['macs']))}</td><td>{100 * float(r['share_of_macs']):.1f}%</td></tr>"
            for r in top.to_dict("records"))
        warnings = "".join(f"<li>{e(w)}</li>" for w in self.warnings)
        return (
            '<div class="workbench-model">'
            f"<p><strong>{e(self.name)}</strong> &middot; sha256 <code>{e(self.sha256[:12])}"
            f"</code> &middot; {e(self.format_version)} &middot; {e(self.source)}</p>"
            "<table><tr><th></th><th>tensor</th><th>dtype</th><th>shape</th></tr>"
            f"{tensors('input', self.inputs)}{tensors('output', self.outputs)}</table>"
            "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in totals)
            + "</table><table><tr><th>op type</th><th>count</th><th>params</th><th>MACs</th>"
            f"<th>share of MACs</th></tr>{op_rows}</table>"
            + (f"<ul>{warnings}</ul>" if warnings else "") + "</div>")
