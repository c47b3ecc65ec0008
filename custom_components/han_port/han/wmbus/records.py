"""Application layer data records (EN 13757-3 / OMS): DIF, DIFE, VIF, VIFE and the data field.

This module only splits the bytes into records and decodes the data field codings; what a
record *means* (quantity, unit, OBIS code) is decided in :mod:`.meaning`.

Data field codings (low nibble of the DIF): 0 none, 1/2/3/4/6/7 signed integers of 8, 16,
24, 32, 48 and 64 bits, 5 a 32-bit IEEE float, 9/A/B/C/E BCD of 2/4/6/8/12 digits (a leading
F nibble makes it negative), D variable length (LVAR), 8 "selection for readout" (no data),
F special functions (0x0F/0x1F manufacturer data up to the end, 0x2F filler, 0x7F global
readout request).
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
import math
import struct

from ..model import MalformedError, TruncatedError  # noqa: TID252

FILLER = 0x2F
MAX_EXTENSIONS = 10

_LENGTHS = {
    0x0: 0,
    0x1: 1,
    0x2: 2,
    0x3: 3,
    0x4: 4,
    0x5: 4,
    0x6: 6,
    0x7: 8,
    0x8: 0,
    0x9: 1,
    0xA: 2,
    0xB: 3,
    0xC: 4,
    0xE: 6,
}
BCD_CODINGS = frozenset({0x9, 0xA, 0xB, 0xC, 0xE})
INT_CODINGS = frozenset({0x1, 0x2, 0x3, 0x4, 0x6, 0x7})
REAL_CODING = 0x5
LVAR_CODING = 0xD


@dataclass(frozen=True, slots=True)
class Record:
    """One data record, its header decoded, its data field still raw."""

    header: bytes  # DIF ‖ DIFEs ‖ VIF ‖ VIFEs (the "data record header" compact frames hash)
    dif: int
    vif: int  # primary VIF byte as transmitted (bit 7 = extension follows)
    vifes: bytes  # every VIFE after the VIF (for 0xFB/0xFD the first one is the table code)
    function: int  # 0 instantaneous, 1 maximum, 2 minimum, 3 value during error
    storage: int
    tariff: int
    subunit: int
    coding: int  # low nibble of the DIF
    raw: bytes  # the data field
    lvar: int | None = None  # LVAR byte of variable-length data
    vif_text: str | None = None  # unit text of a plain-text VIF (0x7C/0xFC)

    @property
    def key(self) -> str:
        """The header in hex, as wmbusmeters names records (``0E833C``)."""
        return self.header.hex().upper()


def _bcd_value(raw: bytes) -> int | None:
    digits = raw[::-1].hex()
    negative = False
    if digits and digits[0] == "f":
        negative = True
        digits = digits[1:]
    if not digits.isdigit():
        return None if digits else 0
    value = int(digits)
    return -value if negative else value


def decode_number(record: Record, *, signed: bool = True) -> int | float | None:
    """The record's data as a number (None when the coding has none or is invalid)."""
    coding = record.coding
    raw = record.raw
    if coding in INT_CODINGS:
        return int.from_bytes(raw, "little", signed=signed)
    if coding in BCD_CODINGS:
        return _bcd_value(raw)
    if coding == REAL_CODING:
        real = float(struct.unpack("<f", raw)[0])
        return real if math.isfinite(real) else None
    if coding == LVAR_CODING and record.lvar is not None:
        lvar = record.lvar
        if 0xC0 <= lvar <= 0xC9:
            return _bcd_value(raw)
        if 0xD0 <= lvar <= 0xD9:
            negative = _bcd_value(raw)
            return -negative if negative is not None else None
        if lvar >= 0xE0:
            return int.from_bytes(raw, "little", signed=False)
    return None


def decode_text(record: Record) -> str | None:
    """The record's data as text: LVAR ASCII (sent last character first), else BCD digits."""
    if record.coding == LVAR_CODING and record.lvar is not None and record.lvar < 0xC0:
        return record.raw[::-1].decode("latin-1").strip("\x00")
    if record.coding in BCD_CODINGS or (record.lvar is not None and 0xC0 <= record.lvar <= 0xC9):
        digits = record.raw[::-1].hex()
        return digits if digits.isdigit() else digits.upper()
    number = decode_number(record, signed=False)
    return None if number is None else str(number)


def _year(low: int, high: int) -> int:
    year = (high << 3) | low
    return year + (2000 if year < 81 else 1900)


def decode_datetime(raw: bytes) -> dt.datetime | dt.date | dt.time | None:
    """Decode a type G (2 bytes), J (3), F (4) or I (6) date/time; None when invalid."""
    try:
        if len(raw) == 2:
            if raw == b"\xff\xff":
                return None
            return dt.date(_year(raw[0] >> 5, raw[1] >> 4), raw[1] & 0x0F, raw[0] & 0x1F)
        if len(raw) == 3:
            return dt.time(raw[2] & 0x1F, raw[1] & 0x3F, raw[0] & 0x3F)
        if len(raw) == 4:
            if raw[0] & 0x80:
                return None
            return dt.datetime(  # noqa: DTZ001 - meters send local time without a zone
                _year(raw[2] >> 5, raw[3] >> 4),
                raw[3] & 0x0F,
                raw[2] & 0x1F,
                raw[1] & 0x1F,
                raw[0] & 0x3F,
            )
        if len(raw) == 6:
            if raw[1] & 0x80:
                return None
            return dt.datetime(  # noqa: DTZ001 - meters send local time without a zone
                _year(raw[3] >> 5, raw[4] >> 4),
                raw[4] & 0x0F,
                raw[3] & 0x1F,
                raw[2] & 0x1F,
                raw[1] & 0x3F,
                raw[0] & 0x3F,
            )
    except ValueError:
        return None
    return None


