"""A-XDR decoding of the COSEM data types meters push (IEC 62056-6-2 ``Data`` CHOICE).

Values map onto plain Python types so the list layer can walk them cheaply:

* null -> ``None``; boolean -> ``bool``; integers, enum and bcd -> ``int``;
* float32/64 -> ``float``;
* octet-string -> ``bytes`` (OBIS codes, date-times and opaque ids stay raw);
* visible-string / utf8-string -> ``str``;
* bit-string -> ``BitString``;
* array and compact-array -> ``list``; structure -> ``tuple``;
* a two-element structure {int8 scaler, enum unit} -> ``ScalerUnit``;
* date-time (tag 0x19) -> ``bytes`` of 12, like the octet-string form meters usually send.

Decoding works on offsets into one ``bytes`` object with ``int.from_bytes`` and precompiled
``struct`` readers: there is no per-byte Python loop over a payload. Nesting is bounded.
A body whose layout a meter has sent before is read with one ``struct`` call (``plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Any

from ..model import MalformedError, TruncatedError  # noqa: TID252

#: Deepest nesting of arrays/structures accepted (real lists use 2-3 levels).
MAX_DEPTH = 16
#: Most elements one array or structure may announce (guards against absurd counts).
MAX_ITEMS = 4096

_F32 = struct.Struct(">f").unpack_from
_F64 = struct.Struct(">d").unpack_from

TAG_NULL = 0x00
TAG_ARRAY = 0x01
TAG_STRUCTURE = 0x02
TAG_BOOLEAN = 0x03
TAG_BIT_STRING = 0x04
TAG_INT32 = 0x05
TAG_UINT32 = 0x06
TAG_OCTET_STRING = 0x09
TAG_VISIBLE_STRING = 0x0A
TAG_UTF8_STRING = 0x0C
TAG_BCD = 0x0D
TAG_INT8 = 0x0F
TAG_INT16 = 0x10
TAG_UINT8 = 0x11
TAG_UINT16 = 0x12
TAG_COMPACT_ARRAY = 0x13
TAG_INT64 = 0x14
TAG_UINT64 = 0x15
TAG_ENUM = 0x16
TAG_FLOAT32 = 0x17
TAG_FLOAT64 = 0x18
TAG_DATE_TIME = 0x19
TAG_DATE = 0x1A
TAG_TIME = 0x1B

#: Fixed-size integer tags: tag -> (size, signed).
_INTS: dict[int, tuple[int, bool]] = {
    TAG_INT32: (4, True),
    TAG_UINT32: (4, False),
    TAG_BCD: (1, False),
    TAG_INT8: (1, True),
    TAG_INT16: (2, True),
    TAG_UINT8: (1, False),
    TAG_UINT16: (2, False),
    TAG_INT64: (8, True),
    TAG_UINT64: (8, False),
    TAG_ENUM: (1, False),
}
_FORMATS = {
    (1, True): "b",
    (1, False): "B",
    (2, True): "h",
    (2, False): "H",
    (4, True): "i",
    (4, False): "I",
    (8, True): "q",
    (8, False): "Q",
}
#: Fixed-size integer tags: tag -> ``struct`` format (big-endian, without the ``>``).
STRUCT_FORMATS: dict[int, str] = {tag: _FORMATS[sig] for tag, sig in _INTS.items()}
#: Fixed-size integer tags: tag -> bytes of the value after the tag.
INT_SIZES: dict[int, int] = {tag: size for tag, (size, _signed) in _INTS.items()}
#: Fixed-size integer tags: tag -> (size, big-endian reader).
_FIXED: dict[int, tuple[int, Any]] = {
    tag: (size, struct.Struct(">" + _FORMATS[size, signed]).unpack_from)
    for tag, (size, signed) in _INTS.items()
}
#: Fixed-size raw tags kept as bytes: tag -> size.
_RAW = {TAG_DATE_TIME: 12, TAG_DATE: 5, TAG_TIME: 4}


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    """The {scaler, unit} structure of a register's attribute 3."""

    scaler: int
    unit: int


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit-string: ``bits`` significant bits in ``data`` (most significant first)."""

    bits: int
    data: bytes


def _short() -> TruncatedError:
    msg = "A-XDR value runs past the end of the data"
    return TruncatedError(msg)


def read_length(data: bytes, pos: int) -> tuple[int, int]:
    """Read a BER/A-XDR length at ``pos``; return (length, position after it)."""
    try:
        first = data[pos]
    except IndexError:
        raise _short() from None
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        msg = "unsupported A-XDR length encoding"
        raise MalformedError(msg)
    end = pos + 1 + size
    if end > len(data):
        raise _short()
    return int.from_bytes(data[pos + 1 : end]), end


def decode(data: bytes, pos: int = 0, depth: int = 0) -> tuple[Any, int]:
    """Decode one tagged value at ``pos``; return (value, position after it)."""
    try:
        tag = data[pos]
    except IndexError:
        raise _short() from None
    return decode_body(tag, data, pos + 1, depth)


def decode_body(tag: int, data: bytes, pos: int, depth: int = 0) -> tuple[Any, int]:
    """Decode the value of type ``tag`` whose bytes start at ``pos`` (after the tag)."""
    known = _INTS.get(tag)
    if known is not None:
        size, signed = known
        end = pos + size
        if end > len(data):
            raise _short()
        return int.from_bytes(data[pos:end], signed=signed), end
    if tag in (TAG_STRUCTURE, TAG_ARRAY):
        return _decode_sequence(data, pos, depth, structure=tag == TAG_STRUCTURE)
    if tag in (TAG_OCTET_STRING, TAG_VISIBLE_STRING, TAG_UTF8_STRING):
        length, pos = read_length(data, pos)
        end = pos + length
        if end > len(data):
            raise _short()
        raw = data[pos:end]
        if tag == TAG_OCTET_STRING:
            return raw, end
        return raw.decode("utf-8" if tag == TAG_UTF8_STRING else "latin-1", "replace"), end
    return _decode_rare(tag, data, pos, depth)


#: Interned {scaler, unit} pairs (frozen, so one instance per pair can be shared).
_SCALER_UNITS: dict[int, ScalerUnit] = {}


def _scaler_unit(scaler: int, unit: int) -> ScalerUnit:
    key = scaler << 8 | unit
    known = _SCALER_UNITS.get(key)
    if known is None:
        known = ScalerUnit(scaler - 256 if scaler > 127 else scaler, unit)
        _SCALER_UNITS[key] = known  # at most 256 * 256 entries
    return known


def _decode_sequence(data: bytes, pos: int, depth: int, *, structure: bool) -> tuple[Any, int]:
    if depth >= MAX_DEPTH:
        msg = "A-XDR nesting too deep"
        raise MalformedError(msg)
    size = len(data)
    count = data[pos] if pos < size else 0x80
    if count < 0x80:
        pos += 1
    else:
        count, pos = read_length(data, pos)
    if count > MAX_ITEMS or count > size - pos:
        # Every element takes at least one byte.
        raise _short()
    if (
        structure
        and count == 2
        and pos + 4 <= size
        and data[pos] == TAG_INT8
        and data[pos + 2] == TAG_ENUM
    ):
        return _scaler_unit(data[pos + 1], data[pos + 3]), pos + 4
    items: list[Any] = []
    append = items.append
    fixed = _FIXED
    depth += 1
    # The common tags are decoded inline: this loop is the hot path of every push.
    for _ in range(count):
        if pos >= size:
            raise _short()
        tag = data[pos]
        pos += 1
        reader = fixed.get(tag)
        if reader is not None:
            width, unpack = reader
            nxt = pos + width
            if nxt > size:
                raise _short()
            append(unpack(data, pos)[0])
            pos = nxt
        elif tag in (TAG_OCTET_STRING, TAG_VISIBLE_STRING):
            length = data[pos] if pos < size else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = read_length(data, pos)
            nxt = pos + length
            if nxt > size:
                raise _short()
            raw = data[pos:nxt]
            append(raw if tag == TAG_OCTET_STRING else raw.decode("latin-1"))
            pos = nxt
        elif tag in (TAG_STRUCTURE, TAG_ARRAY):
            value, pos = _decode_sequence(data, pos, depth, structure=tag == TAG_STRUCTURE)
            append(value)
        else:
            value, pos = decode_body(tag, data, pos, depth)
            append(value)
    return (tuple(items) if structure else items), pos


def _decode_rare(tag: int, data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_BOOLEAN:
        if pos >= len(data):
            raise _short()
        return data[pos] != 0, pos + 1
    if tag in _RAW:
        end = pos + _RAW[tag]
        if end > len(data):
            raise _short()
        return data[pos:end], end
    if tag == TAG_FLOAT32:
        if pos + 4 > len(data):
            raise _short()
        return _F32(data, pos)[0], pos + 4
    if tag == TAG_FLOAT64:
        if pos + 8 > len(data):
            raise _short()
        return _F64(data, pos)[0], pos + 8
    if tag == TAG_BIT_STRING:
        bits, pos = read_length(data, pos)
        end = pos + (bits + 7) // 8
        if end > len(data):
            raise _short()
        return BitString(bits, data[pos:end]), end
    if tag == TAG_COMPACT_ARRAY:
        return _decode_compact(data, pos, depth)
    msg = f"unknown A-XDR tag 0x{tag:02X}"
    raise MalformedError(msg)


# Compact arrays: a type description, then the contents' byte length, then untagged values.
# A type description is a tag, an array (tag, count(2), element type) or a structure
# (tag, count, member types).
type _TypeDesc = int | tuple[int, int, Any]


def _read_type(data: bytes, pos: int, depth: int) -> tuple[_TypeDesc, int]:
    if depth >= MAX_DEPTH:
        msg = "A-XDR type description too deep"
        raise MalformedError(msg)
    if pos >= len(data):
        raise _short()
    tag = data[pos]
    pos += 1
    if tag == TAG_ARRAY:
        if pos + 2 > len(data):
            raise _short()
        count = int.from_bytes(data[pos : pos + 2])
        element, pos = _read_type(data, pos + 2, depth + 1)
        return (TAG_ARRAY, count, element), pos
    if tag == TAG_STRUCTURE:
        count, pos = read_length(data, pos)
        if count > MAX_ITEMS:
            raise _short()
        members = []
        for _ in range(count):
            member, pos = _read_type(data, pos, depth + 1)
            members.append(member)
        return (TAG_STRUCTURE, count, tuple(members)), pos
    return tag, pos


def _decode_typed(desc: _TypeDesc, data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if isinstance(desc, int):
        return decode_body(desc, data, pos, depth)
    kind, count, inner = desc
    if depth >= MAX_DEPTH:
        msg = "A-XDR nesting too deep"
        raise MalformedError(msg)
    items = []
    if kind == TAG_ARRAY:
        for _ in range(count):
            value, pos = _decode_typed(inner, data, pos, depth + 1)
            items.append(value)
        return items, pos
    for member in inner:
        value, pos = _decode_typed(member, data, pos, depth + 1)
        items.append(value)
    return tuple(items), pos


def _element_shape(desc: _TypeDesc) -> tuple[int, int]:
    """(fewest bytes, number of values) of one element of a compact array's type."""
    if isinstance(desc, int):
        if desc == TAG_NULL:
            return 0, 1
        return (_INTS[desc][0] if desc in _INTS else 1), 1
    kind, count, inner = desc
    if kind == TAG_ARRAY:
        width, values = _element_shape(inner)
        return width * count, values * count + 1
    shapes = [_element_shape(member) for member in inner]
    return sum(w for w, _ in shapes), sum(v for _, v in shapes) + 1


def _decode_compact(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    desc, pos = _read_type(data, pos, depth)
    length, pos = read_length(data, pos)
    end = pos + length
    if end > len(data):
        raise _short()
    width, values = _element_shape(desc)
    if width == 0 and length:
        # Elements that take no bytes would never fill the contents: reject, do not loop.
        msg = "compact array of elements without bytes"
        raise MalformedError(msg)
    # At least one element is decoded whenever there are contents: bound its values too.
    elements = max(length // width, 1) if width else 0
    if elements * values > MAX_ITEMS * 16:
        msg = "compact array too large"
        raise MalformedError(msg)
    body = data[:end]
    items = []
    while pos < end:
        value, pos = _decode_typed(desc, body, pos, depth + 1)
        items.append(value)
    if pos != end:
        msg = "compact array contents do not match their length"
        raise MalformedError(msg)
    return items, end
