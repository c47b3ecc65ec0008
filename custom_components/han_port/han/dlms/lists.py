"""COSEM notification bodies -> readings.

Meters fill the data-notification body in four ways:

* OBIS-coded items with their {scaler, unit} (Aidon, Austrian Kaifa/Sagemcom), nested per
  item ``{OBIS, value, {scaler, unit}}`` or flat ``OBIS, value, {scaler, unit}``;
* flat OBIS/value pairs without scaler (Kamstrup, Swedish Kaifa, Landis+Gyr, Iskraemeco):
  the maker's and model's resolution applies (``scaling``);
* positional lists without OBIS codes: decoded only by a layout of exactly their shape
  (``layouts``: Kaifa ``KFM_001`` lists, Iskraemeco lists of Slovenia and Croatia), else
  refused as ``UnknownLayoutError``;
* a push-object list (array of {class, OBIS, attribute, index}) followed by the values
  in that order (Landis+Gyr E450 CII).

Items the walker does not understand are skipped, never guessed. A body whose layout was
seen before (``axdr.Planned``) replays the program recorded for that layout (see the end of
this module), which gives exactly what the walk would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..model import (  # noqa: TID252
    HanError,
    Message,
    MeterIdentity,
    Reading,
    UnknownLayoutError,
    UnsupportedError,
)
from .axdr import Planned, ScalerUnit
from .layouts import find_layout, list_hint
from .scaling import (
    LANDIS_GYR,
    ListContext,
    maker_from_list_id,
    maker_from_title,
    model_family,
    plan_number,
    ranged,
    scale,
)
from .shape import Sourced, describe_types, sourced

if TYPE_CHECKING:
    from collections.abc import Sequence

# The session builds its list context here (the scaling rules live in ``scaling``).
__all__ = [
    "ListContext",
    "apply_body",
    "maker_from_title",
    "new_message",
    "obis_text",
    "parse_datetime",
]

_LIST_ID = "1-1:0.2.129"
_METER_ID = "0-0:96.1.0"
_MODEL = "0-0:96.1.7"
_CLOCK = "0-0:1.0.0"


_OBIS_TEXT: dict[bytes, str] = {}


def obis_text(code: bytes) -> str:
    r"""``b'\x01\x00\x01\x08\x00\xff'`` -> ``'1-0:1.8.0'`` (F is always 255 on HAN)."""
    text = _OBIS_TEXT.get(code)
    if text is None:
        text = f"{code[0]}-{code[1]}:{code[2]}.{code[3]}.{code[4]}"
        if len(_OBIS_TEXT) < 4096:
            _OBIS_TEXT[code] = text
    return text


def _is_obis(item: Any) -> bool:
    return type(item) is bytes and len(item) == 6 and item[5] == 0xFF


def parse_datetime(raw: bytes) -> datetime | None:
    """COSEM date-time (12 bytes) -> datetime; None when unspecified or impossible."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2])
    month, day, hour, minute, second = raw[2], raw[3], raw[5], raw[6], raw[7]
    if year == 0xFFFF or month > 12 or day > 31 or hour > 23 or minute > 59 or second > 59:
        return None
    hundredths = raw[8] if raw[8] < 100 else 0
    deviation = int.from_bytes(raw[9:11], signed=True)
    tz: timezone | None = None
    if deviation != -0x8000 and -840 <= deviation <= 840:
        # The deviation is UTC minus local time, in minutes.
        tz = UTC if deviation == 0 else timezone(timedelta(minutes=-deviation))
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=tz)
    except ValueError:
        return None


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    if value.isascii():
        text = value.decode("ascii")
        if text.isprintable():
            return text
    return value.hex()


#: The identity field an OBIS code's C.D.E part names.
_IDENTITY_FIELDS = {
    "0.2.129": "list_id",
    "96.1.0": "meter_id",
    "0.0.5": "meter_id",
    "96.1.7": "model",
    "96.1.1": "model",
}


