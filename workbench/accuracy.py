"""Accuracy in the loop: a profile's outputs against a reference made on the host.

``compare_outputs(profile)`` rebuilds the job's inputs from the recorded
specs and seeds (an array input from the host's input cache), checks them
against the recorded input hashes, runs a reference on this machine and
gives per-output error figures (:class:`~workbench.profiling.agreement.OutputAgreement`).

References:

* ``"host"``: the same model on this machine: onnxruntime fp32 on the CPU for
  an ONNX model; for a .tflite twin, onnxruntime on the ONNX model it was
  built from (NHWC inputs and outputs transposed); for any other .tflite
  file, LiteRT with XNNPACK off;
* ``"fp32"``: for a quantised model, its fp32 source on the host (the
  quantisation error); ``"host"`` then gives the backend's own error;
* another Profile: its outputs (both must have run on the same inputs);
* a dict of arrays by output name.

The default is ``"fp32"`` for a quantised model and ``"host"`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    import numpy as np

    from workbench.models import Model
    from workbench.profiling import Profile
    from workbench.profiling.agreement import OutputAgreement

Reference = str | Mapping[str, Any] | None

#: zoo models whose weights are trained; the others have seeded random weights
TRAINED_ZOO = ("zoo:digits",)


def _as_profile(profile: Profile | str | Path) -> Profile:
    from workbench.profiling import Profile

    return profile if isinstance(profile, Profile) else Profile.load(profile)


def _load_checked(source: str | None, sha256: str | None, what: str, where: str) -> Model:
    """The model a profile names, loaded from its source, when its hash still matches."""
    from workbench.models import load_model

    if not source or not (source.startswith("zoo:") or Path(source).is_file()):
        raise errors.ReferenceUnavailable(
            f"The {what} cannot be found on this host (its source is {source!r})", where=where,
            hint="Pass it: compare_outputs(profile, model=load_model(...))")
    model = load_model(source)
    if sha256 and model.sha256 != sha256:
        raise errors.ReferenceUnavailable(
            f"The {what} at {source} is not the one the profile ran (sha256 differs)",
            where=where, hint="Pass the model the job ran: compare_outputs(profile, model=...)")
    return model


def profile_model(profile: Profile, model: Model | str | Path | None = None) -> Model:
    """The model a profile ran, loaded on the host: ``model`` if given (its hash must match)."""
    from workbench.models import Model, load_model

    recorded = profile.document["model"]
    if model is None:
        return _load_checked(recorded.get("source"), recorded.get("sha256"), "model",
                             profile.label)
    loaded = model if isinstance(model, Model) else load_model(model)
    if loaded.sha256 != recorded.get("sha256"):
        raise errors.ReferenceUnavailable(
            f"The model given ({loaded.name}) is not the one the profile ran (sha256 differs)",
            where=profile.label, hint="Pass the model file the job ran")
    return loaded


def _cached_array(sha256: str) -> Path | None:
    from workbench._paths import cache_dir

    found = sorted((cache_dir() / "inputs").glob(f"{sha256}-*.npy"))
    return found[0] if found else None


def profile_inputs(profile: Profile, given: Mapping[str, Any] | None = None
                   ) -> dict[str, np.ndarray]:
    """The arrays the job fed the model, rebuilt from the recorded specs and seeds.

    Generated inputs are made by the agent's own code (the same on every
    machine); array inputs come from this host's input cache (or ``given``).
    Each is checked against the recorded sha256.
    """
    import hashlib

    import numpy as np
    from workbench_agent.inputs import make_inputs
    from workbench_agent.runner_api import AgentFailure

    arrays: dict[str, np.ndarray] = {}
    given = dict(given or {})
    for record in profile.document.get("inputs") or []:
        name = str(record["name"])
        where = f"{profile.label}: input {name!r}"
        if name in given:
            array = np.ascontiguousarray(np.asarray(given[name]))
        else:
            spec = {**(record.get("spec") or {}), "name": name, "dtype": record["dtype"],
                    "shape": list(record["shape"])}
            if spec.get("kind") == "npy":
                path = _cached_array(str(record.get("sha256")))
                if path is None:
                    raise errors.ReferenceUnavailable(
                        "The job fed an array, and only its hash is kept: it is not in this "
                        "host's input cache", where=where,
                        hint=f"Pass the array: compare_outputs(profile, inputs={{{name!r}: ...}})")
                spec["path"] = str(path)
            try:
                made, _ = make_inputs([spec])
            except AgentFailure as failure:
                raise errors.ReferenceUnavailable(f"The input cannot be rebuilt: {failure.what}",
                                                  where=where, hint=failure.hint) from None
            array = made[name]
        digest = hashlib.sha256(array.tobytes()).hexdigest()
        if record.get("sha256") and digest != record["sha256"]:
            raise errors.ReferenceUnavailable(
                "The rebuilt input differs from the one the job fed (sha256 differs)",
                where=where, hint="Pass the array the job ran with (inputs={...}); a numpy "
                                  "version with another random generator makes other data")
        arrays[name] = array
    return arrays


def onnxruntime_outputs(model: Model, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run an ONNX model once with onnxruntime on the host CPU: outputs by name."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(model.runnable_path()), options,
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, dict(feeds))
    except Exception as exc:  # onnxruntime raises its own exception types
        raise errors.ReferenceUnavailable(f"onnxruntime on the host cannot run the model: {exc}",
                                          where=model.name,
                                          hint="Check the model with `workbench inspect`") from None
    return dict(zip(names, values, strict=True))


def litert_outputs(model: Model, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run a .tflite model once with LiteRT on the host, XNNPACK off: outputs by name."""
    from workbench_agent.runner_api import AgentFailure
    from workbench_agent.runners import litert

    found = litert._runtime()
    if found is None:
        raise errors.ReferenceUnavailable("LiteRT is not installed on this host",
                                          where=model.name, hint="pip install ai-edge-litert")
    try:
        interpreter = litert._create(found[0], str(model.runnable_path()), {"xnnpack": False}, 1)
        session = litert._Session(interpreter, dict(feeds))
        values = session.run()
    except AgentFailure as failure:
        raise errors.ReferenceUnavailable(failure.what, where=failure.where or model.name,
                                          hint=failure.hint) from None
    return {name: value for (name, _), value in zip(session.outputs, values, strict=True)}


