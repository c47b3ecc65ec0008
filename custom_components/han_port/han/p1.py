"""P1 / DSMR text telegrams on the wire: framing and the CRC-16/ARC footer check.

A telegram is ``/XXXZ ident CR LF CR LF (OBIS(value*unit)... CR LF)* ! CRC CR LF``; DSMR 2.2/3
telegrams end with a bare ``!``. The footer is the ``!`` that starts a line: an ident line may
hold a ``!`` of its own, and the CRC covers everything from the ``/`` through the footer's ``!``.

A candidate is given up at the first byte no telegram holds before its footer (a C0 control
other than TAB, CR, LF and the STX some Iskra ident lines carry), so that a ``/`` inside binary
DLMS data neither swallows the next HDLC frame up to its address byte 0x21 (a ``!``) nor holds
frames back until a telegram's worth of bytes has arrived.

Parsing the data lines lives in ``p1_parse``; its public names are re-exported here.
"""

from __future__ import annotations

import re
from typing import Final

from .crc import crc16_arc_fast
from .framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus
from .model import ChecksumError, HanError, MalformedError, TruncatedError
from .p1_parse import TelegramParser, parse_telegram, pick_meter_id

__all__ = [
    "ENVELOPE_START",
    "HEX_DIGITS",
    "MAX_IDENT",
    "MAX_TELEGRAM",
    "P1Framer",
    "TelegramParser",
    "crc16_arc_fast",
    "parse_telegram",
    "pick_meter_id",
    "verify_footer",
]

MAX_TELEGRAM: Final = 8 * 1024
#: Hex digits as bytes (a footer's CRC), for this framer and the encrypted P1 framers.
HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")
_LINE_END: Final = frozenset(b"\r\n\x00")
#: Bytes that start the binary part of a Polish envelope right after the ident line: ``00``
#: (no system title), ``08`` or ``DB 08`` (a system title). Both P1 framers must agree on them.
ENVELOPE_START: Final = frozenset((0x00, 0x08, 0xDB))
#: Longest ident line (after the ``/``) either P1 framer waits for.
MAX_IDENT: Final = 96
#: Bytes an ident line may hold (printable, latin-1, TAB, CR and the 0x02 some Iskras send).
_IDENT_BYTES: Final = bytes([2, 9, 13, *range(0x20, 0x7F), *range(0xA0, 0x100)])
#: Bytes no telegram holds before its footer. Real telegrams hold printable ASCII, CR LF, the
#: STX of Iskra ident lines (dp_iskra_ie, dr_iskra) and latin-1 (0xAB in Fluvius idents, 0xB3
#: in "m³"); NULs occur only after the footer (amsreader-kaifa-gh1067-2, dsmr_parser's NUL
#: before CR LF). Bytes 0x80-0xFF stay allowed, for meters that write UTF-8.
_NOT_P1: Final = re.compile(rb"[\x00\x01\x03-\x08\x0b\x0c\x0e-\x1f]")
_P1_BYTES: Final = bytes([2, 9, 10, 13, *range(0x20, 0x100)])


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
    while j < limit and buf[j] in HEX_DIGITS:
        j += 1
    digits = j - bang - 1
    if digits < 4 and j == n:
        if not final:
            return None
    elif digits < 4 and buf[j] not in _LINE_END:
        return (ScanStatus.REJECT, j, -1)
    crc = int(buf[bang + 1 : j], 16) if digits else -1
    if digits == 0 and _split_crc(buf, j):
        # "!" line end, then hex digits and a line end: a CRC broken by a stray line end.
        return (ScanStatus.REJECT, j, -1)
    return (ScanStatus.FRAME, j, crc)


def _split_crc(buf: bytes, pos: int) -> bool:
    """True when, after the line end at ``pos``, 1-4 hex digits end a line (already received)."""
    pos = _skip_line_end(buf, pos)
    end = pos
    while end < len(buf) and end - pos < 5 and buf[end] in HEX_DIGITS:
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
    return pos < len(buf) and buf[pos] in ENVELOPE_START


def _plausible_ident(buf: bytes, start: int, stop: int) -> bool:
    """Tell whether ``buf[start:]`` opens like text (not a '/' byte inside binary).

    Only used before reporting a rejection, so that binary noise is skipped silently
    rather than counted as a broken telegram. Ident lines may hold 0x02 and latin-1.
    """
    nl = buf.find(b"\n", start, stop)
    line = buf[start + 1 : nl if nl >= 0 else stop]
    return len(line) <= MAX_IDENT and not line.translate(None, _IDENT_BYTES)