class _Builder:
    """Collect readings into a message, applying scaler, unit and maker defaults."""

    __slots__ = ("ctx", "message", "readings")

    def __init__(self, message: Message, ctx: ListContext) -> None:
        self.message = message
        self.readings = message.readings
        self.ctx = ctx

    def add(self, obis: str, code: bytes | None, value: Any, su: ScalerUnit | None) -> None:
        kind = type(value)
        if kind is int or kind is float:
            exponent, unit, alternative = plan_number(code, su, self.ctx)
            if alternative is None:
                self.readings[obis] = Reading(obis, scale(value, exponent), unit)
            else:
                self.readings[obis] = Reading(obis, ranged(value, exponent, alternative), unit)
        elif kind is bytes or kind is str:
            self._add_text(obis, value)

    def _add_text(self, obis: str, value: bytes | str) -> None:
        msg = self.message
        if type(value) is bytes and len(value) == 12:
            when = parse_datetime(value)
            if when is not None:
                self.readings[obis] = Reading(obis, when.isoformat(), None)
                if obis.endswith(":1.0.0") and msg.timestamp is None:
                    msg.timestamp = when
                return
        text = _text(value)
        self.readings[obis] = Reading(obis, text, None)
        field = _IDENTITY_FIELDS.get(obis.partition(":")[2])
        if field is not None:
            self._identity(field, text)

    def _identity(self, field: str, text: str) -> None:
        meter = self.message.meter
        if field == "list_id":
            meter.list_id = text
            maker = maker_from_list_id(text)
            if maker is not None:
                meter.manufacturer = maker
                if self.ctx.maker is None:
                    self.ctx.maker = maker
        elif field == "meter_id":
            meter.meter_id = text
        else:
            meter.model = text
            self.ctx.model = model_family(text)

    # What the walkers decide besides readings goes through these, so a recording sees it.
    def set_maker(self, maker: str | None) -> None:
        self.ctx.maker = maker

    def set_meter(self, field: str, value: str | None) -> None:
        setattr(self.message.meter, field, value)

    def pin(self) -> None:
        """The walker looks at numbers, not only at their types: no program for this body."""


def _flatten(value: Any, out: list[Any]) -> bool:
    """Append the leaves of ``value`` to ``out``; say whether any of them is an OBIS code."""
    found = False
    for item in value:
        kind = type(item)
        if kind is tuple or kind is list:
            found = _flatten(item, out) or found
            continue
        if kind is bytes and len(item) == 6 and item[5] == 0xFF:
            found = True
        out.append(item)
    return found


def apply_body(message: Message, body: Any, ctx: ListContext) -> Message:
    """Fill ``message`` with the readings of a data-notification body (maybe ``Planned``)."""
    if type(body) is Planned:
        if not message.readings:
            program = _program(body, ctx)
            if program is not None and program.run(_Builder(message, ctx), body.values):
                return message
        body = sourced(body.decode(), body.data, body.pos)
    if not isinstance(body, (tuple, list)):
        msg = "data-notification body is not a list of values"
        raise UnsupportedError(msg)
    _walk(_Builder(message, ctx), body)
    return message


def _walk(builder: _Builder, body: Sequence[Any]) -> None:
    if body and isinstance(body[0], list) and _is_capture_list(body[0]):
        _capture_list(builder, body)
        return
    if _triples(body):
        # Aidon / Austrian style: {OBIS, value[, {scaler, unit}]} per item.
        add = builder.add
        for item in body:
            code = item[0]
            su = item[2] if len(item) == 3 and type(item[2]) is ScalerUnit else None
            add(obis_text(code), code, item[1], su)
        return
    items: list[Any] = []
    if _flatten(body, items):
        if builder.ctx.maker is None:
            builder.set_maker(_maker_hint(items))
        _obis_walk(builder, items)
    else:
        _positional(builder, body)


