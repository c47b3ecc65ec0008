"""Data record codings, VIF tables and layer headers on synthetic bytes."""

from __future__ import annotations

import pytest

from han.crc import crc16_en13757
from han.model import (
    ChecksumError,
    HanError,
    MalformedError,
    Message,
    NoKeyError,
    TruncatedError,
    UnsupportedError,
)
from han.wmbus.ell import parse_afl, parse_ell
from han.wmbus.link import (
    add_format_a_crcs,
    add_format_b_crcs,
    id_to_bytes,
    parse_link,
    strip_crcs,
    strip_format_a,
    strip_format_b,
)
from han.wmbus.meaning import interpret, obis_key, value_of
from han.wmbus.readings import readings_from_records
from han.wmbus.records import decode_datetime, parse_records
from han.wmbus.security import check_key
from han.wmbus.telegram import decode_telegram
from han.wmbus.tpl import parse_tpl


def _one(hex_record: str, device_type: int = 0x02) -> tuple[str | None, object, str | None]:
    (record,) = parse_records(bytes.fromhex(hex_record))
    meaning = interpret(record)
    return obis_key(record, meaning, device_type), value_of(record, meaning), meaning.unit


@pytest.mark.parametrize(
    ("record", "device_type", "key", "value", "unit"),
    [
        ("0103 05", 2, "1-0:1.8.0", 5, "Wh"),  # int8
        ("0203 FFFF", 2, "1-0:1.8.0", -1, "Wh"),  # signed int16
        ("0303 010000", 2, "1-0:1.8.0", 1, "Wh"),
        ("0503 0000C03F", 2, "1-0:1.8.0", 1.5, "Wh"),  # real
        ("0603 010000000000", 2, "1-0:1.8.0", 1, "Wh"),
        ("0703 0100000000000000", 2, "1-0:1.8.0", 1, "Wh"),
        ("0903 12", 2, "1-0:1.8.0", 12, "Wh"),
        ("0A03 34F2", 2, "1-0:1.8.0", -234, "Wh"),  # negative BCD
        ("0A03 3A12", 2, "1-0:1.8.0", None, "Wh"),  # invalid BCD digit
        ("0D03 C21234", 2, "1-0:1.8.0", 3412, "Wh"),  # LVAR BCD
        ("0D03 D21234", 2, "1-0:1.8.0", -3412, "Wh"),
        ("0D03 E20100", 2, "1-0:1.8.0", 1, "Wh"),  # LVAR binary
        ("0406 01000000", 2, "1-0:1.8.0", 1000, "Wh"),  # kWh
        ("040E 01000000", 4, "6-0:1.0.0", 1e-3, "GJ"),  # MJ
        ("04FB00 01000000", 2, "1-0:1.8.0", 100000, "Wh"),  # 0.1 MWh
        ("04FB09 01000000", 4, "6-0:1.0.0", 1, "GJ"),
        ("04FB11 01000000", 7, "8-0:1.0.0", 1000, "m³"),
        ("04FB05 01000000", 2, "1-0:9.8.0", 10000, "VAh"),
        ("04FB35 01000000", 2, "1-0:9.7.0", 10, "VA"),
        ("04FB2E 01000000", 2, "1-0:14.7.0", 0.1, "Hz"),
        ("04FB29 01000000", 2, "1-0:1.7.0", 1000000, "W"),
        ("04FB19 01000000", 4, "6-0:3.0.0", 1000000, "kg"),
        ("04FB1A 01000000", 0x1B, None, 0.1, "%"),
        ("04FB31 24000000", 4, "6-0:8.0.0", 1e7, "W"),
        ("04FB7F 01000000", 2, None, 1, None),
        ("0413 01000000", 3, "7-0:3.0.0", 0.001, "m³"),
        ("043B 01000000", 3, "7-0:43.0.0", 0.001, "m³/h"),
        ("0445 01000000", 7, "8-0:2.0.0", 0.6, "m³/h"),
        ("044F 01000000", 7, "8-0:2.0.0", 36.0, "m³/h"),
        ("0418 01000000", 7, None, 0.001, "kg"),
        ("0422 01000000", 7, None, 3600, "s"),
        ("0426 01000000", 7, None, 3600, "s"),
        ("0433 01000000", 4, "6-0:8.0.0", 1000 / 3600, "W"),
        ("0453 01000000", 4, None, 1, "kg/h"),
        ("025A 2C01", 4, "6-0:10.0.0", 30.0, "°C"),
        ("025E 2C01", 4, "6-0:11.0.0", 30.0, "°C"),
        ("0262 2C01", 4, "6-0:12.0.0", 30.0, "K"),
        ("0266 2C01", 7, None, 30.0, "°C"),
        ("026A 2C01", 7, None, 30.0, "bar"),
        ("0271 0100", 7, None, 60, "s"),
        ("0275 0100", 7, None, 60, "s"),
        ("027A 0100", 7, None, 1, None),
        ("046E 01000000", 8, "4-0:1.0.0", 1, None),
        ("0C78 78563412", 2, "0-0:96.1.0", "12345678", None),
        ("0479 78563412", 2, None, "305419896", None),
        ("04FD08 01000000", 2, None, 1, None),
        ("04FD17 01000080", 2, "0-0:97.97.0", 0x80000001, None),
        ("0DFD11 03434241", 2, None, "ABC", None),
        ("04FD25 01000000", 2, None, 60, "s"),
        ("04FD2E 01000000", 2, None, 3600, "s"),
        ("04FD32 01000000", 2, None, 3600, "s"),
        ("04FD35 01000000", 2, None, 60, "s"),
        ("04FD71 01000000", 2, None, 1, "dBm"),
        ("04FD74 01000000", 2, None, 86400, "s"),
        ("04FDDBFC01 0A000000", 2, "1-0:31.7.0", 1.0, "A"),
        ("04FDDBFC04 0A000000", 2, "1-0:91.7.0", 1.0, "A"),
        ("04FDD9FC05 0A000000", 2, None, 0.01, "A"),
        ("04ABFC02 0A000000", 2, "1-0:41.7.0", 10, "W"),
        ("04ABBCFC02 0A000000", 2, "1-0:42.7.0", 10, "W"),
        ("04FB82FC09 0A000000", 2, "1-0:6.8.0", 10000, "varh"),
        ("04FB94FC08 0A000000", 2, "1-0:5.7.0", 10, "var"),
        ("04FB94FC01 0A000000", 2, "1-0:23.7.0", 10, "var"),
        ("04AB7D 0A000000", 2, "1-0:1.7.0", 10000, "W"),
        ("04AB3B 0A000000", 2, "1-0:1.7.0", 10, "W"),
        ("04AB15 0A000000", 2, None, 10, "W"),  # record error code: no reading
        ("04AB48 0A000000", 2, None, 10, "W"),  # upper limit: keeps its header key
        ("142B 0A000000", 2, "1-0:1.6.0", 10, "W"),
        ("242B 0A000000", 2, "1-0:1.3.0", 10, "W"),
        ("3403 0A000000", 2, None, 10, "Wh"),
        ("1403 0A000000", 2, None, 10, "Wh"),
        ("C44003 0A000000", 2, "1-1:1.8.0*1", 10, "Wh"),
        ("4413 0A000000", 7, "8-0:1.0.0*1", 0.01, "m³"),
        ("04933C 0A000000", 7, None, 0.01, "m³"),
        ("0413 0A000000", 0x37, None, 0.01, "m³"),
        ("0413 0A000000", 8, None, 0.01, "m³"),
        ("047E 0A000000", 2, None, 10, None),
        ("047F 0A000000", 2, None, 10, None),
        ("04FF01 0A000000", 2, None, 10, None),
        ("04FD3A 0A000000", 2, None, 10, None),
        ("04FD7F 0A000000", 2, None, 10, None),
        ("04FB7A 0A000000", 2, None, 10, None),
        ("047C03 4B4C4D 0A000000", 2, None, 10, "MLK"),
        ("026C 9F2C", 2, None, "2020-12-31", None),
        ("026C FFFF", 2, None, None, None),
        ("036D 1E1F0A", 2, "0-0:1.0.0", "10:31:30", None),
        ("046D 1F0A9F2C", 2, "0-0:1.0.0", "2020-12-31T10:31:00", None),
        ("046D 9F0A9F2C", 2, "0-0:1.0.0", None, None),  # IV bit set
        ("066D 1E9F0A9F2C00", 2, "0-0:1.0.0", None, None),
        ("056D 00000000", 2, "0-0:1.0.0", None, None),
    ],
)
def test_record_meanings(
    record: str, device_type: int, key: str | None, value: object, unit: str | None
) -> None:
    got_key, got_value, got_unit = _one(record.replace(" ", ""), device_type)
    if interpret(parse_records(bytes.fromhex(record.replace(" ", "")))[0]).error:
        assert key is None
        return
    assert got_key == key
    if isinstance(value, float):
        assert got_value == pytest.approx(value)
    else:
        assert got_value == value
    assert got_unit == unit


