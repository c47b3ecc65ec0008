"""DlmsSession: HDLC / M-Bus / general-block-transfer reassembly and glo-ciphering variants.

Real frames from the fixtures, and variants derived from them: re-split into segments or
blocks, re-sealed with another security control byte, truncated or tampered with.
"""

from __future__ import annotations

from typing import Any

import pytest

from han.crypto import gcm_seal
from han.decoder import Decoder
from han.dlms import DlmsSession, HdlcFramer, MbusFramer
from han.dlms.apdu import strip_llc
from han.dlms.session import MAX_MESSAGE, MAX_PIECES
from han.framing import Frame, FrameKind
from han.model import (
    AuthenticationError,
    ErrorCode,
    Keys,
    MalformedError,
    Message,
    NoKeyError,
    Rejected,
    Security,
    TruncatedError,
    UnknownLayoutError,
    UnsupportedError,
    WrongKeyError,
)
from han.stream import StreamReader
from hanport_dev.simulator.frames import ber_length
from tests.common import DK_PLAIN, DK_TITLE, hdlc, raw, vectors_by_id

VECTORS = vectors_by_id("nordic", "dlms")


def key(vid: str, name: str) -> bytes:
    return bytes.fromhex(VECTORS[vid]["keys"][name])


# -- real frames ----------------------------------------------------------------------
LLC = b"\xe6\xe7\x00"
KAIFA_LIST1 = raw("amshan-kaifa-no-list-1")  # LLC + plain data-notification, 1-0:1.7.0 only
KAIFA_LIST3 = raw("amshan-kaifa-no-list-3")  # LLC + plain data-notification, 18 readings
SALZBURG = raw("at-salzburg-kaifa-raw-apdu-plain")  # plain data-notification, no LLC

DK_ID = "dk-kamstrup-omnipower-hdlc-sc30"
DK = raw(DK_ID)
DK_APDU = DK[11:-3]  # after 7E A1E9 41 03 13 HCS and the LLC; before FCS and flag
DK_FC = DK_APDU[14:18]
DK_EK = key(DK_ID, "ek")
DK_AK = key(DK_ID, "ak")

GBT_ID = "lg-e450-hdlc-gbt-sc30-a"
MBUS_ID = "at-netznoe-kaifa-ma309-mbus-sc20"
KFM_TITLE = b"KFM\x10\x20\x02\x98\x02"
OTHER_KEY = bytes(range(16))


def frames_of(data: bytes, kind: FrameKind) -> list[Frame]:
    framer = HdlcFramer() if kind is FrameKind.HDLC else MbusFramer()
    items = StreamReader([framer]).feed(data, final=True)
    assert all(isinstance(item, Frame) for item in items), items
    return [item for item in items if isinstance(item, Frame)]


def mbus(ci: int, user: bytes) -> bytes:
    """A valid wired M-Bus long frame (C 0x53, A 0xFF) with CI ``ci``."""
    data = bytes((0x53, 0xFF, ci)) + user
    return bytes((0x68, len(data), len(data), 0x68)) + data + bytes((sum(data) & 0xFF, 0x16))


def gbt(number: int, data: bytes, *, last: bool) -> bytes:
    """A general-block-transfer block (streaming bit set like the E450 sends)."""
    control = (0x80 if last else 0x00) | 0x40
    return bytes((0xE0, control)) + number.to_bytes(2) + b"\x00\x00" + ber_length(len(data)) + data


def glo(
    sc: int,
    plain: bytes,
    *,
    title: bytes = DK_TITLE,
    iv_title: bytes | None = None,
    fc: bytes = DK_FC,
    ek: bytes = DK_EK,
    ak: bytes = DK_AK,
) -> bytes:
    """A general-glo-ciphering APDU as a meter builds it."""
    body = gcm_seal(sc, iv_title or title, fc, plain, ek, ak)
    content = bytes((sc,)) + fc + body
    return b"\xdb" + bytes((len(title),)) + title + ber_length(len(content)) + content


def values(message: Message | None) -> dict[str, Any]:
    assert message is not None
    return {obis: reading.value for obis, reading in message.readings.items()}


def no_list(data: bytes) -> Message:
    message = DlmsSession(Keys(), country="NO").decode_apdu(data)
    assert message is not None
    return message


KAIFA_LIST3_VALUES = values(no_list(KAIFA_LIST3))


def test_reference_values() -> None:
    """The values the derived cases below are compared with."""
    assert KAIFA_LIST3_VALUES["1-0:1.7.0"] == 4904
    assert KAIFA_LIST3_VALUES["1-0:32.7.0"] == pytest.approx(219.3)
    assert KAIFA_LIST3_VALUES["0-0:96.1.0"] == "6970631402614476"
    assert len(KAIFA_LIST3_VALUES) == 18
    assert glo(0x30, DK_PLAIN) == DK_APDU  # the builder reproduces the real APDU


def check_dk(message: Message | None, *, notes: list[str]) -> None:
    assert message is not None
    got = values(message)
    assert got["1-1:1.7.0"] == 1083
    assert got["1-1:32.7.0"] == 222
    assert got["1-1:31.7.0"] == pytest.approx(0.57)
    assert len(got) == 33
    assert message.meter.list_id == "Kamstrup_V0001"
    assert message.meter.manufacturer == "Kamstrup"
    assert message.timestamp is not None
    assert message.timestamp.isoformat() == "2026-03-12T15:24:30"  # no deviation given
    assert message.notes == notes


# -- entry points ---------------------------------------------------------------------
def test_decode_apdu_with_and_without_llc() -> None:
    session = DlmsSession(Keys(), country="NO")
    for data in (KAIFA_LIST1, KAIFA_LIST1[3:], b"\xe6\xe6\x00" + KAIFA_LIST1[3:]):
        message = session.decode_apdu(data)
        assert values(message) == {"1-0:1.7.0": 5852}
        assert message is not None
        assert message.size == len(data)
        assert message.format == "dlms"


