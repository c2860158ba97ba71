"""Conformance check for backend plug-ins: what a vendor runs against their backend.

    from workbench.testing import check_backend
    report = check_backend("mybackend")          # a name, or a Backend object not yet registered
    report                                      # a table in a notebook; print(report) elsewhere
    assert report.ok, report

The check looks at the host half (option schema, runner file) and then makes
one real, small run through ``workbench.profile`` on a device (this machine by
default): the profile, every streamed event and the runner result must be
valid documents, the per-layer rows must cover the model's nodes, and the
outputs must match onnxruntime on the host within a tolerance. A failed check
is reported, never raised.
"""

from __future__ import annotations

import ast
import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from workbench import errors, formats

if TYPE_CHECKING:
    import numpy as np
    import onnx

    from workbench.backends.base import Backend
    from workbench.devices.base import Device
    from workbench.models import Model
    from workbench.profiling import Profile

__all__ = ["Check", "CheckReport", "check_backend", "tiny_conv_model"]

#: the oldest Python a board may run the agent (and so a runner module) with
RUNNER_PYTHON = (3, 8)
_PROBE_OPTION = "__no_such_option__"


class Check(NamedTuple):
    """One check: its name, whether it passed (None: skipped, see detail) and the detail."""

    name: str
    passed: bool | None
    detail: str


@dataclass
class CheckReport:
    """The outcome of :func:`check_backend`: one :class:`Check` per line, in order."""

    backend: str
    device: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail the report)."""
        return all(check.passed is not False for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if check.passed is False]

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    def __getitem__(self, name: str) -> Check:
        """The check called ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def _add(self, name: str, passed: bool | None, detail: str) -> bool:
        self.checks.append(Check(name, passed, detail))
        return bool(passed)

    def _summary(self) -> str:
        counts = {word: sum(1 for c in self.checks if c.passed is value)
                  for word, value in (("passed", True), ("failed", False), ("skipped", None))}
        parts = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
        return (f"backend {self.backend!r} on {self.device}: {'OK' if self.ok else 'FAILED'} "
                f"({parts})")

    def __str__(self) -> str:
        marks = {True: "PASS", False: "FAIL", None: "SKIP"}
        lines = [self._summary()]
        lines += [f"  {marks[c.passed]}  {c.name}: {c.detail}" for c in self.checks]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckReport {self._summary()}>"

    def _repr_html_(self) -> str:
        marks = {True: ("PASS", "#1a7f37"), False: ("FAIL", "#cf222e"), None: ("SKIP", "#6e7781")}
        rows = "".join(
            f"<tr><td style='color:{marks[c.passed][1]};font-weight:bold'>{marks[c.passed][0]}"
            f"</td><td style='text-align:left'>{html.escape(c.name)}</td>"
            f"<td style='text-align:left;white-space:pre-wrap'>{html.escape(c.detail)}</td></tr>"
            for c in self.checks)
        return (f"<div><strong>{html.escape(self._summary())}</strong><table>"
                f"<tr><th></th><th>check</th><th>detail</th></tr>{rows}</table></div>")


