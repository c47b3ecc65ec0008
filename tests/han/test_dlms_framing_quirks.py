"""Dongle and framer quirks: line-end translated HDLC (OSS brikken), bare flags, lost segments."""

from __future__ import annotations

from typing import Any

import pytest

from han.decoder import Decoder
from han.dlms import HdlcFramer
from han.framing import ScanStatus
from han.model import Keys, Message, Rejected, TruncatedError

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


def oss_frame(apdu: bytes, *, fcs: bool) -> bytes:
    """A translated frame around LLC + ``apdu``, with or without its FCS (then capture ends)."""
    frame = translated(hdlc(b"\xe6\xe7\x00" + apdu))
    assert b"\r\n" in frame
    return frame if fcs else frame[:-3]


# A data-notification with a 0x0A in it (the value), so the dongle inserts a 0x0D.
NOTIFICATION = bytes.fromhex("0f000000010002020906010001070 0ff0600000a0a".replace(" ", ""))


def test_a_translated_glo_ciphered_frame_without_fcs_is_handed_on_by_its_length() -> None:
    glo = b"\xdb\x08ISKgu\x13\xbf\x3b\x0e\x30\x00\x00\x00\x01" + b"\x0a" * 9
    framer = HdlcFramer()
    scan = framer.scan(oss_frame(glo, fcs=False), 0, final=True)
    assert scan.status is ScanStatus.FRAME
    assert scan.frame is not None
    assert scan.frame.payload == b"\xe6\xe7\x00" + glo
    # One byte of ciphertext short of its declared length: not one whole APDU.
    short = b"\xdb\x08ISKgu\x13\xbf\x3b\x0e\x30\x00\x00\x00\x01" + b"\x0a" * 8
    assert framer.scan(oss_frame(short, fcs=False), 0, final=True).status is ScanStatus.INVALID


@pytest.mark.parametrize(
    "apdu",
    [
        bytes.fromhex("e0c000010000040a0a0a0a"),  # a block transfer block: not checkable
        bytes.fromhex("0f000000010002020906010001070 0ff06000a".replace(" ", "")),  # cut
        b"\xdb\x08",  # a ciphered header that does not parse
    ],
)
def test_fcs_less_frames_that_are_not_one_whole_apdu_are_not_trusted(apdu: bytes) -> None:
    data = oss_frame(apdu + b"\x0a", fcs=False)
    assert HdlcFramer().scan(data, 0, final=True).status is not ScanStatus.FRAME


def test_a_translated_data_notification_with_and_without_its_fcs() -> None:
    for fcs in (True, False):
        (message,) = Decoder(Keys(), country="NO").decode_capture(oss_frame(NOTIFICATION, fcs=fcs))
        assert isinstance(message, Message)
        assert message.readings["1-0:1.7.0"].value == 0x0A0A


def test_short_translated_candidates_are_not_frames() -> None:
    framer = HdlcFramer()
    # Declared length too short, and a header whose addresses never end.
    for data in (
        b"\x7e\xa0\x05\x0d\x0a\x0d\x0a",
        b"\x7e\xa0\x20\x40\x40\x40\x40\x0d\x0a" + bytes(30),
    ):
        assert framer.scan(data, 0, final=True).status is ScanStatus.INVALID
    # A translated header whose HCS does not verify.
    frame = bytearray(oss_frame(NOTIFICATION, fcs=True))
    frame[6] ^= 0x01
    assert framer.scan(bytes(frame), 0, final=True).status is not ScanStatus.FRAME


def test_a_middle_segment_first_is_truncated_and_so_is_its_tail() -> None:
    first, middle, last = segments()
    results = Decoder(Keys(), country="NO").decode_capture(middle + last + first + middle + last)
    assert [type(r) for r in results] == [Rejected, Rejected, Message]
    assert all(isinstance(r.error, TruncatedError) for r in results[:2] if isinstance(r, Rejected))


def test_later_mbus_segments_and_block_transfer_blocks_alone_are_truncated() -> None:
    mbus = raw("at-netznoe-kaifa-ma309-mbus-sc20")
    second = mbus[mbus[1] + 6 :]  # the last M-Bus segment (CI 0x11) alone
    gbt = raw("amsreader-landis-gyr-gh740-3")  # the last GBT block alone
    for data, keys_ in ((second, Keys(ek=bytes(16))), (gbt, Keys())):
        (result,) = Decoder(keys_).decode_capture(data)
        assert isinstance(result, Rejected)
        assert isinstance(result.error, TruncatedError)
    # In order, the block transfer decodes.
    (whole,) = Decoder(Keys()).decode_capture(raw("amsreader-landis-gyr-gh740"))
    assert isinstance(whole, Message)


@pytest.mark.parametrize(
    "data", [b"\x7e\r\n", b"\x7e\r\n\r\n", b"\x7e\x41\r\n", b"\x7e\xa0\r\n", b"\x7e\x0d\x0a\xa0"]
)
def test_short_candidates_with_line_ends_never_raise(data: bytes) -> None:
    framer = HdlcFramer()
    for final in (False, True):
        assert framer.scan(data, 0, final=final).status is not ScanStatus.FRAME
    assert not readings(feed(data))
