"""The onnxruntime backend (host half).

Options map onto onnxruntime's SessionOptions; the runner module
(``workbench_agent/runners/onnxruntime.py``) runs on the device. Execution
providers are the ones the device's onnxruntime offers: the PyPI wheels
carry only the CPU provider; XNNPACK, ACL or QNN come with vendor or custom
builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.backends.base import Backend, Option

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model

OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "layout", "all")
#: the ONNX standard's own domain, checked by the model loader against the opset
_DEFAULT_DOMAINS = ("", "ai.onnx")


def unsupported_operator_hint(source: str) -> str:
    """What to do about an operator onnxruntime lacks; ``source`` is the user's model."""
    return ("Run the model with a backend or execution provider that has this operator (a "
            "plug-in backend, see `workbench backends`; or a runtime bundle whose onnxruntime "
            f"registers it), or replace the node in the model; `workbench inspect {source}` "
            "lists the model's operators with their domains")


class OnnxRuntimeBackend(Backend):
    """onnxruntime with the execution providers present on the device."""

    name = "onnxruntime"
    formats = ("onnx",)
    runtime = "onnxruntime"
    package = "onnxruntime"
    description = ("onnxruntime with the execution providers the device's build offers. Per-layer "
                   "times come from onnxruntime's own profiler: one row per node of the graph it "
                   "executed (after fusions and layout changes), the kernel time only.")
    options = (
        Option("intra_op_threads", "int", 0,
               "threads inside an operator (0: the runtime's default, one per core)", minimum=0),
        Option("inter_op_threads", "int", 0,
               "threads across operators in parallel mode (0: default)", minimum=0),
        Option("graph_optimization_level", "str", "all", "graph optimisations: fusions, constant "
               "folding, layout changes", choices=OPTIMIZATION_LEVELS),
        Option("execution_mode", "str", "sequential", "run operators one at a time or in parallel",
               choices=("sequential", "parallel")),
        Option("providers", "list", ["CPUExecutionProvider"],
               "execution providers in priority order; must be present on the device"),
        Option("provider_options", "dict", {}, "per provider: a dict of its options",
               example={"XnnpackExecutionProvider": {"intra_op_num_threads": 2}}),
        Option("thread_affinity", "str", "", "intra-op thread affinities in onnxruntime's form, "
               "e.g. '1,2;3,4' (one group per extra thread)"),
        Option("allow_spinning", "bool", True, "let idle intra-op threads spin (lower latency, "
               "more CPU)"),
        Option("enable_cpu_mem_arena", "bool", True, "use onnxruntime's CPU memory arena"),
        Option("free_dimension_overrides", "dict", {}, "symbolic dim name -> size, fixed in the "
               "session", integer_values=True),
    )

    def check_device(self, info: DeviceInfo, options: dict[str, Any]) -> None:
        super().check_device(info, options)
        self.require_providers(info, options.get("providers", []), "Execution provider",
                               "providers")

    def check_model(self, model: Model, options: dict[str, Any]) -> None:
        """Refuse, before the upload, a node of a domain that the onnxruntime installed here
        registers no operator of (``com.vendor``): no build of onnxruntime runs it. A new
        operator of a known domain (``com.microsoft``) may be in the device's newer runtime,
        and the standard domain is the loader's to check against the opset: for those, and
        without onnxruntime here, the device's runtime is the judge, its error translated."""
        custom = [node for node in model.nodes if node.domain not in _DEFAULT_DOMAINS]
        if not custom or model.format != "onnx":
            return
        try:
            import onnxruntime
            from onnxruntime.capi.onnxruntime_pybind11_state import get_all_operator_schema
        except ImportError:
            return
        known = {schema.domain for schema in get_all_operator_schema()}
        missing = [node for node in custom if node.domain not in known]
        if not missing:
            return
        first = missing[0]
        others = {f"{node.domain}:{node.op_type}" for node in missing[1:]} - {
            f"{first.domain}:{first.op_type}"}
        more = f"; also {', '.join(sorted(others))}" if others else ""
        raise errors.UnsupportedOperator(
            f"onnxruntime has no operator {first.domain}:{first.op_type} (node {first.name!r}"
            f"{more}): it registers no operator of the domain {first.domain!r} (checked here, "
            f"with onnxruntime {onnxruntime.__version__}, before any upload)",
            where=model.source, hint=unsupported_operator_hint(model.source))

    def device_choices(self, info: DeviceInfo) -> dict[str, list[Any]]:
        """The execution providers the device's onnxruntime offers."""
        return {"providers": info.providers(self.runtime)}

    def prepare(self, model: Model, options: dict[str, Any]) -> list[Path]:
        if model.format not in self.formats:
            raise errors.BackendUnavailable(
                f"The onnxruntime backend runs .onnx models; {model.name!r} is {model.format}",
                where=f"model {model.name!r}",
                hint="Run it with backend='litert' (`--backend litert`), or load the .onnx file")
        return model.files()

    def runner_path(self) -> Path:
        from workbench._paths import agent_root

        return agent_root() / "workbench_agent" / "runners" / "onnxruntime.py"

    def layer_rows(self, result: dict[str, Any], model: Model) -> list[dict[str, Any]]:
        """Runner rows with the original nodes each covers, found through tensor boundaries."""
        from workbench.models.mapping import map_executed_nodes

        rows = [dict(r) for r in result.get("layers") or []]
        executed = (result.get("executed_graph") or {}).get("nodes")
        if not executed:  # no executed graph saved: fall back to names
            known = {n.name for n in model.nodes}
            executed = [{"name": r["name"], "op_type": r["op_type"], "inputs": [],
                         "outputs": []} for r in rows]
            mapping = {r["name"]: {"original_nodes": [r["name"]] if r["name"] in known else [],
                                   "kind": "compute"} for r in rows}
        else:
            mapping = map_executed_nodes(executed, model.topology())
        for row in rows:
            row.update(mapping.get(row["name"], {"original_nodes": [], "kind": "other"}))
        return rows