def _nchw(array: np.ndarray) -> np.ndarray:
    return array.transpose(0, 3, 1, 2) if array.ndim == 4 else array


def _nhwc(array: np.ndarray) -> np.ndarray:
    return array.transpose(0, 2, 3, 1) if array.ndim == 4 else array


def host_outputs(model: Model, feeds: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], str,
                                                                  list[str]]:
    """The host reference's outputs for ``model``, what it is, and notes."""
    import numpy as np
    import onnxruntime as ort

    if model.format != "tflite":
        return onnxruntime_outputs(model, feeds), f"onnxruntime {ort.__version__} on the host " \
            "CPU", []
    source = getattr(model, "reference", None)
    if source is None:
        from workbench_agent.runners.litert import _runtime

        found = _runtime()
        version = found[2] if found else "?"
        return litert_outputs(model, feeds), f"LiteRT {version} on the host, XNNPACK off", []
    nhwc = set(getattr(model, "nhwc_inputs", []))
    onnx_feeds = {k: np.ascontiguousarray(_nchw(v)) if k in nhwc else v for k, v in feeds.items()}
    outputs = onnxruntime_outputs(source, onnx_feeds)
    notes = []
    if nhwc:
        notes.append("NHWC inputs were transposed to NCHW for the ONNX source, and 4-D outputs "
                     "back to NHWC")
        outputs = {k: _nhwc(v) for k, v in outputs.items()}
    return outputs, f"onnxruntime {ort.__version__} on the host CPU, on the ONNX model " \
        f"{source.name} the .tflite twin was built from", notes


def _match_names(actual: Mapping[str, Any], expected: dict[str, Any], where: str
                 ) -> dict[str, Any]:
    """``expected`` keyed like ``actual``: by name, or by position when the names differ."""
    if set(actual) <= set(expected):
        return expected
    if len(actual) == len(expected):
        return dict(zip(actual, expected.values(), strict=True))
    raise errors.ReferenceUnavailable(
        f"The reference's outputs ({', '.join(expected)}) do not match the profile's "
        f"({', '.join(actual)})", where=where, hint="Compare against the model the job ran")