def _triples(body: Sequence[Any]) -> bool:
    for item in body:
        if type(item) is not tuple or not 2 <= len(item) <= 3:
            return False
        code = item[0]
        if type(code) is not bytes or len(code) != 6 or code[5] != 0xFF:
            return False
    return bool(body)


def _maker_hint(items: list[Any]) -> str | None:
    """Name the maker from the list id: the first string, or the value of 0.2.129."""
    maker = _list_id_maker(items[0]) if items else None
    if maker is not None:
        return maker
    for index, item in enumerate(items[:-1]):
        if _is_obis(item) and item[2:5] == b"\x00\x02\x81":
            return _list_id_maker(items[index + 1])
    return None


def _list_id_maker(item: Any) -> str | None:
    if isinstance(item, (bytes, str)) and not _is_obis(item):
        return maker_from_list_id(_text(item))
    return None


def _is_capture_list(value: list[Any]) -> bool:
    return bool(value) and all(
        type(entry) is tuple and len(entry) == 4 and _is_obis(entry[1]) for entry in value
    )


def _capture_list(builder: _Builder, body: Sequence[Any]) -> None:
    objects: list[Any] = body[0]
    builder.pin()  # class ids and attributes are numbers that decide what is read
    if builder.ctx.maker is None:
        builder.set_maker(LANDIS_GYR)
        builder.set_meter("manufacturer", LANDIS_GYR)
    for (class_id, code, attribute, _index), value in zip(objects, body, strict=False):
        if class_id == 40 or attribute != 2 or isinstance(value, list):
            continue
        obis = obis_text(code)
        if class_id == 1 and code[2:5] == b"\x60\x01\x00":
            obis = _METER_ID
        builder.add(obis, code, value, None)


def _obis_walk(builder: _Builder, items: list[Any]) -> None:
    n = len(items)
    i = 0
    seen_obis = False
    leading: list[Any] = []
    trailing: list[Any] = []
    add = builder.add
    while i < n:
        item = items[i]
        kind = type(item)
        if kind is bytes and len(item) == 6 and item[5] == 0xFF and i + 1 < n:
            seen_obis = True
            trailing.clear()
            value = items[i + 1]
            i += 2
            su = None
            if i < n and type(items[i]) is ScalerUnit:
                su = items[i]
                i += 1
            add(obis_text(item), item, value, su)
            continue
        if item is not None and kind is not ScalerUnit:
            (trailing if seen_obis else leading).append(item)
        i += 1
    for item in leading:
        if isinstance(item, str) or (isinstance(item, bytes) and len(item) != 12):
            # Kamstrup sends its list id first, without an OBIS code.
            if _LIST_ID not in builder.message.readings:
                builder.add(_LIST_ID, None, item, None)
        elif isinstance(item, bytes):
            builder.add(_CLOCK, None, item, None)
    for item in trailing:
        # Austrian meters end with the meter number, without an OBIS code.
        if isinstance(item, (bytes, str)) and _METER_ID not in builder.message.readings:
            builder.add(_METER_ID, None, item, None)


def _positional(builder: _Builder, body: Sequence[Any]) -> None:
    """A list without OBIS codes: decoded only by a layout of exactly its shape (``layouts``)."""
    values = tuple(body)
    types = body.types() if isinstance(body, Sourced) else None
    layout = find_layout(values, types) if types is not None else None
    if layout is None:
        shape = describe_types(types) if types is not None else "an array of unknown types"
        msg = (
            f"list without OBIS codes from {list_hint(values)}: {len(values)} elements "
            f"({shape}) match no known layout; it is refused rather than guessed "
            "(please report this shape)"
        )
        raise UnknownLayoutError(msg)
    builder.set_maker(layout.maker)
    builder.set_meter("manufacturer", layout.maker)
    for field, value in zip(layout.fields, values, strict=True):
        if field.obis is not None:
            builder.add(field.obis, _code(field.obis), value, field.scaler_unit)
    if layout.meter_id is not None:
        # After the readings: a device id published as 0-0:96.1.0 must not name the meter.
        builder.set_meter("meter_id", _text(values[layout.meter_id]))


