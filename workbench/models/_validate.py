"""Checks a model must pass before analysis, each failing with its own WorkbenchError.

* the bytes: empty, cut short, or not ONNX at all (a text file, an image, a
  PyTorch checkpoint), told apart by sniffing known formats and by walking
  the top-level protobuf fields before parsing;
* the opset of the default domain against what onnxruntime supports;
* the external-data files: present, and long enough for every tensor,
  checked by size only, never read.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import onnx
from google.protobuf.message import DecodeError
from workbench_agent.onnx_graph import read_varint

from workbench import errors
from workbench.models.info import tensor_bytes

MIN_OPSET = 7

# Newest default-domain opset each onnxruntime release supports (its release
# notes' compatibility table). Releases after the last entry are assumed to
# support the newest opset the installed onnx package knows: onnxruntime
# 1.32 with onnx 1.23 both stop at opset 28.
ORT_MAX_OPSET: dict[tuple[int, int], int] = {
    (1, 0): 10, (1, 1): 11, (1, 2): 11, (1, 3): 12, (1, 4): 12, (1, 5): 12, (1, 6): 13,
    (1, 7): 13, (1, 8): 14, (1, 9): 15, (1, 10): 15, (1, 11): 16, (1, 12): 17, (1, 13): 17,
    (1, 14): 18, (1, 15): 19, (1, 16): 19, (1, 17): 20, (1, 18): 21, (1, 19): 21, (1, 20): 21,
    (1, 21): 22, (1, 22): 22, (1, 23): 23,
}
_ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml",
                      "onnxruntime-openvino", "onnxruntime-qnn")

# ModelProto's field numbers and their wire types (0 varint, 2 length-delimited).
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
_MAGIC: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG", 0, "a PNG image", "Give the model file, not a picture"),
    (b"\xff\xd8\xff", 0, "a JPEG image", "Give the model file, not a picture"),
    (b"GIF8", 0, "a GIF image", "Give the model file, not a picture"),
    (b"PK\x03\x04", 0, "a zip archive (a PyTorch checkpoint or a Keras file?)",
     "Export it to ONNX first, e.g. torch.onnx.export(model, args, 'model.onnx')"),
    (b"TFL3", 4, "a TensorFlow Lite model", "Use the litert backend for .tflite models, or "
     "convert it to ONNX with tf2onnx"),
    (b"\x89HDF", 0, "an HDF5 file (a Keras model?)", "Convert it to ONNX with tf2onnx first"),
    (b"\x1f\x8b", 0, "a gzip file", "Unpack it first"),
    (b"%PDF", 0, "a PDF document", "Give the .onnx model file"),
)


def _walk(data: bytes) -> tuple[str, int]:
    """Walk the top-level fields: ("ok", end), ("truncated", field start) or ("foreign", pos)."""
    pos = 0
    first = True
    try:
        while pos < len(data):
            start = pos
            key = read_varint(data, pos)
            if key is None:
                return "truncated", start
            tag, pos = key
            number, wire = tag >> 3, tag & 7
            if number == 0 or (first and _MODEL_FIELDS.get(number) != wire):
                return "foreign", start
            first = False
            if wire == 0:
                value = read_varint(data, pos)
                if value is None:
                    return "truncated", start
                pos = value[1]
            elif wire == 2:
                length = read_varint(data, pos)
                if length is None or length[1] + length[0] > len(data):
                    return "truncated", start
                pos = length[1] + length[0]
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
                if pos > len(data):
                    return "truncated", start
            else:
                return "foreign", start
    except ValueError:
        return "foreign", pos
    return "ok", pos


def _sniff(data: bytes) -> tuple[str, str] | None:
    """(what the bytes are, hint) for a known non-ONNX format, else None."""
    for magic, offset, kind, hint in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return kind, hint
    if data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        return "a Python pickle", "Export the model to ONNX first"
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the 4 kB boundary is still text
        if exc.start < len(head) - 4:
            return None
        text = head[:exc.start].decode("utf-8")
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        if "ir_version" in text or "opset_import" in text:
            return ("an ONNX model in text form", "Parse it with onnx.parser.parse_model and save "
                    "the result with onnx.save")
        return "a text file", "Give the binary .onnx file"
    return None


def parse(data: bytes, where: str) -> onnx.ModelProto:
    """The ModelProto in ``data``, or ModelTruncated / NotAnOnnxModel saying why not."""
    if not data:
        raise errors.ModelTruncated("The model is empty (0 bytes)", where=where)
    sniffed = _sniff(data)
    if sniffed is not None:
        raise errors.NotAnOnnxModel(f"This is {sniffed[0]}, not an ONNX model", where=where,
                                    hint=sniffed[1])
    verdict, pos = _walk(data)
    if verdict == "truncated":
        raise errors.ModelTruncated(
            f"The model is cut short: a field starting at byte {pos} runs past its end at byte "
            f"{len(data)}", where=where)
    if verdict == "foreign" and pos == 0:
        raise errors.NotAnOnnxModel("The bytes do not start like an ONNX model", where=where)
    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError) as exc:
        raise errors.NotAnOnnxModel(f"The bytes do not parse as an ONNX model ({exc})",
                                    where=where) from None
    if not proto.HasField("graph"):
        raise errors.ModelTruncated(
            f"The model ends after {len(data)} bytes without a graph", where=where)
    return proto


def default_opset(proto: onnx.ModelProto) -> int | None:
    """Version of the default ("" / "ai.onnx") domain the model imports, if any."""
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None


def max_supported_opset() -> tuple[int, str]:
    """The newest default-domain opset of the installed onnxruntime, and what it was read from."""
    newest_onnx = onnx.defs.onnx_opset_version()
    for distribution in _ORT_DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        parts = [*(int(p) for p in version.split(".")[:2] if p.isdigit()), 0, 0]
        key = parts[0], parts[1]
        if key in ORT_MAX_OPSET:
            return ORT_MAX_OPSET[key], f"{distribution} {version}"
        if key > max(ORT_MAX_OPSET):
            return newest_onnx, f"{distribution} {version} with onnx {onnx.__version__}"
        older = [k for k in ORT_MAX_OPSET if k <= key]
        return (ORT_MAX_OPSET[max(older)] if older else 9), f"{distribution} {version}"
    return newest_onnx, f"onnx {onnx.__version__} (onnxruntime is not installed here)"


def check_opset(proto: onnx.ModelProto, where: str) -> int | None:
    """The default-domain opset, or UnsupportedOpset when onnxruntime cannot run it."""
    opset = default_opset(proto)
    if opset is None:
        return None
    newest, basis = max_supported_opset()
    if opset < MIN_OPSET:
        raise errors.UnsupportedOpset(
            f"The model uses opset {opset}; opsets below {MIN_OPSET} are not supported",
            where=where, hint="Convert it: load_model(path, upgrade_opset=True) in Python or "
            "--upgrade-opset on the command line (onnx.version_converter), or export it again "
            "with a newer opset")
    if opset > newest:
        raise errors.UnsupportedOpset(
            f"The model uses opset {opset}, newer than the {newest} that {basis} supports",
            where=where, hint=f"Convert it to opset {newest} with onnx.version_converter, or "
            "upgrade onnxruntime")
    return opset


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for subgraph in attr.graphs:
                yield from _tensors(subgraph)


def check_external_data(proto: onnx.ModelProto, base_dir: Path | None,
                        where: str) -> list[str]:
    """Relative paths of the external-data files, each checked to exist and be long enough.

    Only file sizes are read, never the data.
    """
    sizes: dict[str, int] = {}
    for tensor in _tensors(proto.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        relative = PurePosixPath(location.replace("\\", "/"))
        if not location or relative.is_absolute() or ".." in relative.parts:
            raise errors.InvalidGraph(
                f"Tensor {tensor.name!r} keeps its data at {location!r}, outside the model's "
                "folder", where=where, hint="Save the model again with onnx.save(model, path, "
                "save_as_external_data=True)")
        if base_dir is None:
            raise errors.MissingExternalData(
                f"Tensor {tensor.name!r} keeps its data in the file {location}, but the model "
                "was not given as a path, so there is no folder to find it in", where=where,
                hint="Load the model from its .onnx path, with the data file beside it")
        path = base_dir / relative
        if location not in sizes:
            try:
                sizes[location] = path.stat().st_size if path.is_file() else -1
            except OSError:
                sizes[location] = -1
        if sizes[location] < 0:
            raise errors.MissingExternalData(
                f"The external-data file {location} of tensor {tensor.name!r} is missing",
                where=str(path))
        offset = int(info.get("offset") or 0)
        length = info.get("length")
        needed = int(length) if length else tensor_bytes([int(d) for d in tensor.dims],
                                                          tensor.data_type)
        end = offset + (needed or 0)
        if sizes[location] < end:
            raise errors.MissingExternalData(
                f"The external-data file {location} is {sizes[location]} bytes, but tensor "
                f"{tensor.name!r} needs bytes {offset} to {end}", where=str(path),
                hint="The data file is cut short or belongs to another export; copy it again "
                "together with the .onnx file")
    return list(sizes)


def name_nodes(graph: onnx.GraphProto) -> int:
    """Give nameless (and duplicate-named) nodes the name ``{op_type}_{index}``; count them.

    onnxruntime's profiler reports nodes by name, so names must be unique and
    non-empty. The first node holding a name keeps it.
    """
    taken = {node.name for node in graph.node if node.name}
    seen: set[str] = set()
    renamed = 0
    for index, node in enumerate(graph.node):
        if node.name and node.name not in seen:
            seen.add(node.name)
            continue
        base = candidate = f"{node.op_type}_{index}"
        suffix = 1
        while candidate in taken or candidate in seen:
            candidate = f"{base}_{suffix}"
            suffix += 1
        node.name = candidate
        seen.add(candidate)
        taken.add(candidate)
        renamed += 1
    return renamed