def test_push_frame_apdu_kind() -> None:
    session = DlmsSession(Keys(), country="NO")
    message = session.push_frame(Frame(FrameKind.APDU, KAIFA_LIST3, 1234))
    assert values(message) == KAIFA_LIST3_VALUES
    assert message is not None
    assert message.size == 1234


@pytest.mark.parametrize("kind", [FrameKind.P1, FrameKind.P1_STOEN, FrameKind.DSMR_GCM])
def test_push_frame_rejects_non_dlms_kinds(kind: FrameKind) -> None:
    with pytest.raises(UnsupportedError) as err:
        DlmsSession(Keys()).push_frame(Frame(kind, b"/KFM5\r\n", 7))
    assert err.value.code is ErrorCode.UNSUPPORTED


@pytest.mark.parametrize("data", [b"", LLC, b"\xe6\xe6\x00"])
def test_empty_apdu_is_truncated(data: bytes) -> None:
    with pytest.raises(TruncatedError):
        DlmsSession(Keys()).decode_apdu(data)


@pytest.mark.parametrize("tag", [0x01, 0x06, 0xC0, 0xC2, 0xC4, 0xDC, 0xE1, 0xFF])
def test_other_apdu_types_are_unsupported(tag: int) -> None:
    with pytest.raises(UnsupportedError) as err:
        DlmsSession(Keys()).decode_apdu(LLC + bytes((tag,)) + KAIFA_LIST1[4:])
    assert f"0x{tag:02X}" in str(err.value)


def test_truncated_notification_is_rejected() -> None:
    session = DlmsSession(Keys(), country="NO")
    for cut in range(len(KAIFA_LIST1) - 1, 3, -1):
        with pytest.raises((TruncatedError, MalformedError)):
            session.decode_apdu(KAIFA_LIST1[:cut])
    assert values(session.decode_apdu(KAIFA_LIST1)) == {"1-0:1.7.0": 5852}


# -- HDLC segmentation ----------------------------------------------------------------
def split3(data: bytes) -> tuple[bytes, bytes, bytes]:
    third = len(data) // 3
    return data[:third], data[third : 2 * third], data[2 * third :]


def test_segmented_hdlc_is_reassembled() -> None:
    first, second, last = split3(KAIFA_LIST3)
    wires = [hdlc(first, segmented=True), hdlc(second, segmented=True), hdlc(last)]
    results = Decoder(Keys(), country="NO").feed(b"".join(wires))
    assert len(results) == 1
    message = results[0]
    assert isinstance(message, Message)
    assert values(message) == KAIFA_LIST3_VALUES
    assert message.size == sum(map(len, wires))
    # The same frames one by one through a session.
    session = DlmsSession(Keys(), country="NO")
    outs = [session.push_frame(f) for w in wires for f in frames_of(w, FrameKind.HDLC)]
    assert outs[:2] == [None, None]
    assert values(outs[2]) == KAIFA_LIST3_VALUES


def test_hdlc_frame_without_information_yields_nothing() -> None:
    session = DlmsSession(Keys(), country="NO")
    (empty,) = frames_of(raw("amshan-hdlc-empty-info"), FrameKind.HDLC)
    assert empty.payload == b""
    assert session.push_frame(empty) is None
    assert Decoder(Keys()).feed(raw("amshan-hdlc-empty-info"), final=True) == []
    # Nothing was kept: the next frame decodes on its own.
    (frame,) = frames_of(hdlc(KAIFA_LIST1), FrameKind.HDLC)
    assert values(session.push_frame(frame)) == {"1-0:1.7.0": 5852}


def test_reset_forgets_hdlc_segments() -> None:
    first, second, last = split3(KAIFA_LIST3)
    assert last[0] not in (0xE6, 0x0F, 0xDB, 0xE0)  # the tail alone is not an APDU
    frames = [
        *frames_of(hdlc(first, segmented=True), FrameKind.HDLC),
        *frames_of(hdlc(second, segmented=True), FrameKind.HDLC),
        *frames_of(hdlc(last), FrameKind.HDLC),
    ]
    session = DlmsSession(Keys(), country="NO")
    assert session.push_frame(frames[0]) is None
    assert session.push_frame(frames[1]) is None
    session.reset()
    with pytest.raises(UnsupportedError):
        session.push_frame(frames[2])
    # Without the reset the same frames make the message.
    for frame in frames[:2]:
        assert session.push_frame(frame) is None
    assert values(session.push_frame(frames[2])) == KAIFA_LIST3_VALUES


