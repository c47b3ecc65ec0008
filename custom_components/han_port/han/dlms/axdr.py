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
``decode_planned`` reads a body whose layout it has learnt with a single ``struct`` call.
"""

from __future__ import annotations

from dataclasses import dataclass
import operator
import struct
from typing import TYPE_CHECKING, Any

from ..model import MalformedError, TruncatedError  # noqa: TID252

if TYPE_CHECKING:
    from collections.abc import Callable

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


# -- Layouts: meters push the same body shape again and again ---------------------------------
# A form records where the integers and the 12-byte octet strings (date-times, mostly) of a
# body sit; a layout is a form plus the bytes around those fields (tags, lengths, OBIS codes,
# strings, {scaler, unit}). A later body with the same start, length and fixed bytes is read
# with one ``struct`` call instead of being decoded: ``decode_planned`` returns it as
# ``Planned``, and the list layer replays what it did for that layout. Meters of one list
# type share a form and differ only in fixed bytes (their ids), so one dict lookup on those
# bytes finds the layout. Any other body is decoded as usual, and may teach a new layout.

#: Bounds: (start, length) keys, forms per key, layouts in all; all are forgotten when full.
MAX_KEYS = 64
MAX_FORMS = 4
MAX_LAYOUTS = 256
#: Layouts learnt per key before giving up on a body whose fixed bytes change every time.
MAX_LEARNT = 64
CLOCK_SIZE = 12

_FIELD_CODES = {tag: _FORMATS[sig] for tag, sig in _INTS.items()}


@dataclass(frozen=True, slots=True)
class Hole:
    """A field in a layout's skeleton: the ``index``-th value its form reads."""

    index: int


class Layout:
    """One body's fixed bytes: its decoded shape with ``Hole`` fields, and derived programs."""

    __slots__ = ("blobs", "programs", "skeleton")

    def __init__(self, skeleton: Any, blobs: frozenset[int]) -> None:
        """Keep the skeleton; ``blobs`` are the indices of the 12-byte fields."""
        self.skeleton = skeleton
        self.blobs = blobs
        #: What the list layer compiled for this layout, by its own key.
        self.programs: dict[Any, Any] = {}

    def fill(self, values: Callable[[int], Any]) -> Any:
        """The decoded body, with each field ``index`` replaced by ``values(index)``."""
        return _fill(self.skeleton, values)


def _fill(node: Any, values: Callable[[int], Any]) -> Any:
    kind = type(node)
    if kind is Hole:
        return values(node.index)
    if kind is tuple:
        return tuple(_fill(item, values) for item in node)
    if kind is list:
        return [_fill(item, values) for item in node]
    return node


class Form:
    """Where the fields of a body sit: the fixed byte runs between them and their reader."""

    __slots__ = ("_fixed", "_read", "fields", "layouts")

    def __init__(self, start: int, fields: tuple[tuple[int, str], ...]) -> None:
        """Fields (absolute offset, ``struct`` format) of a body starting at ``start``."""
        runs: list[slice] = []
        fmt = [">"]
        fixed_from = start
        cursor = 0
        for offset, code in fields:
            if offset > fixed_from:
                runs.append(slice(fixed_from, offset))
            fmt.append(f"{offset - cursor}x{code}")
            cursor = fixed_from = offset + struct.calcsize(">" + code)
        runs.append(slice(fixed_from, None))
        self.fields = fields
        self._fixed = operator.itemgetter(*runs)
        self._read = struct.Struct("".join(fmt)).unpack_from
        self.layouts: dict[Any, Layout] = {}

    def fixed(self, data: bytes) -> Any:
        """The bytes of ``data`` outside the fields (a hashable key)."""
        return self._fixed(data)

    def read(self, data: bytes) -> tuple[Any, ...]:
        """The field values of ``data``."""
        return self._read(data)

    def match(self, data: bytes) -> tuple[Layout, tuple[Any, ...]] | None:
        """The layout of ``data`` and its field values, if this form knows its fixed bytes."""
        layout = self.layouts.get(self._fixed(data))
        if layout is None:
            return None
        return layout, self._read(data)