@pytest.mark.parametrize(
    "payload",
    [
        "84",
        "04",
        "0403 0100",
        "0D03",
        "0D03 05 41",
        "0D03 FA",
        "04FC05 41",
        "3F",
        "8080808080808080808080",
    ],
)
def test_broken_records(payload: str) -> None:
    with pytest.raises(HanError):
        parse_records(bytes.fromhex(payload.replace(" ", "")))


def test_manufacturer_data_ends_the_records() -> None:
    records = parse_records(bytes.fromhex("2F2F0403010000000F0102030405"))
    assert len(records) == 1


def test_duplicate_keys_and_dates() -> None:
    message = Message("wmbus")
    records = parse_records(bytes.fromhex("0413010000000413020000000413030000000C7812345678"))
    readings_from_records(message, records, 7)
    assert list(message.readings) == ["8-0:1.0.0", "8-0:1.0.0#2", "8-0:1.0.0#3", "0-0:96.1.0"]
    assert decode_datetime(b"\x00\x00\x00") is not None
    assert decode_datetime(b"\x00") is None


def test_layer_headers_truncated() -> None:
    for data in ("8D2000", "8D20000000000000", "8E2000"):
        with pytest.raises(TruncatedError):
            parse_ell(bytes.fromhex(data))
    for data in ("900F00", "900300", "9001002C", "9003000400", "900300FF"):
        with pytest.raises(HanError):
            parse_afl(bytes.fromhex(data))
    with pytest.raises(UnsupportedError):
        parse_afl(bytes.fromhex("90020040"))
    for data in ("7A0000", "72", "7A00000007"):
        with pytest.raises(TruncatedError):
            parse_tpl(bytes.fromhex(data))
    header, rest = parse_tpl(bytes.fromhex("7A01020000AA"))
    assert (header.mode, header.blocks, header.kdf, rest) == (0, 0, 0, b"\xaa")
    assert header.meter_id is None
    assert header.manufacturer is None
    assert header.a_field is None


