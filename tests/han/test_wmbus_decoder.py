"""WmbusDecoder: a GAMA 350 frame re-encrypted with a fresh key and id, filtering, identity."""

from __future__ import annotations

import os

import pytest

from han.model import (
    ErrorCode,
    Message,
    NoKeyError,
    Rejected,
    TruncatedError,
    WrongKeyError,
)
from han.wmbus import WmbusDecoder, decode_vector_bytes
from han.wmbus.link import (
    add_format_a_crcs,
    add_format_b_crcs,
    decode_manufacturer,
    encode_manufacturer,
    id_to_bytes,
    parse_link,
    strip_crcs,
)
from han.wmbus.security import cbc_encrypt, mode5_iv
from hanport_dev.bench.wmbus import bench_gama350, gama350_frame
from tests.common import vectors_by_id

VECTORS = vectors_by_id("wmbus")
PLAIN = bytes.fromhex(VECTORS["esphome375-elgama-gama350-31397268-plain"]["bytes_hex"])
NEW_ID = "20261234"


def _reencrypt(frame: bytes, key: bytes, meter_id: str) -> bytes:
    """Encrypt a stored-decrypted GAMA 350 frame as the meter would, under another id."""
    header = bytearray(frame[:15])
    header[4:8] = id_to_bytes(meter_id)
    iv = mode5_iv(bytes(header[2:4]), bytes(header[4:10]), header[11])
    return bytes(header) + cbc_encrypt(key, iv, frame[15:])


def _values(message: Message) -> dict[str, object]:
    return {key: (r.value, r.unit) for key, r in message.readings.items()}


def test_reencrypted_gama350_decodes_to_the_same_records() -> None:
    key = os.urandom(16)
    frame = _reencrypt(PLAIN, key, NEW_ID)
    reference = decode_vector_bytes(PLAIN, None, None)
    assert isinstance(reference, Message)
    decoder = WmbusDecoder({NEW_ID: key}, meter_ids={NEW_ID})
    message = decoder.decode_frame(frame)
    assert isinstance(message, Message)
    assert message.meter.meter_id == NEW_ID
    assert message.meter.manufacturer == "EGM"
    assert _values(message) == _values(reference)
    assert message.readings["1-0:1.8.0"].value == 4504782
    assert message.readings["1-0:4.7.0"].value == 451
    # With DLL CRCs the same frame decodes the same.
    assert _values(decoder.decode_frame(add_format_a_crcs(frame))) == _values(reference)  # type: ignore[arg-type]


def test_frames_of_other_meters_are_ignored_but_heard() -> None:
    key = os.urandom(16)
    decoder = WmbusDecoder({NEW_ID: key}, meter_ids={NEW_ID})
    assert decoder.decode_frame(PLAIN) is None
    assert decoder.decode_frame(_reencrypt(PLAIN, os.urandom(16), "99999999")) is None
    assert set(decoder.heard) == {"31397268", "99999999"}
    heard = decoder.heard["31397268"]
    assert heard.manufacturer == "EGM"
    assert heard.medium == "electricity"
    assert heard.security_mode == 5
    assert not heard.configured
    stream = PLAIN + _reencrypt(PLAIN, key, NEW_ID) + PLAIN
    results = decoder.feed(stream)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    assert decoder.heard[NEW_ID].configured
    assert decoder.heard[NEW_ID].frames == 1


def test_wrong_key_and_missing_key() -> None:
    frame = _reencrypt(PLAIN, os.urandom(16), NEW_ID)
    wrong = WmbusDecoder({NEW_ID: os.urandom(16)}).decode_frame(frame)
    assert isinstance(wrong, Rejected)
    assert isinstance(wrong.error, WrongKeyError)
    missing = WmbusDecoder().decode_frame(frame)
    assert isinstance(missing, Rejected)
    assert isinstance(missing.error, NoKeyError)


def test_keys_stay_secret() -> None:
    key = bytes(range(16))
    decoder = WmbusDecoder({NEW_ID: key})
    text = repr(decoder) + str(decoder.__dict__.get("heard"))
    assert key.hex() not in text.lower()
    with pytest.raises(ValueError, match="16 bytes") as info:
        WmbusDecoder({NEW_ID: key[:15]})
    assert key[:15].hex() not in str(info.value)
    with pytest.raises(ValueError, match="8 digits"):
        WmbusDecoder({"123": key})


