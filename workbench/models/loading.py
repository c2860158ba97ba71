"""``load_model``: from a path, bytes, an onnx.ModelProto or ``zoo:NAME`` to a checked Model.

The order of checks gives each failure its own error: the bytes (empty, cut
short, not ONNX), the opset, the external-data files, the ONNX checker, then
strict shape inference. External weights are never read: the .onnx file is
parsed on its own and the data files are checked by size.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import onnx

from workbench import errors
from workbench.models import _validate
from workbench.models.analysis import analyse, infer_shapes
from workbench.models.model import Model

#: what ``load_model`` accepts
ModelSource = str | os.PathLike[str] | bytes | onnx.ModelProto | Model

ZOO_PREFIX = "zoo:"
#: the opset ``load_model(..., upgrade_opset=True)`` converts old models to
UPGRADE_OPSET = 13


def load_model(source: ModelSource, *, name: str | None = None,
               upgrade_opset: bool = False) -> Model:
    """Load and check a model: a path to an .onnx or .tflite file, raw bytes, a ModelProto, or
    ``zoo:NAME`` (``zoo:NAME.tflite`` for the TFLite twin of a zoo model).

    ``name`` names the model in summaries and profiles (bytes have no file name
    to take it from, e.g. an uploaded file); by default it comes from the file,
    the graph or the zoo. A model below opset 7 (which onnxruntime does not
    run) is refused, unless ``upgrade_opset``: then onnx.version_converter
    converts it to opset :data:`UPGRADE_OPSET`, the model's ``source`` and
    ``converted_from_opset`` say so, and so does every profile of it. Raises a
    :class:`workbench.errors.ModelError` subclass naming what is wrong and
    where. A Model passed in is returned as it is.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise errors.InvalidOptionValue(f"name={name!r} is not a model name", where="load_model",
                                        hint="Give a non-empty string, or leave name out")
    if isinstance(source, Model):
        return source
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return _from_bytes(data, name=name or "model", source=f"bytes ({len(data)} B)",
                           where=f"the given bytes ({name})" if name else "the given bytes",
                           upgrade_opset=upgrade_opset)
    if isinstance(source, onnx.ModelProto):
        data = source.SerializeToString()
        return _from_bytes(data, name=name or source.graph.name or "model",
                           source="onnx.ModelProto", where="the given ModelProto",
                           upgrade_opset=upgrade_opset)
    if isinstance(source, str) and source.startswith(ZOO_PREFIX):
        from workbench.models import zoo

        model = zoo.load(source[len(ZOO_PREFIX):])
        if name is not None:
            model.name = name
        return model
    if isinstance(source, str | os.PathLike):
        return load_path(Path(source), name=name, upgrade_opset=upgrade_opset)
    raise errors.NotAnOnnxModel(f"A {type(source).__name__} is not a model source",
                                where=repr(source)[:80],
                                hint="Give a path to an .onnx file, its bytes, an "
                                "onnx.ModelProto, or zoo:NAME")


def load_path(path: Path, *, name: str | None = None, source: str | None = None,
              upgrade_opset: bool = False) -> Model:
    """Load an .onnx file (external data stays on disk, checked by size) or a .tflite file."""
    where = str(path)
    if not path.exists():
        raise errors.ModelNotFound("The model file does not exist", where=where)
    if not path.is_file():
        raise errors.ModelNotFound("The model path is not a file", where=where,
                                   hint="Give the .onnx file inside the folder")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.ModelError(f"The model file cannot be read ({exc.strerror})", where=where,
                                hint="Check the file's permissions") from None
    return _from_bytes(data, name=name or path.stem, source=source or str(path), where=where,
                       path=path, upgrade_opset=upgrade_opset)


def _upgrade(proto: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """The model converted to :data:`UPGRADE_OPSET` by onnx.version_converter."""
    from onnx import version_converter

    old = _validate.default_opset(proto)
    try:
        converted = version_converter.convert_version(proto, UPGRADE_OPSET)
    except Exception as exc:  # the converter raises bare RuntimeErrors from C++
        text = str(exc).strip().splitlines()
        raise errors.UnsupportedOpset(
            f"onnx.version_converter cannot convert the model from opset {old} to "
            f"{UPGRADE_OPSET}: {text[0] if text else type(exc).__name__}", where=where,
            hint="Export the model again from its framework with opset 7 or newer") from None
    # The converter leaves the IR version as it was, but some of its adapters turn attributes
    # into initializers that are not graph inputs, which IR versions below 4 forbid.
    converted.ir_version = max(converted.ir_version, onnx.helper.find_min_ir_version_for(
        [onnx.helper.make_opsetid("", UPGRADE_OPSET)]))
    return converted


def _from_bytes(data: bytes, *, name: str, source: str, where: str,
                path: Path | None = None, upgrade_opset: bool = False) -> Model:
    from workbench.models.tflite.model import is_tflite

    if is_tflite(data) or (path is not None and path.suffix.lower() == ".tflite"):
        from workbench.models.tflite.model import from_bytes

        return from_bytes(data, name=name, source=source, where=where, path=path)
    proto = _validate.parse(data, where)
    old_opset = _validate.default_opset(proto)
    converted = upgrade_opset and old_opset is not None and old_opset < _validate.MIN_OPSET
    if converted:
        proto = _upgrade(proto, where)
        data = proto.SerializeToString()
        source = f"{source} (converted from opset {old_opset} to {UPGRADE_OPSET})"
    _validate.check_opset(proto, where)
    base_dir = path.absolute().parent if path is not None else None
    external = _validate.check_external_data(proto, base_dir, where)
    try:
        # By path when weights are external, so the checker finds them beside the file.
        onnx.checker.check_model(str(path) if external and path is not None and not converted
                                 else data)
    except onnx.checker.ValidationError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid model"
        raise errors.InvalidGraph(f"The ONNX checker rejects the model: {message}",
                                  where=where) from None
    except UnicodeDecodeError:  # protobuf parses bytes that are not UTF-8 into string fields
        raise errors.NotAnOnnxModel("A name or text field of the model is not valid UTF-8, so "
                                    "the file is corrupt", where=where,
                                    hint="Copy or export the model again") from None
    renamed = _validate.name_nodes(proto.graph)
    inferred, warnings = infer_shapes(proto, where=where)
    if converted:
        warnings = [f"converted from opset {old_opset} to {UPGRADE_OPSET} with "
                    "onnx.version_converter", *warnings]
    model = Model(proto, analyse(inferred), name=name, source=source,
                  sha256=hashlib.sha256(data).hexdigest(),
                  # a converted model is written out for devices, not run from the user's file
                  file=path.absolute() if path is not None and not renamed and not converted
                  else None,
                  base_dir=base_dir, external=external, warnings=warnings)
    model.converted_from_opset = old_opset if converted else None
    return model
