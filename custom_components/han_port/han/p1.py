"""P1 / DSMR text telegrams: framing, CRC-16/ARC footer check and parsing into readings.

A telegram is ``/XXXZ ident CR LF CR LF (OBIS(value*unit)... CR LF)* ! CRC CR LF``. DSMR 2.2/3
telegrams end with a bare ``!``. Parsing is split-based (no regular expression per line) and
caches what repeats from one telegram to the next (OBIS keys, units, whole unchanged lines),
so the decoder stays cheap at one telegram per second for years.

Values keep their exactness: ``00001.001*kWh`` becomes the integer 1001 Wh, computed from the
digits rather than from a float.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from typing import TYPE_CHECKING, Final

from .crc import crc16_arc_fast
from .framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus
from .model import (
    ChecksumError,
    HanError,
    MalformedError,
    Message,
    MeterIdentity,
    Reading,
    TruncatedError,
    UnsupportedError,
    Value,
    WrongKeyError,
)
from .p1_encrypted import decrypt_dsmr_gcm, decrypt_stoen
from .units import normalise

if TYPE_CHECKING:
    from .model import Keys

__all__ = [
    "MAX_TELEGRAM",
    "P1Framer",
    "P1Session",
    "clear_caches",
    "crc16_arc_fast",
    "parse_telegram",
    "verify_footer",
]

MAX_TELEGRAM: Final = 8 * 1024
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_LINE_END: Final = frozenset(b"\r\n\x00")
#: Bytes that start the binary part of an encrypted envelope right after the ident line.
_ENVELOPE_START: Final = frozenset((0x00, 0x08, 0xDB))
_MAX_IDENT: Final = 96
#: Bytes an ident line may hold (printable, latin-1, TAB, CR and the 0x02 some Iskras send).
_IDENT_BYTES: Final = bytes([2, 9, 13, *range(0x20, 0x7F), *range(0xA0, 0x100)])

# --------------------------------------------------------------------------------------
# CRC-16/ARC
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------


def _footer(buf: bytes, bang: int, *, final: bool) -> tuple[int, int, int] | None:
    """Read the footer after ``!``: (status, end, crc or -1); None means NEED_MORE.

    Status is FRAME (checked later), or REJECT for a footer that is not a footer.
    """
    n = len(buf)
    j = bang + 1
    limit = min(n, bang + 5)
    while j < limit and buf[j] in _HEX:
        j += 1
    digits = j - bang - 1
    if digits < 4 and j == n:
        if not final:
            return None
    elif digits < 4 and buf[j] not in _LINE_END:
        return (ScanStatus.REJECT, j, -1)
    crc = int(buf[bang + 1 : j], 16) if digits else -1
    if digits == 0 and bang > 0 and buf[bang - 1] != 0x0A:
        # A bare '!' that does not start a line is not a DSMR 2.2 footer.
        return (ScanStatus.REJECT, j, -1)
    if digits == 0 and _split_crc(buf, j):
        # "!" line end, then hex digits and a line end: a CRC broken by a stray line end.
        return (ScanStatus.REJECT, j, -1)
    return (ScanStatus.FRAME, j, crc)


def _split_crc(buf: bytes, pos: int) -> bool:
    """True when, after the line end at ``pos``, 1-4 hex digits end a line (already received)."""
    pos = _skip_line_end(buf, pos)
    end = pos
    while end < len(buf) and end - pos < 5 and buf[end] in _HEX:
        end += 1
    return 0 < end - pos <= 4 and end < len(buf) and buf[end] in _LINE_END


def _skip_line_end(buf: bytes, pos: int) -> int:
    n = len(buf)
    while pos < n and buf[pos] in _LINE_END:
        pos += 1
    return pos


def _looks_like_envelope(buf: bytes, start: int, bang: int) -> bool:
    """Tell whether the ident line is followed by an empty line and binary (Polish envelope)."""
    nl = buf.find(b"\n", start, min(bang, start + 128))
    if nl < 0:
        return False
    pos = nl + 1
    if buf.startswith(b"\r\n", pos):
        pos += 2
    elif buf.startswith(b"\n", pos):
        pos += 1
    else:
        return False
    return pos < len(buf) and buf[pos] in _ENVELOPE_START


def _plausible_ident(buf: bytes, start: int, stop: int) -> bool:
    """Tell whether ``buf[start:]`` opens like text (not a '/' byte inside binary).

    Only used before reporting a rejection, so that binary noise is skipped silently
    rather than counted as a broken telegram. Ident lines may hold 0x02 and latin-1.
    """
    nl = buf.find(b"\n", start, stop)
    line = buf[start + 1 : nl if nl >= 0 else stop]
    return len(line) <= _MAX_IDENT and not line.translate(None, _IDENT_BYTES)


def verify_footer(telegram: bytes) -> bool | None:
    """Check a complete telegram's CRC: True/False, or None when it carries no CRC."""
    bang = telegram.rfind(b"!")
    if bang < 0:
        return False
    j = bang + 1
    while j < len(telegram) and j < bang + 5 and telegram[j] in _HEX:
        j += 1
    if j == bang + 1:
        return None
    slash = telegram.find(b"/")
    if slash < 0 or slash > bang:
        return False
    return crc16_arc_fast(telegram[slash : bang + 1]) == int(telegram[bang + 1 : j], 16)


