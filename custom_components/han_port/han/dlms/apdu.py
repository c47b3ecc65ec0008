"""xDLMS APDUs that meters push, and the LLC header in front of them.

Data-notification, general-glo-ciphering and general-block-transfer.

Only the structure lives here; keys, reassembly state and list decoding live in the
session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..framing import FrameKind  # noqa: TID252
from ..model import MalformedError, TruncatedError  # noqa: TID252
from .axdr import decode, read_length
from .shape import sourced

if TYPE_CHECKING:
    from ..framing import Frame  # noqa: TID252
    from .plan import LayoutCache

TAG_DATA_NOTIFICATION = 0x0F
TAG_GLO_CIPHERING = 0xDB
TAG_GBT = 0xE0
LLC_HEADERS = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")
APDU_START = frozenset((0xE6, TAG_DATA_NOTIFICATION, TAG_GLO_CIPHERING, TAG_GBT))
GBT_LAST = 0x80
_GBT_TAG = bytes((TAG_GBT,))


def strip_llc(data: bytes) -> bytes:
    """Remove an ``E6 E7 00`` / ``E6 E6 00`` LLC header if present."""
    if data[:3] in LLC_HEADERS:
        return data[3:]
    return data


#: Why a frame that continues a message whose beginning never came is refused (truncated).
LOST = "a segment or block whose message began before the data did"


def starts_midway(frame: Frame) -> bool:
    """Whether ``frame`` continues a message whose first part never came.

    Only whoever knows that no message is open can ask (the decoder): an HDLC frame whose
    data starts no APDU (a later segment), a wired M-Bus segment with a sequence number
    above 0, or a general-block-transfer block numbered above 1.
    """
    if frame.kind is FrameKind.MBUS:
        return frame.control & 0x0F != 0
    payload = frame.payload
    if frame.kind is not FrameKind.HDLC or not payload:
        return False
    if not looks_like_apdu(payload):
        return True
    at = 3 if payload[:3] in LLC_HEADERS else 0  # the APDU's start (not copied out)
    return (
        payload[at : at + 1] == _GBT_TAG
        and len(payload) - at >= 4
        and int.from_bytes(payload[at + 2 : at + 4]) > 1
    )


def looks_like_apdu(data: bytes) -> bool:
    """Whether ``data`` is a bare (LLC+)APDU rather than a framed stream."""
    return bool(data) and data[0] in APDU_START


@dataclass(frozen=True, slots=True)
class Notification:
    """A decoded data-notification: invoke id, optional date-time, body value.

    A body whose layout the decoder has seen before comes as ``plan.Planned`` (its field
    values, read but not decoded); ``lists.apply_body`` takes either form.
    """

    invoke_id: int
    date_time: bytes | None
    body: Any


_DATE_TIME_LEN = 12
_BAD_DATE_TIME = "data-notification date-time field is malformed"


def body_start(data: bytes, pos: int) -> int:
    """Where a data-notification's body starts, after the date-time field at ``data[pos]``.

    The field is ``00`` (none), ``0C`` and 12 bytes, or ``09 0C`` and 12 bytes; the position
    returned may lie beyond the data received. -1 when a ``09`` is the last byte received
    (the next decides); MalformedError for any other marker.
    """
    marker = data[pos]
    if marker == 0x00:
        return pos + 1
    if marker == 0x0C:
        return pos + 1 + _DATE_TIME_LEN
    if marker == 0x09:
        if pos + 1 >= len(data):
            return -1
        if data[pos + 1] == 0x0C:
            return pos + 2 + _DATE_TIME_LEN
    raise MalformedError(_BAD_DATE_TIME)


def parse_notification(
    data: bytes, *, strict: bool, layouts: LayoutCache | None = None
) -> Notification:
    """Decode a data-notification APDU (``0F`` ...).

    ``strict`` demands that the body ends exactly where the data ends: the plausibility
    test for plaintexts that no tag vouches for. ``layouts`` is the meter's cache of body
    layouts (``plan``); without it (a framer's look at a frame it may still refuse) the body
    is decoded without learning or using layouts.
    """
    if len(data) < 6:
        msg = "data-notification shorter than its header"
        raise TruncatedError(msg)
    if data[0] != TAG_DATA_NOTIFICATION:
        msg = f"not a data-notification (tag 0x{data[0]:02X})"
        raise MalformedError(msg)
    invoke_id = int.from_bytes(data[1:5])
    pos = body_start(data, 5)
    if pos < 0:
        raise MalformedError(_BAD_DATE_TIME)
    date_time = data[pos - _DATE_TIME_LEN : pos] if pos > 6 else None
    if pos > len(data):
        msg = "data-notification ends inside its date-time"
        raise TruncatedError(msg)
    body, end = layouts.decode(data, pos) if layouts is not None else decode(data, pos)
    body = sourced(body, data, pos)
    if strict and end != len(data):
        msg = "data-notification body does not fill the APDU"
        raise MalformedError(msg)
    return Notification(invoke_id, date_time, body)


@dataclass(frozen=True, slots=True)
class Ciphered:
    """The parts of a general-glo-ciphering APDU."""

    system_title: bytes
    security_control: int
    frame_counter: bytes
    body: bytes  # ciphertext (and tag, when SC says so)
    end: int  # where the APDU ends in the data it was read from (its length field says)


def parse_glo(data: bytes) -> Ciphered:
    """Split a general-glo-ciphering APDU (``DB`` ...)."""
    if len(data) < 2 or data[0] != TAG_GLO_CIPHERING:
        msg = "not a general-glo-ciphering APDU"
        raise MalformedError(msg)
    title_len = data[1]
    if title_len > 8:
        msg = "system title longer than 8 bytes"
        raise MalformedError(msg)
    pos = 2 + title_len
    system_title = data[2:pos]
    length, pos = read_length(data, pos)
    if length < 5:
        msg = "ciphered APDU shorter than its security header"
        raise MalformedError(msg)
    end = pos + length
    if end > len(data):
        msg = "ciphered APDU ends before its declared length"
        raise TruncatedError(msg)
    return Ciphered(system_title, data[pos], data[pos + 1 : pos + 5], data[pos + 5 : end], end)


@dataclass(frozen=True, slots=True)
class Block:
    """One general-block-transfer block."""

    last: bool
    number: int
    data: bytes


def parse_gbt(data: bytes) -> Block:
    """Split a general-block-transfer APDU (``E0 ctrl blk(2) ack(2) len data``)."""
    if len(data) < 7 or data[0] != TAG_GBT:
        msg = "general-block-transfer header is cut off"
        raise TruncatedError(msg)
    control = data[1]
    number = int.from_bytes(data[2:4])
    length, pos = read_length(data, 6)
    end = pos + length
    if end > len(data):
        msg = "general-block-transfer block ends before its declared length"
        raise TruncatedError(msg)
    return Block(bool(control & GBT_LAST), number, data[pos:end])