_CODES: dict[str, bytes] = {}


def _code(text: str) -> bytes:
    """``'1-0:1.8.0'`` -> its six OBIS bytes (cached; the layouts use a few dozen codes)."""
    code = _CODES.get(text)
    if code is None:
        ab, cde = text.split(":")
        a, b = ab.split("-")
        c, d, e = cde.split(".")
        code = _CODES[text] = bytes((int(a), int(b), int(c), int(d), int(e), 255))
    return code


def new_message(size: int) -> Message:
    """Create an empty DLMS message."""
    return Message(format="dlms", meter=MeterIdentity(), size=size)


# -- Programs: the walk of one body layout, replayed -----------------------------------------
# For a body that matched a known layout (``axdr.Planned``), the walkers above would make the
# same decisions as last time: they look at tags, OBIS codes, strings and {scaler, unit}, which
# the layout fixes, and only at the type of a number. A program is what the builder was asked
# to do, with the fields (numbers; 12-byte date-times) as slots, so the next body of that
# layout replays it instead of walking. It is recorded twice with different stand-in values
# and must come out the same; it must also give this very body exactly what the walk gives.
# A walk that looks at numbers calls ``pin`` and gets no program.

_OP_NUMBER, _OP_CLOCK, _OP_ADD, _OP_MAKER, _OP_METER, _OP_RANGED = range(6)
#: Stand-in integers of the two recordings (above any A-XDR integer): base + field index.
_STAND_IN_BASES = (1 << 80, 1 << 81)
_MAX_PROGRAMS = 16

type _Op = tuple[int, Any, Any, Any, Any]


def _stand_in_clock(index: int, variant: int) -> bytes:
    """A valid COSEM date-time, different for every field index and recording."""
    day, minute = divmod(index, 24 * 60)
    hour, minute = divmod(minute, 60)
    # 2000-01-01 (2001 for the second recording) plus the index in minutes; zone unspecified.
    return bytes((0x07, 0xD0 + variant, 1, 1 + day % 28, 0xFF, hour, minute, 0, 0xFF, 0x80, 0, 0))


class _Recorder(_Builder):
    """A builder that also writes down every request, with fields named by their slot."""

    __slots__ = ("base", "clocks", "ops", "pinned")

    def __init__(self, ctx: ListContext, base: int, clocks: dict[bytes, int]) -> None:
        super().__init__(new_message(0), ctx)
        self.base = base
        self.clocks = clocks
        self.ops: list[_Op] = []
        self.pinned = False

    def add(self, obis: str, code: bytes | None, value: Any, su: ScalerUnit | None) -> None:
        if type(value) is int and value >= self.base:
            exponent, unit, alternative = plan_number(code, su, self.ctx)
            if alternative is None:
                self.ops.append((_OP_NUMBER, obis, value - self.base, exponent, unit))
            else:
                ranged = (exponent, alternative)
                self.ops.append((_OP_RANGED, obis, value - self.base, ranged, unit))
        elif type(value) is bytes and value in self.clocks:
            self.ops.append((_OP_CLOCK, obis, self.clocks[value], code, su))
        else:
            self.ops.append((_OP_ADD, obis, code, value, su))
        super().add(obis, code, value, su)

    def set_maker(self, maker: str | None) -> None:
        self.ops.append((_OP_MAKER, maker, None, None, None))
        super().set_maker(maker)

    def set_meter(self, field: str, value: str | None) -> None:
        self.ops.append((_OP_METER, field, value, None, None))
        super().set_meter(field, value)

    def pin(self) -> None:
        self.pinned = True