def test_segmented_hdlc_message_size_limit() -> None:
    chunk = 1024
    segment = Frame(FrameKind.HDLC, bytes(chunk), chunk + 12, segmented=True)
    session = DlmsSession(Keys(), country="NO")
    for _ in range(MAX_MESSAGE // chunk):
        assert session.push_frame(segment) is None  # exactly MAX_MESSAGE is still accepted
    with pytest.raises(MalformedError):
        session.push_frame(segment)
    # The oversized message was dropped, not kept: a complete frame decodes on its own.
    final = Frame(FrameKind.HDLC, KAIFA_LIST1, len(KAIFA_LIST1) + 12)
    message = session.push_frame(final)
    assert values(message) == {"1-0:1.7.0": 5852}
    assert message is not None
    assert message.size == len(KAIFA_LIST1) + 12


# -- M-Bus segmentation ---------------------------------------------------------------
MBUS_FRAMES = frames_of(raw(MBUS_ID), FrameKind.MBUS)
MBUS_KEYS = Keys(ek=key(MBUS_ID, "ek"))


def test_mbus_two_frame_vector() -> None:
    assert [f.control for f in MBUS_FRAMES] == [0x00, 0x11]
    session = DlmsSession(MBUS_KEYS, country="AT")
    assert session.push_frame(MBUS_FRAMES[0]) is None
    message = session.push_frame(MBUS_FRAMES[1])
    got = values(message)
    assert got["1-0:1.8.0"] == 12937
    assert got["1-0:32.7.0"] == pytest.approx(233.7)
    assert got["0-0:96.1.0"] == "181220000009"
    assert message is not None
    assert message.size == len(raw(MBUS_ID)) == 282
    assert message.notes == []


def test_mbus_reset_and_out_of_sequence() -> None:
    session = DlmsSession(MBUS_KEYS, country="AT")
    with pytest.raises(MalformedError):
        session.push_frame(MBUS_FRAMES[1])  # last segment without the first
    assert session.push_frame(MBUS_FRAMES[0]) is None
    session.reset()
    with pytest.raises(MalformedError):
        session.push_frame(MBUS_FRAMES[1])
    # A first segment always starts over, even when one is pending.
    assert session.push_frame(MBUS_FRAMES[0]) is None
    assert session.push_frame(MBUS_FRAMES[0]) is None
    assert values(session.push_frame(MBUS_FRAMES[1]))["1-0:1.8.0"] == 12937


def test_mbus_single_and_three_segment_messages() -> None:
    apdu = KAIFA_LIST3[3:]
    single = mbus(0x10, b"\x01\x67" + KAIFA_LIST3)
    results = Decoder(Keys(), country="NO").feed(single)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    assert values(results[0]) == KAIFA_LIST3_VALUES
    assert results[0].size == len(single)
    parts = split3(apdu)
    wires = [
        mbus(ci, b"\x01\x67" + part) for ci, part in zip((0x00, 0x01, 0x12), parts, strict=True)
    ]
    session = DlmsSession(Keys(), country="NO")
    outs = [session.push_frame(f) for w in wires for f in frames_of(w, FrameKind.MBUS)]
    assert outs[:2] == [None, None]
    assert values(outs[2]) == KAIFA_LIST3_VALUES
    assert outs[2] is not None
    assert outs[2].size == sum(map(len, wires))


def test_mbus_skipped_segment_drops_the_message() -> None:
    parts = split3(KAIFA_LIST3)
    frames = [
        frames_of(mbus(ci, b"\x01\x67" + part), FrameKind.MBUS)[0]
        for ci, part in zip((0x00, 0x01, 0x12), parts, strict=True)
    ]
    session = DlmsSession(Keys(), country="NO")
    assert session.push_frame(frames[0]) is None
    with pytest.raises(MalformedError):
        session.push_frame(frames[2])  # segment 2 after segment 0
    with pytest.raises(MalformedError):
        session.push_frame(frames[1])  # the partial message is gone
    assert [session.push_frame(f) for f in frames[:2]] == [None, None]
    assert values(session.push_frame(frames[2])) == KAIFA_LIST3_VALUES


@pytest.mark.parametrize("ci", [0x20, 0x51, 0x72, 0x7A, 0xFF])
def test_mbus_ci_outside_dlms_transport(ci: int) -> None:
    with pytest.raises(UnsupportedError) as err:
        DlmsSession(Keys()).push_frame(
            Frame(FrameKind.MBUS, b"\x01\x67" + KAIFA_LIST1, 40, control=ci)
        )
    assert f"0x{ci:02X}" in str(err.value)


@pytest.mark.parametrize("payload", [b"", b"\x01"])
def test_mbus_segment_without_transport_header(payload: bytes) -> None:
    (frame,) = frames_of(mbus(0x10, payload), FrameKind.MBUS)
    with pytest.raises(TruncatedError):
        DlmsSession(Keys()).push_frame(frame)


def test_mbus_transport_header_only_is_an_empty_apdu() -> None:
    (frame,) = frames_of(mbus(0x10, b"\x01\x67"), FrameKind.MBUS)
    with pytest.raises(TruncatedError):
        DlmsSession(Keys()).push_frame(frame)


def test_mbus_message_size_limit() -> None:
    chunk = 2000
    session = DlmsSession(Keys(), country="NO")
    count = MAX_MESSAGE // chunk
    for sequence in range(count):
        frame = Frame(FrameKind.MBUS, b"\x01\x67" + bytes(chunk), chunk + 8, control=sequence)
        assert session.push_frame(frame) is None
    over = Frame(FrameKind.MBUS, b"\x01\x67" + bytes(chunk), chunk + 8, control=count)
    with pytest.raises(MalformedError):
        session.push_frame(over)
    nxt = Frame(FrameKind.MBUS, b"\x01\x67" + bytes(chunk), chunk + 8, control=count + 1)
    with pytest.raises(MalformedError):
        session.push_frame(nxt)  # nothing pending any more
    single = Frame(FrameKind.MBUS, b"\x01\x67" + KAIFA_LIST1, 40, control=0x10)
    assert values(session.push_frame(single)) == {"1-0:1.7.0": 5852}


# -- general-block-transfer -----------------------------------------------------------
GBT_FRAMES = frames_of(raw(GBT_ID), FrameKind.HDLC)
GBT_KEYS = Keys(ek=key(GBT_ID, "ek"), ak=key(GBT_ID, "ak"))


def check_e450(message: Message | None) -> None:
    got = values(message)
    assert got["1-0:1.8.0"] == 4408736
    assert got["1-0:1.8.1"] == 3593919
    assert got["1-0:1.7.0"] == 2893
    assert message is not None
    assert message.size == len(raw(GBT_ID))
    assert message.notes == []


def test_gbt_vector_over_three_hdlc_frames() -> None:
    assert len(GBT_FRAMES) == 3
    assert not any(f.segmented for f in GBT_FRAMES)
    session = DlmsSession(GBT_KEYS)
    assert session.push_frame(GBT_FRAMES[0]) is None
    assert session.push_frame(GBT_FRAMES[1]) is None
    check_e450(session.push_frame(GBT_FRAMES[2]))


def test_gbt_plain_vector_through_decoder() -> None:
    results = Decoder(Keys(), country="CH").decode_capture(raw("amsreader-landis-gyr-gh740"))
    assert len(results) == 1
    got = values(results[0] if isinstance(results[0], Message) else None)
    assert got["1-0:1.7.0"] == 362
    assert got["1-0:31.7.0"] == pytest.approx(0.51)
    assert got["0-0:96.1.0"] == "63326413"


def test_gbt_block_missing_or_out_of_order() -> None:
    first, second, last = GBT_FRAMES
    session = DlmsSession(GBT_KEYS)
    with pytest.raises(MalformedError):
        session.push_frame(second)  # no block 1
    assert session.push_frame(first) is None
    with pytest.raises(MalformedError):
        session.push_frame(last)  # block 3 after block 1
    with pytest.raises(MalformedError):
        session.push_frame(second)  # the partial message was dropped
    assert session.push_frame(first) is None
    assert session.push_frame(second) is None
    with pytest.raises(MalformedError):
        session.push_frame(second)  # block 2 twice
    # A block 1 always starts over.
    for frame in (first, second, first, second):
        assert session.push_frame(frame) is None
    check_e450(session.push_frame(last))


def test_gbt_reset() -> None:
    session = DlmsSession(GBT_KEYS)
    assert session.push_frame(GBT_FRAMES[0]) is None
    assert session.push_frame(GBT_FRAMES[1]) is None
    session.reset()
    with pytest.raises(MalformedError):
        session.push_frame(GBT_FRAMES[2])
    for frame in GBT_FRAMES[:2]:
        assert session.push_frame(frame) is None
    check_e450(session.push_frame(GBT_FRAMES[2]))


def test_gbt_blocks_of_a_plain_notification() -> None:
    parts = split3(KAIFA_LIST3[3:])
    blocks = [
        LLC + gbt(1, parts[0], last=False),
        gbt(2, parts[1], last=False),
        gbt(3, parts[2], last=True),
    ]
    session = DlmsSession(Keys(), country="NO")
    assert session.decode_apdu(blocks[0]) is None
    assert session.decode_apdu(blocks[1]) is None
    message = session.decode_apdu(blocks[2])
    assert values(message) == KAIFA_LIST3_VALUES
    assert message is not None
    assert message.size == sum(map(len, blocks))
    # One block that is first and last at once.
    assert values(session.decode_apdu(gbt(1, KAIFA_LIST3, last=True))) == KAIFA_LIST3_VALUES


def test_gbt_truncated_block() -> None:
    block = gbt(1, KAIFA_LIST1[3:], last=True)
    session = DlmsSession(Keys(), country="NO")
    for cut in range(1, len(block)):
        with pytest.raises(TruncatedError):
            session.decode_apdu(block[:cut])
    assert values(session.decode_apdu(block)) == {"1-0:1.7.0": 5852}


def test_gbt_nested_block_is_malformed() -> None:
    inner = gbt(1, KAIFA_LIST1[3:], last=True)
    with pytest.raises(MalformedError):
        DlmsSession(Keys()).decode_apdu(gbt(1, inner, last=True))


def test_gbt_nested_behind_llc_is_malformed_not_a_recursion() -> None:
    inner = gbt(1, KAIFA_LIST1[3:], last=True)
    with pytest.raises(MalformedError):
        DlmsSession(Keys()).decode_apdu(gbt(1, b"\xe6\xe7\x00" + inner, last=True))
    # Hundreds of levels, under the message size limit: a clean rejection, no RecursionError.
    data = KAIFA_LIST1[3:]
    for _ in range(500):
        data = b"\xe6\xe7\x00" + gbt(1, data, last=True)
    rejected = Decoder(Keys()).decode_frame(Frame(FrameKind.APDU, data, len(data)))
    assert isinstance(rejected, Rejected)
    assert rejected.code is ErrorCode.MALFORMED


def test_keys_of_the_wrong_length_are_a_wrong_key() -> None:
    for keys in (
        Keys(ek=DK_EK[:15]),
        Keys(ek=DK_EK[:15], ak=DK_AK),
        Keys(ek=DK_EK, ak=DK_AK + b"\x00"),
    ):
        with pytest.raises(WrongKeyError) as err:
            dk_session(keys).decode_apdu(DK_APDU)
        assert "16 bytes" in str(err.value)


def test_body_shorter_than_the_tag_is_truncated_with_or_without_ak() -> None:
    apdu = b"\xdb\x08" + DK_TITLE + b"\x0a\x30" + DK_FC + b"\x01" * 5
    for keys in (Keys(ek=DK_EK), Keys(ek=DK_EK, ak=DK_AK)):
        with pytest.raises(TruncatedError):
            dk_session(keys).decode_apdu(apdu)


def test_gbt_empty_message_is_truncated() -> None:
    with pytest.raises(TruncatedError):
        DlmsSession(Keys()).decode_apdu(gbt(1, b"", last=True))


def test_gbt_message_size_limit() -> None:
    chunk = 2000
    session = DlmsSession(Keys(), country="NO")
    count = MAX_MESSAGE // chunk
    for number in range(1, count + 1):
        assert session.decode_apdu(gbt(number, bytes(chunk), last=False)) is None
    with pytest.raises(MalformedError):
        session.decode_apdu(gbt(count + 1, bytes(chunk), last=False))
    with pytest.raises(MalformedError):
        session.decode_apdu(gbt(count + 2, KAIFA_LIST1, last=True))  # nothing pending
    assert values(session.decode_apdu(gbt(1, KAIFA_LIST1, last=True))) == {"1-0:1.7.0": 5852}


# -- general-glo-ciphering ------------------------------------------------------------
def dk_session(keys: Keys) -> DlmsSession:
    return DlmsSession(keys, country="DK")


def test_sc30_with_both_keys() -> None:
    check_dk(dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(DK_APDU), notes=[])
    results = Decoder(Keys(ek=DK_EK, ak=DK_AK), country="DK").decode_capture(DK)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    check_dk(results[0], notes=[])
    assert results[0].size == len(DK)


def test_sc30_without_ak_decrypts_unverified() -> None:
    check_dk(dk_session(Keys(ek=DK_EK)).decode_apdu(DK_APDU), notes=["tag_not_verified"])
    # Without an AK the tag is not checked, so a damaged tag still decodes (with the note).
    bad_tag = DK_APDU[:-1] + bytes((DK_APDU[-1] ^ 0x01,))
    check_dk(dk_session(Keys(ek=DK_EK)).decode_apdu(bad_tag), notes=["tag_not_verified"])
    with pytest.raises(AuthenticationError):
        dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(bad_tag)


def test_sc30_without_ak_and_wrong_ek() -> None:
    with pytest.raises(WrongKeyError) as err:
        dk_session(Keys(ek=OTHER_KEY)).decode_apdu(DK_APDU)
    assert err.value.code is ErrorCode.WRONG_KEY


@pytest.mark.parametrize("sc", [0x30, 0x31, 0x20, 0x21])
def test_encrypted_without_ek(sc: int) -> None:
    apdu = glo(sc, DK_PLAIN)
    for keys in (Keys(), Keys(ak=DK_AK)):
        with pytest.raises(NoKeyError) as err:
            dk_session(keys).decode_apdu(apdu)
        assert err.value.code is ErrorCode.NO_KEY


def test_sc30_wrong_ak_is_an_authentication_failure() -> None:
    with pytest.raises(AuthenticationError) as err:
        dk_session(Keys(ek=DK_EK, ak=bytes(16))).decode_apdu(DK_APDU)
    assert err.value.code is ErrorCode.AUTH_FAILED
    assert "only with EK and AK swapped" not in str(err.value)
    with pytest.raises(AuthenticationError) as err:
        dk_session(Keys(ek=OTHER_KEY, ak=DK_AK)).decode_apdu(DK_APDU)
    assert "only with EK and AK swapped" not in str(err.value)


def test_sc30_swapped_keys_decode_and_say_so() -> None:
    check_dk(dk_session(Keys(ek=DK_AK, ak=DK_EK)).decode_apdu(DK_APDU), notes=["keys_swapped"])
    results = Decoder(Keys(ek=DK_AK, ak=DK_EK), country="DK").decode_capture(DK)
    assert not [r for r in results if isinstance(r, Rejected)]
    # Swapping cannot rescue a key that is wrong.
    with pytest.raises(AuthenticationError) as err:
        dk_session(Keys(ek=DK_AK, ak=OTHER_KEY)).decode_apdu(DK_APDU)
    assert "wrong EK or AK" in str(err.value)


def test_sc30_truncated_tag_with_ak() -> None:
    apdu = b"\xdb\x08" + DK_TITLE + b"\x10\x30" + DK_FC + DK_APDU[18:29]  # 11-byte body
    with pytest.raises(TruncatedError):
        dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(apdu)


def test_sc30_declared_length_past_the_end() -> None:
    with pytest.raises(TruncatedError):
        dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(DK_APDU[:-1])
    rejected = Decoder(Keys(ek=DK_EK, ak=DK_AK)).decode_frame(
        Frame(FrameKind.APDU, DK_APDU[:-1], 1)
    )
    assert isinstance(rejected, Rejected)
    assert rejected.code is ErrorCode.TRUNCATED


def test_sc30_verified_plaintext_that_is_not_a_notification() -> None:
    get_response = bytes.fromhex("c401c1000906000001000000ff")
    for plain in (get_response, b""):
        with pytest.raises(UnsupportedError):
            dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(glo(0x30, plain))


def test_sc30_verified_plaintext_need_not_fill_the_apdu() -> None:
    """A tag vouches for the bytes: trailing bytes after the body are tolerated."""
    apdu = glo(0x30, DK_PLAIN + b"\x00\x00")
    check_dk(dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(apdu), notes=[])


@pytest.mark.parametrize("sc", [0x20, 0x21])
def test_encryption_only(sc: int) -> None:
    apdu = glo(sc, DK_PLAIN)
    message = dk_session(Keys(ek=DK_EK)).decode_apdu(apdu)
    check_dk(message, notes=[])
    assert message is not None
    assert message.security == Security(DK_TITLE.hex().upper(), 0x010F60A4, authenticated=False)
    with pytest.raises(WrongKeyError):
        dk_session(Keys(ek=OTHER_KEY)).decode_apdu(apdu)


@pytest.mark.parametrize("sc", [0x20, 0x21])
def test_encryption_only_is_refused_when_an_ak_is_configured(sc: int) -> None:
    """A tag stripped (SC 0x30 -> 0x20) is a downgrade: with an AK, only a verified tag counts."""
    apdu = glo(sc, DK_PLAIN)
    for keys in (
        Keys(ek=DK_EK, ak=DK_AK),
        Keys(ek=DK_EK, ak=OTHER_KEY),
        Keys(ek=DK_AK, ak=DK_EK),
        Keys(ek=OTHER_KEY, ak=DK_AK),
    ):
        with pytest.raises(AuthenticationError) as err:
            dk_session(keys).decode_apdu(apdu)
        assert err.value.code is ErrorCode.AUTH_FAILED
        assert "authentication key (AK) is configured" in str(err.value)


def test_downgraded_danish_frame_with_a_flipped_bit_is_refused() -> None:
    """The reproduction of issue 10 item 4: 63,075 kWh became 10,800,493 kWh."""
    apdu = bytearray(glo(0x20, DK_PLAIN))
    # 1-1:1.8.0 is "06 00603EAA" (6,307,498 x 10 Wh); flip one bit of its second byte.
    energy_at = len(apdu) - len(DK_PLAIN) + DK_PLAIN.index(bytes.fromhex("0101010800ff")) + 8
    apdu[energy_at] ^= 0x40  # CTR: the same bit of the plaintext flips
    honest = dk_session(Keys(ek=DK_EK)).decode_apdu(glo(0x20, DK_PLAIN))
    forged = dk_session(Keys(ek=DK_EK)).decode_apdu(bytes(apdu))
    assert honest is not None
    assert forged is not None  # without an AK nothing can tell (the value is wrong)
    assert honest.readings["1-1:1.8.0"].value == 63074980
    assert forged.readings["1-1:1.8.0"].value == 0x20_3EAA * 10
    results = Decoder(Keys(ek=DK_EK, ak=DK_AK), country="DK").decode_capture(
        hdlc(LLC + bytes(apdu))
    )
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.AUTH_FAILED]
    assert not [r for r in results if isinstance(r, Message)]


