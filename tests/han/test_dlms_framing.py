"""HDLC / M-Bus framing, reassembly and robustness of the DLMS layer."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from han.crypto import gcm_seal
from han.decoder import Decoder
from han.dlms import (
    DlmsSession,
    HdlcFramer,
    MbusFramer,
    looks_like_apdu,
)
from han.dlms.axdr import ScalerUnit, decode as axdr_decode
from han.framing import Frame, FrameKind, ScanStatus
from han.model import (
    AuthenticationError,
    ChecksumError,
    HanError,
    Keys,
    MalformedError,
    Message,
    Rejected,
    TruncatedError,
    WrongKeyError,
)
from han.stream import StreamReader
from tests.common import hdlc, keys_of, raw, vectors_by_id

VECTORS = vectors_by_id("nordic", "dlms")


def summary(results: list[Message | Rejected]) -> list[Any]:
    out: list[Any] = []
    for r in results:
        if isinstance(r, Message):
            out.append(sorted((k, v.value, v.unit) for k, v in r.readings.items()))
        else:
            out.append(type(r.error).__name__)
    return out


def feed_all(decoder: Decoder, data: bytes, chunk: int) -> list[Message | Rejected]:
    out: list[Message | Rejected] = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
    out += decoder.feed(b"", final=True)
    return out


AIDON = "amsreader-aidon-gh1119-1"
KAIFA = "hassams-kaifa-hourly"
KAMSTRUP = "hassams-kamstrup"
KAIFA_LIST1 = "amshan-hdlc-frame-with-flag-sequence-character-in-info"


def test_one_byte_at_a_time_equals_all_at_once() -> None:
    stream = b"\x00garbage\x7e\x7e" + raw(AIDON) + b"\x13\x37" + raw(KAIFA) + raw(KAIFA_LIST1)
    whole = Decoder(Keys(), country="NO").decode_capture(stream)
    bytewise = feed_all(Decoder(Keys(), country="NO"), stream, 1)
    assert len(whole) == 3
    assert summary(whole) == summary(bytewise)
    for chunk in (2, 7, 64):
        assert summary(feed_all(Decoder(Keys(), country="NO"), stream, chunk)) == summary(whole)


def test_shared_flags_between_frames() -> None:
    frames = [raw(AIDON), raw(KAIFA), raw(KAMSTRUP)]
    stream = frames[0] + b"".join(f[1:] for f in frames[1:])  # 7E ... 7E ... 7E
    results = Decoder(Keys(), country="NO").decode_capture(stream)
    assert [type(r) for r in results] == [Message, Message, Message]


def test_bad_fcs_is_rejected_and_next_frame_survives() -> None:
    bad = bytearray(raw(KAIFA))
    bad[40] ^= 0x01
    results = Decoder(Keys(), country="NO").decode_capture(bytes(bad) + raw(AIDON))
    assert summary(results)[0] == "ChecksumError"
    assert isinstance(results[1], Message)
    assert results[1].readings["1-0:1.7.0"].value == 4027


def test_bad_hcs_and_bad_length_do_not_swallow_next_frame() -> None:
    for index in (2, 5, 6):  # length byte, control byte, HCS byte
        bad = bytearray(raw(KAIFA))
        bad[index] ^= 0x20
        results = Decoder(Keys(), country="NO").decode_capture(bytes(bad) + raw(AIDON))
        messages = [r for r in results if isinstance(r, Message)]
        assert len(messages) == 1
        assert messages[0].readings["1-0:1.7.0"].value == 4027


def test_half_frame_then_good_frame() -> None:
    half = raw(KAIFA)[:60]
    results = Decoder(Keys(), country="NO").decode_capture(half + raw(AIDON) + half)
    assert isinstance(results[0], Message)
    assert summary(results)[-1] == "TruncatedError"


def test_framer_statuses() -> None:
    framer = HdlcFramer()
    frame = raw(KAIFA)
    assert framer.scan(frame[:10], 0).status is ScanStatus.NEED_MORE
    assert framer.scan(frame[:10], 0, final=True).status is ScanStatus.REJECT
    assert framer.scan(b"\x7e\x7e\x7e", 0).status is ScanStatus.INVALID
    assert framer.scan(b"\x7e\x13\x2b\x00", 0).status is ScanStatus.INVALID
    scan = framer.scan(frame, 0)
    assert scan.status is ScanStatus.FRAME
    assert scan.frame is not None
    assert scan.end == len(frame) - 1  # the closing flag may open the next frame
    assert scan.frame.payload[:3] == b"\xe6\xe7\x00"


def test_hdlc_segments_are_reassembled() -> None:
    apdu = raw("amshan-aidon-no-list-2")  # LLC + data-notification
    parts = [apdu[:50], apdu[50:120], apdu[120:]]
    stream = hdlc(parts[0], segmented=True) + hdlc(parts[1], segmented=True) + hdlc(parts[2])
    results = Decoder(Keys(), country="NO").decode_capture(stream)
    assert len(results) == 1
    message = results[0]
    assert isinstance(message, Message)
    assert message.readings["1-0:32.7.0"].value == pytest.approx(227.4)
    assert message.size == len(stream)


def test_empty_information_field_yields_nothing() -> None:
    frame = raw("amshan-hdlc-empty-info")
    assert HdlcFramer().scan(frame, 0).status is ScanStatus.FRAME
    assert Decoder(Keys()).decode_capture(frame) == []


def test_mbus_segments_byte_by_byte_and_checksum() -> None:
    vid = "at-netznoe-kaifa-ma309-mbus-sc20"
    data = raw(vid)
    results = feed_all(Decoder(keys_of(VECTORS[vid]), country="AT"), data, 1)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    assert results[0].readings["1-0:1.8.0"].value == 12937
    bad = bytearray(data)
    bad[20] ^= 0x04
    results = Decoder(keys_of(VECTORS[vid]), country="AT").decode_capture(bytes(bad))
    assert "ChecksumError" in summary(results)
    assert not [r for r in results if isinstance(r, Message)]
    assert MbusFramer().scan(data[:100], 0, final=True).status is ScanStatus.REJECT


def test_mbus_out_of_sequence_segment() -> None:
    session = DlmsSession(Keys())
    with pytest.raises(MalformedError):
        session.push_frame(Frame(FrameKind.MBUS, b"\x01\x67\x0f", 10, control=0x11))


def test_gbt_blocks_across_frames_byte_by_byte() -> None:
    vid = "lg-e450-hdlc-gbt-sc30-a"
    results = feed_all(Decoder(keys_of(VECTORS[vid])), raw(vid), 1)
    assert len(results) == 1
    message = results[0]
    assert isinstance(message, Message)
    assert message.readings["1-0:1.8.0"].value == 4408736
    assert message.readings["1-0:1.8.0"].unit == "Wh"
    assert message.timestamp is not None


def test_llc_variants_and_looks_like_apdu() -> None:
    apdu = raw("amshan-aidon-no-list-1")
    session = DlmsSession(Keys())
    for data in (apdu, b"\xe6\xe6\x00" + apdu[3:], apdu[3:]):
        message = session.decode_apdu(data)
        assert message is not None
        assert message.readings["1-0:1.7.0"].value == 280
    assert looks_like_apdu(apdu)
    assert looks_like_apdu(b"\xdb\x08")
    assert looks_like_apdu(b"\xe0\x40")
    for data in (b"", b"\x7e\xa0", b"\x68\x10", b"/KFM5"):
        assert not looks_like_apdu(data)


def test_a_wrong_ek_is_an_authentication_failure() -> None:
    vid = "dk-kamstrup-omnipower-wrong-ek"
    results = Decoder(keys_of(VECTORS[vid]), country="DK").decode_capture(raw(vid))
    errors = [r.error for r in results if isinstance(r, Rejected)]
    assert isinstance(errors[0], AuthenticationError)
    assert "wrong EK or AK" in str(errors[0])


def test_encryption_only_wrong_key_and_missing_ak() -> None:
    plain = raw("at-salzburg-kaifa-raw-apdu-plain")
    title, counter = b"KFM\x10\x20\x02\x98\x02", b"\x00\x00\x00\x05"
    key = bytes(range(16))
    for sc in (0x20, 0x30):
        body = gcm_seal(sc, title, counter, plain, key, key)
        length = 5 + len(body)
        apdu = b"\xdb\x08" + title + b"\x82" + length.to_bytes(2) + bytes((sc,)) + counter + body
        keys = Keys(ek=key, ak=key) if sc == 0x30 else Keys(ek=key)
        message = DlmsSession(keys).decode_apdu(apdu)
        assert message is not None
        assert message.readings["1-0:1.7.0"].value == 714
        no_ak = DlmsSession(Keys(ek=key)).decode_apdu(apdu)
        assert no_ak is not None
        if sc == 0x30:
            assert no_ak.notes == ["tag_not_verified"]
        if sc == 0x20:
            # No tag to verify, so a configured AK refuses the frame (a downgrade otherwise).
            with pytest.raises(AuthenticationError):
                DlmsSession(Keys(ek=key, ak=key)).decode_apdu(apdu)
            with pytest.raises(WrongKeyError):
                DlmsSession(Keys(ek=bytes(16))).decode_apdu(apdu)
        else:
            with pytest.raises(AuthenticationError):
                DlmsSession(Keys(ek=bytes(16), ak=key)).decode_apdu(apdu)


def test_axdr_types() -> None:
    data = bytes.fromhex(
        "0210"
        "00"  # null
        "0301"  # boolean
        "040a"
        "ffc0"  # bit-string of 10 bits
        "05ffffffff"  # int32 -1
        "0f80"  # int8 -128
        "10fffe"  # int16 -2
        "11ff"  # uint8
        "12ffff"  # uint16
        "14ffffffffffffffff"  # int64 -1
        "15000000000000000a"  # uint64
        "1603"  # enum
        "173fc00000"  # float32 1.5
        "184004000000000000"  # float64 2.5
        "0c02c3a9"  # utf8
        "0d12"  # bcd
        "1302021112"  # compact array of {uint8, uint16}
        "06"
        "010203000004"
    )
    value, end = axdr_decode(data)
    assert end == len(data)
    assert value[0] is None
    assert value[1] is True
    assert value[2].bits == 10
    assert value[3:10] == (-1, -128, -2, 255, 65535, -1, 10)
    assert value[10] == 3
    assert value[11] == 1.5
    assert value[12] == 2.5
    assert value[13] == "é"
    assert value[14] == 0x12
    assert value[15] == [(1, 0x203), (0, 4)]
    assert axdr_decode(bytes.fromhex("02020fff1623"))[0] == ScalerUnit(-1, 35)
    with pytest.raises(TruncatedError):
        axdr_decode(bytes.fromhex("0203"))
    with pytest.raises(MalformedError):
        axdr_decode(bytes.fromhex("42"))


# -- properties -----------------------------------------------------------------------
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = [raw(AIDON), raw(KAIFA), raw(KAMSTRUP), raw("dk-kamstrup-omnipower-hdlc-sc30")]


@SETTINGS
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    decoder = Decoder(Keys(ek=bytes(16), ak=bytes(16)), country="NO")
    for i in range(0, len(data), chunk):
        decoder.feed(data[i : i + chunk])
    decoder.feed(b"", final=True)
    decoder.decode_capture(data)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_apdus_raise_only_han_errors(data: bytes) -> None:
    session = DlmsSession(Keys(ek=bytes(16), ak=bytes(16)), country="SE")
    for prefix in (b"", b"\x0f\x00\x00\x00\x01\x00", b"\xe6\xe7\x00\xdb\x08", b"\xe0\xc0\x00\x01"):
        with contextlib.suppress(HanError):
            session.decode_apdu(prefix + data)


@SETTINGS
@given(
    st.sampled_from(range(len(GOOD))),
    st.integers(min_value=1, max_value=10_000),
    st.integers(min_value=1, max_value=255),
)
def test_mutated_frame_never_yields_a_message(which: int, where: int, flip: int) -> None:
    frame = bytearray(GOOD[which])
    index = 1 + where % (len(frame) - 2)  # anything between the flags
    frame[index] ^= flip
    vid = "dk-kamstrup-omnipower-hdlc-sc30"
    decoder = Decoder(keys_of(VECTORS[vid]), country="NO")
    results = decoder.decode_capture(bytes(frame))
    assert not [r for r in results if isinstance(r, Message)]


@SETTINGS
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_tampered_ciphertext_with_fresh_fcs_fails_the_tag(where: int, flip: int) -> None:
    vid = "dk-kamstrup-omnipower-hdlc-sc30"
    frame = raw(vid)
    info = bytearray(frame[8:-3])  # after HCS, before FCS
    start = 3 + 2 + 8 + 3 + 1  # LLC, DB 08, system title, 82 01 D0, SC
    index = start + where % (len(info) - start)
    info[index] ^= flip
    rebuilt = hdlc(bytes(info))
    results = Decoder(keys_of(VECTORS[vid]), country="DK").decode_capture(rebuilt)
    assert not [r for r in results if isinstance(r, Message)]
    assert [type(r.error) for r in results if isinstance(r, Rejected)] == [AuthenticationError]


def test_checksum_error_class_on_vector() -> None:
    results = Decoder(Keys()).decode_capture(raw("hassams-neg-kamstrup-incorrect-pkg-crc"))
    assert isinstance(results[0], Rejected)
    assert isinstance(results[0].error, ChecksumError)


def test_stream_reader_with_only_dlms_framers() -> None:
    reader = StreamReader([HdlcFramer(), MbusFramer()])
    frames = reader.feed(raw(AIDON) + raw("at-tinetz-kaifa-example-mbus-sc21"), final=True)
    assert [f.kind for f in frames if isinstance(f, Frame)] == [FrameKind.HDLC]


def test_mbus_candidates_that_are_not_frames() -> None:
    data = raw("at-netznoe-kaifa-ma309-mbus-sc20")
    first = data[: data[1] + 6]
    framer = MbusFramer()
    assert framer.scan(first, 0).status is ScanStatus.FRAME
    assert framer.scan(first[:-1] + b"\x17", 0).status is ScanStatus.INVALID  # no stop byte
    # A cut-off frame followed by a whole (shorter) one: the cut one was noise.
    second = data[len(first) :]
    assert framer.scan(second, 0).status is ScanStatus.FRAME
    assert framer.scan(first[:30] + second, 0, final=True).status is ScanStatus.INVALID
    assert framer.scan(b"\x68\x05\x05", 0, final=True).status is ScanStatus.INVALID