class _Program:
    """The recorded walk of one layout: checks on the 12-byte fields, then the requests."""

    __slots__ = ("clocks", "ops", "pins")

    def __init__(
        self, ops: tuple[_Op, ...], pins: tuple[tuple[int, bytes], ...], clocks: tuple[int, ...]
    ) -> None:
        self.ops = ops
        self.pins = pins  # 12-byte fields that must keep their value
        self.clocks = clocks  # 12-byte fields that must stay valid date-times

    def run(self, builder: _Builder, values: tuple[Any, ...]) -> bool:
        """Replay onto ``builder``; False (having done nothing) if a 12-byte field disagrees."""
        for index, expected in self.pins:
            if values[index] != expected:
                return False
        for index in self.clocks:
            if parse_datetime(values[index]) is None:
                return False
        self.replay(builder, values)
        return True

    def replay(self, builder: _Builder, values: tuple[Any, ...]) -> None:
        """Do what the walk did, with these field values."""
        readings = builder.readings
        for kind, a, b, c, d in self.ops:
            if kind == _OP_NUMBER:
                value = values[b]
                readings[a] = Reading(a, scale(value, c) if c else value, d)
            elif kind == _OP_RANGED:
                readings[a] = Reading(a, ranged(values[b], *c), d)
            elif kind == _OP_CLOCK:
                builder.add(a, c, values[b], d)
            elif kind == _OP_ADD:
                builder.add(a, b, c, d)
            elif kind == _OP_MAKER:
                builder.set_maker(a)
            else:
                builder.set_meter(a, b)


def _program(body: Planned, ctx: ListContext) -> _Program | None:
    programs = body.layout.programs
    key = (ctx.maker, ctx.country, ctx.model)
    if key not in programs:
        if len(programs) >= _MAX_PROGRAMS:
            programs.clear()
        programs[key] = _compile(body, ctx)
    program: _Program | None = programs[key]
    return program


def _compile(body: Planned, ctx: ListContext) -> _Program | None:
    layout, values = body.layout, body.values
    if not isinstance(layout.skeleton, (tuple, list)):
        return None
    clocks = tuple(i for i in sorted(layout.blobs) if parse_datetime(values[i]) is not None)
    try:
        first, second = (_record(body, ctx, variant, clocks) for variant in (0, 1))
    except HanError:
        return None  # refused (unknown layout): the ordinary walk says why, every time
    if first is None or first != second:
        return None
    pins = tuple((i, values[i]) for i in sorted(layout.blobs) if i not in clocks)
    program = _Program(first, pins, clocks)
    walked, walked_ctx = new_message(0), ListContext(ctx.maker, ctx.country, ctx.model)
    _walk(_Builder(walked, walked_ctx), sourced(body.decode(), body.data, body.pos))
    replayed, replayed_ctx = new_message(0), ListContext(ctx.maker, ctx.country, ctx.model)
    program.replay(_Builder(replayed, replayed_ctx), values)
    if _outcome(walked, walked_ctx) != _outcome(replayed, replayed_ctx):
        return None
    return program


def _record(
    body: Planned, ctx: ListContext, variant: int, clocks: tuple[int, ...]
) -> tuple[_Op, ...] | None:
    base = _STAND_IN_BASES[variant]
    stand_ins = {_stand_in_clock(i, variant): i for i in clocks}
    blobs = body.layout.blobs
    clock_of = {i: clock for clock, i in stand_ins.items()}

    def field(index: int) -> Any:
        if index in clock_of:
            return clock_of[index]
        return body.values[index] if index in blobs else base + index

    recorder = _Recorder(ListContext(ctx.maker, ctx.country, ctx.model), base, stand_ins)
    # The filled skeleton has this body's tags (they are fixed bytes of the layout).
    _walk(recorder, sourced(body.layout.fill(field), body.data, body.pos))
    return None if recorder.pinned else tuple(recorder.ops)


def _outcome(message: Message, ctx: ListContext) -> tuple[Any, ...]:
    readings = [(r.obis, type(r.value), r.value, r.unit) for r in message.readings.values()]
    return readings, message.meter, message.timestamp, message.notes, ctx.maker
