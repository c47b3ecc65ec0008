"""Bare DLMS APDUs on a line: data-notifications (``0F``) and glo-ciphered APDUs (``DB``).

Some bridges, and possibly some meters, put the push APDU on the wire without HDLC or M-Bus
framing. Nothing but its own structure says where such an APDU ends: the framer reads the
A-XDR body (or the ciphered APDU's length) to find the end, and the frame carries no checksum
(``Frame.checked`` False). That is why this framer is opt-in (a profile lists
``FrameKind.APDU``; only the Estonian profile does, because no capture shows what its meters
send) and why it refuses what is evidently the inside of a framed message:

* an APDU followed by ``FCS FCS 7E`` and then a flag, a format byte or nothing is the
  information field of an HDLC frame whose start was missed (the reader joined mid-frame);
* an APDU followed by ``CS 16`` is the user data of a wired M-Bus frame.

Without a checksum, random bytes (noise, the wrong baud rate) must not pass for a ciphered
APDU: decrypting them fails, and a key error would ask the user for keys that are fine. So a
bare ``DB`` APDU must look like a meter's: an 8-byte system title that begins with a FLAG
manufacturer id (three capital letters: ``KAM``, ``KFM``, ``LGZ``, ``SAG``, ``ISK`` in every
capture of the vectors) and a security control byte that secures (authentication and/or
encryption, suite 0-2, not compressed). Random bytes pass that about once in 10^9 bytes
instead of once in 10^4 (a ciphered APDU without a system title, ``DB 00``, which only a
configured title could decrypt, has no capture behind it and is not read bare). The
decoder applies the same test to an envelope it reads as a DLMS APDU (``plausible_title``).

The decoder never lets a bare APDU win the stream's format lock (``Decoder``): on an HDLC
line the next whole frame, whose FCS verifies, locks the reader onto HDLC at once.

Belief, not a capture: no public capture shows a meter pushing bare APDUs on a serial line;
the APDU layouts are the ones MQTT bridges forward (``at-salzburg-kaifa-raw-apdu-plain``,
``amsreader-landis-gyr-gh934-1`` in the vectors).
"""

from __future__ import annotations

from ..crypto import plausible_sc  # noqa: TID252
from ..framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus  # noqa: TID252
from ..model import MalformedError, TruncatedError  # noqa: TID252
from .apdu import TAG_DATA_NOTIFICATION, TAG_GLO_CIPHERING, body_start
from .axdr import decode, read_length

#: Largest bare APDU accepted (the largest pushes seen are about 600 bytes).
MAX_APDU = 4096
_HDLC_FLAG = 0x7E
_MBUS_STOP = 0x16
#: What may follow an HDLC frame's closing flag: the next frame's flag or its format byte.
_AFTER_FLAG = frozenset({_HDLC_FLAG, *range(0xA0, 0xB0)})
#: A system title: 8 bytes, the first 3 a FLAG manufacturer id (DLMS UA; 3 capital letters).
_TITLE = 8
_FLAG = 3


def plausible_title(title: bytes) -> bool:
    """Whether ``title`` can be a meter's system title (8 bytes, a FLAG id first)."""
    return len(title) == _TITLE and _capitals(title[:_FLAG])


def _capitals(data: bytes) -> bool:
    return all(0x41 <= byte <= 0x5A for byte in data)  # A-Z


def _notification_end(buf: bytes, start: int) -> int:
    """Where the data-notification at ``start`` ends (TruncatedError: not all there yet)."""
    pos = start + 5  # tag + long-invoke-id-and-priority
    if pos >= len(buf):
        raise TruncatedError
    pos = body_start(buf, pos)  # MalformedError for a marker no notification has
    if pos < 0 or pos >= len(buf):
        raise TruncatedError
    try:
        return decode(buf, pos)[1]
    except IndexError:  # pragma: no cover - the A-XDR decoder reports a cut value as truncated
        raise TruncatedError from None


def _ciphered_end(buf: bytes, start: int) -> int:
    """Where the general-glo-ciphering APDU at ``start`` ends (its length field says).

    MalformedError for what no meter sends (see the module's docstring).
    """
    title_end = start + 2 + _TITLE
    if start + 1 >= len(buf):
        raise TruncatedError
    if buf[start + 1] != _TITLE or not _capitals(buf[start + 2 : start + 2 + _FLAG]):
        raise MalformedError  # (as much of the FLAG id as has come)
    if title_end > len(buf):
        raise TruncatedError
    length, pos = read_length(buf, title_end)
    if length < 5:
        raise MalformedError
    if pos < len(buf) and not plausible_sc(buf[pos], broadcast_ok=True):
        raise MalformedError
    return pos + length


def _inside_a_frame(buf: bytes, end: int) -> bool:
    """The bytes after ``end`` close an HDLC or M-Bus frame: the APDU was that frame's data."""
    size = len(buf)
    if end + 2 < size and buf[end + 2] == _HDLC_FLAG:
        return end + 3 == size or buf[end + 3] in _AFTER_FLAG
    return end + 1 < size and buf[end + 1] == _MBUS_STOP


class RawApduFramer:
    """Find bare data-notification and general-glo-ciphering APDUs (no checksum)."""

    kind = FrameKind.APDU
    start_bytes = bytes((TAG_DATA_NOTIFICATION, TAG_GLO_CIPHERING))
    max_size = MAX_APDU

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for an APDU that starts at ``buf[start]``."""
        try:
            if buf[start] == TAG_DATA_NOTIFICATION:
                end = _notification_end(buf, start)
            else:
                end = _ciphered_end(buf, start)
        except TruncatedError:
            if final or len(buf) - start >= self.max_size:
                return INVALID
            return NEED_MORE
        except MalformedError:
            return INVALID
        if end - start > self.max_size:
            return INVALID
        if end > len(buf):
            return INVALID if final else NEED_MORE
        if _inside_a_frame(buf, end):
            return INVALID
        frame = Frame(FrameKind.APDU, bytes(buf[start:end]), end - start, checked=False)
        return Scan(ScanStatus.FRAME, end, frame)
