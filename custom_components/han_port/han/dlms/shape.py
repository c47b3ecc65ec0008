"""The shape of a list: the A-XDR type of each element, read from the bytes it came from.

A list that names no register is positional: what each value means follows from its place,
which a decoder may only trust when the whole shape (element count and A-XDR types) is one it
knows (``layouts``). The decoded Python values lose the difference between, say, a
long-unsigned voltage and a double-long-unsigned counter, so the shape is read from the bytes:
a decoded top-level structure comes as ``Sourced``, which remembers them.
"""

from __future__ import annotations

from typing import Any, Self

from .axdr import (
    MAX_ITEMS,
    TAG_ARRAY,
    TAG_BCD,
    TAG_BIT_STRING,
    TAG_BOOLEAN,
    TAG_COMPACT_ARRAY,
    TAG_DATE,
    TAG_DATE_TIME,
    TAG_ENUM,
    TAG_FLOAT32,
    TAG_FLOAT64,
    TAG_INT8,
    TAG_INT16,
    TAG_INT32,
    TAG_INT64,
    TAG_NULL,
    TAG_OCTET_STRING,
    TAG_STRUCTURE,
    TAG_TIME,
    TAG_UINT8,
    TAG_UINT16,
    TAG_UINT32,
    TAG_UINT64,
    TAG_UTF8_STRING,
    TAG_VISIBLE_STRING,
    decode,
    read_length,
)

#: A-XDR type names (Blue Book ``Data`` CHOICE), for layout signatures and error messages.
TYPE_NAMES: dict[int, str] = {
    TAG_NULL: "null",
    TAG_ARRAY: "array",
    TAG_STRUCTURE: "structure",
    TAG_BOOLEAN: "boolean",
    TAG_BIT_STRING: "bit-string",
    TAG_INT32: "double-long",
    TAG_UINT32: "double-long-unsigned",
    TAG_OCTET_STRING: "octet-string",
    TAG_VISIBLE_STRING: "visible-string",
    TAG_UTF8_STRING: "utf8-string",
    TAG_BCD: "bcd",
    TAG_INT8: "integer",
    TAG_INT16: "long",
    TAG_UINT8: "unsigned",
    TAG_UINT16: "long-unsigned",
    TAG_COMPACT_ARRAY: "compact-array",
    TAG_INT64: "long64",
    TAG_UINT64: "long64-unsigned",
    TAG_ENUM: "enum",
    TAG_FLOAT32: "float32",
    TAG_FLOAT64: "float64",
    TAG_DATE_TIME: "date-time",
    TAG_DATE: "date",
    TAG_TIME: "time",
}
_SIZED = (TAG_OCTET_STRING, TAG_VISIBLE_STRING, TAG_UTF8_STRING, TAG_ARRAY, TAG_STRUCTURE)

#: One element's type: its tag and, for strings, arrays and structures, its length.
type ElementType = tuple[int, int]


def element_types(data: bytes, pos: int) -> tuple[ElementType, ...]:
    """The type of every element of the (already decoded) structure or array at ``pos``."""
    count, pos = read_length(data, pos + 1)
    out: list[ElementType] = []
    for _ in range(min(count, MAX_ITEMS)):
        tag = data[pos]
        size = read_length(data, pos + 1)[0] if tag in _SIZED else -1
        out.append((tag, size))
        pos = decode(data, pos)[1]
    return tuple(out)


def describe_types(types: tuple[ElementType, ...]) -> str:
    """``octet-string[16], long-unsigned, ...`` for an error message a user can report."""
    parts = []
    for tag, size in types:
        name = TYPE_NAMES.get(tag, f"0x{tag:02X}")
        parts.append(f"{name}[{size}]" if size >= 0 else name)
    return ", ".join(parts)


class Sourced(tuple):  # type: ignore[type-arg]  # noqa: SLOT001 - the source needs a __dict__
    """A decoded top-level structure that remembers the bytes it came from.

    Equal to (and used as) the plain tuple; ``types()`` reads its elements' A-XDR types,
    which a positional list needs and the decoded values no longer carry.
    """

    data: bytes
    pos: int

    def __new__(cls, items: tuple[Any, ...], data: bytes, pos: int) -> Self:
        """Wrap ``items``, decoded from the structure at ``data[pos]``."""
        self = super().__new__(cls, items)
        self.data = data
        self.pos = pos
        return self

    def types(self) -> tuple[ElementType, ...]:
        """The A-XDR type of every element."""
        return element_types(self.data, self.pos)


def sourced(value: Any, data: bytes, pos: int) -> Any:
    """``value`` as ``Sourced`` when it is a structure (a tuple), else unchanged."""
    return Sourced(value, data, pos) if type(value) is tuple else value
