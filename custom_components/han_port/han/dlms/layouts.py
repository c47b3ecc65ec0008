"""Positional lists: the layouts known for COSEM lists that send values without OBIS codes.

A positional list names no register: what a value means follows only from its place. This
module holds the layouts that real captures and the makers' or grid operators' documents
prove, each with its exact shape (element count and A-XDR type of every element). A list is
decoded only when its shape equals one of them; anything else is refused with
``UnknownLayoutError`` naming the shape, never mapped by a near match (issue 9: an Iskraemeco
energy register was once published as a 381 V voltage and a 38 A current that way).

Within a known layout only the elements two sources agree on (or that the frames prove by
arithmetic, such as a total equal to the sum of its tariff registers) are published; the
others are skipped. Scaling is explicit per element, never a maker default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .axdr import (
    TAG_BOOLEAN,
    TAG_DATE_TIME,
    TAG_ENUM,
    TAG_OCTET_STRING,
    TAG_UINT8,
    TAG_UINT16,
    TAG_UINT32,
    TAG_UINT64,
    TAG_VISIBLE_STRING,
    ScalerUnit,
)
from .scaling import ISKRA, KAIFA, UNIT_NAMES

if TYPE_CHECKING:
    from .shape import ElementType

_TEXT = frozenset((TAG_OCTET_STRING, TAG_VISIBLE_STRING))
_U8 = frozenset((TAG_UINT8,))
_U16 = frozenset((TAG_UINT16,))
_U32 = frozenset((TAG_UINT32,))
_COUNTER = frozenset((TAG_UINT32, TAG_UINT64))  # Kaifa SE sends its counters as long64
_SWITCH = frozenset((TAG_ENUM, TAG_BOOLEAN))
_CLOCK = frozenset((TAG_OCTET_STRING, TAG_DATE_TIME))

# DLMS unit enumeration (Blue Book, ``scaling.UNIT_NAMES``): W, var, Wh, varh, A, V.
_UNIT_CODES = {name: code for code, name in UNIT_NAMES.items()}
_W, _VAR, _WH, _VARH, _A, _V = (_UNIT_CODES[u] for u in ("W", "var", "Wh", "varh", "A", "V"))


@dataclass(frozen=True, slots=True)
class Field:
    """One element of a layout: its allowed A-XDR types and what it is (None: not published)."""

    types: frozenset[int]
    obis: str | None = None
    scaler_unit: ScalerUnit | None = None
    #: Required length (a clock is an octet-string of 12), None for any.
    size: int | None = None
    #: The element's text must be this many decimal digits (a check on fixed bytes).
    digits: int | None = None


@dataclass(frozen=True, slots=True)
class PositionalLayout:
    """A list shape a source documents, and how each element maps to a register."""

    name: str
    maker: str
    fields: tuple[Field, ...]
    #: The first element must be text starting with this (a list id or logical device name).
    prefix: str | None = None
    #: Element whose text identifies the meter (its logical device name or serial number).
    meter_id: int | None = None

    def matches(self, values: tuple[object, ...], types: tuple[ElementType, ...]) -> bool:
        """Whether a list of these values and element types has exactly this shape."""
        if len(types) != len(self.fields):
            return False
        for field, (tag, size), value in zip(self.fields, types, values, strict=True):
            if tag not in field.types or (field.size is not None and size != field.size):
                return False
            if field.digits is not None and not _is_digits(value, field.digits):
                return False
        if self.prefix is None:
            return True
        first = values[0]
        return isinstance(first, (bytes, str)) and _starts(first, self.prefix)


def _is_digits(value: object, count: int) -> bool:
    if isinstance(value, bytes):
        return len(value) == count and value.isdigit()
    return isinstance(value, str) and len(value) == count and value.isdigit()


def _starts(value: bytes | str, prefix: str) -> bool:
    if isinstance(value, bytes):
        return value.startswith(prefix.encode("ascii"))
    return value.startswith(prefix)


def _text(obis: str | None = None, *, size: int | None = None) -> Field:
    return Field(_TEXT, obis, None, size)


def _num(obis: str | None, scaler: int, unit: int, types: frozenset[int] = _U32) -> Field:
    return Field(types, obis, ScalerUnit(scaler, unit))


def _skip(types: frozenset[int]) -> Field:
    return Field(types)


_P_Q = (
    _num("1-0:1.7.0", 0, _W),
    _num("1-0:2.7.0", 0, _W),
    _num("1-0:3.7.0", 0, _VAR),
    _num("1-0:4.7.0", 0, _VAR),
)

# -- Kaifa (Norway/Sweden), list id KFM_001 ---------------------------------------------------
# Kaifa "HAN OBIS codes KFM_001" (21.03.2017; amsreader-firmware doc/Norway, NEK): list 1 every
# 2 s (P+ only), list 2 every 10 s, list 3 hourly with clock and counters; the single-phase
# MA105H2E lacks items 9, 10, 12 and 13. Currents in mA, voltages in 0.1 V, energy in Wh
# (amshan han/kaifa.py and its tests; amsreader src/decoder/src/IEC6205675.cpp agree).
_KFM_HEAD = (_text("1-0:0.2.129"), _text("0-0:96.1.0"), _text("0-0:96.1.7"), *_P_Q)
_KFM_I = tuple(_num(f"1-0:{c}.7.0", -3, _A) for c in (31, 51, 71))
_KFM_U = tuple(_num(f"1-0:{c}.7.0", -1, _V) for c in (32, 52, 72))
_KFM_ENERGY = (
    Field(_CLOCK, "0-0:1.0.0", None, 12),
    _num("1-0:1.8.0", 0, _WH, _COUNTER),
    _num("1-0:2.8.0", 0, _WH, _COUNTER),
    _num("1-0:3.8.0", 0, _VARH, _COUNTER),
    _num("1-0:4.8.0", 0, _VARH, _COUNTER),
)
_KFM_3P = (*_KFM_HEAD, *_KFM_I, *_KFM_U)
_KFM_1P = (*_KFM_HEAD, _KFM_I[0], _KFM_U[0])

# -- Iskraemeco AM550, Slovenia (Elektro Ljubljana, Elektro Celje) -----------------------------
# Lists without OBIS codes whose first element is the COSEM logical device name (0-0:42.0.0,
# "ISK" + 13 characters): that name identifies the meter. The second string is a device id
# the sources name 0-0:96.1.2 or 0-0:96.1.3 (it is the same "16820005" on different meters of
# one grid, so it is not a meter id); the vectors keep it under 0-0:96.1.0. Voltages 0.1 V,
# currents 0.01 A, power W, energy Wh: amsreader-firmware src/decoder/src/IEC6205675.cpp (the
# "ISK" branches), athombv/node-dsmr-parser src/protocols/dlms-payload/ECEList1.ts and
# ECEList2.ts, and the golden master of amsreader test/payloads/iskraemeco (issues #615,
# #869, #956). Checked on the captures: 1.8.0 = 1.8.1 + 1.8.2 and 2.8.0 = 2.8.1 + 2.8.2 in
# every 15-minute list (gh615-2/-4, gh956-2), P1+ = P+ in the single-phase 10-element list.
_LDN = _text("0-0:42.0.0", size=16)
_DEVICE_ID = _text("0-0:96.1.0")
_ISK_U = tuple(_num(f"1-0:{c}.7.0", -1, _V, _U16) for c in (32, 52, 72))
_ISK_I = tuple(_num(f"1-0:{c}.7.0", -2, _A, _U16) for c in (31, 51, 71))
_ISK_P_PHASE = tuple(_num(f"1-0:{c}.7.0", 0, _W) for c in (21, 41, 61, 22, 42, 62))
_ISK_TARIFFS = tuple(_num(f"1-0:{c}.8.{t}", 0, _WH) for c in (1, 2) for t in (0, 1, 2))

LAYOUTS: tuple[PositionalLayout, ...] = (
    # Kaifa list 1: active import power only, a structure of one double-long-unsigned.
    PositionalLayout("Kaifa list 1", KAIFA, (_num("1-0:1.7.0", 0, _W),)),
    PositionalLayout("Kaifa list 2, three-phase", KAIFA, _KFM_3P, prefix="KFM_"),
    PositionalLayout("Kaifa list 3, three-phase", KAIFA, (*_KFM_3P, *_KFM_ENERGY), prefix="KFM_"),
    PositionalLayout("Kaifa list 2, single-phase", KAIFA, _KFM_1P, prefix="KFM_"),
    PositionalLayout("Kaifa list 3, single-phase", KAIFA, (*_KFM_1P, *_KFM_ENERGY), prefix="KFM_"),
    # Elektro Ljubljana 1-s list, three-phase (node-dsmr-parser "ECEList1", amsreader 0x12):
    # P±, Q±, U1-3, I1-3, per-phase P+ and P-.
    PositionalLayout(
        "Iskraemeco SI 1-s list, three-phase",
        ISKRA,
        (_LDN, _DEVICE_ID, *_P_Q, *_ISK_U, *_ISK_I, *_ISK_P_PHASE),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Ljubljana 15-minute list (node-dsmr-parser "ECEList2", amsreader 0x0C):
    # disconnect control (enum or boolean), tariff (octet-string of 2), 1.8.0-1.8.2,
    # 2.8.0-2.8.2, 3.8.0, 4.8.0.
    PositionalLayout(
        "Iskraemeco SI 15-minute list",
        ISKRA,
        (
            _LDN,
            _DEVICE_ID,
            _skip(_SWITCH),
            _text(size=2),
            *_ISK_TARIFFS,
            _num("1-0:3.8.0", 0, _VARH),
            _num("1-0:4.8.0", 0, _VARH),
        ),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Celje list (amsreader 0x0C with long-unsigned third element; its golden master
    # for issue #615 comment 40): U1-3, I1-3, P±, Q±. Per phase P <= U x I holds in the
    # captures (gh615-8/-9).
    PositionalLayout(
        "Iskraemeco SI Elektro Celje list",
        ISKRA,
        (_LDN, _DEVICE_ID, *_ISK_U, *_ISK_I, *_P_Q),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Ljubljana single-phase 1-s list of 10 (amsreader 0x0A): P±, Q±, U1, I1, P1±.
    PositionalLayout(
        "Iskraemeco SI 1-s list, single-phase",
        ISKRA,
        (
            _LDN,
            _DEVICE_ID,
            *_P_Q,
            _ISK_U[0],
            _ISK_I[0],
            _num("1-0:21.7.0", 0, _W),
            _num("1-0:22.7.0", 0, _W),
        ),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Ljubljana single-phase 1-s list of 9 (amsreader 0x09 with long-unsigned 7th
    # element): P±, Q±, U1; amsreader calls the last two 2.8.1/2.8.2, which no capture shows
    # (all zero), so they are not published.
    PositionalLayout(
        "Iskraemeco SI 1-s list of 9, single-phase",
        ISKRA,
        (_LDN, _DEVICE_ID, *_P_Q, _ISK_U[0], _skip(_U32), _skip(_U32)),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Ljubljana 1-s list with counters and no device id (amsreader 0x09 with
    # double-long-unsigned 7th element, issue #869 gh869-6): P+, P-, then 1.8.0 and 2.8.0 are
    # the same counters as the meter's 15-minute list one second earlier (gh869-7: 12789949
    # and 250 Wh); the other four values are not proven (two of them do not add up to 1.8.0).
    PositionalLayout(
        "Iskraemeco SI 1-s list with counters",
        ISKRA,
        (
            _LDN,
            _num("1-0:1.7.0", 0, _W),
            _num("1-0:2.7.0", 0, _W),
            _num("1-0:1.8.0", 0, _WH),
            _skip(_U32),
            _skip(_U32),
            _num("1-0:2.8.0", 0, _WH),
            _skip(_U32),
            _skip(_U32),
        ),
        prefix="ISK",
        meter_id=0,
    ),
    # Elektro Ljubljana 15-minute counter list of 4 (issue #869 gh869-3/-4/-7): the meter
    # serial (8 digits, the end of its logical device name), an unsigned not identified, then
    # 1.8.0 and 2.8.0 (equal to the same meter's 1-s list counters, see above).
    PositionalLayout(
        "Iskraemeco SI 15-minute counters",
        ISKRA,
        (
            Field(_TEXT, None, None, 8, 8),
            _skip(_U8),
            _num("1-0:1.8.0", 0, _WH),
            _num("1-0:2.8.0", 0, _WH),
        ),
    ),
    # Iskraemeco IE.5 in Croatia (amsreader issue #1072, PR #1107; scaling per the issue's
    # comment 27: W/Wh/varh, voltage x10, current x100): serial, time, date, 1.8.0-1.8.2,
    # 2.8.0-2.8.2 (sums checked on gh1072-3/-4), 5.8.0-8.8.0 (one source: not published),
    # P±, power factor (not published), per-phase P+ (their sum is P+) and P-, U1-3, I1-3,
    # and five items nobody identified.
    PositionalLayout(
        "Iskraemeco HR IE.5 list",
        ISKRA,
        (
            Field(_TEXT, "0-0:96.1.0", None, 8, 8),
            _text(size=4),
            _text(size=5),
            *_ISK_TARIFFS,
            *(_skip(_U32) for _ in range(4)),
            _num("1-0:1.7.0", 0, _W),
            _num("1-0:2.7.0", 0, _W),
            _skip(_U16),
            *_ISK_P_PHASE,
            *_ISK_U,
            *_ISK_I,
            _skip(_U32),
            _skip(frozenset((0x01,))),
            _skip(frozenset((0x01,))),
            _skip(frozenset((0x01,))),
            _skip(frozenset((TAG_BOOLEAN,))),
        ),
        meter_id=0,
    ),
)


def find_layout(
    values: tuple[object, ...], types: tuple[ElementType, ...]
) -> PositionalLayout | None:
    """The known layout of exactly this shape, if any."""
    for layout in LAYOUTS:
        if layout.matches(values, types):
            return layout
    return None


def list_hint(values: tuple[object, ...]) -> str:
    """Who probably sent an unknown list (for the error message): a list id prefix or none."""
    first = values[0] if values else None
    if isinstance(first, (bytes, str)):
        for prefix, maker in (("KFM", KAIFA), ("ISK", ISKRA)):
            if _starts(first, prefix):
                return f"{maker} (first element starts with {prefix!r})"
    return "an unknown maker"