def test_encryption_only_plaintext_must_parse_completely() -> None:
    for plain in (DK_PLAIN + b"\x00", DK_PLAIN[:-1], b"\xc4\x01\xc1\x00\x00", b""):
        with pytest.raises(WrongKeyError):
            dk_session(Keys(ek=DK_EK)).decode_apdu(glo(0x20, plain))


def test_encryption_only_vector_sc21() -> None:
    vid = "at-tinetz-kaifa-example-mbus-sc21"
    frames = frames_of(raw(vid), FrameKind.MBUS)
    session = DlmsSession(Keys(ek=key(vid, "ek")), country="AT")
    assert session.push_frame(frames[0]) is None
    message = session.push_frame(frames[1])
    got = values(message)
    assert got["1-0:32.7.0"] == pytest.approx(230.8)
    assert got["1-0:1.8.0"] == 9108
    assert got["1-0:3.8.0"] == 96
    assert got["0-0:96.1.0"] == "1KFM0100000035"


def test_authentication_only() -> None:
    apdu = glo(0x10, DK_PLAIN)
    assert DK_PLAIN in apdu  # sent in clear, followed by the tag
    message = dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(apdu)
    check_dk(message, notes=[])
    assert message is not None
    assert message.security is not None
    assert message.security.authenticated
    tampered = bytearray(apdu)
    tampered[apdu.index(DK_PLAIN) + 40] ^= 0x01
    with pytest.raises(AuthenticationError):
        dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(bytes(tampered))
    check_dk(dk_session(Keys(ek=DK_AK, ak=DK_EK)).decode_apdu(apdu), notes=["keys_swapped"])
    # Without both keys the tag cannot be checked; the data is in clear and must parse.
    for keys in (Keys(), Keys(ek=DK_EK)):
        check_dk(dk_session(keys).decode_apdu(apdu), notes=["tag_not_verified"])
    with pytest.raises(WrongKeyError):
        dk_session(Keys()).decode_apdu(glo(0x10, DK_PLAIN + b"\x00"))
    # An AK without the EK cannot check the tag: refused, not shown unverified.
    with pytest.raises(AuthenticationError):
        dk_session(Keys(ak=DK_AK)).decode_apdu(apdu)
    # A profile that encrypts does not take data nobody can vouch for.
    with pytest.raises(AuthenticationError):
        DlmsSession(Keys(ek=DK_EK), require_encryption=True).decode_apdu(apdu)
    verified = DlmsSession(Keys(ek=DK_EK, ak=DK_AK), require_encryption=True).decode_apdu(apdu)
    check_dk(verified, notes=[])


