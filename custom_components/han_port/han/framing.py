"""The contract between the stream reader and each wire format's framer.

A framer looks at a buffer from a candidate start byte and answers with a ``Scan``:

* ``NEED_MORE``: it may be a frame, more bytes are needed;
* ``FRAME``: a complete frame whose checksum verified, ending at ``end`` (or, for a format
  without a checksum of its own, a complete frame by its structure: ``Frame.checked`` False);
* ``REJECT``: a complete frame whose boundaries are certain but whose check failed, ending
  at ``end`` (reported and counted);
* ``INVALID``: not a frame start after all; the reader skips one byte and looks again, so
  a corrupted header never swallows the next good frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .model import HanError


class FrameKind(StrEnum):
    """What a framer produced."""

    P1 = "p1"  # DSMR/P1 text telegram, checksum verified (payload: the whole telegram)
    P1_STOEN = "p1-stoen"  # Polish ident line + GCM blob (payload: the whole envelope)
    DSMR_GCM = "dsmr-gcm"  # Luxembourg/Austria DB 08 ... encrypted DSMR (payload: whole frame)
    HDLC = "hdlc"  # IEC 62056-46 frame (payload: information field, segment flag set)
    MBUS = "mbus"  # wired M-Bus long frame (payload: user data after C, A, CI)
    APDU = "apdu"  # raw APDU, with or without the E6 E7 00 LLC header


class ScanStatus(IntEnum):
    """A framer's verdict on a candidate start."""

    NEED_MORE = 0
    FRAME = 1
    REJECT = 2
    INVALID = 3


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame; ``checked`` when a checksum of its own verified it.

    An unchecked frame (encrypted P1 envelopes, P1 without CRC) is only a frame by its
    structure: the ``DB 08`` header inside every encrypted M-Bus/HDLC frame looks like one. Its
    decoding decides whether it was real (see ``StreamReader.verdict``).
    """

    kind: FrameKind
    payload: bytes
    size: int  # bytes on the wire
    segmented: bool = False  # more segments of the same message follow (HDLC S bit)
    control: int = 0  # HDLC control byte or M-Bus CI field, for reassembly
    address: bytes = b""  # wM-Bus/M-Bus/HDLC address when known
    checked: bool = True  # a checksum of the frame's own format verified it


@dataclass(frozen=True, slots=True)
class Scan:
    """A framer's answer. ``end`` is an index into the buffer given to ``scan``."""

    status: ScanStatus
    end: int = 0
    frame: Frame | None = None
    error: HanError | None = None


NEED_MORE = Scan(ScanStatus.NEED_MORE)
INVALID = Scan(ScanStatus.INVALID)


class Framer(Protocol):
    """One wire format's frame finder."""

    kind: FrameKind
    #: Bytes that can start a frame of this format.
    start_bytes: bytes
    #: Largest frame this format can produce; a longer candidate is INVALID.
    max_size: int

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for a frame that starts at ``buf[start]``.

        ``final`` is set when no more bytes will come (a capture's end): a framer may then
        accept a frame whose optional trailer (such as CR LF after a P1 CRC) is missing.
        """
