"""DLMS push lists kept alive: the A-XDR integers and clocks of a real APDU rewritten in place.

The library's A-XDR decoder (``han.dlms.axdr``) finds where every value of the template
APDU lies; values sent without {scaler, unit} are scaled with the library's defaults for the
maker and country (``han.dlms.scaling``), so the simulator and the decoder agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Final

from han.dlms.apdu import TAG_DATA_NOTIFICATION
from han.dlms.axdr import (
    TAG_ARRAY,
    TAG_BIT_STRING,
    TAG_ENUM,
    TAG_INT8,
    TAG_INT16,
    TAG_INT32,
    TAG_INT64,
    TAG_OCTET_STRING,
    TAG_STRUCTURE,
    TAG_UINT8,
    TAG_UINT16,
    TAG_UINT32,
    TAG_UINT64,
    TAG_UTF8_STRING,
    TAG_VISIBLE_STRING,
    decode,
    read_length,
)
from han.dlms.scaling import ListContext

from .physics import Cde, kind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .physics import MeterModel

#: Integer tags the simulator rewrites (enum and BCD values are left as they are).
_SIGNED: Final = frozenset((TAG_INT8, TAG_INT16, TAG_INT32, TAG_INT64))
_INTEGERS: Final = _SIGNED | {TAG_UINT8, TAG_UINT16, TAG_UINT32, TAG_UINT64}
#: Tags whose content follows a length field.
_LENGTH_PREFIXED: Final = (TAG_OCTET_STRING, TAG_VISIBLE_STRING, TAG_UTF8_STRING, TAG_BIT_STRING)
#: Strings that may hold a meter's identity (octet and visible strings).
_TEXT: Final = (TAG_OCTET_STRING, TAG_VISIBLE_STRING)


@dataclass(frozen=True, slots=True)
class _Prim:
    """One primitive A-XDR value: its tag and where its content is."""

    tag: int
    offset: int
    length: int


def _walk(buf: bytes, pos: int, out: list[_Prim]) -> int:
    """Collect the primitives of the A-XDR value at ``pos``; return the position after it.

    The library's decoder says where each value ends (and refuses what it cannot read).
    """
    tag = buf[pos]
    if tag in (TAG_ARRAY, TAG_STRUCTURE):
        count, pos = read_length(buf, pos + 1)
        for _ in range(count):
            pos = _walk(buf, pos, out)
        return pos
    _value, end = decode(buf, pos)
    start = read_length(buf, pos + 1)[1] if tag in _LENGTH_PREFIXED else pos + 1
    out.append(_Prim(tag, start, end - start))
    return end


def _is_clock(buf: bytes, offset: int) -> bool:
    """A 12-byte COSEM date-time with a plausible year."""
    return 2000 <= int.from_bytes(buf[offset : offset + 2]) <= 2100


@dataclass(frozen=True, slots=True)
class _Slot:
    """An integer in the APDU that carries a quantity the model knows."""

    offset: int
    size: int
    signed: bool
    cde: Cde
    scaler: int


@dataclass(slots=True)
class DlmsTemplate:
    """A real push's APDU and where in it the simulator writes values, clocks and identity."""

    apdu: bytes
    every: int
    slots: list[_Slot] = field(default_factory=list)
    clocks: list[int] = field(default_factory=list)
    strings: list[_Prim] = field(default_factory=list)
    initial: dict[Cde, float] = field(default_factory=dict)


def _apdu_body(apdu: bytes) -> tuple[int, int | None]:
    """Data-notification header -> (position of the body, offset of its date-time or None)."""
    if apdu[0] != TAG_DATA_NOTIFICATION:
        msg = "template is not a data-notification APDU"
        raise ValueError(msg)
    pos = 5
    if apdu[pos] == 0x00:
        return pos + 1, None
    if apdu[pos] == 0x0C:
        return pos + 13, pos + 1
    if apdu[pos] == TAG_OCTET_STRING and apdu[pos + 1] == 0x0C:
        return pos + 14, pos + 2
    msg = "unexpected date-time field in the data-notification"
    raise ValueError(msg)