def test_rssi_becomes_a_reading() -> None:
    decoder = WmbusDecoder()
    message = decoder.decode_frame(PLAIN, rssi=-71)
    assert isinstance(message, Message)
    assert message.readings["rssi"].value == -71
    assert decoder.heard["31397268"].rssi == -71


def test_manufacturer_codes() -> None:
    assert decode_manufacturer(0x14ED) == "EGM"
    assert encode_manufacturer("EGM") == 0x14ED
    assert decode_manufacturer(0x0601) == "APA"
    with pytest.raises(ValueError, match="three capital"):
        encode_manufacturer("eg")


def test_link_header_and_crc_formats() -> None:
    header, payload, crc_format = parse_link(PLAIN)
    assert (header.manufacturer, header.meter_id, header.version, header.device_type) == (
        "EGM",
        "31397268",
        1,
        2,
    )
    assert header.medium == "electricity"
    assert payload[0] == 0x7A
    assert crc_format is None
    assert strip_crcs(add_format_a_crcs(PLAIN)) == (PLAIN, "A")
    assert strip_crcs(add_format_b_crcs(PLAIN)) == (PLAIN, "B")
    result = decode_vector_bytes(PLAIN[:-5], None, None)
    assert isinstance(result, Rejected)
    assert isinstance(result.error, TruncatedError)


def test_bench_helpers() -> None:
    key = os.urandom(16)
    frame = gama350_frame(key, "12345678")
    message = decode_vector_bytes(frame, key, "12345678")
    assert isinstance(message, Message)
    assert message.readings["1-0:1.8.0"].value == 4504782
    assert bench_gama350(5) > 0


def test_afl_header_too_short_for_its_message_control_is_rejected() -> None:
    # Found by fuzzing: AFL length 2 whose flags announce a message-control byte.
    frame = bytes.fromhex("0e44ed147856341201029002002000")
    rejected = WmbusDecoder().decode_frame(frame)
    assert isinstance(rejected, Rejected)
    assert rejected.code is ErrorCode.MALFORMED
    results = WmbusDecoder(receiver="raw").feed(frame, final=True)
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.MALFORMED]


def test_a_source_that_sends_dll_crcs_cannot_drop_them() -> None:
    """Found by fuzzing: a format-B frame whose CRC failed was taken as a CRC-free frame."""
    key = bytes(range(16))
    with_crcs = add_format_b_crcs(gama350_frame(key, "12345678"))
    damaged = bytearray(with_crcs)
    damaged[18] ^= 0x01
    decoder = WmbusDecoder({"12345678": key})
    assert isinstance(decoder.decode_frame(with_crcs), Message)
    rejected = decoder.decode_frame(bytes(damaged))
    assert isinstance(rejected, Rejected)
    assert rejected.code is ErrorCode.CHECKSUM


def test_an_implausible_wireless_reading_drops_the_whole_frame() -> None:
    """The plausibility gate covers wireless meters: 2380 V on L1 rejects the frame."""
    from hanport_dev.bench import wmbus as bench

    key = bytes(range(16))
    plain = bench._GAMA350_PLAIN.replace(
        bytes.fromhex("0AFDC9FC013802"), bytes.fromhex("0AFDC9FC018023")
    )
    assert plain != bench._GAMA350_PLAIN
    header = bytearray(bench._HEADER)
    iv = mode5_iv(bytes(header[2:4]), bytes(header[4:10]), header[11])
    frame = bytes(header) + cbc_encrypt(key, iv, plain)
    good = WmbusDecoder({"31397268": key}).decode_frame(bench.gama350_frame(key))
    assert isinstance(good, Message)
    assert good.readings["1-0:32.7.0"].value == 238
    rejected = WmbusDecoder({"31397268": key}).decode_frame(frame)
    assert isinstance(rejected, Rejected)
    assert rejected.code is ErrorCode.IMPLAUSIBLE
    assert "1-0:32.7.0" in str(rejected.error)
    assert isinstance(decode_vector_bytes(frame, key, "31397268"), Rejected)
