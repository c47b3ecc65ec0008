"""Dongle and framer quirks: line-end translated HDLC (OSS brikken), bare flags, lost segments."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.han_port.han.decoder import Decoder
from custom_components.han_port.han.dlms import HdlcFramer
from custom_components.han_port.han.framing import ScanStatus
from custom_components.han_port.han.model import Keys, Message, Rejected, TruncatedError

from .test_dlms_framing import hdlc, raw

AIDON = "amsreader-aidon-gh1119-1"  # a real Aidon frame with 0x0A (visible-string tags) inside
OSS_10S = "hassams-aidon-oss-10sec"
OSS_HOURLY = "hassams-aidon-oss-hourly"


def translated(frame: bytes) -> bytes:
    """What the OSS dongle puts on the wire: every 0x0A sent as 0x0D 0x0A."""
    return frame.replace(b"\n", b"\r\n")


def readings(results: list[Message | Rejected]) -> list[dict[str, Any]]:
    return [{k: v.value for k, v in r.readings.items()} for r in results if isinstance(r, Message)]


def feed(data: bytes, chunk: int = 1, country: str = "NO") -> list[Message | Rejected]:
    decoder = Decoder(Keys(), country=country)
    out: list[Message | Rejected] = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
    return out + decoder.feed(b"", final=True)


def test_translated_frames_with_their_fcs_decode_in_a_stream() -> None:
    frame = raw(AIDON)
    assert b"\n" in frame[1:-1]
    plain = readings(Decoder(Keys(), country="NO").decode_capture(frame))
    stream = translated(frame) + translated(frame)
    for chunk in (1, 7, len(stream)):
        assert readings(feed(stream, chunk)) == plain * 2


@pytest.mark.parametrize("vid", [OSS_10S, OSS_HOURLY])
def test_oss_captures_without_fcs_decode(vid: str) -> None:
    data = raw(vid)
    (message,) = Decoder(Keys(), country="NO").decode_capture(data)
    assert isinstance(message, Message)
    assert message.readings["1-1:0.2.129"].value == "AIDON_V0001"
    # The same capture followed by another frame: the next flag is where the FCS would be.
    both = feed(data + raw(AIDON))
    assert [type(r) for r in both] == [Message, Message]


def test_a_translated_frame_whose_fcs_fails_is_not_decoded() -> None:
    bad = bytearray(translated(raw(AIDON)))
    bad[-2] ^= 0x01  # the FCS's second byte
    results = feed(bytes(bad) + raw(AIDON))
    assert len(readings(results)) == 1  # only the good frame after it


@pytest.mark.parametrize("cut", [1, 5])
def test_a_fcs_less_translated_frame_must_be_one_whole_apdu(cut: int) -> None:
    """Without an FCS the information field must parse exactly, or nothing comes out."""
    data = raw(OSS_10S)
    assert readings(Decoder(Keys(), country="NO").decode_capture(data[:-cut])) == []
    assert readings(Decoder(Keys(), country="NO").decode_capture(data + b"\x00")) == []


def test_a_segmented_frame_without_fcs_is_not_trusted() -> None:
    data = bytearray(raw(OSS_10S))
    data[1] |= 0x08  # the segmentation bit; the HCS then fails too
    assert readings(Decoder(Keys(), country="NO").decode_capture(bytes(data))) == []


def test_frames_that_merely_contain_crlf_decode_as_they_are() -> None:
    """A checksum-valid frame with a value whose bytes are 0D 0A is not a translated one."""
    crlf_frame = hdlc(
        b"\xe6\xe7\x00\x0f\x00\x00\x00\x01\x00\x02\x02\x09\x06\x01\x00\x01\x07\x00\xff"
        b"\x06\x00\x00\x0d\x0a"
    )
    (message,) = Decoder(Keys(), country="NO").decode_capture(crlf_frame)
    assert isinstance(message, Message)
    assert message.readings["1-0:1.7.0"].value == 0x0D0A


def test_a_bare_flag_before_a_byte_no_frame_starts_with_is_skipped() -> None:
    framer = HdlcFramer()
    assert framer.scan(b"\x7e\x41", 0).status is ScanStatus.INVALID
    assert framer.scan(b"\x7e\x41", 0, final=True).status is ScanStatus.INVALID
    assert Decoder(Keys()).decode_capture(raw(AIDON) + b"\x7e\x41")[1:] == []
    # A flag and a frame format at the end of a capture: a frame cut off.
    (_, cut) = Decoder(Keys(), country="NO").decode_capture(raw(AIDON) + b"\x7e\xa0")
    assert isinstance(cut, Rejected)
    assert isinstance(cut.error, TruncatedError)


def segments() -> list[bytes]:
    apdu = raw("amshan-aidon-no-list-2")  # LLC + data-notification
    return [
        hdlc(apdu[:50], segmented=True),
        hdlc(apdu[50:120], segmented=True),
        hdlc(apdu[120:]),
    ]


def test_a_last_segment_without_its_first_ones_is_truncated() -> None:
    first, middle, last = segments()
    (result,) = Decoder(Keys(), country="NO").decode_capture(last)
    assert isinstance(result, Rejected)
    assert isinstance(result.error, TruncatedError)
    # After it, a whole message still decodes; and the segments in order make one message.
    results = Decoder(Keys(), country="NO").decode_capture(last + first + middle + last)
    assert [type(r) for r in results] == [Rejected, Message]


@pytest.mark.parametrize("count", [1, 2])
def test_first_segments_whose_rest_never_comes_are_truncated(count: int) -> None:
    parts = segments()[:count]
    (result,) = Decoder(Keys(), country="NO").decode_capture(b"".join(parts))
    assert isinstance(result, Rejected)
    assert isinstance(result.error, TruncatedError)


def test_a_first_block_of_a_block_transfer_alone_is_truncated() -> None:
    (result,) = Decoder(Keys()).decode_capture(raw("amsreader-landis-gyr-gh740-1"))
    assert isinstance(result, Rejected)
    assert isinstance(result.error, TruncatedError)


def test_a_stream_that_is_not_final_keeps_waiting_for_the_rest() -> None:
    first, middle, last = segments()
    decoder = Decoder(Keys(), country="NO")
    assert decoder.feed(first + middle) == []
    (message,) = decoder.feed(last)
    assert isinstance(message, Message)