class P1Framer:
    """Find ``/ident ... !CRC`` telegrams; verify CRC-16/ARC when the footer carries one.

    Telegrams without a CRC (DSMR 2.2/3, some Iskra meters) are accepted until the meter has
    sent one with a valid CRC: from then on a missing CRC means a damaged footer.
    """

    kind = FrameKind.P1
    start_bytes = b"/"
    max_size = MAX_TELEGRAM

    def __init__(self) -> None:
        """Create a framer for one line."""
        self.crc_seen = False

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for a telegram starting at ``buf[start]`` (a '/')."""
        stop = min(len(buf), start + self.max_size)
        bang = buf.find(b"!", start + 1, stop)
        slash = buf.find(b"/", start + 1, bang if bang >= 0 else stop)
        if slash >= 0:
            # A new telegram starts before this one ended: this one was cut.
            return INVALID
        if _looks_like_envelope(buf, start, bang if bang >= 0 else stop):
            return INVALID
        if bang < 0:
            if stop - start >= self.max_size:
                return INVALID
            if not final:
                return NEED_MORE
            if buf.find(b"\n", start, stop) < 0 or not _plausible_ident(buf, start, stop):
                return INVALID
            error: HanError = TruncatedError("P1 telegram has no footer")
            return Scan(ScanStatus.REJECT, len(buf), error=error)
        footer = _footer(buf, bang, final=final)
        if footer is None:
            return NEED_MORE
        status, end, crc = footer
        if status is ScanStatus.REJECT:
            if not _plausible_ident(buf, start, bang):
                return INVALID
            error = ChecksumError("P1 footer is not '!' and a hex CRC")
            return Scan(ScanStatus.REJECT, end, error=error)
        failed = self._check(buf, start, bang, crc)
        if failed is not None:
            if crc >= 0 and not _plausible_ident(buf, start, bang):
                return INVALID
            return Scan(ScanStatus.REJECT, _skip_line_end(buf, end), error=failed)
        payload = buf[start:end]
        frame = Frame(FrameKind.P1, payload, len(payload))
        return Scan(ScanStatus.FRAME, _skip_line_end(buf, end), frame)

    def _check(self, buf: bytes, start: int, bang: int, crc: int) -> ChecksumError | None:
        """The CRC error of a telegram, if any (``crc`` -1: the footer has none)."""
        if crc < 0:
            if self.crc_seen:
                return ChecksumError("P1 telegram without CRC from a meter that sends one")
            return None
        actual = crc16_arc_fast(buf[start : bang + 1])
        if actual != crc:
            return ChecksumError(f"P1 CRC mismatch: telegram says {crc:04X}, computed {actual:04X}")
        self.crc_seen = True
        return None


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------

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
_POW10: Final[tuple[int, ...]] = tuple(int(10**i) for i in range(_MAX_PLACES))
_SUFFIXES: Final = frozenset(("", "S", "W", "s", "w"))
_MAX_CACHE: Final = 4096
_obis_cache: dict[str, tuple[str, int] | None] = {}
_UNKNOWN: Final = ("", -1)
_NOT_CACHED: Final = Reading("", None)
_unit_cache: dict[str, tuple[str | None, int]] = {}
_identity_cache: dict[tuple[str, tuple[Value, ...]], tuple[str | None, str | None, str | None]] = {}
_line_caches: dict[tuple[timezone, timezone], dict[str, Reading | None]] = {}

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


def _obis_cached(key: str) -> tuple[str, int] | None:
    try:
        return _obis_cache[key]
    except KeyError:
        pass
    info = _obis(key)
    if len(_obis_cache) >= _MAX_CACHE:
        _obis_cache.clear()
    _obis_cache[key] = info
    return info


def _unit(unit: str) -> tuple[str | None, int]:
    """(normalised unit, power-of-ten exponent) for a unit as spelled on the wire."""
    try:
        return _unit_cache[unit]
    except KeyError:
        pass
    factor, base = normalise(1, unit)
    digits = str(factor)
    info: tuple[str | None, int] = (unit, 0)
    if isinstance(factor, int) and digits.rstrip("0") == "1":
        info = (base, len(digits) - 1)
    if len(_unit_cache) >= _MAX_CACHE:
        _unit_cache.clear()
    _unit_cache[unit] = info
    return info


def _decimal(text: str, exp: int) -> int | float | None:
    """Parse ``[-]digits[.digits]`` exactly (from the digits, not via float), times 10**exp."""
    dot = text.find(".")
    try:
        if dot < 0:
            digits = int(text)
            shift = exp
        else:
            digits = int(text[:dot] + text[dot + 1 :])
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
        unit_text = group[star + 1 :]
        known = _unit_cache.get(unit_text)
        base, exp = known if known is not None else _unit(unit_text)
        number = _decimal(group[:star], exp)
        return (group[:star] if number is None else number), base
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
        count = int(groups[0])
        pos = 1
    while pos < len(groups) and ":" in groups[pos]:
        info = _obis_cached(groups[pos])
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
    key = line[:paren]
    info = _obis_cache.get(key, _UNKNOWN)
    if info is _UNKNOWN:
        info = _obis_cached(key)
    if info is None:
        return None, None, True
    obis, kind = info
    if kind < _PROFILE and line[-1] == ")" and line.find("(", paren + 1) < 0:
        # The common case, one value group; ``value*unit`` inlined for speed.
        star = line.find("*", paren) if kind != _TEXT else -1
        if star < 0:
            value, unit = _value(line[paren + 1 : -1], kind)
            return Reading(obis, value, unit), None, True
        unit_text = line[star + 1 : -1]
        known = _unit_cache.get(unit_text)
        unit, exp = known if known is not None else _unit(unit_text)
        number = line[paren + 1 : star]
        dot = number.find(".")
        try:
            if dot < 0:
                digits = int(number)
            else:
                digits = int(number[:dot] + number[dot + 1 :])
                exp -= len(number) - dot - 1
            value = digits * _POW10[exp] if exp >= 0 else digits / _POW10[-exp]
        except (ValueError, IndexError):
            value = number
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
            return None, None, True
        return Reading(obis, amount, base), None, True
    if len(groups) > 1 and _is_timestamp(groups[0]):
        # M-Bus reading or a peak with its capture time: the value is the second group.
        value, unit = _value(groups[1], kind)
    else:
        value, unit = _value(groups[0], kind)
    return Reading(obis, value, unit), None, True


def _hex_text(value: str) -> str:
    """Hex-encoded printable ASCII (equipment ids) -> its text; anything else unchanged."""
    if len(value) % 2 or not value:
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value
    if all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return value


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
        _hex_text(value.strip())
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


def _identity(ident: str, readings: dict[str, Reading]) -> MeterIdentity:
    ids = tuple(r.value if (r := readings.get(key)) is not None else None for key in _ID_KEYS)
    key = (ident, ids)
    fields = _identity_cache.get(key)
    if fields is None:
        fields = _identity_fields(ident, ids)
        if len(_identity_cache) >= 64:
            _identity_cache.clear()
        _identity_cache[key] = fields
    return MeterIdentity(fields[0], fields[1], fields[2])


def parse_telegram(data: bytes, *, country: str | None = None) -> Message:
    """Parse one P1 telegram (``/`` through the footer) into a Message.

    Lines that do not parse are skipped; a telegram with no readable line at all raises
    MalformedError. The CRC is not checked here (the framer or the caller does that).
    """
    text = data.decode("latin-1")
    start = text.find("/")
    if start < 0:
        msg = "not a P1 telegram (no '/' identification line)"
        raise MalformedError(msg)
    bang = text.find("!", start)
    body = text[start:bang] if bang >= 0 else text[start:]
    if "\r" in body:
        body = body.replace("\r", "")
    if "\n(" in body:
        body = body.replace("\n(", "(")  # DSMR 2.2/3 continuation lines
    lines = body.split("\n")
    zones = _ZONES.get(country.upper(), _CET) if country else _CET
    readings: dict[str, Reading] = {}
    timestamp: datetime | None = None
    cache = _line_caches.get(zones)
    if cache is None:
        cache = _line_caches.setdefault(zones, {})
    for line in lines[1:]:
        hit = cache.get(line, _NOT_CACHED)
        if hit is not _NOT_CACHED:
            if hit is not None and hit.obis not in readings:
                readings[hit.obis] = hit
            continue
        try:
            reading, clock, cacheable = _parse_line(line, zones)
        except (ValueError, OverflowError):  # e.g. a 400-digit number: skip that line only
            continue
        if clock is not None and timestamp is None:
            timestamp = clock
        if cacheable:
            if len(cache) >= _MAX_CACHE:
                cache.clear()
            cache[line] = reading
        if reading is not None and reading.obis not in readings:
            readings[reading.obis] = reading
    if not readings:
        msg = "P1 telegram holds no readable data line"
        raise MalformedError(msg)
    message = Message("p1", readings, _identity(lines[0], readings), timestamp)
    message.size = len(data)
    return message


def clear_caches() -> None:
    """Forget cached lines, OBIS codes and units (for benchmarks and tests)."""
    _line_caches.clear()
    _identity_cache.clear()
    _obis_cache.clear()
    _unit_cache.clear()


# --------------------------------------------------------------------------------------
# Session
# --------------------------------------------------------------------------------------


class P1Session:
    """Turn P1 frames (plain, Polish envelope, DSMR GCM) into messages."""

    def __init__(self, keys: Keys, *, country: str | None = None) -> None:
        """Keep the user's keys and country profile."""
        self.keys = keys
        self.country = country

    def push_frame(self, frame: Frame) -> Message | None:
        """Decode one frame; raise a HanError subclass when it cannot be decoded."""
        if frame.kind is FrameKind.P1:
            message = parse_telegram(frame.payload, country=self.country)
            message.size = frame.size
            return message
        if frame.kind is FrameKind.P1_STOEN:
            plain, notes = decrypt_stoen(frame.payload, self.keys)
            message = self._plaintext(plain, check_crc=False)
        elif frame.kind is FrameKind.DSMR_GCM:
            plain, notes = decrypt_dsmr_gcm(frame.payload, self.keys, country=self.country)
            message = self._plaintext(plain, check_crc=True)
        else:
            msg = f"not a P1 frame: {frame.kind}"
            raise UnsupportedError(msg)
        message.notes.extend(notes)
        message.size = frame.size
        return message

    def _plaintext(self, plain: bytes, *, check_crc: bool) -> Message:
        """Validate and parse a decrypted telegram."""
        text = plain.lstrip(b"\r\n\x00")
        if text[:1] != b"/" or b"!" not in text:
            msg = "decrypted data is not a P1 telegram (wrong encryption key?)"
            raise WrongKeyError(msg)
        if check_crc and verify_footer(text) is False:
            msg = "CRC of the decrypted P1 telegram does not match"
            raise ChecksumError(msg)
        return parse_telegram(text, country=self.country)