def test_link_errors() -> None:
    with pytest.raises(TruncatedError):
        strip_crcs(b"")
    with pytest.raises(TruncatedError):
        strip_format_a(b"\x10")
    with pytest.raises(TruncatedError):
        strip_format_b(b"\x05")
    with pytest.raises(HanError):
        strip_crcs(bytes(40))
    with pytest.raises(HanError):
        strip_crcs(bytes((0x0A,)) + bytes(5), crcs=False)
    with pytest.raises(MalformedError):
        strip_crcs(bytes((0x05,)) + bytes(9))


def _frame(body: str, ci_payload: str) -> bytes:
    data = bytes.fromhex("44" + "ED14" + "78563412" + "0102" + ci_payload + body)
    return bytes((len(data),)) + data


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("", TruncatedError),
        ("A1", UnsupportedError),
        ("50", UnsupportedError),
        ("8D2000000000200000", NoKeyError),  # AES-CTR session, payload CRC does not fit
        ("8D20000000000000FFFF", ChecksumError),  # no ELL security, bad CRC
        ("8D200000000040FFFF", UnsupportedError),  # ELL security 2
        ("7A00000007", TruncatedError),
        ("7A0000000D", UnsupportedError),  # mode 13
        ("7A000070052F2F", TruncatedError),  # fewer than 16 bytes to decrypt
        ("7900000000", UnsupportedError),  # compact frame of an unknown format
        ("79AA", TruncatedError),
        ("8C2000", TruncatedError),  # ELL-I and nothing after it
    ],
)
def test_telegram_errors(payload: str, error: type[HanError]) -> None:
    with pytest.raises(error):
        decode_telegram(_frame("", payload), lambda _i: None)


def test_mode7_needs_afl_and_kdf1() -> None:
    key = bytes(16)
    with pytest.raises(MalformedError):
        decode_telegram(_frame("00" * 16, "7A0000200710"), lambda _i: key)
    afl = "900F002C25" + "01000000" + "00" * 8
    with pytest.raises(UnsupportedError):
        decode_telegram(_frame("00" * 16, afl + "7A0000200720"), lambda _i: key)


def test_key_checks() -> None:
    with pytest.raises(NoKeyError):
        check_key(None)
    with pytest.raises(MalformedError):
        check_key(b"short")


def test_ell_without_security_and_tpl_status_bits() -> None:
    apl = bytes.fromhex("780403" + "01000000")
    ell = bytes.fromhex("8D2000" + "00000000") + crc16_en13757(apl).to_bytes(2, "little") + apl
    message = decode_telegram(_frame("", ell.hex()), lambda _i: None)
    assert message is not None
    assert message.readings["1-0:1.8.0"].value == 1
    for status, notes in (
        (0x01, ["status:busy"]),
        (0x0A, ["status:application_error", "status:permanent_error"]),
        (0x17, ["status:abnormal_condition", "status:power_low", "status:temporary_error"]),
    ):
        header = f"7A00{status:02X}0000"
        message = decode_telegram(_frame("0403" + "01000000", header), lambda _i: None)
        assert message is not None
        assert message.notes == notes


def test_link_lengths_and_ids() -> None:
    frame = _frame("0403" + "01000000", "7A00000000")
    a = add_format_a_crcs(frame)
    with pytest.raises(TruncatedError):
        strip_format_a(a[:-1])
    with pytest.raises(MalformedError):
        strip_format_a(a + b"\x00")
    b = add_format_b_crcs(frame)
    with pytest.raises(TruncatedError):
        strip_format_b(b[:-1])
    with pytest.raises(MalformedError):
        strip_format_b(b + b"\x00")
    assert parse_link(frame)[0].id_bytes == bytes.fromhex("78563412")
    assert id_to_bytes("12345678") == bytes.fromhex("78563412")
    with pytest.raises(ValueError, match="8 digits"):
        id_to_bytes("1234567")
