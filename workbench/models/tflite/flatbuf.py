"""A small FlatBuffers reader and writer: just what .tflite files need, no dependency.

Reading: :class:`Table` gives typed access to one table's fields by slot
number (the field's position in the schema), with every offset checked
against the buffer, so a cut or corrupt file raises :class:`FlatbufferError`
instead of reading garbage.

Writing: :func:`serialize` lays out a tree of :class:`Node` objects in one
forward pass. Unlike the official builder, which writes back to front, each
parent is written before its children (uoffsets must point forward, and
they do); every table's vtable sits just before the table. Scalars are
aligned to their size and byte vectors to 16, which is what LiteRT expects
of weight buffers.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_SIZES = {"b": 1, "B": 1, "?": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4, "q": 8, "Q": 8,
          "d": 8}


class FlatbufferError(ValueError):
    """The bytes do not hold a valid flatbuffer at the place read (``where`` names it)."""


# --- reading -------------------------------------------------------------------------------


class Table:
    """One table inside a buffer; fields are read by slot number."""

    __slots__ = ("_buf", "_pos", "_vsize", "_vtable", "where")

    def __init__(self, buf: bytes, pos: int, where: str) -> None:
        self._buf = buf
        self._pos = pos
        self.where = where
        vtable = pos - _unpack(buf, "<i", pos, where)
        self._vsize = _unpack(buf, "<H", vtable, where)
        if self._vsize < 4 or self._vsize % 2:
            raise FlatbufferError(f"{where}: bad vtable size {self._vsize}")
        _need(buf, vtable, self._vsize, where)
        self._vtable = vtable

    def _field(self, slot: int) -> int:
        """Absolute position of a field, or 0 when absent."""
        entry = 4 + 2 * slot
        if entry >= self._vsize:
            return 0
        offset: int = struct.unpack_from("<H", self._buf, self._vtable + entry)[0]
        return self._pos + offset if offset else 0

    def scalar(self, slot: int, fmt: str, default: Any = 0) -> Any:
        """A scalar field (struct format letter) or its default."""
        pos = self._field(slot)
        return _unpack(self._buf, "<" + fmt, pos, self.where) if pos else default

    def _target(self, slot: int) -> int:
        pos = self._field(slot)
        return pos + _unpack(self._buf, "<I", pos, self.where) if pos else 0

    def table(self, slot: int) -> Table | None:
        """A sub-table field, or None."""
        target = self._target(slot)
        return Table(self._buf, target, f"{self.where}/{slot}") if target else None

    def _vector(self, slot: int) -> tuple[int, int]:
        """(position of the first element, length) of a vector field; (0, 0) when absent."""
        target = self._target(slot)
        if not target:
            return 0, 0
        return target + 4, _unpack(self._buf, "<I", target, self.where)

    def scalars(self, slot: int, fmt: str) -> list[Any]:
        """A vector of scalars."""
        start, count = self._vector(slot)
        size = _SIZES[fmt]
        _need(self._buf, start, count * size, self.where)
        return list(struct.unpack_from(f"<{count}{fmt}", self._buf, start)) if count else []

    def byte_span(self, slot: int) -> tuple[int, int]:
        """(start, length) of a [ubyte] vector, checked to lie inside the buffer."""
        start, count = self._vector(slot)
        _need(self._buf, start, count, self.where)
        return start, count

    def tables(self, slot: int) -> list[Table]:
        """A vector of tables."""
        start, count = self._vector(slot)
        _need(self._buf, start, 4 * count, self.where)
        found = []
        for index in range(count):
            element = start + 4 * index
            target = element + _unpack(self._buf, "<I", element, self.where)
            found.append(Table(self._buf, target, f"{self.where}/{slot}[{index}]"))
        return found

    def string(self, slot: int) -> str | None:
        """A string field, or None."""
        target = self._target(slot)
        if not target:
            return None
        length = _unpack(self._buf, "<I", target, self.where)
        _need(self._buf, target + 4, length, self.where)
        return self._buf[target + 4:target + 4 + length].decode("utf-8", "replace")


def _need(buf: bytes, start: int, length: int, where: str) -> None:
    if start < 0 or length < 0 or start + length > len(buf):
        raise FlatbufferError(f"{where}: {length} bytes at offset {start} run past the end "
                              f"of the {len(buf)}-byte buffer")


def _unpack(buf: bytes, fmt: str, pos: int, where: str) -> Any:
    _need(buf, pos, struct.calcsize(fmt), where)
    return struct.unpack_from(fmt, buf, pos)[0]


def root(buf: bytes, identifier: bytes | None = None) -> Table:
    """The root table; checks the 4-byte file identifier when given."""
    if len(buf) < 8:
        raise FlatbufferError(f"only {len(buf)} bytes: too short for a flatbuffer")
    if identifier is not None and buf[4:8] != identifier:
        raise FlatbufferError(f"file identifier {buf[4:8]!r}, not {identifier!r}")
    return Table(buf, _unpack(buf, "<I", 0, "root"), "root")


# --- writing -------------------------------------------------------------------------------


@dataclass
class Node:
    """A table to write: ``fields`` maps slot -> value.

    A value is a :class:`Scalar`, a :class:`Vector`, a ``str``, ``bytes``
    (a [ubyte] vector, 16-aligned) or another :class:`Node`.
    """

    fields: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scalar:
    """A scalar field with its struct format letter (``"i"``, ``"f"``, ``"B"``...)."""

    fmt: str
    value: Any


@dataclass(frozen=True)
class Vector:
    """A vector of scalars (``fmt`` a format letter) or of tables/strings (``fmt`` None)."""

    fmt: str | None
    items: Sequence[Any]


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()
        # (position of a uoffset to patch, the object it points to)
        self.pending: list[tuple[int, Any]] = []

    def align(self, size: int, extra: int = 0) -> None:
        """Pad so that position + extra is a multiple of size."""
        self.out += b"\0" * ((-(len(self.out) + extra)) % size)

    def write_object(self, value: Any) -> int:
        if isinstance(value, Node):
            return self.write_table(value)
        if isinstance(value, str):
            data = value.encode("utf-8")
            self.align(4)
            start = len(self.out)
            self.out += struct.pack("<I", len(data)) + data + b"\0"
            return start
        if isinstance(value, bytes | bytearray | memoryview):
            self.align(16, 4)
            start = len(self.out)
            self.out += struct.pack("<I", len(value))
            self.out += value
            return start
        if isinstance(value, Vector):
            return self.write_vector(value)
        raise TypeError(f"cannot serialize {type(value).__name__}")

    def write_vector(self, vector: Vector) -> int:
        if vector.fmt is not None:
            size = _SIZES[vector.fmt]
            self.align(max(size, 4), 4)
            start = len(self.out)
            self.out += struct.pack("<I", len(vector.items))
            self.out += struct.pack(f"<{len(vector.items)}{vector.fmt}", *vector.items)
            return start
        self.align(4)
        start = len(self.out)
        self.out += struct.pack("<I", len(vector.items))
        for item in vector.items:
            self.pending.append((len(self.out), item))
            self.out += b"\0\0\0\0"
        return start

    def write_table(self, node: Node) -> int:
        # Inline layout: soffset first, then fields largest first (no padding between).
        inline: list[tuple[int, str, Any]] = []
        for slot, value in node.fields.items():
            if isinstance(value, Scalar):
                inline.append((slot, value.fmt, value.value))
            elif value is not None:
                inline.append((slot, "I", value))  # a uoffset to patch
        inline.sort(key=lambda entry: -_SIZES[entry[1]])
        slots = max((slot for slot, _, _ in inline), default=-1) + 1
        offsets = [0] * slots
        position = 4
        for slot, fmt, _ in inline:
            size = _SIZES[fmt]
            position += (-position) % size
            offsets[slot] = position
            position += size
        table_size = position + (-position) % 4
        vtable = struct.pack(f"<HH{slots}H", 4 + 2 * slots, table_size, *offsets)
        widest = max((_SIZES[fmt] for _, fmt, _ in inline), default=4)
        self.align(max(widest, 4), len(vtable))
        vtable_pos = len(self.out)
        self.out += vtable
        table_pos = len(self.out)
        body = bytearray(table_size)
        struct.pack_into("<i", body, 0, table_pos - vtable_pos)
        children: list[tuple[int, Any]] = []
        for slot, fmt, value in inline:
            if isinstance(node.fields[slot], Scalar):
                struct.pack_into("<" + fmt, body, offsets[slot], value)
            else:
                children.append((table_pos + offsets[slot], value))
        self.out += body
        self.pending.extend(children)
        return table_pos

    def drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            for at, value in batch:
                target = self.write_object(value)
                struct.pack_into("<I", self.out, at, target - at)


def serialize(root_node: Node, identifier: bytes) -> bytes:
    """The flatbuffer of ``root_node`` with a 4-byte file identifier."""
    writer = _Writer()
    writer.out += b"\0\0\0\0" + identifier
    writer.pending.append((0, root_node))
    writer.drain()
    writer.align(16)
    return bytes(writer.out)