def test_no_security() -> None:
    apdu = glo(0x00, DK_PLAIN)
    assert apdu.endswith(DK_PLAIN)
    message = dk_session(Keys(ek=OTHER_KEY)).decode_apdu(apdu)
    check_dk(message, notes=[])
    assert message is not None
    assert message.security is not None
    assert not message.security.authenticated
    check_dk(dk_session(Keys()).decode_apdu(apdu), notes=[])
    for plain in (b"\xc4\x01\xc1\x00\x00", b""):
        with pytest.raises(UnsupportedError):
            dk_session(Keys()).decode_apdu(glo(0x00, plain))
    # SC 0x00 is data in clear: refused with an AK, and when the profile encrypts.
    for session in (
        dk_session(Keys(ek=OTHER_KEY, ak=OTHER_KEY)),
        DlmsSession(Keys(ek=DK_EK), require_encryption=True),
    ):
        with pytest.raises(AuthenticationError):
            session.decode_apdu(apdu)


def test_plain_notification_is_refused_with_an_ak_or_when_the_profile_encrypts() -> None:
    assert no_list(KAIFA_LIST3).security is None
    for session in (
        DlmsSession(Keys(ak=DK_AK)),
        DlmsSession(Keys(ek=DK_EK, ak=DK_AK)),
        DlmsSession(Keys(), require_encryption=True),
    ):
        with pytest.raises(AuthenticationError) as err:
            session.decode_apdu(KAIFA_LIST3)
        assert err.value.code is ErrorCode.AUTH_FAILED
    # The same inside general-block-transfer blocks and HDLC frames.
    with pytest.raises(AuthenticationError):
        DlmsSession(Keys(), require_encryption=True).decode_apdu(gbt(1, KAIFA_LIST1, last=True))
    results = Decoder(Keys(), require_encryption=True).feed(hdlc(KAIFA_LIST3))
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.AUTH_FAILED]