def tiny_conv_model() -> onnx.ModelProto:
    """A small deterministic model of common ops (Conv, Relu, MaxPool, depthwise Conv, Clip,
    GlobalAveragePool, Flatten, Gemm, Softmax) on a 1x3x16x16 input; every node named."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        fan_in = int(np.prod(shape[1:])) or 1
        array = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        return numpy_helper.from_array(array.astype(np.float32), name)

    initializers = [
        weight("conv1.weight", 8, 3, 3, 3), weight("conv1.bias", 8),
        weight("conv2.weight", 8, 1, 3, 3),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
        weight("fc.weight", 4, 8), weight("fc.bias", 4),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c2", "zero", "six"], ["r2"], name="relu6"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="avgpool"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "conformance",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 4])],
        initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             producer_name="workbench.testing")


def check_backend(backend: str | Backend, model: Any = None, device: str | Device = "local", *,
                  rtol: float = 1e-3, atol: float = 1e-4, timeout: float = 300.0) -> CheckReport:
    """Check that a backend plug-in keeps the plug-in contract; report, never raise.

    ``backend`` is an installed backend's name or a Backend object (checked before it
    is registered); ``model`` anything ``load_model`` takes (default: :func:`tiny_conv_model`,
    or its TFLite twin for a backend that takes .tflite models only), its named symbolic
    dims set to 1. A twin's outputs are compared with onnxruntime on its ONNX model; a
    runner that says per-op times are unavailable has its layer check skipped.
    The run is small (1 warm-up, 3 timed and 2 profiled runs) with deterministic inputs.
    Outputs are compared with onnxruntime on this machine (``rtol``, ``atol``) when the
    backend returns their values: it honours the ``keep_outputs`` run setting or has a
    ``keep_outputs`` option; otherwise that check is skipped with a note.
    """
    from workbench import backends
    from workbench.backends.base import Backend

    name = backend if isinstance(backend, str) else getattr(backend, "name", repr(backend))
    device_name = device if isinstance(device, str) else device.name
    report = CheckReport(str(name), device_name)
    try:
        the_backend = backends.get(backend) if isinstance(backend, str) else backend
    except errors.WorkbenchError as exc:
        report._add("host half", False, str(exc))
        return report
    if not isinstance(the_backend, Backend):
        report._add("host half", False, f"{type(the_backend).__name__} is not a "
                    "workbench.backends.Backend")
        return report
    report._add(*_check_host_half(the_backend))
    report._add(*_check_option_schema(the_backend))
    report._add(*_check_unknown_option(the_backend))
    if report._add(*_check_runner_file(the_backend)):
        report._add(*_check_runner_module(the_backend.runner_path()))
    _check_run(report, the_backend, model, device, rtol=rtol, atol=atol, timeout=timeout)
    return report


# --- the host half ------------------------------------------------------------------------


def _check_host_half(backend: Backend) -> tuple[str, bool, str]:
    problems = []
    if not isinstance(backend.name, str) or not backend.name:
        problems.append("no name")
    if not backend.formats or not all(isinstance(f, str) for f in backend.formats):
        problems.append("no model formats")
    if not isinstance(backend.runtime, str) or not backend.runtime:
        problems.append("no runtime named")
    kind = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if problems:
        return "host half", False, f"{kind}: {', '.join(problems)}"
    return "host half", True, (f"{kind}: formats {', '.join(backend.formats)}; needs "
                               f"{backend.runtime} on the device")


def _check_option_schema(backend: Backend) -> tuple[str, bool, str]:
    from workbench.backends.base import _TYPES, Option

    problems = []
    names = [getattr(o, "name", None) for o in backend.options]
    repeated = sorted({n for n in names if names.count(n) > 1}, key=str)
    if repeated:
        problems.append(f"names given twice: {', '.join(map(repr, repeated))}")
    for option in backend.options:
        if not isinstance(option, Option):
            problems.append(f"{option!r} is not an Option")
            continue
        if option.type not in _TYPES:
            problems.append(f"{option.name!r} has type {option.type!r}, not one of "
                            f"{', '.join(_TYPES)}")
            continue
        if not option.help:
            problems.append(f"{option.name!r} has no help text")
        try:
            option.check(option.default, backend.name)
        except errors.OptionError as exc:
            problems.append(f"the default of {option.name!r} fails its own validation: {exc}")
    if not problems:
        try:
            defaults = backend.validate_options({})
        except Exception as exc:  # a plug-in's own bug, reported
            problems.append(f"validate_options({{}}) raised {type(exc).__name__}: {exc}")
        else:
            if sorted(defaults) != sorted(map(str, names)):
                problems.append(f"validate_options({{}}) gives {sorted(defaults)}, not every "
                                "option's default")
    if problems:
        return "option schema", False, "; ".join(problems)
    return "option schema", True, (f"{len(names)} options, names unique, every default passes "
                                   "its own validation" if names else "no options")


def _check_unknown_option(backend: Backend) -> tuple[str, bool, str]:
    check = "unknown option rejected"
    try:
        backend.validate_options({_PROBE_OPTION: 1})
    except errors.UnknownOption as exc:
        unnamed = [o.name for o in backend.options if o.name not in str(exc)]
        if unnamed:
            return check, False, f"the error does not list the accepted {', '.join(unnamed)}"
        return check, True, "raises UnknownOption listing the accepted options"
    except Exception as exc:  # a plug-in's own bug, reported
        return check, False, f"raises {type(exc).__name__}, not UnknownOption: {exc}"
    return check, False, f"{_PROBE_OPTION!r} was accepted"


# --- the runner module ---------------------------------------------------------------------


def _check_runner_file(backend: Backend) -> tuple[str, bool, str]:
    try:
        path = Path(backend.runner_path())
    except Exception as exc:  # a plug-in's own bug, reported
        return "runner file", False, f"runner_path() raised {type(exc).__name__}: {exc}"
    if not path.is_file():
        return "runner file", False, f"{path} does not exist"
    if path.suffix != ".py":
        return "runner file", False, f"{path} is not a .py file"
    return "runner file", True, str(path)


def _check_runner_module(path: Path) -> tuple[str, bool, str]:
    """Read, not imported: the host need not have the backend's runtime."""
    check = "runner API"
    version = ".".join(map(str, RUNNER_PYTHON))
    try:
        tree = ast.parse(path.read_text("utf-8"), str(path), feature_version=RUNNER_PYTHON)
    except SyntaxError as exc:
        return check, False, (f"not Python {version} syntax (boards run the agent with "
                              f"Python {version}+): line {exc.lineno}: {exc.msg}")
    except (OSError, UnicodeDecodeError) as exc:
        return check, False, f"cannot read {path}: {exc}"
    api: Any = None
    run_args: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "RUNNER_API" for t in targets):
                try:
                    api = ast.literal_eval(node.value)
                except ValueError:
                    api = "(not a constant)"
        elif isinstance(node, ast.FunctionDef) and node.name == "run":
            run_args = [a.arg for a in node.args.posonlyargs + node.args.args]
    problems = []
    if api not in formats.RUNNER_APIS:
        problems.append(f"RUNNER_API is {api!r}, not one of "
                        f"{', '.join(map(str, formats.RUNNER_APIS))}")
    if run_args is None:
        problems.append("no top-level run(job, ctx)")
    elif len(run_args) != 2:
        problems.append(f"run takes ({', '.join(run_args)}), not (job, ctx)")
    if problems:
        return check, False, "; ".join(problems)
    return check, True, f"RUNNER_API = {api} and run(job, ctx), Python {version} syntax"


