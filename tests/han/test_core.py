"""The library's shared pieces: CRCs, GCM, key parsing, units, OBIS catalogue, profiles."""

from __future__ import annotations

import pytest

from han.crc import crc16_arc, crc16_en13757, crc16_x25
from han.crypto import ctr_apply, gcm_open, gcm_seal
from han.keys import parse_key
from han.model import (
    AuthenticationError,
    ErrorCode,
    Keys,
    MalformedError,
    Message,
    NoKeyError,
    Rejected,
    TruncatedError,
)
from han.obis import Quantity, lookup, normalise_code
from han.profiles import (
    PROFILES,
    KeyNeed,
    get_profile,
    profile_for_country,
)
from han.units import normalise

EK = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AK = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
SYSTITLE = bytes.fromhex("4d4d4d0000bc614e")
FC = bytes.fromhex("01234567")


@pytest.mark.parametrize(
    ("func", "check"),
    [(crc16_x25, 0x906E), (crc16_arc, 0xBB3D), (crc16_en13757, 0xC2B7)],
)
def test_crc_check_values(func, check) -> None:
    """The catalogue check value of each CRC over b'123456789'."""
    assert func(b"123456789") == check
    assert func(bytearray(b"123456789")) == check
    assert func(b"123456780") != check


def test_hdlc_hcs_and_fcs_of_a_real_frame() -> None:
    """A real Aidon list-1 frame (amshan's test): HCS and FCS both verify, little endian."""
    frame = bytes.fromhex(
        "7ea02a410883130413e6e7000f40000000000101020309060100010700ff060000067d02020f00161b1c057e"
    )
    assert crc16_x25(frame[1:7]).to_bytes(2, "little") == frame[7:9]
    assert crc16_x25(frame[1:-3]).to_bytes(2, "little") == frame[-3:-1]
    assert crc16_x25(frame[1:-4] + b"\x00").to_bytes(2, "little") != frame[-3:-1]


def test_green_book_gcm_vector() -> None:
    """DLMS Green Book example: SC 0x30, systitle 4D4D4D0000BC614E, FC 01234567."""
    plain = bytes.fromhex("c001c1000f0000280000ff0200")
    sealed = gcm_seal(0x30, SYSTITLE, FC, plain, EK, AK)
    assert len(sealed) == len(plain) + 12
    assert gcm_open(0x30, SYSTITLE, FC, sealed, EK, AK) == plain


@pytest.mark.parametrize("sc", [0x30, 0x10, 0x20, 0x21, 0x00])
def test_security_control_byte_roundtrip(sc: int) -> None:
    plain = b"\x0f\x00\x00\x00\x01\x00\x02\x02"
    sealed = gcm_seal(sc, SYSTITLE, FC, plain, EK, AK)
    assert gcm_open(sc, SYSTITLE, FC, sealed, EK, AK) == plain
    if sc & 0x20:
        assert sealed[: len(plain)] != plain


def test_tampered_tag_and_wrong_ak_fail() -> None:
    plain = b"\x0f" + bytes(30)
    sealed = bytearray(gcm_seal(0x30, SYSTITLE, FC, plain, EK, AK))
    with pytest.raises(AuthenticationError) as err:
        gcm_open(0x30, SYSTITLE, FC, bytes(sealed), EK, EK)
    assert EK.hex() not in str(err.value)
    sealed[-1] ^= 1
    with pytest.raises(AuthenticationError):
        gcm_open(0x30, SYSTITLE, FC, bytes(sealed), EK, AK)
    auth_only = bytearray(gcm_seal(0x10, SYSTITLE, FC, plain, EK, AK))
    auth_only[0] ^= 0x80
    with pytest.raises(AuthenticationError):
        gcm_open(0x10, SYSTITLE, FC, bytes(auth_only), EK, AK)