def test_ciphered_messages_say_how_they_were_protected() -> None:
    message = dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(DK_APDU)
    assert message is not None
    assert message.security == Security(DK_TITLE.hex().upper(), 0x010F60A4, authenticated=True)
    unverified = dk_session(Keys(ek=DK_EK)).decode_apdu(DK_APDU)
    assert unverified is not None
    assert unverified.security == Security(DK_TITLE.hex().upper(), 0x010F60A4, authenticated=False)
    short = glo(0x30, DK_PLAIN, title=b"KAME", iv_title=bytes(8))
    untitled = dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(short)
    assert untitled is not None
    assert untitled.security == Security(None, 0x010F60A4, authenticated=True)


@pytest.mark.parametrize("sc", [0x80, 0x90, 0xA0, 0xB0])
def test_compressed_is_unsupported(sc: int) -> None:
    apdu = b"\xdb\x08" + DK_TITLE + DK_APDU[10:13] + bytes((sc,)) + DK_APDU[14:]
    for keys in (Keys(), Keys(ek=DK_EK, ak=DK_AK)):
        with pytest.raises(UnsupportedError) as err:
            dk_session(keys).decode_apdu(apdu)
        assert err.value.code is ErrorCode.UNSUPPORTED


def test_maker_comes_from_the_system_title() -> None:
    plain = no_list(SALZBURG)
    assert plain.meter.manufacturer is None
    message = DlmsSession(Keys(ek=OTHER_KEY, ak=OTHER_KEY), country="AT").decode_apdu(
        glo(0x30, SALZBURG, title=KFM_TITLE, ek=OTHER_KEY, ak=OTHER_KEY)
    )
    assert message is not None
    assert message.meter.manufacturer == "Kaifa"
    assert values(message) == values(plain)
    assert message.readings["1-0:1.7.0"].value == 714


