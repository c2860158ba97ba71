"""``diff_layers(profile)``: the per-layer numerical diff of a ``diff=True`` run.

The device brought back the tensors between the layers of the graph it
timed (``Profile.intermediates``, runner API 2). This rebuilds the job's
inputs, runs a reference on the host with the same tensors exposed, and
compares them tensor by tensor, in execution order
(:class:`~workbench.profiling.layer_diff.LayerDiff`).

The reference is onnxruntime fp32 on the host CPU with graph optimisation
off (the model as written, fused by nothing), or for a .tflite model LiteRT
on the host with every delegate off, on:

* ``"host"``: the model the profile ran (the backend's own error);
* ``"fp32"``: for a quantised model, its fp32 source (the quantisation error);
* a Model or a path: another model whose tensors bear the same names (e.g.
  the model before an edit).

The default is ``"fp32"`` for a quantised model and ``"host"`` otherwise.

The integer tensors of a quantised model are dequantised with the scale and
zero point its graph gives them (:mod:`workbench.models.qdq`). Against its
fp32 source (or another model) each is compared with the float tensor it
stands for: the table shows the error each int8 layer adds, and the jump is
the layer that adds the most. Against the same model (``"host"``, float
arithmetic between its QuantizeLinear and DequantizeLinear nodes) both sides
are dequantised: what remains is the int8 kernels' own error. Tensors the
runtime made itself (no tensor of that name in the reference) are listed as
skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import numpy as np

    from workbench.models import Model
    from workbench.models.qdq import Quantised
    from workbench.profiling import Profile
    from workbench.profiling.layer_diff import LayerDiff


def reference_tensors(model: Model, feeds: Mapping[str, Any], names: list[str]
                      ) -> dict[str, np.ndarray]:
    """The tensors ``names`` (those the model has) from one fp32 run on the host CPU,
    optimisation off; a name of a graph input gives the feed."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    if model.format == "tflite":
        return _litert_tensors(model, feeds, names)
    proto = onnx.load(str(model.runnable_path()))
    produced = {t for node in proto.graph.node for t in node.output if t}
    present = {o.name for o in proto.graph.output}
    wanted = list(dict.fromkeys(n for n in names if n in produced))
    given = {n: np.asarray(feeds[n]) for n in names if n in feeds and n not in produced}
    for name in wanted:
        if name not in present:
            proto.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(proto.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        values = session.run(wanted, dict(feeds))
    except Exception as exc:  # onnxruntime raises its own exception types
        raise errors.ReferenceUnavailable(
            f"onnxruntime on the host cannot run the reference with its tensors exposed: {exc}",
            where=model.name, hint="Check the model with `workbench inspect`") from None
    return {**given, **dict(zip(wanted, values, strict=True))}


def _litert_tensors(model: Model, feeds: Mapping[str, Any], names: list[str]
                    ) -> dict[str, np.ndarray]:
    """The tensors ``names`` from one LiteRT run on the host, every delegate off."""
    from workbench_agent.runner_api import AgentFailure
    from workbench_agent.runners import litert

    found = litert._runtime()
    if found is None:
        raise errors.ReferenceUnavailable("LiteRT is not installed on this host",
                                          where=model.name, hint="pip install ai-edge-litert")
    try:
        _, values = litert.all_tensors(found[0], str(model.runnable_path()), dict(feeds))
    except AgentFailure as failure:
        raise errors.ReferenceUnavailable(failure.what, where=failure.where or model.name,
                                          hint=failure.hint) from None
    return {name: values[name] for name in names if name in values}


def _reference_model(profile: Profile, reference: Any, model: Model | str | Path | None
                     ) -> tuple[Model, str]:
    from workbench.accuracy import _load_checked, profile_model
    from workbench.models import Model, load_model

    derived = profile.document["model"].get("derived_from")
    if reference is None:
        reference = "fp32" if derived else "host"
    if isinstance(reference, Model | Path) or (isinstance(reference, str)
                                               and reference not in ("host", "fp32")):
        loaded = reference if isinstance(reference, Model) else load_model(reference)
        return loaded, f"the model {loaded.name}"
    if reference == "fp32":
        if not derived:
            raise errors.InvalidOptionValue(
                "reference='fp32' needs a quantised model; this profile's model has no fp32 "
                "source", where=profile.label, hint="Use reference='host'")
        source = _load_checked(derived.get("source") or derived.get("path"),
                               derived.get("sha256"), "fp32 source model", profile.label)
        return source, f"its fp32 source {source.name}"
    if reference == "host":
        loaded = profile_model(profile, model)
        return loaded, f"the same model {loaded.name}"
    raise errors.InvalidOptionValue(
        f"reference={reference!r} is not a reference", where="diff_layers",
        hint="Use None, 'host', 'fp32', a Model or a model's path")


def _quantised(profile: Profile, reference: Model, model: Model | str | Path | None
               ) -> dict[str, Quantised]:
    """The integer tensors of the ONNX model the profile ran, with their scale and zero point."""
    import onnx

    from workbench.accuracy import profile_model
    from workbench.models.qdq import fused_activations, quantised_tensors

    if reference.format != "onnx":
        return {}
    ran = profile_model(profile, model) if reference.sha256 != profile.document["model"].get(
        "sha256") else reference
    if ran.format != "onnx":
        return {}
    found = quantised_tensors(onnx.load(str(ran.runnable_path()), load_external_data=False))
    if any(q.from_qlinear for q in found.values()):
        after = fused_activations(onnx.load(str(reference.runnable_path()),
                                            load_external_data=False))
        found = {name: replace(q, float_names=tuple(
                     dict.fromkeys(a for n in q.float_names for a in (after.get(n), n) if a)))
                 if q.from_qlinear else q for name, q in found.items()}
    return found


def _float_names(name: str, quantised: Mapping[str, Quantised]) -> tuple[str, ...]:
    """Names of the float tensors an integer tensor (or a dequantised copy of one) stands for."""
    if name in quantised:
        return quantised[name].float_names
    return next((q.float_names for q in quantised.values() if name in q.float_names), ())


def _compare(entry: Mapping[str, Any], expected: Mapping[str, np.ndarray],
             quantised: Mapping[str, Quantised]) -> dict[str, Any]:
    """One device tensor's row, or (with ``reason``) why it was skipped."""
    import numpy as np

    from workbench.profiling.agreement import output_array
    from workbench.profiling.layer_diff import tensor_row

    name = entry["name"]
    actual = output_array(dict(entry))
    dtype = np.dtype(str(entry.get("dtype") or "float32"))
    scales = quantised.get(name) if dtype.kind in "iu" else None
    against = next((n for n in (name, *_float_names(name, quantised)) if n in expected), None)
    # the same integer tensor in the reference (the same model): both sides are dequantised
    both = scales is not None and name in expected and expected[name].dtype.kind in "iu"
    if scales is not None and not both:
        against = next((n for n in scales.float_names if n in expected), None)
    skipped = {"name": name, "node": entry.get("node", "")}
    if against is None:
        return {**skipped, "reason": "no tensor of that name in the reference (the runtime "
                                     "made it)"}
    want = np.ascontiguousarray(expected[against])
    if both and scales is not None:
        want = scales.dequantize(want)
    if list(want.shape) != list(entry.get("shape") or []):
        return {**skipped, "reason": f"shape {entry.get('shape')} on the device, "
                                     f"{list(want.shape)} in the reference"}
    if scales is not None:
        if actual is None:
            return {**skipped, "reason": "an integer tensor summarised on the board cannot be "
                                         "dequantised: run with max_output_values=None"}
        actual = scales.dequantize(actual)
    elif actual is not None and actual.dtype.kind != want.dtype.kind:
        return {**skipped, "reason": f"{actual.dtype} on the device, {want.dtype} in the "
                                     "reference"}
    row = tensor_row(entry, actual, want, hashlib.sha256(want.tobytes()).hexdigest())
    if scales is not None:
        row["compared"] = "dequantised"
    row["reference_tensor"] = against
    return row


def diff_layers(profile: Profile | str | Path, reference: str | Path | Model | None = None, *,
                model: Model | str | Path | None = None,
                inputs: Mapping[str, Any] | None = None) -> LayerDiff:
    """The profile's intermediate tensors against a reference, layer by layer (see the
    module doc). ``model`` and ``inputs`` are as for :func:`workbench.compare_outputs`.

    Needs a profile run with ``diff=True`` on a backend whose runner speaks
    runner API 2; raises LayerDiffUnavailable (saying why) otherwise.
    """
    import onnxruntime as ort

    from workbench.accuracy import _as_profile, profile_inputs
    from workbench.models.mapping import map_executed_nodes
    from workbench.profiling.layer_diff import LayerDiff, added_errors, mark_jump

    the_profile = _as_profile(profile)
    where = the_profile.label
    found = the_profile.intermediates
    if found is None:
        raise errors.LayerDiffUnavailable(
            "The profile holds no intermediate tensors: the job did not ask for them",
            where=where, hint="Run the job again with diff=True")
    if not found.get("available"):
        raise errors.LayerDiffUnavailable(
            f"The device could not expose intermediate tensors: {found.get('reason')}",
            where=where, hint="Use a backend whose runner speaks runner API 2 (onnxruntime "
            "does), or ask the plug-in's authors to add intermediates(job, ctx)")
    tensors = list(found.get("tensors") or [])
    ref_model, described = _reference_model(the_profile, reference, model)
    feeds = profile_inputs(the_profile, inputs)
    quantised = _quantised(the_profile, ref_model, model)
    wanted = [n for t in tensors for n in (t["name"], *_float_names(t["name"], quantised))]
    expected = reference_tensors(ref_model, feeds, wanted)
    executed = (found.get("executed_graph") or {}).get("nodes") or []
    topology = the_profile.document.get("topology") or {}
    covers = map_executed_nodes(executed, topology) if executed and topology else {}
    rows: list[dict[str, Any]] = []
    skipped = [dict(s) for s in found.get("skipped") or []]
    for entry in sorted(tensors, key=lambda t: int(t.get("depth") or 0)):
        row = _compare(entry, expected, quantised)
        if "reason" in row:
            skipped.append(row)
            continue
        row["original_nodes"] = list(covers.get(row["layer"], {}).get("original_nodes") or [])
        rows.append(row)
    added_errors(rows, executed)
    dequantised = any(r["compared"] == "dequantised" for r in rows)
    mark_jump(rows, dequantised)
    notes = []
    summarised = sum(1 for r in rows if r["compared"] == "statistics")
    if summarised:
        notes.append(f"{summarised} tensors were summarised on the board and differ from the "
                     "reference: run with max_output_values=None for their values")
    runtime = "LiteRT on the host, no delegate" if ref_model.format == "tflite" else \
        f"onnxruntime {ort.__version__} fp32 on the host CPU with optimisation off"
    same = ref_model.sha256 == the_profile.document["model"].get("sha256")
    if dequantised:
        notes.append("integer tensors were dequantised with their scale and zero point"
                     + (" on both sides" if same else
                        " and compared with the fp32 tensors they stand for"))
    return LayerDiff(where, f"{described}, {runtime}", rows, skipped,
                     found.get("graph_equals_timed"), str(found.get("method") or ""), notes,
                     dequantised, same)