# --- a real run ----------------------------------------------------------------------------


def _inputs(model: Model) -> dict[str, np.ndarray]:
    """Deterministic data for every input: uniform in [-1, 1), integers in [0, 10)."""
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {}
    for tensor in model.inputs:
        if not tensor.is_static:
            raise errors.InputSpecError(
                f"Input {tensor.name!r} has symbolic dims {tensor.shape}", where=model.name,
                hint="Give check_backend a model with every input dim fixed")
        dtype, shape = np.dtype(tensor.dtype), [int(d) for d in tensor.shape or []]
        if dtype.kind == "f":
            arrays[tensor.name] = rng.uniform(-1.0, 1.0, shape).astype(dtype)
        elif dtype.kind == "b":
            arrays[tensor.name] = rng.integers(0, 2, shape).astype(dtype)
        else:
            arrays[tensor.name] = rng.integers(0, 10, shape).astype(dtype)
    return arrays


def _profile(backend: Backend, model: Model, device: str | Device, options: dict[str, Any],
             inputs: dict[str, Any], events: list[dict[str, Any]], timeout: float) -> Profile:
    """``workbench.profile``; for a Backend object not (yet) registered, its same steps."""
    from workbench import jobs

    settings = jobs.RunSettings(warmup=1, runs=3, profile_runs=2, timeout=timeout,
                                keep_outputs=True)
    # A Backend object goes through the very steps profile() takes, registered or not.
    prepared = jobs.prepare(model, device, backend, options, inputs=inputs, settings=settings,
                            on_event=events.append)
    return jobs.execute(prepared, events.append)


def _check_run(report: CheckReport, backend: Backend, model: Any, device: str | Device, *,
               rtol: float, atol: float, timeout: float) -> None:
    from workbench.models import load_model

    later = ["profile valid", "events valid", "runner result valid", "layers cover nodes",
             "outputs match onnxruntime"]
    events: list[dict[str, Any]] = []
    # The runner returns output values with the keep_outputs run setting; a backend that
    # takes it as an option gets that too.
    keep = [o for o in backend.options if o.name == "keep_outputs" and o.type == "bool"]
    options = {"keep_outputs": True} if keep else {}
    try:
        the_model = load_model(model if model is not None else tiny_conv_model())
        if model is None and the_model.format not in backend.formats \
                and "tflite" in backend.formats:
            from workbench.models.tflite.twin import twin

            the_model = twin(the_model)
        fixed = {dim: 1 for dim in the_model.symbolic_dims}
        if fixed:
            the_model = the_model.with_shapes(**fixed)
        inputs = _inputs(the_model)
        profile = _profile(backend, the_model, device, options, inputs, events, timeout)
    except Exception as exc:  # every failure is reported, a plug-in's own bugs too
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, errors.AgentError) and exc.stderr_tail.strip():
            text += f"\nthe agent's stderr ended with:\n{exc.stderr_tail.rstrip()}"
        bad_result = isinstance(exc, errors.FormatError) and "runner result" in str(exc)
        report._add("real run", False, text)
        for name in later:
            if name == "runner result valid" and bad_result:
                report._add(name, False, text)
            else:
                report._add(name, None, "not checked: the run failed")
        return
    samples = profile.latency_samples
    shapes = f" (with {', '.join(f'{k}={v}' for k, v in fixed.items())})" if fixed else ""
    report._add("real run", True, f"{the_model.name}{shapes}: {len(samples)} timed runs, median "
                f"{sorted(samples)[len(samples) // 2]:.3g} ms, {len(profile.layers)} layer rows")
    try:
        formats.validate(profile.to_dict(), formats.PROFILE, where="profile")
        report._add("profile valid", True, f"a valid {formats.PROFILE} document")
    except errors.FormatError as exc:
        report._add("profile valid", False, str(exc))
    report._add(*_check_events(events))
    report._add("runner result valid", True,
                f"profile() validated it against {formats.RUNNER}")
    report._add(*_check_layers(profile, the_model))
    report._add(*_check_outputs(profile, the_model, inputs, rtol, atol))