@pytest.mark.parametrize("title", [b"", b"KAME"])
def test_short_system_title_uses_the_configured_one(title: bytes) -> None:
    apdu = glo(0x30, DK_PLAIN, title=title, iv_title=DK_TITLE)
    configured = Keys(ek=DK_EK, ak=DK_AK, system_title=DK_TITLE)
    message = dk_session(configured).decode_apdu(apdu)
    check_dk(message, notes=[])
    # Without a configured title (or a malformed one) the IV uses eight zero bytes.
    for keys in (Keys(ek=DK_EK, ak=DK_AK), Keys(ek=DK_EK, ak=DK_AK, system_title=b"KAME0")):
        with pytest.raises(AuthenticationError):
            dk_session(keys).decode_apdu(apdu)
    zero_iv = glo(0x30, DK_PLAIN, title=title, iv_title=bytes(8))
    check_dk(dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(zero_iv), notes=[])
    # The encryption-only and unverified paths build the IV the same way.
    check_dk(
        dk_session(Keys(ek=DK_EK, system_title=DK_TITLE)).decode_apdu(apdu),
        notes=["tag_not_verified"],
    )
    enc_only = glo(0x20, DK_PLAIN, title=title, iv_title=DK_TITLE)
    check_dk(dk_session(Keys(ek=DK_EK, system_title=DK_TITLE)).decode_apdu(enc_only), notes=[])
    with pytest.raises(WrongKeyError):
        dk_session(Keys(ek=DK_EK)).decode_apdu(enc_only)


def test_full_length_title_wins_over_the_configured_one() -> None:
    keys = Keys(ek=DK_EK, ak=DK_AK, system_title=KFM_TITLE)
    check_dk(dk_session(keys).decode_apdu(DK_APDU), notes=[])


def test_malformed_glo_headers() -> None:
    session = dk_session(Keys(ek=DK_EK, ak=DK_AK))
    with pytest.raises(MalformedError):
        session.decode_apdu(b"\xdb\x09" + DK_TITLE + b"\x00" + DK_APDU[10:])  # 9-byte title
    with pytest.raises(MalformedError):
        session.decode_apdu(b"\xdb\x08" + DK_TITLE + b"\x04\x30" + DK_FC[:3])  # no full SC+FC
    with pytest.raises(MalformedError):
        session.decode_apdu(b"\xdb")


def test_ciphered_message_inside_segmented_hdlc() -> None:
    info = LLC + DK_APDU
    first, second, last = split3(info)
    wire = hdlc(first, segmented=True) + hdlc(second, segmented=True) + hdlc(last)
    results = Decoder(Keys(ek=DK_EK, ak=DK_AK), country="DK").feed(wire)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    check_dk(results[0], notes=[])
    assert results[0].size == len(wire)


