"""Input specs: what data a job feeds the model, turned into the job's input entries.

Per model input a user may give nothing (random data in a dtype-aware range),
a dict spec (``{"low": 0, "high": 30522}`` for token ids, ``"seed"``,
``{"kind": "zeros"}``), a numpy array, a path to a ``.npy`` file, or an image
spec (``{"kind": "image", "path": "cat.jpg", "size": [224, 224], "mean": [...],
"std": [...], "layout": "NCHW"}``), preprocessed here on the host. A number
(``16000``) fills the input with that value; a path ending in an image suffix
reads the image with the default preprocessing. The whole mapping may come
from an input-spec file (JSON, see :func:`read_spec`). Arrays travel as
content-addressed ``.npy`` files; the profile records each spec (``given``
says what the user gave) and the sha256 of the data used.

An integer input the model uses as a count, an index, a shape or a choice
(an int scalar, or a tensor feeding Gather indices, Reshape shapes, Loop trip
counts ...) has no sensible random value: without a given value it is an
error that names the input and how to give one.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import cache_dir

if TYPE_CHECKING:
    import numpy as np

    from workbench.models import Model, TensorInfo

RANDOM_KEYS = {"kind", "low", "high", "seed"}
IMAGE_KEYS = {"kind", "path", "size", "mean", "std", "layout", "scale"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

#: ONNX ops and the input positions at which they read integers as indices, counts or shapes
INDEX_POSITIONS: dict[str, tuple[int, ...]] = {
    "Gather": (1,), "GatherElements": (1,), "GatherND": (1,), "ScatterElements": (1,),
    "ScatterND": (1,), "Reshape": (1,), "Expand": (1,), "Tile": (1,), "Slice": (1, 2, 3, 4),
    "Range": (0, 1, 2), "OneHot": (1,), "TopK": (1,), "ConstantOfShape": (0,), "Loop": (0,),
    "Pad": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "Resize": (3,), "Split": (1,),
    "ReduceSum": (1,), "ReduceMean": (1,), "ReduceMax": (1,), "CumSum": (1,), "Trilu": (1,),
}


def _concrete_shape(tensor: TensorInfo, model: Model) -> list[int]:
    if tensor.shape is None:
        raise errors.InputSpecError(
            f"Input {tensor.name!r} has no known shape (not a tensor, or of unknown rank)",
            where=model.name, hint="Give an array for it if it is a tensor")
    shape = list(tensor.shape)
    symbolic = [d for d in shape if not isinstance(d, int) or d < 0]
    if symbolic:
        names = ", ".join(f"{d}=1" for d in symbolic if isinstance(d, str)) or "batch=1"
        raise errors.InputSpecError(
            f"Input {tensor.name!r} has symbolic dims {symbolic}", where=model.name,
            hint=f"Fix them first: model.with_shapes({names}) (--shape on the command line), "
            "or give an array")
    return [int(d) for d in shape]


def _save_array(array: np.ndarray) -> tuple[Path, str]:
    """Write an array once to a content-addressed .npy file; return its path and sha256."""
    import numpy as np

    # not ascontiguousarray: it turns a 0-d array (a scalar input) into shape (1,)
    array = np.require(array, requirements="C")
    digest = hashlib.sha256(array.tobytes()).hexdigest()
    folder = cache_dir() / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}-{array.dtype}-{'x'.join(map(str, array.shape)) or 'scalar'}.npy"
    if not path.exists():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        write_atomic(path, buffer.getvalue(), error=errors.InputSpecError)
    return path, digest


def _image(spec: dict[str, Any], tensor: TensorInfo, shape: list[int]) -> np.ndarray:
    import numpy as np
    from PIL import Image

    path = Path(spec["path"])
    if not path.is_file():
        raise errors.InputSpecError("The image file does not exist", where=str(path),
                                    hint="Check the path")
    layout = spec.get("layout", "NCHW")
    height, width = spec.get("size") or ((shape[2], shape[3]) if layout == "NCHW"
                                         else (shape[1], shape[2]))
    try:
        with Image.open(path) as image:
            pixels: np.ndarray = np.asarray(
                image.convert("RGB").resize((int(width), int(height))), dtype=np.float32)
    except OSError as exc:
        raise errors.InputSpecError(f"Cannot read the image: {exc}", where=str(path),
                                    hint="Give a PNG or JPEG file") from None
    pixels = pixels * float(spec.get("scale", 1 / 255))
    pixels = (pixels - np.asarray(spec.get("mean", [0.0, 0.0, 0.0]), np.float32)) / np.asarray(
        spec.get("std", [1.0, 1.0, 1.0]), np.float32)
    if layout == "NCHW":
        pixels = pixels.transpose(2, 0, 1)
    return pixels[None].astype(tensor.dtype)


def read_spec(path: str | Path) -> dict[str, Any]:
    """An input-spec file: a JSON object from input name to what to feed it.

    Values are what ``inputs=`` takes: a number, a path (a ``.npy`` file or an
    image, relative to the spec file's folder), or a dict spec. The CLI's
    ``--inputs``, ``profile(inputs="spec.json")`` and the widgets read it alike.
    """
    import json

    file = Path(path)
    try:
        spec = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise errors.InputSpecError(f"The input-spec file cannot be read ({exc.strerror})",
                                    where=str(file), hint="Check the path") from None
    except ValueError as exc:
        raise errors.InputSpecError(f"The input-spec file is not valid JSON ({exc})",
                                    where=str(file), hint='Write an object such as '
                                    '{"sr": 16000, "input": "audio.npy"}') from None
    if not isinstance(spec, dict):
        raise errors.InputSpecError("The input-spec file does not hold a JSON object",
                                    where=str(file), hint='Write an object such as '
                                    '{"sr": 16000, "input": "audio.npy"}')
    base = file.absolute().parent

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and not Path(value).is_absolute():
            return str(base / value)
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            return {**value, "path": resolve(value["path"])}
        return value

    return {str(name): resolve(value) for name, value in spec.items()}


def from_text(name: str, text: str, image: dict[str, Any] | None = None) -> Any:
    """What ``--input NAME=TEXT`` gives: a ``.npy`` path, an image spec (with the
    preprocessing ``image`` holds), or a number (JSON: ``16000``, ``0.5``, ``true``)."""
    import json

    lowered = text.lower()
    if lowered.endswith(IMAGE_SUFFIXES):
        return {"kind": "image", "path": text, **(image or {})}
    if lowered.endswith(".npy"):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, bool | int | float):
        return value
    raise errors.InputSpecError(
        f"{text!r} is neither a number, a .npy file nor an image", where=f"input {name!r}",
        hint=f"Write e.g. --input {name}=16000, --input {name}=data.npy or "
        f"--input {name}=photo.jpg")


def image_preprocessing(*, size: str | None = None, mean: str | None = None,
                        std: str | None = None, scale: float | None = None,
                        layout: str | None = None) -> dict[str, Any]:
    """An image spec's preprocessing keys from text as typed (``size="224x224"``,
    ``mean="0.485,0.456,0.406"``); keys left out keep the image spec's defaults."""
    def numbers(key: str, text: str, count: int) -> list[float]:
        parts = [p for p in text.lower().replace("x", ",").split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != count:
            raise errors.InputSpecError(f"{key}={text!r} is not {count} numbers",
                                        where="image preprocessing",
                                        hint="Write e.g. size=224x224, mean=0.485,0.456,0.406")
        return values

    spec: dict[str, Any] = {}
    if size:
        spec["size"] = [int(v) for v in numbers("size", size, 2)]
    if mean:
        spec["mean"] = numbers("mean", mean, 3)
    if std:
        spec["std"] = numbers("std", std, 3)
    if scale is not None:
        spec["scale"] = float(scale)
    if layout:
        if layout.upper() not in ("NCHW", "NHWC"):
            raise errors.InputSpecError(f"layout={layout!r} is not NCHW or NHWC",
                                        where="image preprocessing", hint="Give NCHW or NHWC")
        spec["layout"] = layout.upper()
    return spec


def _index_use(model: Model, name: str) -> str | None:
    """The first node reading integer input ``name`` as an index, count or shape."""
    for node in model.nodes:
        for position in INDEX_POSITIONS.get(node.op_type, ()):
            if position < len(node.inputs) and node.inputs[position] == name:
                return f"input {position} of {node.op_type} node {node.name!r}"
    return None


def _needs_value(model: Model, tensor: TensorInfo) -> None:
    """Refuse to invent an integer input that selects behaviour rather than carries data."""
    if not tensor.dtype.startswith(("int", "uint")):
        return
    shape = tensor.shape or []
    scalar = all(d == 1 for d in shape)
    use = _index_use(model, tensor.name)
    if not scalar and use is None:
        return
    what = "scalar" if not shape else f"tensor of shape {shape}"
    role = f"the model reads it as {use}" if use else "it likely means a rate, a count or an id"
    raise errors.InputSpecError(
        f"Input {tensor.name!r} is an {tensor.dtype} {what} and {role}; a random value would "
        "measure a path the model does not take in use", where=model.name,
        hint=f"Give its value: --input {tensor.name}=VALUE on the command line, "
        f"inputs={{{tensor.name!r}: VALUE}} in Python, or a range "
        f"{{'low': 0, 'high': N}} to draw from")


def job_inputs(model: Model, given: dict[str, Any] | str | Path | None = None,
               seed: int = 0) -> tuple[list[dict[str, Any]], list[Path]]:
    """The job's input entries, and the .npy files they need on the device.

    ``given`` maps input names to specs, or is the path of an input-spec file.
    """
    import numpy as np

    given = read_spec(given) if isinstance(given, str | Path) else dict(given or {})
    names = [t.name for t in model.inputs]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise errors.InputSpecError(f"The model has no input called {', '.join(unknown)}",
                                    where=model.name, hint=f"Its inputs: {', '.join(names)}")
    entries: list[dict[str, Any]] = []
    files: list[Path] = []
    for tensor in model.inputs:
        spec = given.get(tensor.name)
        described = None
        if isinstance(spec, str | Path) and str(spec).lower().endswith(IMAGE_SUFFIXES):
            spec = {"kind": "image", "path": str(spec)}
        if isinstance(spec, str | Path):
            described = f"file {Path(spec).name}"
            spec = _load_npy(Path(spec), tensor.name)
        if isinstance(spec, bool | int | float | np.number):
            described = f"value {spec}"
            spec = np.full(_concrete_shape(tensor, model), spec, dtype=tensor.dtype)
        if isinstance(spec, dict) and spec.get("kind") == "image":
            _check_keys(spec, IMAGE_KEYS, tensor.name)
            shape = _concrete_shape(tensor, model)
            described = f"image {Path(spec['path']).name}"
            spec = _image(spec, tensor, shape)
        if isinstance(spec, np.ndarray):
            spec = _without_objects(spec, tensor.name, model.name)
            path, digest = _save_array(spec)
            files.append(path)
            entries.append({"name": tensor.name, "dtype": str(spec.dtype),
                            "shape": list(spec.shape), "kind": "npy", "path": str(path),
                            "sha256": digest, "given": described or "array"})
            continue
        if spec is None:
            _needs_value(model, tensor)
        spec = dict(spec or {})
        _check_keys(spec, RANDOM_KEYS, tensor.name)
        entry = {"name": tensor.name, "dtype": tensor.dtype,
                 "shape": _concrete_shape(tensor, model),
                 "kind": spec.get("kind", "random"), "seed": int(spec.get("seed", seed))}
        entry.update({k: spec[k] for k in ("low", "high") if k in spec})
        if entry["kind"] not in ("random", "zeros"):
            raise errors.InputSpecError(f"Unknown input kind {entry['kind']!r}",
                                        where=f"input {tensor.name!r}",
                                        hint="Use random, zeros, image, a number, an array "
                                        "or a .npy path")
        entries.append(entry)
    return entries, files


def _without_objects(array: np.ndarray, name: str, where: str) -> np.ndarray:
    """Strings held as Python objects become a fixed-width string array, which a .npy file
    carries without pickling; other objects cannot travel."""
    if not array.dtype.hasobject:
        return array
    if all(isinstance(item, str) for item in array.flat):
        return array.astype(str)
    raise errors.InputSpecError(
        f"Input {name!r} holds Python objects that are not strings", where=where,
        hint="Give a numeric or string array")


def _load_npy(path: Path, name: str) -> np.ndarray:
    import numpy as np

    try:
        array: np.ndarray = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise errors.InputSpecError(f"The input array cannot be read ({exc.strerror or exc})",
                                    where=f"input {name!r}: {path}",
                                    hint="Give a .npy file saved with numpy.save") from None
    except ValueError as exc:
        raise errors.InputSpecError(f"The file is not a .npy array ({exc})",
                                    where=f"input {name!r}: {path}",
                                    hint="Give a .npy file saved with numpy.save") from None
    return array


def _check_keys(spec: dict[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise errors.InputSpecError(f"Unknown key {', '.join(unknown)} in the input spec",
                                    where=f"input {name!r}",
                                    hint=f"Accepted keys: {', '.join(sorted(allowed))}")
