"""Input specs: what data a job feeds the model, turned into the job's input entries.

Per model input a user may give nothing (random data in a dtype-aware range),
a dict spec (``{"low": 0, "high": 30522}`` for token ids, ``"seed"``,
``{"kind": "zeros"}``), a numpy array, a path to a ``.npy`` file, or an image
spec (``{"kind": "image", "path": "cat.jpg", "size": [224, 224], "mean": [...],
"std": [...], "layout": "NCHW"}``), preprocessed here on the host. Arrays
travel as content-addressed ``.npy`` files; the profile records each spec and
the sha256 of the data used.
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
            hint=f"Fix them first: model.with_shapes({names}), or give an array")
    return [int(d) for d in shape]


def _save_array(array: np.ndarray) -> tuple[Path, str]:
    """Write an array once to a content-addressed .npy file; return its path and sha256."""
    import numpy as np

    array = np.ascontiguousarray(array)
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


def job_inputs(model: Model, given: dict[str, Any] | None = None,
               seed: int = 0) -> tuple[list[dict[str, Any]], list[Path]]:
    """The job's input entries, and the .npy files they need on the device."""
    import numpy as np

    given = dict(given or {})
    names = [t.name for t in model.inputs]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise errors.InputSpecError(f"The model has no input called {', '.join(unknown)}",
                                    where=model.name, hint=f"Its inputs: {', '.join(names)}")
    entries: list[dict[str, Any]] = []
    files: list[Path] = []
    for tensor in model.inputs:
        spec = given.get(tensor.name)
        if isinstance(spec, (str, Path)):
            spec = np.load(spec, allow_pickle=False)
        if isinstance(spec, dict) and spec.get("kind") == "image":
            _check_keys(spec, IMAGE_KEYS, tensor.name)
            shape = _concrete_shape(tensor, model)
            spec = _image(spec, tensor, shape)
        if isinstance(spec, np.ndarray):
            path, digest = _save_array(spec)
            files.append(path)
            entries.append({"name": tensor.name, "dtype": str(spec.dtype),
                            "shape": list(spec.shape), "kind": "npy", "path": str(path),
                            "sha256": digest})
            continue
        spec = dict(spec or {})
        _check_keys(spec, RANDOM_KEYS, tensor.name)
        entry = {"name": tensor.name, "dtype": tensor.dtype,
                 "shape": _concrete_shape(tensor, model),
                 "kind": spec.get("kind", "random"), "seed": int(spec.get("seed", seed))}
        entry.update({k: spec[k] for k in ("low", "high") if k in spec})
        if entry["kind"] not in ("random", "zeros"):
            raise errors.InputSpecError(f"Unknown input kind {entry['kind']!r}",
                                        where=f"input {tensor.name!r}",
                                        hint="Use random, zeros, image, an array or a .npy path")
        entries.append(entry)
    return entries, files


def _check_keys(spec: dict[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise errors.InputSpecError(f"Unknown key {', '.join(unknown)} in the input spec",
                                    where=f"input {name!r}",
                                    hint=f"Accepted keys: {', '.join(sorted(allowed))}")
