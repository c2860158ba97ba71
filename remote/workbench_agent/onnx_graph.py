"""Read the node list of an ONNX file without the onnx package.

The agent runs where only numpy and a runtime are installed, but it must tell
the host which graph the runtime executed (after fusions and layout changes),
so per-layer rows can be mapped back to the user's nodes. This reads just the
protobuf fields it needs: ModelProto.graph (7) -> GraphProto.node (1) ->
NodeProto input (1), output (2), name (3), op_type (4), domain (7).
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple, Union

Field = Tuple[int, int, Union[int, memoryview]]


def read_varint(data: Union[bytes, memoryview], pos: int) -> Optional[Tuple[int, int]]:
    """(value, next position) of the protobuf varint at ``pos``; None if the data ends in it.

    Raises ValueError for a varint longer than 64 bits (not protobuf).
    """
    result = 0
    shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
    return None


def _varint(data: memoryview, pos: int) -> Tuple[int, int]:
    found = read_varint(data, pos)
    if found is None:
        raise ValueError("truncated varint")
    return found


def _spans(data: memoryview) -> Iterator[Tuple[int, int, Union[int, memoryview], int, int]]:
    """Each field as (number, wire type, value, start of its key, end of the field)."""
    pos = 0
    end = len(data)
    while pos < end:
        start = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value, start, pos
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("truncated field")
            yield number, wire, data[pos:pos + length], start, pos + length
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)


def _fields(data: memoryview) -> Iterator[Field]:
    for number, wire, value, _, _ in _spans(data):
        yield number, wire, value


def _text(value: Union[int, memoryview]) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def read_nodes(path: str) -> List[Dict[str, object]]:
    """The main graph's nodes: name, op_type, domain, inputs, outputs."""
    with open(path, "rb") as handle:
        data = memoryview(handle.read())
    nodes: List[Dict[str, object]] = []
    for number, wire, graph in _fields(data):
        if number != 7 or wire != 2 or not isinstance(graph, memoryview):
            continue
        for g_number, g_wire, node in _fields(graph):
            if g_number != 1 or g_wire != 2 or not isinstance(node, memoryview):
                continue
            entry: Dict[str, object] = {"name": "", "op_type": "", "domain": "",
                                        "inputs": [], "outputs": []}
            for n_number, _, value in _fields(node):
                if n_number == 1:
                    entry["inputs"].append(_text(value))  # type: ignore[attr-defined]
                elif n_number == 2:
                    entry["outputs"].append(_text(value))  # type: ignore[attr-defined]
                elif n_number == 3:
                    entry["name"] = _text(value)
                elif n_number == 4:
                    entry["op_type"] = _text(value)
                elif n_number == 7:
                    entry["domain"] = _text(value)
            nodes.append(entry)
    return nodes


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def with_graph_outputs(path: str, target: str, names: List[str]) -> None:
    """Write the model at ``path`` to ``target`` with ``names`` appended to the graph's
    outputs (names only: the runtime knows their types from the nodes that make them).

    Nothing else changes, byte for byte, so external weight files keep working
    when ``target`` sits beside them.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    for number, wire, graph, start, end in _spans(memoryview(data)):
        if number != 7 or wire != 2 or not isinstance(graph, memoryview):
            continue
        # ValueInfoProto: name (1); appended as GraphProto.output (12)
        extra = b"".join(_length_field(12, _length_field(1, name.encode("utf-8")))
                         for name in names)
        rewritten = data[:start] + _length_field(7, bytes(graph) + extra) + data[end:]
        with open(target, "wb") as handle:
            handle.write(rewritten)
        return
    raise ValueError("the model has no graph")
