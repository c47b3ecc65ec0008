"""Body layouts a meter has pushed before, read with one ``struct`` call (one cache per meter).

Meters push the same body shape again and again. A form records where the integers and the
12-byte octet strings (date-times, mostly) of a body sit; a layout is a form plus the bytes
around those fields (tags, lengths, OBIS codes, strings, {scaler, unit}). A later body with
the same start, length and fixed bytes is read with one ``struct`` call instead of being
decoded: ``LayoutCache.decode`` returns it as ``Planned``, and the list layer replays what it
did for that layout (``programs``). Meters of one list type share a form and differ only in
fixed bytes (their ids), so one dict lookup on those bytes finds the layout. Any other body
is decoded as usual, and may teach a new layout.

What is learnt belongs to one ``LayoutCache``: each DLMS session (so each ``Decoder``, so
each meter) has its own, bounded, and two meters never share one.
"""

from __future__ import annotations

from dataclasses import dataclass
import operator
import struct
from typing import TYPE_CHECKING, Any

from .axdr import (
    INT_SIZES,
    STRUCT_FORMATS,
    TAG_ARRAY,
    TAG_OCTET_STRING,
    TAG_STRUCTURE,
    ScalerUnit,
    decode,
    read_length,
)

if TYPE_CHECKING:
    from collections.abc import Callable

#: Bounds: (start, length) keys, forms per key, layouts in all; all are forgotten when full.
MAX_KEYS = 64
MAX_FORMS = 4
MAX_LAYOUTS = 256
#: Layouts learnt per key before giving up on a body whose fixed bytes change every time.
MAX_LEARNT = 64
CLOCK_SIZE = 12


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


class LayoutCache:
    """The body layouts one meter has taught (bounded; forgotten all at once when full)."""

    __slots__ = ("_forms", "_learnt")

    def __init__(self) -> None:
        """Start knowing no layout."""
        self._forms: dict[tuple[int, int], list[Form]] = {}
        self._learnt: dict[tuple[int, int], int] = {}

    @property
    def forms(self) -> dict[tuple[int, int], list[Form]]:
        """The forms learnt, by (body start, APDU length)."""
        return self._forms

    @property
    def layouts(self) -> int:
        """How many layouts are known."""
        return sum(len(form.layouts) for forms in self._forms.values() for form in forms)

    def clear(self) -> None:
        """Forget every learnt layout (and the list layer's programs with them)."""
        self._forms.clear()
        self._learnt.clear()

    def decode(self, data: bytes, pos: int) -> tuple[Any, int]:
        """Like ``axdr.decode``; a body that fills ``data`` in a known layout is ``Planned``."""
        if type(data) is not bytes:
            return decode(data, pos)
        key = (pos, len(data))
        forms = self._forms.get(key)
        if forms is not None:
            for form in forms:
                found = form.match(data)
                if found is not None:
                    return Planned(found[0], found[1], data, pos), len(data)
        value, end = decode(data, pos)
        if end == len(data) and self._learnt.get(key, 0) < MAX_LEARNT:
            self._learn(key, data, pos, value)
        return value, end

    def _learn(self, key: tuple[int, int], data: bytes, pos: int, value: Any) -> None:
        """Remember the layout of a body that decoded to ``value`` (bounded)."""
        learnt = self._learnt
        if (key not in learnt and len(learnt) >= MAX_KEYS) or self.layouts >= MAX_LAYOUTS:
            self.clear()
        learnt[key] = learnt.get(key, 0) + 1
        found: list[tuple[int, str]] = []
        skeleton, _ = _skeleton(data, pos, 0, found)
        if not found:
            return
        fields = tuple(found)
        forms = self._forms.setdefault(key, [])
        form = next((f for f in forms if f.fields == fields), None)
        if form is None:
            if len(forms) >= MAX_FORMS:
                del forms[0]
            form = Form(pos, fields)
            forms.append(form)
        blobs = frozenset(i for i, (_, code) in enumerate(fields) if code[-1] == "s")
        layout = Layout(skeleton, blobs)
        if layout.fill(form.read(data).__getitem__) == value:  # else it does not describe it
            form.layouts[form.fixed(data)] = layout


def _skeleton(data: bytes, pos: int, depth: int, fields: list[tuple[int, str]]) -> tuple[Any, int]:
    """The decoded value at ``pos`` with its fields as ``Hole``; its end. Appends the fields."""
    tag = data[pos]
    code = STRUCT_FORMATS.get(tag)
    if code is not None:
        fields.append((pos + 1, code))
        return Hole(len(fields) - 1), pos + 1 + INT_SIZES[tag]
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
