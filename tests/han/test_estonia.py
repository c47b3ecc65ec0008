"""The tolerant Estonian profile (issue 14 item 1): every form the E360 family takes elsewhere.

No Estonian capture exists; these are real frames of the same meter family elsewhere: the
Swedish E360 P1 telegrams, a Swiss Landis+Gyr DLMS push in HDLC (general-block-transfer), bare
APDUs as bridges forward them, glo-ciphered DLMS (the Danish Kamstrup's APDU without its HDLC
frame) and Luxembourg's encrypted P1, fed as a port delivers them, with the profile's formats.
"""

from __future__ import annotations

import pytest

from han.decoder import Decoder
from han.dlms.raw import RawApduFramer
from han.framing import FrameKind, ScanStatus
from han.model import ErrorCode, Keys, Message, Rejected, Result
from han.profiles import PROFILES, Parity, get_profile
from hanport_dev.simulator import build_hdlc, build_mbus, parse_hdlc
from tests.common import (
    DK_AK,
    DK_EK,
    HDLC_NO,
    KAIFA_SHORT,
    LU_AK,
    LU_EK,
    dk_frames,
    lu_frames,
    vectors_by_id,
    wire,
)

from .test_p1 import assert_expected

EE = get_profile("ee_elektrilevi")
VECTORS = vectors_by_id("nordic", "dsmr", "dlms")
#: The Swedish E360 telegrams (/LGF5E360): the variant Finland adopts, our first guess.
E360_P1 = ["amshan-p1-a-landisgyr-360", "amshan-p1-d-landisgyr-360", "amsreader-landis-gyr-gh382-1"]
#: A Swiss Landis+Gyr push: three HDLC frames of general-block-transfer blocks.
LG_HDLC = "amsreader-landis-gyr-gh740"
#: Bare data-notification APDUs (no framing, no LLC), as MQTT bridges forward them.
RAW_APDUS = ["amsreader-landis-gyr-gh934-1", "at-salzburg-kaifa-raw-apdu-plain"]
DK_KEYS = Keys(bytes.fromhex(DK_EK), bytes.fromhex(DK_AK))


def ee_decoder(keys: Keys | None = None, formats: tuple[FrameKind, ...] = EE.formats) -> Decoder:
    return Decoder(keys, country=EE.country, formats=formats)


def messages(results: list[Result]) -> list[Message]:
    return [r for r in results if isinstance(r, Message)]


def inner_apdu(hdlc: bytes) -> bytes:
    """The APDU of an HDLC frame, without LLC: what a bridge would put on the line."""
    return parse_hdlc(hdlc)[2][3:]


# --------------------------------------------------------------------------------- profile


def test_the_profile_tries_115200_8n1_first_then_7e1_then_the_dlms_settings() -> None:
    assert [str(s) for s in EE.serial] == [
        "115200 8N1",
        "115200 7E1",
        "2400 8E1",
        "2400 8N1",
        "9600 8N1",
    ]
    seven = EE.serial[1]
    assert (seven.bytesize, seven.parity) == (7, Parity.EVEN)


def test_the_profile_accepts_p1_and_dlms_in_every_framing_with_keys_optional() -> None:
    assert set(EE.formats) == {
        FrameKind.P1,
        FrameKind.DSMR_GCM,
        FrameKind.HDLC,
        FrameKind.MBUS,
        FrameKind.APDU,
    }
    assert EE.keys.value == "optional"
    assert EE.interval == 10.0


def test_no_other_profile_reads_bare_apdus() -> None:
    """Bare APDUs carry no checksum: only the profile that must guess reads them."""
    assert [p.id for p in PROFILES if FrameKind.APDU in p.formats] == ["ee_elektrilevi"]
    decoder = Decoder(country="CH")
    assert not messages(decoder.feed(wire(VECTORS[RAW_APDUS[0]]) * 2))


# ------------------------------------------------------------------------ the encodings


