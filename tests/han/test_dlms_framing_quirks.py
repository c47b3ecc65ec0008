"""Dongle and framer quirks: line-end translated HDLC (OSS brikken), bare flags, lost segments."""

from __future__ import annotations

from typing import Any

import pytest

from han.decoder import Decoder
from han.dlms import HdlcFramer, hdlc as hdlc_module
from han.framing import ScanStatus
from han.model import ErrorCode, Keys, Message, Rejected, TruncatedError
from tests.common import DK_AK, DK_EK, dk_frame, hdlc, raw

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
    # The same capture followed by another frame (the next flag where the FCS would be):
    # test_oss_captures_followed_by_a_frame_need_a_line_that_has_shown_the_translation.


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
    "data",
    [
        b"\x7e\r\n",
        b"\x7e\r\n\r\n",
        b"\x7e\x41\r\n",
        b"\x7e\xa0\r\n",
        b"\x7e\x0d\x0a\xa0",
        b"\x7e\xa7\xff\r\n" * 2,  # raised IndexError (a header past the restored bytes)
    ],
)
def test_short_candidates_with_line_ends_never_raise(data: bytes) -> None:
    framer = HdlcFramer()
    for final in (False, True):
        assert framer.scan(data, 0, final=final).status is not ScanStatus.FRAME
    assert not readings(feed(data))


# -- Review of issue 12, item 5: the line-end restoration is bounded and proves itself --------

#: The real Danish plaintext sealed with counter 24002: its ciphertext holds two 0D 0A pairs
#: (at 165 and 482 of the 491-byte frame), none in the header.
CRLF_COUNTER = 24002


def test_a_corrupted_frame_with_crlf_in_its_ciphertext_is_a_checksum_error() -> None:
    """It came out ``auth_failed``: with its two 0x0D removed, the next frame's flag stood
    where the FCS would start, and the FCS-less rule took it for a dongle's frame."""
    frame = dk_frame(CRLF_COUNTER)
    assert [i for i in range(len(frame)) if frame[i : i + 2] == b"\r\n"] == [165, 482]
    bad = bytearray(frame)
    bad[60] ^= 0x01  # a ciphertext bit, no part of a CR LF
    keys = Keys(ek=bytes.fromhex(DK_EK), ak=bytes.fromhex(DK_AK))
    results = Decoder(keys, country="DK").feed(bytes(bad) + frame)
    assert [r.code if isinstance(r, Rejected) else "ok" for r in results] == [
        ErrorCode.CHECKSUM,
        "ok",
    ]
    assert readings(results)[0]["1-1:1.8.0"] == 63074980


def test_oss_captures_followed_by_a_frame_need_a_line_that_has_shown_the_translation() -> None:
    """Without an FCS, a frame is trusted in a stream only after a restored frame's FCS
    verified on that line; at the end of a capture (the vectors) as before."""
    data = raw(OSS_10S)
    alone = feed(data + raw(AIDON))
    assert [type(r) for r in readings(alone)] == [dict]  # the AIDON frame only
    proven = feed(translated(raw(AIDON)) + data + raw(AIDON))
    assert [r.get("1-1:0.2.129") for r in readings(proven)] == ["AIDON_V0001"] * 3


def test_garbage_with_line_ends_is_never_restored_wholesale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """64 KB of ``7E A0 20 0D 0A`` cost ~1.5 s: each failed candidate copied 4 KB and walked
    its CR LFs. Now a candidate is restored in full only once its header checks out."""
    calls: list[int] = []
    original = hdlc_module._cuts

    def counted(raw_bytes: bytes) -> list[int]:
        calls.append(len(raw_bytes))
        return original(raw_bytes)

    monkeypatch.setattr(hdlc_module, "_cuts", counted)
    decoder = Decoder(Keys(ek=bytes(16), ak=bytes(range(16))))
    chunk = b"\x7e\xa0\x20\x0d\x0a" * 820
    for _ in range(16):
        assert not [r for r in decoder.feed(chunk[:4096]) if isinstance(r, Message)]
    assert calls == []
    # A real translated frame is still restored (once), and decodes.
    assert len(readings(feed(translated(raw(AIDON))))) == 1
    assert calls


def test_line_ends_only_after_a_frame_do_not_make_it_a_translated_one() -> None:
    """A frame with a wrong FCS and a CR LF just behind it: nothing was translated inside."""
    frame = bytearray(hdlc(raw("amshan-kaifa-no-list-1")))
    assert b"\n" not in frame
    frame[-2] ^= 0x01  # the FCS
    framer = HdlcFramer()
    scan = framer.scan(bytes(frame) + b"\r\n", 0, final=True)
    assert scan.status is ScanStatus.REJECT
    assert scan.error is not None
    assert scan.error.code is ErrorCode.CHECKSUM
    assert framer.translating is False