class Planned:
    """A body that matched a known layout: its field values, read but not decoded."""

    __slots__ = ("data", "layout", "pos", "values")

    def __init__(self, layout: Layout, values: tuple[Any, ...], data: bytes, pos: int) -> None:
        """Keep the layout, the values read and the bytes (``data[pos:]``) they came from."""
        self.layout = layout
        self.values = values
        self.data = data
        self.pos = pos

    def decode(self) -> Any:
        """The body, decoded the ordinary way."""
        return decode(self.data, self.pos)[0]


_FORMS: dict[tuple[int, int], list[Form]] = {}
_LEARNT: dict[tuple[int, int], int] = {}


def clear_layouts() -> None:
    """Forget every learnt layout (and the list layer's programs with them)."""
    _FORMS.clear()
    _LEARNT.clear()


def decode_planned(data: bytes, pos: int) -> tuple[Any, int]:
    """Like ``decode``; a body that fills ``data`` and has a known layout comes back ``Planned``."""
    if type(data) is not bytes:
        return decode(data, pos)
    key = (pos, len(data))
    forms = _FORMS.get(key)
    if forms is not None:
        for form in forms:
            found = form.match(data)
            if found is not None:
                return Planned(found[0], found[1], data, pos), len(data)
    value, end = decode(data, pos)
    if end == len(data) and _LEARNT.get(key, 0) < MAX_LEARNT:
        _learn(key, data, pos, value)
    return value, end


def _learn(key: tuple[int, int], data: bytes, pos: int, value: Any) -> None:
    """Remember the layout of a body that decoded to ``value`` (bounded)."""
    known = sum(len(form.layouts) for forms in _FORMS.values() for form in forms)
    if (key not in _LEARNT and len(_LEARNT) >= MAX_KEYS) or known >= MAX_LAYOUTS:
        clear_layouts()
    _LEARNT[key] = _LEARNT.get(key, 0) + 1
    found: list[tuple[int, str]] = []
    skeleton, _ = _skeleton(data, pos, 0, found)
    if not found:
        return
    fields = tuple(found)
    forms = _FORMS.setdefault(key, [])
    form = next((f for f in forms if f.fields == fields), None)
    if form is None:
        if len(forms) >= MAX_FORMS:
            del forms[0]
        form = Form(pos, fields)
        forms.append(form)
    layout = Layout(skeleton, frozenset(i for i, (_, code) in enumerate(fields) if code[-1] == "s"))
    if layout.fill(form.read(data).__getitem__) == value:  # else it does not describe this body
        form.layouts[form.fixed(data)] = layout


def _skeleton(data: bytes, pos: int, depth: int, fields: list[tuple[int, str]]) -> tuple[Any, int]:
    """The decoded value at ``pos`` with its fields as ``Hole``; its end. Appends the fields."""
    tag = data[pos]
    code = _FIELD_CODES.get(tag)
    if code is not None:
        fields.append((pos + 1, code))
        return Hole(len(fields) - 1), pos + 1 + _INTS[tag][0]
    if tag == TAG_OCTET_STRING and data[pos + 1] == CLOCK_SIZE:
        fields.append((pos + 2, f"{CLOCK_SIZE}s"))
        return Hole(len(fields) - 1), pos + 2 + CLOCK_SIZE
    value, end = decode(data, pos, depth)
    if tag not in (TAG_STRUCTURE, TAG_ARRAY) or type(value) is ScalerUnit:
        return value, end  # fixed: its bytes are part of the layout
    count, pos = read_length(data, pos + 1)
    items = []
    for _ in range(count):
        item, pos = _skeleton(data, pos, depth + 1, fields)
        items.append(item)
    return (tuple(items) if tag == TAG_STRUCTURE else items), pos