@pytest.mark.parametrize("vector_id", E360_P1)
def test_swedish_e360_telegrams_decode(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    found = messages(ee_decoder().feed(wire(vector) * 2))
    assert len(found) == 2
    assert_expected(vector, found[-1])


def test_landis_gyr_dlms_push_in_hdlc_blocks_decodes() -> None:
    vector = VECTORS[LG_HDLC]
    decoder = ee_decoder()
    found = messages(decoder.feed(wire(vector) * 2))
    assert len(found) == 2
    assert found[0].meter.meter_id == "63326413"
    assert found[0].readings["1-0:1.7.0"].value == 362
    assert found[0].readings["1-0:31.7.0"].value == 0.51
    assert found[0].readings["1-1:1.8.0"].value == 2302502  # Wh
    assert decoder.reader.locked_kind == FrameKind.HDLC


@pytest.mark.parametrize("vector_id", RAW_APDUS)
def test_bare_apdus_decode_one_after_another(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    data = wire(vector)
    decoder = ee_decoder()
    found: list[Message] = []
    for part in (data[:100], data[100:] + data[:7], data[7:] + data):
        found += messages(decoder.feed(part))
    assert len(found) == 3
    expected = {k: v for k, v in vector["expected"].items() if v["value"] is not None}
    assert expected
    for obis in expected:
        assert obis in found[-1].readings, obis
    assert decoder.reader.locked_kind is None  # no checksum: a bare APDU never locks


def test_glo_ciphered_dlms_without_framing_decodes_with_its_keys() -> None:
    """The Danish push's ciphered APDU, without its HDLC frame: the envelope holds DLMS."""
    bare = b"".join(inner_apdu(frame) for frame in dk_frames(3))
    found = messages(ee_decoder(DK_KEYS).feed(bare))
    assert len(found) == 3
    assert all(m.format == "dlms" and m.security and m.security.authenticated for m in found)
    # Detection stores the format "dlms": the reader then has no P1 envelope framer, and the
    # bare-APDU framer reads the envelopes.
    narrowed = (FrameKind.HDLC, FrameKind.MBUS, FrameKind.APDU)
    later = b"".join(inner_apdu(frame) for frame in dk_frames(3, start=10**6))
    assert len(messages(ee_decoder(DK_KEYS, narrowed).feed(later))) == 3


def test_glo_ciphered_dlms_without_keys_asks_for_them() -> None:
    bare = b"".join(inner_apdu(frame) for frame in dk_frames(3))
    results = ee_decoder().feed(bare, final=True)
    assert results
    assert {r.code for r in results if isinstance(r, Rejected)} == {ErrorCode.NO_KEY}


def test_encrypted_p1_still_reads_as_p1() -> None:
    """Reading an envelope as DLMS is only the fallback: Luxembourg-style P1 stays P1."""
    keys = Keys(bytes.fromhex(LU_EK), bytes.fromhex(LU_AK))
    found = messages(ee_decoder(keys).feed(b"".join(lu_frames(3))))
    assert [m.format for m in found] == ["p1"] * 3


def test_an_envelope_that_is_neither_p1_nor_dlms_is_refused() -> None:
    wrong = Keys(bytes(16), bytes(16))
    results = ee_decoder(wrong).feed(b"".join(lu_frames(2)), final=True)
    assert results
    assert not messages(results)
    assert {r.code for r in results if isinstance(r, Rejected)} == {ErrorCode.AUTH_FAILED}


# -------------------------------------------------- what the bare-APDU framer never takes


@pytest.mark.parametrize("start", range(1, 40))
def test_a_reader_joining_an_hdlc_frame_midway_never_reads_its_inside(start: int) -> None:
    """The APDU inside an HDLC frame whose start was missed is not a bare APDU."""
    decoder = ee_decoder()
    assert not decoder.feed(HDLC_NO[start:])
    found = messages(decoder.feed(HDLC_NO * 2))
    assert len(found) == 2
    assert decoder.reader.locked_kind == FrameKind.HDLC


def test_a_read_that_ends_inside_an_hdlc_trailer_gives_one_intact_apdu_then_hdlc_locks() -> None:
    """The one case the guard cannot see: the bytes after the APDU have not come yet.

    The APDU is the meter's, intact (only its FCS is not there to check); the next whole
    frame verifies and locks the reader onto HDLC, after which bare APDUs are never read.
    """
    decoder = ee_decoder()
    first = decoder.feed(HDLC_NO[5:-3])
    assert [r.format for r in first] == ["dlms"]
    found = messages(decoder.feed(HDLC_NO[-3:] + HDLC_NO * 2))
    assert len(found) == 2
    assert decoder.reader.locked_kind == FrameKind.HDLC


def test_the_user_data_of_an_mbus_frame_is_not_a_bare_apdu() -> None:
    addresses, _control, info, _ = parse_hdlc(KAIFA_SHORT)
    del addresses
    mbus = build_mbus(0x53, 0xFF, info[3:])
    assert mbus.count(b"\x68") >= 2
    framer = RawApduFramer()
    start = mbus.index(b"\x0f")
    assert framer.scan(mbus, start).status is ScanStatus.INVALID
    assert framer.scan(mbus[: start + len(info) - 3], start).status is ScanStatus.FRAME


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"\x0f\x00\x00\x00\x01", ScanStatus.NEED_MORE),  # header cut off
        (b"\x0f\x00\x00\x00\x01\x09", ScanStatus.NEED_MORE),  # date-time cut off
        (b"\x0f\x00\x00\x00\x01\x09\x0b" + bytes(12), ScanStatus.INVALID),  # not 12 bytes
        (b"\x0f\x00\x00\x00\x01\x07\x00", ScanStatus.INVALID),  # no date-time marker
        (b"\x0f\x00\x00\x00\x01\x00", ScanStatus.NEED_MORE),  # body not there yet
        (b"\x0f\x00\x00\x00\x01\x00\x02\x02\x12\x00", ScanStatus.NEED_MORE),  # body cut
        (b"\x0f\x00\x00\x00\x01\x00\xff", ScanStatus.INVALID),  # no A-XDR type 0xFF
        (b"\x0f\x00\x00\x00\x01\x0c" + bytes(12) + b"\x12\x00\x05", ScanStatus.FRAME),
        (b"\xdb", ScanStatus.NEED_MORE),
        (b"\xdb\x09", ScanStatus.INVALID),  # a system title is 8 bytes
        (b"\xdb\x08LGZ\x00\x00\x00\x00\x00\x04", ScanStatus.INVALID),  # shorter than SC + FC
        (b"\xdb\x08LGZ\x00\x00\x00\x00\x00\x08\x30\x00\x00\x00\x01", ScanStatus.NEED_MORE),
        (b"\xdb\x08LGZ\x00\x00\x00\x00\x00\x82\x10\x00\x30", ScanStatus.INVALID),  # too long
        (b"\xdb\x08LGZ\x00\x00\x00\x00\x00\x05\x30\x00\x00\x00\x01", ScanStatus.FRAME),
    ],
)
def test_the_framer_reads_the_apdu_structure(data: bytes, status: ScanStatus) -> None:
    framer = RawApduFramer()
    scan = framer.scan(data, 0)
    assert scan.status is status
    if status is ScanStatus.FRAME:
        assert scan.end == len(data)
        assert scan.frame is not None
        assert not scan.frame.checked
    if status is ScanStatus.NEED_MORE:
        assert framer.scan(data, 0, final=True).status is ScanStatus.INVALID


def test_a_candidate_that_never_ends_is_given_up() -> None:
    framer = RawApduFramer()
    endless = b"\x0f\x00\x00\x00\x01\x00\x01\x82\xff\xff" + b"\x12\x00\x01" * 1400
    assert framer.scan(endless, 0).status is ScanStatus.INVALID


def test_an_hdlc_frame_of_the_simulated_e360_is_not_taken_for_two_things() -> None:
    """One whole frame is one HDLC frame, whatever the bare-APDU framer would say."""
    frame = build_hdlc(b"\x41\x03", 0x13, b"\xe6\xe7\x00" + inner_apdu(KAIFA_SHORT))
    decoder = ee_decoder()
    assert [r.format for r in decoder.feed(frame * 3)] == ["dlms"] * 3
    assert decoder.reader.stats.by_kind == {"hdlc": 3}
