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

Items the walker does not understand are skipped, never guessed. A body whose layout the
meter sent before (``plan.Planned``) replays the program recorded for that layout
(``programs``), which gives exactly what the walk would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import Message, UnknownLayoutError, UnsupportedError  # noqa: TID252
from ..obis import code_bytes, code_text  # noqa: TID252
from .axdr import ScalerUnit
from .builder import Builder, text_value
from .layouts import find_layout, list_hint
from .plan import Planned
from .programs import program_for
from .scaling import LANDIS_GYR, ListContext, maker_from_list_id
from .shape import Sourced, describe_types, sourced

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["apply_body"]

_LIST_ID = "1-1:0.2.129"
_METER_ID = "0-0:96.1.0"
_CLOCK = "0-0:1.0.0"


def _is_obis(item: Any) -> bool:
    return type(item) is bytes and len(item) == 6 and item[5] == 0xFF


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
            program = program_for(body, ctx, _walk)
            if program is not None and program.run(Builder(message, ctx), body.values):
                return message
        body = sourced(body.decode(), body.data, body.pos)
    if not isinstance(body, (tuple, list)):
        msg = "data-notification body is not a list of values"
        raise UnsupportedError(msg)
    _walk(Builder(message, ctx), body)
    return message


def _walk(builder: Builder, body: Sequence[Any]) -> None:
    if body and isinstance(body[0], list) and _is_capture_list(body[0]):
        _capture_list(builder, body)
        return
    if _triples(body):
        # Aidon / Austrian style: {OBIS, value[, {scaler, unit}]} per item.
        add = builder.add
        for item in body:
            code = item[0]
            su = item[2] if len(item) == 3 and type(item[2]) is ScalerUnit else None
            add(code_text(code), code, item[1], su)
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
        return maker_from_list_id(text_value(item))
    return None


def _is_capture_list(value: list[Any]) -> bool:
    return bool(value) and all(
        type(entry) is tuple and len(entry) == 4 and _is_obis(entry[1]) for entry in value
    )


def _capture_list(builder: Builder, body: Sequence[Any]) -> None:
    objects: list[Any] = body[0]
    builder.pin()  # class ids and attributes are numbers that decide what is read
    if builder.ctx.maker is None:
        builder.set_maker(LANDIS_GYR)
        builder.set_meter("manufacturer", LANDIS_GYR)
    for (class_id, code, attribute, _index), value in zip(objects, body, strict=False):
        if class_id == 40 or attribute != 2 or isinstance(value, list):
            continue
        obis = code_text(code)
        if class_id == 1 and code[2:5] == b"\x60\x01\x00":
            obis = _METER_ID
        builder.add(obis, code, value, None)


def _obis_walk(builder: Builder, items: list[Any]) -> None:
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
            add(code_text(item), item, value, su)
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


def _positional(builder: Builder, body: Sequence[Any]) -> None:
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
            builder.add(field.obis, code_bytes(field.obis), value, field.scaler_unit)
    if layout.meter_id is not None:
        # After the readings: a device id published as 0-0:96.1.0 must not name the meter.
        builder.set_meter("meter_id", text_value(values[layout.meter_id]))
