"""IEC 62056-46 HDLC frames (frame format type 3) as HAN ports push them.

``7E | A0/A8 LL | dst (1-4) | src (1-4) | ctrl | HCS | info | FCS | 7E``: 11-bit length
(format byte low 3 bits + next byte) counting everything between the flags; an address ends
at the byte whose least significant bit is 1; HCS and FCS are CRC-16/X.25, low byte first.
A frame without information field has no HCS. HAN ports do not octet-stuff, so the length
field, not the next 0x7E, decides where a frame ends; a closing flag may double as the next
frame's opening flag.
"""

from __future__ import annotations

from ..crc import crc16_x25  # noqa: TID252
from ..framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus  # noqa: TID252
from ..model import ChecksumError, TruncatedError  # noqa: TID252

FLAG = 0x7E
#: Largest length field (11 bits) plus the two flags.
MAX_FRAME = 0x7FF + 2
_MIN_LENGTH = 7  # format(2) + dst(1) + src(1) + ctrl(1) + FCS(2)
_SEGMENT_BIT = 0x08


def _address_end(buf: bytes, pos: int, limit: int) -> int:
    """Index after an HDLC address starting at ``pos``; -1 if invalid, -2 if cut off."""
    for i in range(pos, min(pos + 4, limit)):
        if buf[i] & 1:
            return i + 1
    return -2 if limit - pos < 4 else -1


def _addresses(buf: bytes, pos: int, limit: int) -> int:
    """Index after destination and source addresses; -1 if invalid, -2 if cut off."""
    dst_end = _address_end(buf, pos, limit)
    if dst_end < 0:
        return dst_end
    return _address_end(buf, dst_end, limit)


class HdlcFramer:
    """Find HDLC frames; verify HCS and FCS; report the segmentation bit."""

    kind = FrameKind.HDLC
    start_bytes = b"\x7e"
    max_size = MAX_FRAME

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for a frame whose opening flag is ``buf[start]``."""
        result = self._scan(buf, start, final=final)
        if result.status is not ScanStatus.NEED_MORE or not final:
            return result
        # The capture ends inside this candidate. If a later frame is complete, this
        # candidate was noise: let the reader resync onto it. Otherwise it was cut off.
        nxt = buf.find(b"\x7e", start + 1)
        while nxt >= 0:
            if self._scan(buf, nxt).status is ScanStatus.FRAME:
                return INVALID
            nxt = buf.find(b"\x7e", nxt + 1)
        if len(buf) - start <= 1:
            return INVALID
        error = TruncatedError("HDLC frame ends before its declared length")
        return Scan(ScanStatus.REJECT, len(buf), None, error)

    def _scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        size = len(buf)
        if size - start < 3:
            return NEED_MORE
        fmt = buf[start + 1]
        if fmt & 0xF0 != 0xA0:
            return INVALID
        length = ((fmt & 0x07) << 8) | buf[start + 2]
        if length < _MIN_LENGTH:
            return INVALID
        first = start + 1  # first byte covered by HCS/FCS (the format byte)
        end = first + length  # index of the closing flag
        src_end = _addresses(buf, start + 3, min(size, end))
        if src_end < 0:
            return NEED_MORE if src_end == -2 and size < end else INVALID
        ctrl_pos = src_end
        header_end = ctrl_pos + 1  # index after the control byte
        if header_end + 2 > end:
            return INVALID
        has_info = header_end + 2 < end
        if has_info:
            if header_end + 2 > size:
                return NEED_MORE
            if header_end + 4 > end:
                return INVALID  # room for HCS but not FCS
            hcs = buf[header_end] | (buf[header_end + 1] << 8)
            if crc16_x25(buf[first:header_end]) != hcs:
                return INVALID  # header untrustworthy: resync
        if end > size:
            return NEED_MORE
        fcs = buf[end - 2] | (buf[end - 1] << 8)
        closing = end < size and buf[end] == FLAG
        if crc16_x25(buf[first : end - 2]) != fcs:
            if closing or (final and end == size):
                error = ChecksumError("HDLC frame check sequence (FCS) does not match")
                return Scan(ScanStatus.REJECT, end, None, error)
            return NEED_MORE if end >= size else INVALID
        payload = buf[header_end + 2 : end - 2] if has_info else b""
        frame = Frame(
            FrameKind.HDLC,
            payload,
            length + 2,
            segmented=bool(fmt & _SEGMENT_BIT),
            control=buf[ctrl_pos],
            address=buf[start + 3 : src_end],
        )
        return Scan(ScanStatus.FRAME, end, frame)