def test_ciphered_message_inside_gbt_inside_mbus() -> None:
    """Transport segments carrying GBT blocks carrying a glo-ciphered notification."""
    parts = split3(DK_APDU)
    blocks = [gbt(n, part, last=n == 3) for n, part in enumerate(parts, start=1)]
    session = dk_session(Keys(ek=DK_EK, ak=DK_AK))
    outs = []
    for block in blocks:
        halves = (block[: len(block) // 2], block[len(block) // 2 :])
        wires = [mbus(0x00, b"\x01\x67" + halves[0]), mbus(0x11, b"\x01\x67" + halves[1])]
        outs += [session.push_frame(f) for w in wires for f in frames_of(w, FrameKind.MBUS)]
    assert outs[:-1] == [None] * 5
    check_dk(outs[-1], notes=[])


def test_system_title_identifies_the_meter() -> None:
    message = dk_session(Keys(ek=DK_EK, ak=DK_AK)).decode_apdu(DK_APDU)
    assert message is not None
    assert message.meter.system_title == DK_TITLE.hex().upper()
    assert message.meter.meter_id is None  # the Danish list carries no id register
    plain = DlmsSession(Keys()).decode_apdu(KAIFA_LIST1)
    assert plain is not None
    assert plain.meter.system_title is None


def test_unused_keys_of_the_wrong_length_do_not_matter_for_clear_data() -> None:
    check_dk(dk_session(Keys(ek=DK_EK[:15])).decode_apdu(glo(0x00, DK_PLAIN)), notes=[])


def test_empty_hdlc_segments_are_rejected_not_collected() -> None:
    # Found by fuzzing: a segmented frame without information field, valid FCS, repeated.
    frame = bytes.fromhex("7ea80703211327df7e")
    decoder = Decoder(Keys())
    results = decoder.feed(frame * 5000)
    assert len(results) == 5000
    assert {r.code for r in results if isinstance(r, Rejected)} == {ErrorCode.MALFORMED}


def test_too_many_pieces_are_dropped() -> None:
    session = DlmsSession(Keys())
    segment = Frame(FrameKind.HDLC, b"\x00", 10, segmented=True)
    for _ in range(MAX_PIECES):
        assert session.push_frame(segment) is None
    with pytest.raises(MalformedError):
        session.push_frame(segment)
    # The buffer starts again: a whole message after it decodes.
    message = session.push_frame(Frame(FrameKind.HDLC, KAIFA_LIST1, len(KAIFA_LIST1)))
    assert message is not None


# -- Review of issue 12, item 2: only a failed strict parse means a wrong key -----------------
def _kaifa_list3_plus_one() -> bytes:
    """The real Kaifa list 3 notification (no LLC) with a 19th element: a shape no layout has."""
    plain = strip_llc(KAIFA_LIST3)
    head = plain.index(b"\x02\x12\x09\x07KFM_001")
    return plain[:head] + b"\x02\x13" + plain[head + 2 :] + b"\x12\x00\x01"


@pytest.mark.parametrize(("sc", "keys"), [(0x20, Keys(ek=DK_EK)), (0x30, Keys(ek=DK_EK))])
def test_an_unknown_layout_under_encryption_is_unknown_layout_not_wrong_key(
    sc: int, keys: Keys
) -> None:
    """The plaintext parses strictly (the EK is right): the list layer's refusal passes through.

    Before, every HanError after decryption without a checked tag became ``wrong_key``, and a
    user with the right key was told to change it.
    """
    plain = _kaifa_list3_plus_one()
    with pytest.raises(UnknownLayoutError):  # in clear: the list layer refuses the shape
        no_list(plain)
    apdu = glo(sc, plain, title=KFM_TITLE)
    with pytest.raises(UnknownLayoutError) as err:
        DlmsSession(keys, country="NO").decode_apdu(apdu)
    assert err.value.code is ErrorCode.UNKNOWN_LAYOUT
    assert "19 elements" in str(err.value)
    # A wrong EK still fails the strict parse: that is a wrong key.
    with pytest.raises(WrongKeyError):
        DlmsSession(Keys(ek=OTHER_KEY), country="NO").decode_apdu(apdu)
    # The real list, encrypted the same way, decodes with the values it has in clear.
    real = glo(sc, strip_llc(KAIFA_LIST3), title=KFM_TITLE)
    assert values(DlmsSession(keys, country="NO").decode_apdu(real)) == KAIFA_LIST3_VALUES


# -- Review of issue 12, item 4: a lost last segment costs only its own message ---------------
def _codes(results: list[Message | Rejected]) -> list[str]:
    return ["ok" if isinstance(r, Message) else str(r.code) for r in results]


@pytest.mark.parametrize("lost", [1, 2], ids=["first-only", "first-and-second"])
@pytest.mark.parametrize("whole", [True, False], ids=["next-in-one-frame", "next-segmented"])
def test_a_lost_last_hdlc_segment_costs_only_its_own_message(lost: int, *, whole: bool) -> None:
    """The real Kaifa list 3 loses its last segment; the real list 2 that follows decodes.

    Before, the next message's first segment was appended to the stale parts and both were
    lost (the join did not parse: ``truncated``), like M-Bus and GBT never did.
    """
    stale = b"".join(hdlc(part, segmented=True) for part in split3(KAIFA_LIST3)[:lost])
    kaifa2 = raw("amshan-kaifa-no-list-2")
    first, second, last = split3(kaifa2)
    nxt = (
        hdlc(kaifa2)
        if whole
        else hdlc(first, segmented=True) + hdlc(second, segmented=True) + hdlc(last)
    )
    results = Decoder(Keys(), country="NO").feed(stale + nxt)
    assert _codes(results) == ["truncated", "ok"]
    assert results[0].size == len(stale)
    assert values(results[1]) == values(no_list(kaifa2))
    assert results[1].size == len(nxt)
    assert values(results[1])["1-0:1.7.0"] == 9745
    # The session on its own starts over too, and says what it dropped.
    session = DlmsSession(Keys(), country="NO")
    outs = [session.push_frame(f) for f in frames_of(stale + nxt, FrameKind.HDLC)]
    assert values(outs[-1]) == values(no_list(kaifa2))
    assert session.abandoned() == [(FrameKind.HDLC, len(stale))]
    assert session.abandoned() == []


def test_a_continuation_segment_is_never_taken_for_a_new_message() -> None:
    """Only an LLC header and an APDU tag start a message: a later segment never does."""
    first, second, last = split3(KAIFA_LIST3)
    for part in (second, last):
        assert part[:3] not in (b"\xe6\xe7\x00", b"\xe6\xe6\x00")
    wires = hdlc(first, segmented=True) + hdlc(second, segmented=True) + hdlc(last)
    results = Decoder(Keys(), country="NO").feed(wires)
    assert _codes(results) == ["ok"]
    assert values(results[0]) == KAIFA_LIST3_VALUES


def test_a_lost_last_mbus_segment_or_gbt_block_is_reported_too() -> None:
    """M-Bus (sequence 0) and GBT (block 1) always started over; the loss is now counted."""
    for vid, keys, country, check in (
        (MBUS_ID, MBUS_KEYS, "AT", "1-0:1.8.0"),
        (GBT_ID, GBT_KEYS, None, "1-0:1.8.0"),
    ):
        wire = raw(vid)
        kind = FrameKind.MBUS if vid == MBUS_ID else FrameKind.HDLC
        frames = frames_of(wire, kind)
        stale = wire[: frames[0].size]
        results = Decoder(keys, country=country).feed(stale + wire)
        assert _codes(results) == ["truncated", "ok"], vid
        assert results[0].size == len(stale)
        assert check in values(results[1])
        assert results[1].size == len(wire)