def test_missing_key_short_body_and_bad_iv() -> None:
    with pytest.raises(NoKeyError):
        gcm_open(0x30, SYSTITLE, FC, bytes(20), None, AK)
    with pytest.raises(NoKeyError):
        gcm_open(0x20, SYSTITLE, FC, bytes(20), None, None)
    with pytest.raises(TruncatedError):
        gcm_open(0x30, SYSTITLE, FC, bytes(5), EK, AK)
    with pytest.raises(MalformedError):
        gcm_open(0x30, SYSTITLE[:4], FC, bytes(20), EK, AK)
    with pytest.raises(MalformedError):
        gcm_open(0x30, SYSTITLE, FC, bytes(20), EK[:8], AK)
    assert gcm_open(0x00, SYSTITLE, FC, b"plain", None, None) == b"plain"


def test_ctr_is_gcm_keystream() -> None:
    plain = b"data-notification body"
    assert ctr_apply(EK, SYSTITLE + FC, gcm_seal(0x20, SYSTITLE, FC, plain, EK, AK)) == plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("000102030405060708090A0B0C0D0E0F", EK),
        ("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", EK),
        ("0x000102030405060708090a0b0c0d0e0f", EK),
        ("9CoQ7w5LMFoLS3gJ", b"9CoQ7w5LMFoLS3gJ"),
    ],
)
def test_parse_key_forms(text: str, expected: bytes) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["", "0011", "zz0102030405060708090a0b0c0d0e0f", "x" * 33])
def test_parse_key_rejects_without_echo(text: str) -> None:
    with pytest.raises(MalformedError) as err:
        parse_key(text)
    assert (text not in str(err.value)) or not text


def test_keys_repr_hides_bytes() -> None:
    keys = Keys(ek=EK, ak=AK)
    assert EK.hex() not in repr(keys)
    assert "ek=set" in repr(keys)
    assert "system_title=unset" in str(keys)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1.001, "kWh", (1001.0, "Wh")),
        (2, "kW", (2000, "W")),
        (0.5, "kvar", (500.0, "var")),
        (3.2, "kvarh", (3200.0, "varh")),
        (1.5, "kVA", (1500.0, "VA")),
        (12.785, "m3", (12.785, "m³")),
        (230.1, "V", (230.1, "V")),
        (7, None, (7, None)),
        (7, "furlong", (7, "furlong")),
    ],
)
def test_unit_normalisation(value, unit, expected) -> None:
    assert normalise(value, unit) == expected


def test_obis_catalogue() -> None:
    assert normalise_code("1-0:1.8.0.255") == "1-0:1.8.0"
    assert normalise_code("1.0.1.8.0.255") == "1-0:1.8.0"
    assert normalise_code("1-0:1.8.0*255") == "1-0:1.8.0"
    assert normalise_code("not-a-code") == "not-a-code"
    assert lookup("1-0:1.7.0").quantity is Quantity.ACTIVE_POWER
    assert lookup("1-1:1.8.0").quantity is Quantity.ACTIVE_ENERGY
    assert lookup("1-0:52.7.0").name == "L2 voltage"
    assert lookup("1-0:71.7.0").quantity is Quantity.CURRENT
    assert lookup("1-0:2.8.2").name == "Energy export tariff 2"
    assert lookup("0-1:24.2.1").quantity is Quantity.GAS
    assert lookup("0-0:96.99.99") is None
    assert lookup("garbage") is None


def test_profiles_are_complete() -> None:
    ids = [p.id for p in PROFILES]
    assert ids[0] == "auto"
    assert len(ids) == len(set(ids))
    for country in ("PL", "EE", "NO", "SE", "DK", "NL", "BE", "LU", "AT"):
        assert any(p.country == country for p in PROFILES), country
    for profile in PROFILES:
        assert profile.serial, profile.id
        assert profile.interval > 0
        assert profile.name
    stoen = get_profile("pl_stoen_p1")
    assert stoen.keys is KeyNeed.EK_AK
    assert str(stoen.serial[0]) == "115200 8N1"
    assert profile_for_country("AT").id == "at_mbus"
    assert profile_for_country(None).id == "auto"
    assert profile_for_country("XX").id == "auto"
    assert get_profile("pl_stoen_wmbus").wireless


def test_message_and_rejected() -> None:
    message = Message("p1")
    message.add("1-0:1.7.0", 1200, "W")
    assert message.readings["1-0:1.7.0"].value == 1200
    rejected = Rejected("hdlc", TruncatedError("short"), 12)
    assert rejected.code is ErrorCode.TRUNCATED
