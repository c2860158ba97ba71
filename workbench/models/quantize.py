"""int8 quantisation of an ONNX model with ``onnxruntime.quantization``, linked to its source.

``quantize(model)`` runs onnxruntime's quantisation pre-processing first
(symbolic shape inference and graph clean-up, so models from outside the zoo
and with symbolic dims work), then:

* ``method="static"``: activations and weights in int8, QDQ format
  (QuantizeLinear/DequantizeLinear pairs that a runtime fuses into int8
  kernels), activations uint8 and weights int8, ranges calibrated by
  running the model on calibration data (MinMax);
* ``method="dynamic"``: int8 weights, activation ranges computed per run
  (no calibration data).

Calibration data: a list of feeds (dicts of arrays by input name), one feed,
``"digits"`` (the digits classifier's training split; the default for
``zoo:digits``) or ``"generated"`` (seeded random inputs in the range a job
would use, symbolic dims at 1; the default otherwise).

The result is a Model written once to the cache (content-addressed), whose
``derived_from`` names its fp32 source (name, sha256, source, path) and the
recipe with the sizes before and after; profiles carry that link, so
``compare_outputs(profile, reference="fp32")`` finds the source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench import errors

if TYPE_CHECKING:
    import numpy as np

    from workbench.models.info import TensorInfo
    from workbench.models.model import Model

Calibration = str | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

#: generated calibration feeds when none are given
GENERATED_SAMPLES = 16
#: digits training samples used for calibration
DIGITS_SAMPLES = 256


def _generated_feed(inputs: Sequence[TensorInfo], seed: int) -> dict[str, np.ndarray]:
    import numpy as np

    rng = np.random.default_rng(seed)
    feed = {}
    for tensor in inputs:
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in (tensor.shape or [])]
        dtype = np.dtype(tensor.dtype)
        if np.issubdtype(dtype, np.integer):
            feed[tensor.name] = rng.integers(0, 10, size=shape).astype(dtype)
        else:
            feed[tensor.name] = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    return feed


def _digits_feeds(model: Model) -> list[dict[str, np.ndarray]]:
    from workbench.models.zoo_digits import split

    x_train = split()[0][:DIGITS_SAMPLES]
    name = model.inputs[0].name
    return [{name: x_train[i:i + 32]} for i in range(0, len(x_train), 32)]


def calibration_feeds(model: Model, calibration: Calibration) -> tuple[list[dict[str, Any]], str]:
    """The feeds a static quantisation calibrates on, and what they are in words."""
    if calibration is None:
        calibration = "digits" if model.source == "zoo:digits" else "generated"
    if isinstance(calibration, str):
        if calibration == "digits":
            return _digits_feeds(model), f"the digits training split ({DIGITS_SAMPLES} samples)"
        if calibration == "generated":
            return ([_generated_feed(model.inputs, seed) for seed in range(GENERATED_SAMPLES)],
                    f"{GENERATED_SAMPLES} generated inputs (seeded, uniform -1..1)")
        raise errors.InvalidOptionValue(
            f"calibration={calibration!r} is not a calibration source", where="quantize",
            hint="Give 'digits', 'generated', a dict of arrays or a list of them")
    feeds = [calibration] if isinstance(calibration, Mapping) else list(calibration)
    names = {t.name for t in model.inputs}
    for feed in feeds:
        if not isinstance(feed, Mapping) or set(feed) != names:
            got = sorted(feed) if isinstance(feed, Mapping) else type(feed).__name__
            raise errors.InvalidOptionValue(
                f"A calibration feed must give every input by name; got {got}",
                where="quantize", hint=f"The model's inputs: {', '.join(sorted(names))}")
    if not feeds:
        raise errors.InvalidOptionValue("The calibration data is empty", where="quantize",
                                        hint="Give at least one feed")
    return [dict(f) for f in feeds], f"{len(feeds)} feeds given"


class _Reader:
    """The calibration data reader onnxruntime's quantiser pulls feeds from."""

    def __init__(self, feeds: list[dict[str, Any]]) -> None:
        self._feeds: Iterator[dict[str, Any]] = iter(feeds)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._feeds, None)


def _size(model: Model) -> int:
    return sum(path.stat().st_size for path in model.files())


def quantize(model: Model | str | Path, method: Literal["static", "dynamic"] = "static", *,
             per_channel: bool = True, calibration: Calibration = None) -> Model:
    """The int8 version of an ONNX model (see the module doc), with a link to its source."""
    import onnxruntime.quantization as oq
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from workbench._paths import cache_dir
    from workbench.models._files import atomic_write
    from workbench.models.loading import load_model, load_path

    source = model if not isinstance(model, (str, Path)) else load_model(model)
    if method not in ("static", "dynamic"):
        raise errors.InvalidOptionValue(f"method={method!r} is not a quantisation method",
                                        where="quantize", hint="Use 'static' or 'dynamic'")
    if source.format != "onnx":
        raise errors.QuantizationFailed(
            f"quantize takes ONNX models; {source.name} is a .{source.format} file",
            where=source.name, hint="Quantise the ONNX model it came from, then convert it")
    feeds, described = calibration_feeds(source, calibration) if method == "static" else ([], "")
    symbolic = importlib.util.find_spec("sympy") is not None
    with tempfile.TemporaryDirectory(prefix="workbench-quantize-") as folder:
        prepared = Path(folder) / "prepared.onnx"
        output = Path(folder) / "quantized.onnx"
        try:
            quant_pre_process(str(source.runnable_path()), str(prepared),
                              skip_symbolic_shape=not symbolic)
            if method == "static":
                oq.quantize_static(str(prepared), str(output), _Reader(feeds),
                                   quant_format=oq.QuantFormat.QDQ, per_channel=per_channel,
                                   activation_type=oq.QuantType.QUInt8,
                                   weight_type=oq.QuantType.QInt8)
            else:
                oq.quantize_dynamic(str(prepared), str(output), per_channel=per_channel,
                                    weight_type=oq.QuantType.QInt8)
        except Exception as exc:  # the quantiser raises many kinds; all mean "refused"
            raise errors.QuantizationFailed(f"onnxruntime's quantiser refused the model: {exc}",
                                            where=source.name) from None
        data = output.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = cache_dir() / "quantized" / f"{source.name}-{method}-{digest[:16]}.onnx"
    if not target.is_file():
        atomic_write(target, data)
    how = f"quantize {method} int8" + (" QDQ" if method == "static" else "") + \
        (" per-channel" if per_channel else " per-tensor")
    quantized = load_path(target, name=f"{source.name}-int8", source=str(target))
    quantized.derived_from = {
        "name": source.name, "sha256": source.sha256, "source": source.source,
        "path": str(source.runnable_path()), "how": how,
        "details": {"method": method, "per_channel": per_channel, "calibration": described,
                    "size_bytes_before": _size(source), "size_bytes_after": _size(quantized),
                    "symbolic_shape_inference": symbolic}}
    if not symbolic:
        quantized.warnings.append("quantised without symbolic shape inference (sympy is not "
                                  "installed: pip install 'edge-workbench[quantize]')")
    return quantized