def _profile_reference(profile: Profile, other: Profile) -> tuple[dict[str, Any], str]:
    mine = {r["name"]: r.get("sha256") for r in profile.document.get("inputs") or []}
    theirs = {r["name"]: r.get("sha256") for r in other.document.get("inputs") or []}
    if mine != theirs:
        raise errors.ReferenceUnavailable(
            "The two profiles ran on different inputs (their input hashes differ)",
            where=f"{profile.label} against {other.label}",
            hint="Run both jobs with the same inputs and seed, or compare against 'host'")
    return {o["name"]: other.output_values(o["name"]) for o in other.outputs}, \
        f"the outputs of {other.label}"


def compare_outputs(profile: Profile | str | Path, reference: Reference | Profile = None, *,
                    model: Model | str | Path | None = None,
                    inputs: Mapping[str, Any] | None = None) -> OutputAgreement:
    """Per-output error figures of a profile against a reference (see the module doc).

    ``model`` is the model the job ran, when the profile's source cannot be
    loaded here; ``inputs`` the arrays the job fed, when they are not in the
    host's input cache. Needs a profile run with ``keep_outputs=True``.
    """
    from workbench.profiling import Profile
    from workbench.profiling.agreement import agreement

    the_profile = _as_profile(profile)
    where = the_profile.label
    outputs = the_profile.outputs
    if not outputs:
        raise errors.OutputsMissing("The profile records no outputs", where=where,
                                    hint="Run the job again with keep_outputs=True")
    actual = {str(o["name"]): the_profile.output_values(str(o["name"])) for o in outputs}
    shapes = {str(o["name"]): list(o.get("shape") or []) for o in outputs}
    derived = the_profile.document["model"].get("derived_from")
    notes: list[str] = []
    if reference is None:
        reference = "fp32" if derived else "host"
    if isinstance(reference, Profile):
        expected, described = _profile_reference(the_profile, reference)
    elif isinstance(reference, Mapping):
        expected, described = dict(reference), "the given arrays"
    elif reference in ("host", "fp32"):
        feeds = profile_inputs(the_profile, inputs)
        if reference == "fp32":
            if not derived:
                raise errors.InvalidOptionValue(
                    "reference='fp32' needs a quantised model; this profile's model has no "
                    "fp32 source", where=where, hint="Use reference='host'")
            source = _load_checked(derived.get("source") or derived.get("path"),
                                   derived.get("sha256"), "fp32 source model", where)
            expected, described, notes = host_outputs(source, feeds)
            described = f"its fp32 source {source.name}, {described}"
        else:
            expected, described, notes = host_outputs(profile_model(the_profile, model), feeds)
    else:
        raise errors.InvalidOptionValue(
            f"reference={reference!r} is not a reference", where="compare_outputs",
            hint="Use None, 'host', 'fp32', a Profile or a dict of arrays by output name")
    expected = _match_names(actual, expected, where)
    for name, array in actual.items():
        if tuple(expected[name].shape) != tuple(array.shape):
            raise errors.ReferenceUnavailable(
                f"Output {name!r} has shape {list(array.shape)}, the reference's "
                f"{list(expected[name].shape)}", where=where,
                hint="Compare against the model and inputs the job ran")
    origin = str(the_profile.document["model"].get("source") or "")
    if origin.startswith("zoo:") and not origin.startswith(TRAINED_ZOO):
        notes.append("the zoo model has seeded random weights: these figures say how closely "
                     "the outputs agree, not how accurate the model is")
    return agreement(where, described, actual, expected, shapes, notes)


def top1_accuracy(profile: Profile | str | Path, labels: Sequence[int] | np.ndarray,
                  output: str | None = None) -> float:
    """Share of rows of a classifier's output (kept in the profile) whose top class is the label.

    The job must have fed the labelled samples as one batch (e.g. the digits
    classifier's test split) with ``keep_outputs=True``.
    """
    import numpy as np

    the_profile = _as_profile(profile)
    values = the_profile.output_values(output)
    truth = np.asarray(labels).reshape(-1)
    rows = values.reshape(len(truth), -1) if values.size % max(len(truth), 1) == 0 else None
    if rows is None or len(truth) == 0:
        raise errors.InvalidOptionValue(
            f"{len(truth)} labels do not fit an output of shape {list(values.shape)}",
            where=the_profile.label, hint="Give one label per row of the batch the job fed")
    return float((np.nan_to_num(rows, nan=-np.inf).argmax(axis=1) == truth).mean())
