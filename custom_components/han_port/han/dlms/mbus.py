"""Wired M-Bus long frames (EN 13757-2) carrying DLMS, as Austrian P1 ports push them.

``68 L L 68 | C | A | CI | user data | CS | 16``: L counts C, A, CI and the user data; CS
is their sum modulo 256. The CI field of the DLMS transport (0x00-0x1F) holds a sequence
number in its low nibble and, in bit 0x10, "last segment"; the session reassembles.
"""

from __future__ import annotations

from ..framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus  # noqa: TID252
from ..model import ChecksumError, TruncatedError  # noqa: TID252

START = 0x68
STOP = 0x16
MAX_FRAME = 255 + 6


class MbusFramer:
    """Find M-Bus long frames and verify their checksum."""

    kind = FrameKind.MBUS
    start_bytes = b"\x68"
    max_size = MAX_FRAME

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for a long frame whose first start byte is ``buf[start]``."""
        size = len(buf)
        if size - start < 4:
            return self._cut(buf, start, final=final)
        length = buf[start + 1]
        if buf[start + 2] != length or buf[start + 3] != START or length < 3:
            return INVALID
        data = start + 4
        cs_pos = data + length
        if cs_pos + 2 > size:
            return self._cut(buf, start, final=final)
        if buf[cs_pos + 1] != STOP:
            return INVALID
        end = cs_pos + 2
        if sum(buf[data:cs_pos]) & 0xFF != buf[cs_pos]:
            error = ChecksumError("M-Bus checksum does not match")
            return Scan(ScanStatus.REJECT, end, None, error)
        frame = Frame(
            FrameKind.MBUS,
            buf[data + 3 : cs_pos],
            length + 6,
            control=buf[data + 2],
            address=buf[data + 1 : data + 2],
        )
        return Scan(ScanStatus.FRAME, end, frame)

    def _cut(self, buf: bytes, start: int, *, final: bool) -> Scan:
        if not final:
            return NEED_MORE
        nxt = buf.find(b"\x68", start + 1)
        while nxt >= 0:
            if self.scan(buf, nxt).status is ScanStatus.FRAME:
                return INVALID
            nxt = buf.find(b"\x68", nxt + 1)
        if len(buf) - start < 4:
            return INVALID
        error = TruncatedError("M-Bus frame ends before its declared length")
        return Scan(ScanStatus.REJECT, len(buf), None, error)