def parse_dlms(
    apdu: bytes,
    *,
    every: int = 1,
    positional: Sequence[Cde] = (),
    skip: int = 0,
    context: ListContext | None = None,
) -> DlmsTemplate:
    """Locate the integers to rewrite, the clocks and the identity strings of an APDU.

    Lists that tag values with OBIS codes (Aidon, Kamstrup, Austrian Kaifa) are matched by
    code; a scaler-unit structure right after a value gives its scaler, else the library's
    default for the maker and country in ``context`` does (as the decoder scales it). Kaifa's
    Norwegian lists carry no codes: ``positional`` names their integers in order.
    """
    context = context or ListContext(None, None)
    template = DlmsTemplate(apdu, every)
    body, clock = _apdu_body(apdu)
    prims: list[_Prim] = []
    _walk(apdu, body, prims)
    if clock is not None:
        template.clocks.append(clock)
    obis_prims: set[int] = set()
    if positional:
        integers = [p for p in prims if p.tag in _INTEGERS][skip:]
        pairs = list(zip(integers, positional, strict=False))
        for prim, cde in pairs:
            _add_slot(template, prim, cde, _default_scaler(context, cde))
    else:
        for i, prim in enumerate(prims):
            if prim.tag != TAG_OCTET_STRING or prim.length != 6 or i + 1 >= len(prims):
                continue
            obis_prims.add(i)
            _a, _b, c, d, e, _f = apdu[prim.offset : prim.offset + 6]
            value = prims[i + 1]
            cde = (c, d, e)
            if value.tag not in _INTEGERS or kind(cde) is None:
                continue
            scaler = _default_scaler(context, cde)
            if i + 3 < len(prims) and prims[i + 2].tag == TAG_INT8 and prims[i + 3].tag == TAG_ENUM:
                scaler = int.from_bytes(
                    apdu[prims[i + 2].offset : prims[i + 2].offset + 1], signed=True
                )
            _add_slot(template, value, cde, scaler)
    for i, prim in enumerate(prims):
        if _clock_prim(apdu, prim):
            template.clocks.append(prim.offset)
        elif prim.tag in _TEXT and i not in obis_prims:
            template.strings.append(prim)
    return template


def _default_scaler(context: ListContext, cde: Cde) -> int:
    what = kind(cde)
    return context.default_scaler(what) if what is not None else 0


def _clock_prim(apdu: bytes, prim: _Prim) -> bool:
    return prim.tag == TAG_OCTET_STRING and prim.length == 12 and _is_clock(apdu, prim.offset)


def _add_slot(template: DlmsTemplate, prim: _Prim, cde: Cde, scaler: int) -> None:
    size, signed = prim.length, prim.tag in _SIGNED
    raw = int.from_bytes(template.apdu[prim.offset : prim.offset + size], signed=signed)
    template.slots.append(_Slot(prim.offset, size, signed, cde, scaler))
    template.initial[cde] = raw * 10.0**scaler


def unify_identity(primary: DlmsTemplate, other: DlmsTemplate) -> None:
    """Give a second list of a profile the first list's meter id and model strings."""
    apdu = bytearray(other.apdu)
    for mine, theirs in zip(primary.strings, other.strings, strict=False):
        if mine.length == theirs.length:
            apdu[theirs.offset : theirs.offset + theirs.length] = primary.apdu[
                mine.offset : mine.offset + mine.length
            ]
    other.apdu = bytes(apdu)


def _clock_bytes(when: float, template: bytes) -> bytes:
    """COSEM date-time for ``when`` (local time), keeping the template's tail bytes."""
    local = time.localtime(when)
    dow = template[4] if template[4] not in range(1, 8) else local.tm_wday + 1
    head = local.tm_year.to_bytes(2) + bytes(
        (local.tm_mon, local.tm_mday, dow, local.tm_hour, local.tm_min, local.tm_sec)
    )
    return head + template[8:12]


def render_apdu(template: DlmsTemplate, model: MeterModel) -> bytes:
    """The APDU with the model's values and clocks."""
    apdu = bytearray(template.apdu)
    for slot in template.slots:
        value = model.value(slot.cde)
        if value is None:
            continue
        raw = round(value / 10.0**slot.scaler)
        bits = 8 * slot.size
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if slot.signed else (0, (1 << bits) - 1)
        )
        raw = min(max(raw, low), high)
        apdu[slot.offset : slot.offset + slot.size] = raw.to_bytes(slot.size, signed=slot.signed)
    for offset in template.clocks:
        apdu[offset : offset + 12] = _clock_bytes(model.time, template.apdu[offset : offset + 12])
    return bytes(apdu)