def _first_bad(buf: bytes, start: int, stop: int) -> int:
    """Index of the first byte in ``buf[start:stop]`` no telegram holds, or -1."""
    if not buf[start:stop].translate(None, _P1_BYTES):  # the common case, 4x faster than re
        return -1
    bad = _NOT_P1.search(buf, start, stop)
    return bad.start() if bad is not None else -1


def _footer_bang(buf: bytes, start: int, stop: int) -> int:
    """Index of the footer's '!' (the first '!' that starts a line) in ``buf[start:stop]``."""
    nl = buf.find(b"\n!", start, stop)
    return nl + 1 if nl >= 0 else -1


def _telegram_started(buf: bytes, start: int, stop: int) -> bool:
    """Tell whether ``buf[start:stop]`` opens with an ident line and the empty line after it."""
    nl = buf.find(b"\n", start, min(stop, start + MAX_IDENT + 2))
    if nl < 0 or not _plausible_ident(buf, start, nl + 1):
        return False
    pos = nl + 1
    return buf.startswith(b"\n", pos, stop) or buf.startswith(b"\r\n", pos, stop)


def verify_footer(telegram: bytes) -> bool | None:
    """Check a complete telegram's CRC: True/False, or None when it carries no CRC."""
    slash = telegram.find(b"/")
    if slash < 0:
        return False
    bang = _footer_bang(telegram, slash, len(telegram))
    if bang < 0:
        return False
    j = bang + 1
    while j < len(telegram) and j < bang + 5 and telegram[j] in HEX_DIGITS:
        j += 1
    if j == bang + 1:
        return None
    return crc16_arc_fast(telegram[slash : bang + 1]) == int(telegram[bang + 1 : j], 16)


class P1Framer:
    """Find ``/ident ... !CRC`` telegrams; verify CRC-16/ARC when the footer carries one.

    Telegrams without a CRC (DSMR 2.2/3, some Iskra meters) are accepted until the meter has
    sent one with a valid CRC: from then on a missing CRC means a damaged footer. A telegram
    without a CRC has no checksum of its own (``Frame.checked`` is False).
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
        bang = _footer_bang(buf, start, stop)
        bad = _first_bad(buf, start + 1, bang if bang >= 0 else stop)
        if bad >= 0:
            bang = -1
        limit = bad if bad >= 0 else stop
        text_end = bang if bang >= 0 else limit
        if buf.find(b"/", start + 1, text_end) >= 0:
            # A new telegram starts before this one ended: this one was cut.
            return INVALID
        if _looks_like_envelope(buf, start, text_end):
            return INVALID
        if bang < 0:
            return self._no_footer(buf, start, limit, stopped=bad >= 0, final=final)
        footer = _footer(buf, bang, final=final)
        if footer is None:
            return NEED_MORE
        status, end, crc = footer
        if status is ScanStatus.REJECT:
            if not _plausible_ident(buf, start, bang):
                return INVALID
            error: HanError = ChecksumError("P1 footer is not '!' and a hex CRC")
            return Scan(ScanStatus.REJECT, end, error=error)
        failed = self._check(buf, start, bang, crc)
        if failed is not None:
            if crc >= 0 and not _plausible_ident(buf, start, bang):
                return INVALID
            return Scan(ScanStatus.REJECT, _skip_line_end(buf, end), error=failed)
        payload = buf[start:end]
        frame = Frame(FrameKind.P1, payload, len(payload), checked=crc >= 0)
        return Scan(ScanStatus.FRAME, _skip_line_end(buf, end), frame)

    def _no_footer(self, buf: bytes, start: int, limit: int, *, stopped: bool, final: bool) -> Scan:
        """The verdict on a candidate with no footer before ``limit``.

        ``stopped``: ``buf[limit]`` is a byte no telegram holds. After an ident line and its
        empty line that is a damaged telegram (reported); anywhere else, not a telegram.
        """
        if stopped:
            if not _telegram_started(buf, start, limit):
                return INVALID
            error: HanError = MalformedError(
                f"byte 0x{buf[limit]:02X} cannot occur in a P1 telegram"
            )
            return Scan(ScanStatus.REJECT, limit, error=error)
        if limit - start >= self.max_size:
            return INVALID
        if not final:
            return NEED_MORE
        if buf.find(b"\n", start, limit) < 0 or not _plausible_ident(buf, start, limit):
            return INVALID
        return Scan(ScanStatus.REJECT, len(buf), error=TruncatedError("P1 telegram has no footer"))

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