def _check_events(events: list[dict[str, Any]]) -> tuple[str, bool, str]:
    kinds: dict[str, int] = {}
    for index, event in enumerate(events):
        try:
            formats.validate(event, formats.EVENTS, where=f"event {index}")
        except errors.FormatError as exc:
            return "events valid", False, f"{exc} Event: {event!r}"[:500]
        kind = str(event.get("event"))
        kinds[kind] = kinds.get(kind, 0) + 1
    if not events:
        return "events valid", False, "no event was streamed (not even upload progress)"
    counted = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    return "events valid", True, f"{len(events)} streamed events ({counted}), all valid"


def _check_layers(profile: Profile, model: Model) -> tuple[str, bool | None, str]:
    unavailable = [w for w in profile.to_dict().get("warnings") or []
                   if w.startswith("per-op times unavailable")]
    if not profile.layers and unavailable:
        return "layers cover nodes", None, f"skipped: {unavailable[0]}"
    covered = {n for row in profile.layers for n in row.get("original_nodes") or []}
    missing = [n.name for n in model.nodes if n.name not in covered]
    if not profile.layers:
        return "layers cover nodes", False, "no per-layer rows"
    if missing:
        return "layers cover nodes", False, (f"{len(missing)} of {len(model.nodes)} nodes in no "
                                             f"row's original_nodes: {', '.join(missing[:10])}")
    return "layers cover nodes", True, (f"{len(profile.layers)} rows cover all "
                                        f"{len(model.nodes)} nodes")


def _check_outputs(profile: Profile, model: Model, inputs: dict[str, Any], rtol: float,
                   atol: float) -> tuple[str, bool | None, str]:
    import numpy as np
    import onnxruntime as ort

    from workbench.profiling.agreement import output_array

    check = "outputs match onnxruntime"
    given = {o.get("name"): o for o in profile.to_dict().get("outputs") or []}
    if not given or any("values" not in o for o in given.values()):
        return check, None, ("skipped: the runner returned no output values (it honours "
                             "neither the keep_outputs run setting nor a keep_outputs option, "
                             "or the outputs are too large to keep)")
    reference: Model | None
    reference, feeds = model, inputs
    if model.format == "tflite":  # compare a twin with onnxruntime on the model it came from
        reference = getattr(model, "reference", None)
        if reference is None:
            return check, None, "skipped: a .tflite model without an ONNX model to compare with"
        nhwc = set(getattr(model, "nhwc_inputs", []))
        feeds = {k: v.transpose(0, 3, 1, 2) if k in nhwc else v for k, v in inputs.items()}
    session = ort.InferenceSession(str(reference.runnable_path()),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    expected = dict(zip(names, session.run(None, feeds), strict=True))
    problems, worst = [], 0.0
    for name, want in expected.items():
        if name not in given:
            problems.append(f"output {name!r} missing")
            continue
        kept = output_array(given[name])
        got = np.asarray(kept, dtype=np.float64).ravel() if kept is not None else np.empty(0)
        if got.size != want.size or list(given[name].get("shape", [])) != list(want.shape):
            problems.append(f"{name!r} has shape {given[name].get('shape')}, onnxruntime "
                            f"{list(want.shape)}")
            continue
        want = want.astype(np.float64).ravel()
        worst = max(worst, float(np.max(np.abs(got - want), initial=0.0)))
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            problems.append(f"{name!r} differs by up to {np.nanmax(np.abs(got - want)):.3g}")
    tolerance = f"rtol {rtol:g}, atol {atol:g}"
    if problems:
        return check, False, f"{'; '.join(problems)} ({tolerance})"
    return check, True, (f"{len(expected)} outputs within {tolerance}; largest difference "
                         f"{worst:.3g}")