@dataclass(slots=True)
class _Header:
    start: int
    dif: int
    storage: int
    tariff: int
    subunit: int
    vif: int
    vifes: bytes
    vif_text: str | None
    end: int


def _parse_header(buf: bytes, pos: int) -> _Header:
    start = pos
    dif = buf[pos]
    pos += 1
    storage = (dif >> 6) & 1
    tariff = 0
    subunit = 0
    n = 0
    ext = dif & 0x80
    while ext:
        if pos >= len(buf):
            msg = "data record ends inside its DIFEs"
            raise TruncatedError(msg)
        if n >= MAX_EXTENSIONS:
            msg = "more than ten DIFEs"
            raise MalformedError(msg)
        dife = buf[pos]
        pos += 1
        storage |= (dife & 0x0F) << (1 + 4 * n)
        tariff |= ((dife >> 4) & 0x03) << (2 * n)
        subunit |= ((dife >> 6) & 0x01) << n
        n += 1
        ext = dife & 0x80
    if pos >= len(buf):
        msg = "data record ends before its VIF"
        raise TruncatedError(msg)
    vif = buf[pos]
    pos += 1
    vif_text = None
    if vif & 0x7F == 0x7C:
        if pos >= len(buf) or pos + 1 + buf[pos] > len(buf):
            msg = "plain-text VIF ends early"
            raise TruncatedError(msg)
        length = buf[pos]
        vif_text = buf[pos + 1 : pos + 1 + length][::-1].decode("latin-1")
        pos += 1 + length
    vife_start = pos
    ext = vif & 0x80
    n = 0
    while ext:
        if pos >= len(buf):
            msg = "data record ends inside its VIFEs"
            raise TruncatedError(msg)
        if n >= MAX_EXTENSIONS:
            msg = "more than ten VIFEs"
            raise MalformedError(msg)
        ext = buf[pos] & 0x80
        pos += 1
        n += 1
    return _Header(start, dif, storage, tariff, subunit, vif, buf[vife_start:pos], vif_text, pos)


def _read_data(coding: int, data: bytes, pos: int) -> tuple[bytes, int | None, int]:
    lvar = None
    if coding == LVAR_CODING:
        if pos >= len(data):
            msg = "data record ends before its LVAR"
            raise TruncatedError(msg)
        lvar = data[pos]
        pos += 1
        if lvar <= 0xBF:
            length = lvar
        elif lvar <= 0xC9 or 0xD0 <= lvar <= 0xD9:
            length = lvar & 0x0F
        elif 0xE0 <= lvar <= 0xEF:
            length = lvar - 0xE0
        elif 0xF0 <= lvar <= 0xF4:
            length = 4 * (lvar - 0xEC)
        elif lvar == 0xF5:
            length = 48
        elif lvar == 0xF6:
            length = 64
        else:
            msg = f"reserved LVAR 0x{lvar:02X}"
            raise MalformedError(msg)
    else:
        length = _LENGTHS[coding]
    if pos + length > len(data):
        msg = "data record ends inside its data field"
        raise TruncatedError(msg)
    return data[pos : pos + length], lvar, pos + length


def _walk(buf: bytes, data: bytes | None) -> list[Record]:
    """Records of ``buf``; with ``data`` the headers come from ``buf`` and values from ``data``."""
    records: list[Record] = []
    pos = 0
    dpos = 0
    while pos < len(buf):
        dif = buf[pos]
        if dif == FILLER:
            pos += 1
            continue
        if dif & 0x0F == 0x0F:
            if dif in (0x0F, 0x1F, 0x7F) or data is not None:
                break  # manufacturer data (or a readout request) up to the end
            msg = f"reserved DIF 0x{dif:02X}"
            raise MalformedError(msg)
        header = _parse_header(buf, pos)
        coding = dif & 0x0F
        if data is None:
            raw, lvar, pos = _read_data(coding, buf, header.end)
        else:
            raw, lvar, dpos = _read_data(coding, data, dpos)
            pos = header.end
        records.append(
            Record(
                header=buf[header.start : header.end],
                dif=dif,
                vif=header.vif,
                vifes=header.vifes,
                function=(dif >> 4) & 0x03,
                storage=header.storage,
                tariff=header.tariff,
                subunit=header.subunit,
                coding=coding,
                raw=raw,
                lvar=lvar,
                vif_text=header.vif_text,
            )
        )
    if data is not None and data[dpos:].strip(bytes((FILLER,))):
        # After the last value only 2F fill may follow: AES-CBC (modes 5, 7) pads the last
        # block with it. No encrypted compact capture shows this; the fill is inferred from
        # how those modes pad every other payload.
        msg = "compact frame data does not match its format"
        raise MalformedError(msg)
    return records


def parse_records(apl: bytes) -> list[Record]:
    """Every data record of a full (self-describing) application layer payload."""
    return _walk(apl, None)


def parse_compact(drh: bytes, data: bytes) -> list[Record]:
    """Records of a compact frame: headers from a learnt format, values from the frame."""
    return _walk(drh, data)


def format_bytes(records: list[Record]) -> bytes:
    """The data record headers of a full frame, the input of its format signature."""
    return b"".join(record.header for record in records)
