"""P1 / DSMR text: data lines into readings (values, units, clocks, profiles, meter identity).

Parsing is split-based (no regular expression per line). A meter's ``TelegramParser`` keeps
the whole lines that repeat from one telegram to the next (bounded, its own: two meters never
share it), so the decoder stays cheap at one telegram per second for years. How an OBIS key
or a unit is spelled maps to the same answer for every meter: those two are memoised pure
functions (``lru_cache``), not meter state.

Values keep their exactness: ``00001.001*kWh`` becomes the integer 1001 Wh, computed from the
digits rather than from a float. Numbers are bounded: a value with more significant digits than
any meter register holds makes the whole telegram implausible (never an OverflowError, never a
400-digit integer handed on to a sensor).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
import json
from typing import Final

from .model import (
    ImplausibleError,
    MalformedError,
    Message,
    MeterIdentity,
    Reading,
    Value,
)
from .obis import readable_id
from .units import base_and_exponent

__all__ = ["TelegramParser", "parse_telegram", "pick_meter_id"]

# Value kinds, decided once per OBIS code.
_GENERIC: Final = 0  # numbers with a unit; bare digits stay text (status words, limiter codes)
_TEXT: Final = 1  # identifiers, versions, tariff, text messages: always the text as sent
_INT: Final = 2  # counters, device type, valve and switch position: integers
_NUMBER: Final = 3  # M-Bus meter readings: numbers even without a unit
_PROFILE: Final = 4  # 98.x / 99.x buffers: rendered as a JSON string
_CLOCK: Final = 5  # 0-x:1.0.0: timestamp
_GAS22: Final = 6  # DSMR 2.2/3 24.3.0 record with the value on a continuation line

_INT_CDE: Final = frozenset(
    {
        "96.7.21",
        "96.7.9",
        "32.32.0",
        "52.32.0",
        "72.32.0",
        "32.36.0",
        "52.36.0",
        "72.36.0",
        "24.1.0",
        "24.4.0",
        "96.3.10",
    }
)
_TEXT_CDE: Final = frozenset({"42.0.0", "0.0.0"})
_TEXT_CD_PREFIX: Final = ("96.1.", "96.13.", "96.14.", "0.2.", "0.9.")

_MAX_PLACES: Final = 24
#: Most significant digits a register value holds. DSMR formats reach F9(3) (12 digits); a
#: float keeps 15 exactly. A longer number is not a reading (a 400-digit value once reached
#: the scale step as an integer and overflowed there).
_MAX_DIGITS: Final = 15
#: Number texts up to this length cannot hold more digits than that.
_SHORT_NUMBER: Final = _MAX_DIGITS
_POW10: Final[tuple[int, ...]] = tuple(int(10**i) for i in range(_MAX_PLACES))
_SUFFIXES: Final = frozenset(("", "S", "W", "s", "w"))
#: Lines one parser remembers (a telegram has 10-60; more means lines that never repeat).
_MAX_LINES: Final = 4096
#: Identities one parser remembers (one meter has one; a changing id register, a few).
_MAX_IDENTITIES: Final = 64
_NOT_CACHED: Final = Reading("", None)

#: Offsets (winter, summer) for the S/W suffix of DSMR timestamps, by country.
_WET: Final = (UTC, timezone(timedelta(hours=1)))
_CET: Final = (timezone(timedelta(hours=1)), timezone(timedelta(hours=2)))
_EET: Final = (timezone(timedelta(hours=2)), timezone(timedelta(hours=3)))
_ZONES: Final[dict[str, tuple[timezone, timezone]]] = {
    **dict.fromkeys(("IE", "GB", "UK", "PT", "IS"), _WET),
    **dict.fromkeys(("FI", "EE", "LV", "LT", "GR", "BG", "RO", "CY", "UA"), _EET),
}

#: Identifier registers, in the order they are preferred as the meter id.
_SERIAL_DIGITS: Final = 6
_ID_KEYS: Final = ("0-0:96.1.1", "0-0:42.0.0", "0-0:96.1.0", "0-0:96.1.255", "1-0:0.0.0")


@lru_cache(maxsize=4096)
def _obis(key: str) -> tuple[str, int] | None:
    """Normalise ``A-B:C.D.E`` (optionally ``*255`` / ``.255``) and decide its value kind."""
    star = key.find("*")
    core = key[:star] if star >= 0 else key
    a, dash, rest = core.partition("-")
    b, colon, cde = rest.partition(":")
    parts = cde.split(".")
    if len(parts) == 4:
        parts.pop()
    if not (dash and colon and len(parts) == 3 and a.isdecimal() and b.isdecimal()):
        return None
    if not all(p.isdecimal() and len(p) <= 3 for p in parts) or len(a) > 3 or len(b) > 3:
        return None
    c, d, e = (int(p) for p in parts)
    cde_n = f"{c}.{d}.{e}"
    obis = f"{int(a)}-{int(b)}:{cde_n}"
    kind = _GENERIC
    if cde_n in _INT_CDE:
        kind = _INT
    elif cde_n in _TEXT_CDE or cde_n.startswith(_TEXT_CD_PREFIX):
        kind = _TEXT
    elif c == 24 and d in (2, 3):
        kind = _GAS22 if d == 3 and e == 0 else _NUMBER
    elif c in (98, 99):
        kind = _PROFILE
    elif cde_n == "1.0.0":
        kind = _CLOCK
    return obis, kind


#: (normalised unit, power-of-ten exponent) for a unit as spelled on the wire, cached: the
#: same few spellings come in every telegram.
_unit = lru_cache(maxsize=256)(base_and_exponent)


class _NotAReading(Exception):  # noqa: N818 - internal signal, turned into ImplausibleError
    """A value group no register can hold; ``why`` says what it is."""

    why = "a value with a unit that is not a decimal number"


class _TooManyDigits(_NotAReading):
    """A number with more significant digits than any register holds."""

    why = f"a number with more than {_MAX_DIGITS} digits"


def _bounded(text: str) -> None:
    """Raise _TooManyDigits when ``text`` is a number longer than any register value."""
    significant = text.lstrip("+-").replace(".", "", 1).lstrip("0")
    if len(significant) > _MAX_DIGITS and significant.isdecimal():
        raise _TooManyDigits


def _int(text: str) -> int:
    """``int()`` for wire digits: no digit-group underscores (Python's ``1_000``)."""
    if "_" in text:
        raise ValueError(text)
    return int(text)


def _decimal(text: str, exp: int) -> int | float | None:
    """Parse ``[-]digits[.digits]`` exactly (from the digits, not via float), times 10**exp."""
    if len(text) > _SHORT_NUMBER:
        _bounded(text)
    dot = text.find(".")
    try:
        if dot < 0:
            digits = _int(text)
            shift = exp
        else:
            digits = _int(text[:dot] + text[dot + 1 :])
            shift = exp - (len(text) - dot - 1)
    except ValueError:
        return None
    if shift >= 0:
        return digits * _POW10[shift] if shift < _MAX_PLACES else None
    return digits / _POW10[-shift] if -shift < _MAX_PLACES else None


def _value(group: str, kind: int) -> tuple[Value, str | None]:
    """One ``value*unit`` group -> (value, normalised unit)."""
    if kind == _TEXT:
        return group, None
    star = group.find("*")
    if star >= 0:
        base, exp = _unit(group[star + 1 :])
        number = _decimal(group[:star], exp)
        if number is None:  # nan, 1e5, 0x10: a unit promises a decimal (see TelegramParser)
            raise _NotAReading
        return number, base
    if not group:
        return (None if kind in (_INT, _NUMBER) else ""), None
    if kind in (_INT, _NUMBER):
        number = _decimal(group, 0)
        return (group if number is None else number), None
    if "." in group:
        number = _decimal(group, 0)
        if number is not None:
            return number, None
    return group, None


def _timestamp(text: str, zones: tuple[timezone, timezone]) -> datetime | None:
    """``YYMMDDhhmmss[S|W]`` -> aware datetime; None when it is not a valid time."""
    if len(text) not in (12, 13) or not text[:12].isdecimal():
        return None
    tz = zones[1] if text[12:] in ("S", "s") else zones[0]
    try:
        return datetime(
            2000 + int(text[0:2]),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            tzinfo=tz,
        )
    except ValueError:
        return None


def _is_timestamp(text: str) -> bool:
    return len(text) in (12, 13) and text[:12].isdecimal() and text[12:] in _SUFFIXES


def _render_item(group: str, zones: tuple[timezone, timezone]) -> Value:
    if _is_timestamp(group):
        ts = _timestamp(group, zones)
        return ts.astimezone(UTC).isoformat() if ts else None
    return _value(group, _GENERIC)[0]


def _profile(groups: list[str], zones: tuple[timezone, timezone]) -> str:
    """Render a profile buffer (99.97.0 power failures, 98.1.0 demand history) as JSON.

    ``{"count": n, "objects": [captured OBIS...], "entries": [[...], ...], "units": [...]}``:
    timestamps become UTC ISO strings (null when invalid), values are normalised numbers,
    and ``units`` gives each column's normalised unit (null for times and plain numbers).
    """
    if groups == [""]:
        groups = []
    objects: list[str] = []
    pos = 0
    count: int | None = None
    if groups and groups[0].isdecimal() and not _is_timestamp(groups[0]):
        if len(groups[0]) > _SHORT_NUMBER:
            _bounded(groups[0])
        count = int(groups[0])
        pos = 1
    while pos < len(groups) and ":" in groups[pos]:
        info = _obis(groups[pos])
        if info is None:
            break
        objects.append(info[0])
        pos += 1
    rest = groups[pos:]
    width = len(objects) + 1 if objects else max(len(rest), 1)
    entries = [
        [_render_item(group, zones) for group in rest[i : i + width]]
        for i in range(0, len(rest) - width + 1, width)
    ]
    doc: dict[str, object] = {"entries": entries}
    if count is not None:
        doc["count"] = count
    if objects:
        doc["objects"] = objects
    if entries:
        doc["units"] = [
            _unit(group[group.find("*") + 1 :])[0] if "*" in group else None
            for group in rest[:width]
        ]
    return json.dumps(doc, separators=(",", ":"))


def _parse_line(
    line: str, zones: tuple[timezone, timezone]
) -> tuple[Reading | None, datetime | None, bool]:
    """Parse one data line -> (reading, clock, cacheable)."""
    paren = line.find("(")
    if paren <= 0:
        return None, None, True
    info = _obis(line[:paren])
    if info is None:
        return None, None, True
    obis, kind = info
    if kind < _PROFILE and line[-1] == ")" and line.find("(", paren + 1) < 0:
        # The common case, one value group; ``value*unit`` inlined for speed.
        star = line.find("*", paren) if kind != _TEXT else -1
        if star < 0:
            value, unit = _value(line[paren + 1 : -1], kind)
            return Reading(obis, value, unit), None, True
        unit, exp = _unit(line[star + 1 : -1])
        number = line[paren + 1 : star]
        if len(number) > _SHORT_NUMBER:
            _bounded(number)
        dot = number.find(".")
        try:
            if dot < 0:
                digits = _int(number)
            else:
                digits = _int(number[:dot] + number[dot + 1 :])
                exp -= len(number) - dot - 1
            value = digits * _POW10[exp] if exp >= 0 else digits / _POW10[-exp]
        except (ValueError, IndexError):
            raise _NotAReading from None
        return Reading(obis, value, unit), None, True
    body = line[paren + 1 :]
    body = body.removesuffix(")")
    groups = body.split(")(")
    if kind == _CLOCK:
        ts = _timestamp(groups[0], zones)
        text = ts.astimezone(UTC).isoformat() if ts else groups[0]
        return Reading(obis, text, None), ts, False
    if kind == _PROFILE:
        return Reading(obis, _profile(groups, zones), None), None, True
    if kind == _GAS22 and len(groups) >= 7:
        base, exp = _unit(groups[5])
        amount = _decimal(groups[6], exp)
        if amount is None:
            raise _NotAReading
        return Reading(obis, amount, base), None, True
    if len(groups) > 1 and _is_timestamp(groups[0]):
        # M-Bus reading or a peak with its capture time: the value is the second group, the
        # time (None when invalid, as Fluvius' "632525252525W" for "no peak yet") is kept.
        value, unit = _value(groups[1], kind)
        return Reading(obis, value, unit, _timestamp(groups[0], zones)), None, True
    value, unit = _value(groups[0], kind)
    return Reading(obis, value, unit), None, True


def _identity_fields(
    ident: str, ids: tuple[Value, ...]
) -> tuple[str | None, str | None, str | None]:
    """(meter id, manufacturer, model) from the ident line and the identifier registers."""
    head = ident[1:]
    maker = head[:3]
    manufacturer = maker if len(maker) == 3 and maker.isascii() and maker.isalpha() else None
    model = head[4:] if len(head) > 4 else ""
    if model[:1] == "\\":
        model = model[2:]
    model = "".join(ch for ch in model if " " <= ch <= "~").strip()
    found = [
        readable_id(value.strip())
        for value in ids
        if isinstance(value, str) and value.strip().strip("0")
    ]
    return pick_meter_id(found), manufacturer, model or None


def pick_meter_id(candidates: list[str]) -> str | None:
    """The meter id among the identifier registers' texts (in ``_ID_KEYS`` order).

    Polish Kaifa meters put their model ("MA309M") in 96.1.1 and the serial in 96.1.0: a
    serial number has digits, so the first identifier with at least six wins.
    """
    for text in candidates:
        if sum(ch.isdigit() for ch in text) >= _SERIAL_DIGITS:
            return text
    return candidates[0] if candidates else None


class TelegramParser:
    """Parses one meter's telegrams, remembering the lines and identity it has read.

    A meter repeats most lines unchanged from one telegram to the next; a line seen before
    costs one dict lookup. What is remembered belongs to this parser (one per meter, kept by
    its ``P1Session``) and is bounded: two meters never share it.
    """

    __slots__ = ("_identities", "_lines", "zones")

    def __init__(self, country: str | None = None) -> None:
        """A parser for telegrams of a meter in ``country`` (its S/W time zone offsets)."""
        self.zones = _ZONES.get(country.upper(), _CET) if country else _CET
        self._lines: dict[str, Reading | None] = {}
        self._identities: dict[
            tuple[str, tuple[Value, ...]], tuple[str | None, str | None, str | None]
        ] = {}

    def parse(self, data: bytes) -> Message:
        """Parse one P1 telegram (``/`` through the footer) into a Message.

        Lines that do not parse are skipped; a telegram with no readable line at all raises
        MalformedError. A number longer than any register holds, or a ``value*unit`` group
        whose value is not a plain decimal (``nan``, ``inf``, ``1e5``, ``0x10``, empty),
        raises ImplausibleError naming the register: the line is well formed and the CRC
        vouches for it, so it is the value that is impossible, as a NaN in a DLMS frame is.
        Keeping the text (as before) let it past the plausibility gate, which bounds numbers
        only, and a sensor float()ed ``1e5`` to 100000 W where the meter meant 1e5 kW.
        The CRC is not checked here (the framer or the caller does that). The telegram ends
        at the '!' that starts a line (an ident line may hold one).
        """
        text = data.decode("latin-1")
        start = text.find("/")
        if start < 0:
            msg = "not a P1 telegram (no '/' identification line)"
            raise MalformedError(msg)
        footer = text.find("\n!", start)
        body = text[start : footer + 1] if footer >= 0 else text[start:]
        if "\r" in body:
            body = body.replace("\r", "")
        if "\n(" in body:
            body = body.replace("\n(", "(")  # DSMR 2.2/3 continuation lines
        lines = body.split("\n")
        zones = self.zones
        readings: dict[str, Reading] = {}
        timestamp: datetime | None = None
        cache = self._lines
        for line in lines[1:]:
            hit = cache.get(line, _NOT_CACHED)
            if hit is not _NOT_CACHED:
                if hit is not None and hit.obis not in readings:
                    readings[hit.obis] = hit
                continue
            try:
                reading, clock, cacheable = _parse_line(line, zones)
            except _NotAReading as signal:
                info = _obis(line[: line.find("(")])
                register = info[0] if info else line[:24]
                msg = f"{register}: {signal.why} is not a reading"
                raise ImplausibleError(msg) from None
            except (ValueError, OverflowError):  # not expected: refuse the telegram, typed
                msg = "a P1 data line could not be read"
                raise MalformedError(msg) from None
            if clock is not None and timestamp is None:
                timestamp = clock
            if cacheable:
                if len(cache) >= _MAX_LINES:
                    cache.clear()
                cache[line] = reading
            if reading is not None and reading.obis not in readings:
                readings[reading.obis] = reading
        if not readings:
            msg = "P1 telegram holds no readable data line"
            raise MalformedError(msg)
        message = Message("p1", readings, self._identity(lines[0], readings), timestamp)
        message.size = len(data)
        return message

    def _identity(self, ident: str, readings: dict[str, Reading]) -> MeterIdentity:
        ids = tuple(r.value if (r := readings.get(key)) is not None else None for key in _ID_KEYS)
        key = (ident, ids)
        known = self._identities
        fields = known.get(key)
        if fields is None:
            fields = _identity_fields(ident, ids)
            if len(known) >= _MAX_IDENTITIES:
                known.clear()
            known[key] = fields
        return MeterIdentity(fields[0], fields[1], fields[2])


def parse_telegram(data: bytes, *, country: str | None = None) -> Message:
    """Parse one telegram on its own (a meter's stream goes through its ``TelegramParser``)."""
    return TelegramParser(country).parse(data)
