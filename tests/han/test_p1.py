"""P1 / DSMR text telegrams: every fixture vector, framing in a byte stream, parsing rules.

The vectors come from public projects' test suites (tests/fixtures/*.jsonl, see the README
in /work/shared/vectors). Positive vectors must give their expected values after unit
normalisation (clocks excepted); negative ones must be rejected with the right error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import math
import random
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from han.crc import crc16_arc
from han.decoder import Decoder
from han.framing import Frame, FrameKind, ScanStatus
from han.model import (
    ChecksumError,
    ErrorCode,
    HanError,
    ImplausibleError,
    Keys,
    MalformedError,
    Message,
    Rejected,
    TruncatedError,
    UnsupportedError,
)
from han.p1 import (
    MAX_TELEGRAM,
    P1Framer,
    TelegramParser,
    crc16_arc_fast,
    parse_telegram,
    verify_footer,
)
from han.p1_encrypted import DsmrGcmFramer, StoenFramer
from han.p1_session import P1Session
from han.stream import StreamReader
from han.units import normalise
from hanport_dev.simulator import with_crc
from tests.common import load as _load, wire

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


TEXT_VECTORS = [
    v
    for name in ("dsmr.jsonl", "dlms.jsonl", "nordic.jsonl")
    for v in _load(name)
    if v["transport"] == "p1-text"
]
BY_ID = {v["id"]: v for v in TEXT_VECTORS}
POSITIVE = [v for v in TEXT_VECTORS if v["expected"]]
NEGATIVE = [v for v in TEXT_VECTORS if not v["expected"]]

#: Expected values whose *type* disagrees with the rest of the vectors (dsmr_parser's
#: per-spec choices, amshan's strings). The decoder types a register the same way in every
#: telegram; these are compared by numeric value only.
TYPE_ONLY = {
    "dp_v2_2": {"0-0:96.3.10", "0-1:24.1.0", "0-1:24.4.0"},
    "dp_v3": {"0-0:96.3.10", "0-1:24.1.0", "0-1:24.4.0", "0-0:96.13.1"},
    "dp_iskra_ie": {"0-0:96.3.10"},
    "dp_eon_hu": {"0-0:96.3.10"},
    "dr_iskra": {"0-0:96.3.10", "0-1:24.1.0", "0-1:24.4.0"},
    "amshan-p1-b": {
        "0-0:96.7.21",
        "0-0:96.7.9",
        "1-0:32.32.0",
        "1-0:52.32.0",
        "1-0:72.32.0",
        "1-0:32.36.0",
        "1-0:52.36.0",
        "1-0:72.36.0",
        "0-1:24.1.0",
    },
}


class NotFramedError(HanError):
    """Marks a negative vector in which no P1 telegram is framed at all."""


#: Error class each negative vector must produce (None: any rejection, and no message).
NEGATIVE_ERRORS: dict[str, type[HanError] | None] = {
    "dp_v4_2_badcrc": ChecksumError,
    "dp_v5_badcrc": ChecksumError,
    "dp_fluvius_badcrc": ChecksumError,
    "dp_iskra_ie_badcrc": ChecksumError,
    "dp_eon_hu_badcrc": ChecksumError,
    "dp_v4_2_nocrc": TruncatedError,
    "dp_v5_nocrc": TruncatedError,
    # esphome-libs accumulator tests: "/some !a3D4" has no line end at all, so its '!' starts
    # no footer line: not a P1 telegram, nothing is framed (the CLI reports "no_frame").
    "esl_accumulator_bad_crc": NotFramedError,
    "esl_accumulator_stream_garbage": NotFramedError,
    "dr_error_test_datalogger_crc_error": ChecksumError,
    "amsreader-elgama-gh1177-1": ChecksumError,
    "amsreader-kaifa-gh1067-2": ChecksumError,
    "amsreader-kamstrup-gh712-2": ChecksumError,
    "amsreader-kaifa-gh986-1": TruncatedError,
    "amsreader-sagemcom-gh264-2": None,  # an annotated hex dump, not a telegram at all
}


def _framers() -> list[Any]:
    return [StoenFramer(), P1Framer(), DsmrGcmFramer()]


def decode(
    data: bytes,
    *,
    keys: Keys | None = None,
    country: str | None = None,
    chunk: int | None = None,
) -> list[Message | Rejected]:
    """Run bytes through the stream reader with the P1 framers and the P1 session."""
    reader = StreamReader(_framers(), lock=False)
    session = P1Session(keys or Keys(), country=country)
    items: list[Frame | Rejected] = []
    if chunk is None:
        items = reader.feed(data, final=True)
    else:
        for i in range(0, len(data), chunk):
            items += reader.feed(data[i : i + chunk])
        items += reader.feed(b"", final=True)
    out: list[Message | Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            out.append(item)
            continue
        try:
            message = session.push_frame(item)
        except HanError as err:
            out.append(Rejected(item.kind, err, item.size))
            continue
        assert message is not None
        out.append(message)
    return out


def messages(results: list[Message | Rejected]) -> list[Message]:
    return [r for r in results if isinstance(r, Message)]


def assert_expected(vector: dict[str, Any], message: Message) -> None:
    """Compare like the scorer: numbers after unit normalisation, strings exactly."""
    loose = TYPE_ONLY.get(vector["id"], set())
    for key, exp in vector["expected"].items():
        if ":" not in key or key.split(":")[1] == "1.0.0":
            continue  # "identification" is not an OBIS code; clocks are compared elsewhere
        value, unit = exp["value"], exp["unit"]
        if value is None or isinstance(value, list):
            continue
        reading = message.readings.get(key)
        assert reading is not None, f"{vector['id']}: {key} missing"
        if key in loose:
            assert float(reading.value) == float(value), (vector["id"], key)  # type: ignore[arg-type]
            continue
        if isinstance(value, str):
            assert reading.value == value, (vector["id"], key, reading.value)
            continue
        want, want_unit = normalise(value, unit)
        assert isinstance(reading.value, (int, float)), (vector["id"], key, reading.value)
        assert not isinstance(reading.value, bool)
        assert reading.unit == want_unit, (vector["id"], key, reading.unit, want_unit)
        assert math.isclose(reading.value, want, rel_tol=1e-12, abs_tol=1e-9), (
            vector["id"],
            key,
            reading.value,
            want,
        )


# --------------------------------------------------------------------------------------
# Vectors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", POSITIVE, ids=lambda v: v["id"])
def test_positive_vector(vector: dict[str, Any]) -> None:
    found = messages(decode(wire(vector), country=vector["country"]))
    assert found, vector["id"]
    assert_expected(vector, found[-1])  # dsmr-reader streams: the last complete telegram


@pytest.mark.parametrize("vector", NEGATIVE, ids=lambda v: v["id"])
def test_negative_vector(vector: dict[str, Any]) -> None:
    results = decode(wire(vector), country=vector["country"])
    assert not messages(results), vector["id"]
    rejected = [r for r in results if isinstance(r, Rejected)]
    want = NEGATIVE_ERRORS[vector["id"]]
    if want is NotFramedError:
        assert results == []
        return
    assert rejected, vector["id"]
    if want is not None:
        assert any(isinstance(r.error, want) for r in rejected), [r.error for r in rejected]


def test_every_negative_vector_has_an_expected_error() -> None:
    assert {v["id"] for v in NEGATIVE} == set(NEGATIVE_ERRORS)


def test_vector_counts() -> None:
    assert len(_load("dsmr.jsonl")) == 53
    # December 2026 review: the two decrypted Stoen telegrams became envelopes (dlms.jsonl,
    # dsmr-encrypted) and the debug dump amsreader-sagemcom-gh264-1 was removed.
    assert len(POSITIVE) == 46
    assert len(NEGATIVE) == len(NEGATIVE_ERRORS)


def test_exact_decimal_scaling() -> None:
    message = parse_telegram(str(BY_ID["dp_v2_2"]["telegram"]).encode())
    reading = message.readings["1-0:1.8.1"]
    assert reading.value == 1001
    assert isinstance(reading.value, int)
    assert reading.unit == "Wh"
    assert message.readings["1-0:1.7.0"].value == 1010
    assert message.readings["0-0:17.0.0"].value == 999_000
    # DSMR 2.2 gas: the value sits on the continuation line after 24.3.0.
    gas = message.readings["0-1:24.3.0"]
    assert (gas.value, gas.unit) == (1.001, "m³")
    q3d = parse_telegram(str(BY_ID["dp_q3d_b1024"]["telegram"]).encode("latin-1"))
    assert q3d.readings["1-0:1.8.0"].value == 52_185_782.5309
    assert q3d.readings["1-0:1.7.0"].value == 2124.86


def test_values_and_identity_of_a_dsmr5_telegram() -> None:
    message = messages(decode(wire(BY_ID["dp_v5_two_mbus"])))[0]
    assert message.format == "p1"
    r = message.readings
    assert (r["1-0:1.8.1"].value, r["1-0:1.8.1"].unit) == (2_130_115, "Wh")
    assert (r["1-0:32.7.0"].value, r["1-0:32.7.0"].unit) == (229.9, "V")
    assert r["0-0:96.14.0"].value == "0001"
    assert r["0-0:96.7.21"].value == 5
    assert r["0-1:24.1.0"].value == 3
    assert r["0-1:24.2.1"].value == 0
    assert r["0-1:24.2.1"].unit is None
    assert (r["0-2:24.2.1"].value, r["0-2:24.2.1"].unit) == (246.138, "m³")
    assert r["0-2:96.1.0"].value == "4730303339303031393336393930363139"
    assert message.timestamp == datetime(2020, 4, 26, 20, 33, 25, tzinfo=UTC)
    assert r["0-0:1.0.0"].value == "2020-04-26T20:33:25+00:00"
    assert message.meter.manufacturer == "ISK"
    assert message.meter.model == "M550T-1012"
    assert message.meter.meter_id == "E0044007382246019"
    events = json.loads(str(r["1-0:99.97.0"].value))
    assert events["count"] == 1
    assert events["objects"] == ["0-0:96.7.19"]
    assert events["entries"] == [["2019-03-26T08:50:15+00:00", 2014]]
    assert events["units"] == [None, "s"]


def test_belgian_peak_history_and_m_bus_channels() -> None:
    message = parse_telegram(str(BY_ID["dp_fluvius_v171"]["telegram"]).encode())
    r = message.readings
    history = json.loads(str(r["0-0:98.1.0"].value))
    assert history["count"] == 3
    assert history["objects"] == ["1-0:1.6.0", "1-0:1.6.0"]
    assert history["entries"][0] == ["2020-04-30T22:00:00+00:00", "2020-04-23T17:25:38+00:00", 3695]
    assert len(history["entries"]) == 3
    assert (r["1-0:1.6.0"].value, r["1-0:1.6.0"].unit) == (2589, "W")
    assert (r["0-1:24.2.3"].value, r["0-1:24.2.3"].unit) == (112.384, "m³")
    assert (r["0-2:24.2.1"].value, r["0-2:24.2.1"].unit) == (872.234, "m³")
    assert message.meter.manufacturer == "FLU"
    assert message.meter.meter_id == "1SAG3101021605"
    # An invalid capture time inside the history is kept as null, not an error.
    alt = parse_telegram(str(BY_ID["dp_fluvius_v171_alt"]["telegram"]).encode())
    entries = json.loads(str(alt.readings["0-0:98.1.0"].value))["entries"]
    assert entries[0][1] is None
    assert entries[0][2] == 0


def test_identity_from_luxembourg_and_q3d_and_heat() -> None:
    lux = parse_telegram(str(BY_ID["lux_smarty_plain_meterlogger"]["telegram"]).encode())
    assert lux.meter.meter_id == "SAG1030700012701"
    assert lux.meter.manufacturer == "Lux"
    q3d = parse_telegram(str(BY_ID["dp_q3d_a1004"]["telegram"]).encode("latin-1"))
    assert q3d.meter.meter_id == "1ESY1336001560"
    assert q3d.meter.model == "Q3DA1004 V3.04"
    heat = parse_telegram(str(BY_ID["dp_unpadded_crc_heat"]["telegram"]).encode())
    assert (heat.readings["0-1:24.2.1"].value, heat.readings["0-1:24.2.1"].unit) == (240.86, "GJ")


def test_timestamp_suffix_and_country() -> None:
    text = "/XYZ5 test\r\n\r\n0-0:1.0.0(240115120000W)\r\n1-0:1.8.0(1*kWh)\r\n!"
    cet = parse_telegram(text.encode())
    assert cet.timestamp == datetime(2024, 1, 15, 11, 0, tzinfo=UTC)
    summer = parse_telegram(text.replace("W)", "S)").encode())
    assert summer.timestamp == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    ireland = parse_telegram(text.encode(), country="IE")
    assert ireland.timestamp == datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
    finland = parse_telegram(text.encode(), country="fi")
    assert finland.timestamp == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    bad = parse_telegram(text.replace("240115120000W", "632525252525S").encode())
    assert bad.timestamp is None
    assert bad.readings["0-0:1.0.0"].value == "632525252525S"


def test_odd_lines_are_skipped_not_fatal() -> None:
    text = (
        "/KFM5KAIFA-METER\r\n\r\n"
        "1-0:4:24.7.0(0000.000*kVAr)\r\n"  # malformed OBIS
        "garbage without parentheses\r\n"
        "1-0:1.7.0(00.318*kW\r\n"  # no closing parenthesis
        "\xff\xfe(\xb3)\r\n"
        "1-0:2.7.0(00.100*kW)\r\n"
        "1-0:13.7.0(0.998)\r\n"
        "0-0:96.13.0()\r\n"
        "1-0:99.97.0()\r\n"
        "0-1:24.2.1()\r\n"
        f"1-0:4.8.0({'0' * 30}12.5*kvarh)\r\n"  # leading zeros are not significant
        "0-0:96.1.1(12*34)\r\n"  # identifiers are text, whatever they contain
        "1-0:2.8.0.255(5*kWh)\r\n"  # six-part OBIS
        "!"
    )
    message = parse_telegram(text.encode("latin-1"))
    r = message.readings
    assert "1-0:4:24.7.0" not in r
    assert r["1-0:2.7.0"].value == 100
    assert r["1-0:1.7.0"].value == 318
    assert r["1-0:13.7.0"].value == 0.998
    assert r["0-0:96.13.0"].value == ""
    assert r["0-1:24.2.1"].value is None
    assert json.loads(str(r["1-0:99.97.0"].value)) == {"entries": []}
    assert r["1-0:4.8.0"].value == 12_500
    assert r["0-0:96.1.1"].value == "12*34"
    assert r["1-0:2.8.0"].value == 5000


def test_first_occurrence_wins_for_repeated_registers() -> None:
    # The Polish Kaifa MA309M telegram as amsreader logged it after decryption (AMS #1067).
    message = parse_telegram(str(BY_ID["amsreader-kaifa-gh1067-2"]["telegram"]).encode())
    assert message.readings["0-0:96.13.0"].value == "3"
    assert message.meter.manufacturer == "KFM"
    # 96.1.1 carries the model ("MA309M") on Polish Kaifa meters; the serial is 96.1.0.
    assert message.meter.meter_id == "30057775"


def test_meter_id_without_a_serial_falls_back_to_the_first_identifier() -> None:
    message = parse_telegram(b"/ABC5 X\r\n\r\n0-0:96.1.1(4D413330394D)\r\n!")
    assert message.meter.meter_id == "MA309M"


def test_no_data_is_malformed() -> None:
    with pytest.raises(MalformedError):
        parse_telegram(b"/some !a3D4")
    with pytest.raises(MalformedError):
        parse_telegram(b"no telegram here")


def test_non_ascii_bytes_never_raise() -> None:
    body = "/KAM5\r\n\r\n0-1:24.2.1(240101000000W)(00012.345*m\xb3)\r\n0-0:96.13.0(\xff)\r\n!"
    data = body.encode("latin-1")
    data = with_crc(data)
    message = messages(decode(data))[0]
    assert (message.readings["0-1:24.2.1"].value, message.readings["0-1:24.2.1"].unit) == (
        12.345,
        "m³",
    )
    assert message.readings["0-0:96.13.0"].value == "\xff"
    # Where a number with a unit is due, the byte is no reading: refused, never raised.
    body = body.replace("0-0:96.13.0(\xff)", "1-0:1.7.0(\xff*kW)")
    data = body.encode("latin-1")
    data = with_crc(data)
    assert [r.code for r in decode(data) if isinstance(r, Rejected)] == [ErrorCode.IMPLAUSIBLE]


def test_session_rejects_foreign_frames() -> None:
    session = P1Session(Keys())
    with pytest.raises(UnsupportedError):
        session.push_frame(Frame(FrameKind.HDLC, b"\x7e", 1))
    with pytest.raises(MalformedError):
        session.push_frame(Frame(FrameKind.P1, b"/X!", 3))


def test_caches_give_the_same_results() -> None:
    data = wire(BY_ID["dp_fluvius_v171"])
    parser = TelegramParser("BE")
    cold = parser.parse(data)
    warm = parser.parse(data)
    assert cold.readings == warm.readings
    assert cold.meter == warm.meter
    assert cold.meter is not warm.meter
    assert parse_telegram(data, country="BE").readings == cold.readings


def test_each_meter_has_its_own_bounded_line_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sessions (two meters, two config entries) never share what they remember."""
    first, second = P1Session(Keys(), country="NL"), P1Session(Keys(), country="FI")
    telegram = wire(BY_ID["dp_v5"])
    frame = Frame(FrameKind.P1, telegram, len(telegram))
    nl = first.push_frame(frame)
    assert first.parser._lines
    assert not second.parser._lines  # nothing learnt from the other meter
    fi = second.push_frame(frame)
    # The same line means another time in Finland (EET): no answer crosses over.
    assert nl.timestamp is not None
    assert fi.timestamp is not None
    assert nl.timestamp - fi.timestamp == timedelta(hours=1)
    monkeypatch.setattr("han.p1_parse._MAX_LINES", 4)
    bounded = TelegramParser()
    for index in range(20):
        bounded.parse(f"/ISk5MT382\r\n\r\n1-0:1.8.1({index:06}.000*kWh)\r\n!\r\n".encode())
        assert len(bounded._lines) <= 4


# --------------------------------------------------------------------------------------
# CRC and framing
# --------------------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=3000))
def test_fast_crc_equals_reference(data: bytes) -> None:
    assert crc16_arc_fast(data) == crc16_arc(data)


def test_crc_check_value() -> None:
    assert crc16_arc_fast(b"123456789") == 0xBB3D
    assert crc16_arc_fast(bytes(9000)) == crc16_arc(bytes(9000))


def _telegram(body: str, *, crc: str = "upper", eol: str = "\r\n") -> bytes:
    text = body.replace("\r\n", eol) + "!"
    value = crc16_arc(text.encode("latin-1"))
    digits = {"upper": f"{value:04X}", "lower": f"{value:04x}", "none": ""}[crc]
    return (text + digits + eol).encode("latin-1")


BODY = (
    "/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(170102192002W)\r\n"
    "1-0:1.8.1(000004.426*kWh)\r\n1-0:1.7.0(00.244*kW)\r\n0-1:24.2.1(170102161005W)(00000.107*m3)\r\n"
)


def test_scan_statuses() -> None:
    framer = P1Framer()
    good = _telegram(BODY)
    scan = framer.scan(good, 0)
    assert scan.status is ScanStatus.FRAME
    assert scan.end == len(good)
    assert scan.frame is not None
    assert scan.frame.payload == good[:-2]
    assert framer.scan(good[:-8], 0).status is ScanStatus.NEED_MORE
    assert framer.scan(good[:-8], 0, final=True).status is ScanStatus.REJECT
    bad = good.replace(b"4.426", b"4.427")
    rejected = framer.scan(bad, 0)
    assert rejected.status is ScanStatus.REJECT
    assert isinstance(rejected.error, ChecksumError)
    assert rejected.end == len(bad)
    # A new telegram starting before the footer: the first one was cut.
    assert framer.scan(good[:40] + good, 0).status is ScanStatus.INVALID
    # Bad character in the CRC.
    assert framer.scan(good[:-4] + b"G1\r\n", 0).status is ScanStatus.REJECT
    # Without a line end the footer is only complete once four digits are in.
    assert framer.scan(good[:-3], 0).status is ScanStatus.NEED_MORE
    assert framer.scan(good[:-2], 0).status is ScanStatus.FRAME
    assert framer.scan(good[:-3], 0, final=True).status is ScanStatus.REJECT
    # Polish envelope: left to StoenFramer.
    envelope = b"/EGM5G35\r\n\r\n\x00\x82\x00\x20\x30" + bytes(31) + b"!FE0C\r\n"
    assert framer.scan(envelope, 0).status is ScanStatus.INVALID
    assert framer.scan(b"/EGM5G35\r\n\r\n", 0).status is ScanStatus.NEED_MORE
    # A '!' in the middle of a line is not a footer: the telegram has none yet.
    midline = b"/ABC5\r\n\r\n1-0:1.8.0(1*kWh)!\r\n"
    assert framer.scan(midline, 0).status is ScanStatus.NEED_MORE
    cut = framer.scan(midline, 0, final=True)
    assert cut.status is ScanStatus.REJECT
    assert isinstance(cut.error, TruncatedError)


@pytest.mark.parametrize(
    ("crc", "eol"),
    [("upper", "\r\n"), ("lower", "\r\n"), ("upper", "\n"), ("none", "\r\n"), ("none", "\n")],
)
def test_footer_variants(crc: str, eol: str) -> None:
    data = _telegram(BODY, crc=crc, eol=eol)
    message = messages(decode(data))[0]
    assert message.readings["1-0:1.8.1"].value == 4426
    assert message.readings["0-1:24.2.1"].value == 0.107
    assert verify_footer(data) is (None if crc == "none" else True)


def test_footer_without_line_end_only_at_capture_end() -> None:
    data = _telegram(BODY)[:-2]
    reader = StreamReader([P1Framer()])
    assert len(reader.feed(data)) == 1  # four CRC digits complete the footer
    unpadded = wire(BY_ID["dp_unpadded_crc_heat"])[:-2]  # ends "!B9F": maybe more digits
    reader = StreamReader([P1Framer()])
    assert reader.feed(unpadded) == []
    frames = reader.feed(b"", final=True)
    assert len(frames) == 1
    assert isinstance(frames[0], Frame)


def test_unpadded_crc() -> None:
    vector = BY_ID["dp_unpadded_crc_heat"]
    data = wire(vector)
    assert b"!B9F\r\n" in data
    assert len(messages(decode(data))) == 1
    assert len(messages(decode(data, chunk=1))) == 1


def _stream() -> bytes:
    parts = [b"\x00\xffgarbage\r\n", wire(BY_ID["dp_v5"])[:300]]  # a half telegram first
    # Telegrams without a CRC first: once a line has carried CRCs, a missing one is damage.
    for name in (
        "dp_v2_2",
        "dp_q3d_b1024",
        "dp_v4_2",
        "esl_accumulator_crc_lowercase",
        "dp_v5_badcrc",
        "dr_fluvius",
        "dp_unpadded_crc_heat",
        "dr_example_dsmr50_test_serial",
        "dp_eon_hu",
    ):
        parts.append(wire(BY_ID[name]))
        parts.append(b"\r\n" if name == "dr_fluvius" else b"")
        parts.append(bytes([0xB3, 0x21, 0x0D]) if name == "dp_q3d_b1024" else b"")
    return b"".join(parts)


def _summary(results: list[Message | Rejected]) -> list[object]:
    return [
        (type(r.error).__name__,)
        if isinstance(r, Rejected)
        else (r.meter.manufacturer, sorted(r.readings.items()))
        for r in results
    ]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunking_gives_identical_results(chunk: int) -> None:
    data = _stream()
    whole = decode(data)
    assert _summary(decode(data, chunk=chunk)) == _summary(whole)
    good = messages(whole)
    assert [m.meter.manufacturer for m in good] == [
        "ISk",
        "ESY",
        "KFM",
        "KFM",
        "FLU",
        "NWA",
        "ISk",
        "SAG",
    ]
    assert [type(r.error) for r in whole if isinstance(r, Rejected)] == [ChecksumError]


def test_corrupted_telegram_does_not_swallow_the_next() -> None:
    first = bytearray(wire(BY_ID["dp_v4_2"]))
    second = wire(BY_ID["dp_v5"])
    for position in (len(first) // 2, len(first) - 4):
        broken = bytearray(first)
        broken[position] ^= 0x01
        results = decode(bytes(broken) + second)
        assert isinstance(results[0], Rejected)
        assert isinstance(results[0].error, ChecksumError)
        assert [m.readings["1-0:1.8.1"].value for m in messages(results)] == [4426]
    # Footer lost entirely: the telegram is cut, the next one still decodes.
    cut = bytes(first[: first.index(b"!")])
    results = decode(cut + second)
    assert [m.readings["1-0:1.8.1"].value for m in messages(results)] == [4426]


def test_esphome_accumulator_stream_is_not_p1() -> None:
    """esphome-libs frames "/some !a3D4" (no line end at all) as a packet; DSMR does not.

    The footer is the '!' that starts a line, so nothing here is a telegram. Found when the
    footer rule changed for idents that hold a '!': the old framer took any '!'.
    """
    data = wire(BY_ID["esl_accumulator_stream_garbage"])
    for chunk in (None, 1):
        reader = StreamReader([P1Framer()])
        if chunk is None:
            items = reader.feed(data, final=True)
        else:
            items = [x for i in range(len(data)) for x in reader.feed(data[i : i + 1])]
            items += reader.feed(b"", final=True)
        assert items == []
        assert reader.stats.skipped_bytes == len(data)


def test_leading_line_end_and_trailing_nuls() -> None:
    data = b"\r\n" + _telegram(BODY) + bytes(13)
    assert len(messages(decode(data))) == 1


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

GOOD = [wire(BY_ID[name]) for name in ("dp_v5", "dp_fluvius_v171", "lux_smarty_plain_meterlogger")]


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    for result in decode(data):
        assert isinstance(result, (Message, Rejected))


@SETTINGS
@given(
    st.integers(0, len(GOOD) - 1),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_body_never_yields_a_message(index: int, edits: list[tuple[int, int]]) -> None:
    original = GOOD[index]
    bang = original.rindex(b"!")
    data = bytearray(original)
    for position, value in edits:
        data[1 + position % (bang - 1)] = value
    if bytes(data) == original:
        return
    results = decode(bytes(data))
    # Only a telegram whose CRC verifies may come out; a mutation can split the text in
    # two (a new '/'), but then nothing before the original footer carries a valid CRC.
    for message in messages(results):
        assert message.readings == parse_telegram(original).readings


@SETTINGS
@given(st.data())
def test_random_chunking_matches_whole(data: st.DataObject) -> None:
    stream = b"noise/" + GOOD[0] + b"\xdb\x08\x00" + GOOD[1] + GOOD[2][:200]
    sizes = data.draw(st.lists(st.integers(1, 300), min_size=1, max_size=30))
    reader = StreamReader(_framers(), lock=False)
    out: list[Frame | Rejected] = []
    pos = 0
    rng = random.Random(len(sizes))
    while pos < len(stream):
        size = sizes[rng.randrange(len(sizes))]
        out += reader.feed(stream[pos : pos + size])
        pos += size
    out += reader.feed(b"", final=True)
    whole = StreamReader(_framers(), lock=False).feed(stream, final=True)
    assert [f.payload for f in out if isinstance(f, Frame)] == [
        f.payload for f in whole if isinstance(f, Frame)
    ]
    assert len([f for f in whole if isinstance(f, Frame)]) == 2


def test_a_meter_that_sends_crcs_cannot_drop_one() -> None:
    """Found by fuzzing: a footer damaged into a bare '!' switched the CRC check off."""
    good = str(BY_ID["dp_v5"]["telegram"]).encode()
    bang = good.rindex(b"!")
    tampered = good[:bang].replace(b"1-0:1.8.1(00", b"1-0:1.8.1(90", 1) + b"!\nEEE\r\n"
    decoder = Decoder()
    first = decoder.feed(good)
    assert [type(r) for r in first] == [Message]
    second = decoder.feed(tampered + good, final=True)
    assert [r.code for r in second if isinstance(r, Rejected)] == [ErrorCode.CHECKSUM]
    assert len([r for r in second if isinstance(r, Message)]) == 1
    # A meter that never sent a CRC (DSMR 2.2) is still read.
    bare = Decoder().decode_capture(str(BY_ID["dp_v2_2"]["telegram"]).encode())
    assert [type(r) for r in bare] == [Message]


def test_a_crc_split_by_a_stray_line_end_is_rejected_even_on_a_fresh_line() -> None:
    good = str(BY_ID["dp_v5"]["telegram"]).encode()
    bang = good.rindex(b"!")
    for stray in (b"\n", b"\r", b"\x00"):
        tampered = good[: bang + 1] + stray + good[bang + 2 :]
        results = Decoder().decode_capture(tampered)
        assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.CHECKSUM]
        assert not [r for r in results if isinstance(r, Message)]


# --------------------------------------------------------------------------------------
# The footer line; numbers no register holds
# --------------------------------------------------------------------------------------


def _dp_v5_with(old: bytes, new: bytes) -> bytes:
    """The real dp_v5 telegram with one text replaced and a CRC that matches again."""
    good = wire(BY_ID["dp_v5"])
    body = good[: good.rindex(b"!") + 1]
    assert old in body
    return with_crc(body.replace(old, new, 1))


def test_the_crc_covers_everything_up_to_the_footer_line_also_after_a_bang_in_the_ident() -> None:
    """Issue 9 item 4: the footer is the '!' that starts a line.

    No real capture has a '!' in its ident line (DSMR allows any printable character there),
    so the real dp_v5 telegram is given one, with hex digits after it as in a footer, and a
    text register holding a '!' as well; the CRC is computed as a meter would.
    """
    data = _dp_v5_with(b"/ISk5\\2MT382-1000\r\n", b"/ISk5\\2MT382!A1B2\r\n")
    data = data[: data.rindex(b"!") + 1].replace(
        b"0-0:96.14.0(0002)", b"0-0:96.14.0(0002)\r\n0-0:96.13.9(Hi!)", 1
    )
    data = with_crc(data)
    assert verify_footer(data) is True
    for chunk in (None, 1, 64):
        found = decode(data, chunk=chunk)
        assert [type(r) for r in found] == [Message]
        message = messages(found)[0]
        assert message.meter.model == "MT382!A1B2"
        assert message.readings["0-0:96.13.9"].value == "Hi!"
        assert message.readings["1-0:1.8.1"].value == 4426
        reference = parse_telegram(wire(BY_ID["dp_v5"])).readings
        assert {k: v for k, v in message.readings.items() if k != "0-0:96.13.9"} == reference
    # The CRC really is checked up to the footer line: one changed digit is an error.
    broken = data.replace(b"000004.426", b"000004.427")
    assert [r.code for r in decode(broken) if isinstance(r, Rejected)] == [ErrorCode.CHECKSUM]
    assert verify_footer(broken) is False


@pytest.mark.parametrize(
    ("old", "new", "register"),
    [
        (b"(000004.426*kWh)", b"(" + b"9" * 400 + b".5*kWh)", "1-0:1.8.1"),
        (b"(000004.426*kWh)", b"(" + b"9" * 5000 + b"*kWh)", "1-0:1.8.1"),
        (b"(000004.426*kWh)", b"(-1000000000000000*kWh)", "1-0:1.8.1"),
        (b"(00013)", b"(" + b"1" * 16 + b")", "0-0:96.7.21"),
        (b"99.97.0(0)", b"99.97.0(" + b"7" * 400 + b")", "1-0:99.97.0"),
        (b"(00.244*kW)", b"(00.244" + b"4" * 20 + b"*kW)", "1-0:1.7.0"),
    ],
    ids=["400-digits", "5000-digits", "16-digits-signed", "counter", "profile-count", "decimals"],
)
def test_a_number_no_register_holds_rejects_the_telegram(
    old: bytes, new: bytes, register: str
) -> None:
    """Issue 10 item 1: a 400-digit value overflowed in the scale step; it is refused now."""
    data = _dp_v5_with(old, new)
    for chunk in (None, 7):
        results = Decoder().feed(data, final=chunk is None) if chunk is None else decode(data)
        assert [type(r) for r in results] == [Rejected]
        rejected = results[0]
        assert isinstance(rejected, Rejected)
        assert rejected.code is ErrorCode.IMPLAUSIBLE
        assert isinstance(rejected.error, ImplausibleError)
        assert register in str(rejected.error)


def test_the_longest_numbers_a_register_holds_still_read() -> None:
    data = _dp_v5_with(b"(000004.426*kWh)", b"(000999999999999.999*kWh)")
    message = messages(decode(data))[0]
    assert message.readings["1-0:1.8.1"].value == 999_999_999_999_999
    nines = _dp_v5_with(b"(00013)", b"(" + b"9" * 15 + b")")
    assert messages(decode(nines))[0].readings["0-0:96.7.21"].value == int("9" * 15)


@pytest.mark.parametrize(
    ("old", "new", "register"),
    [
        *(
            (b"(00.244*kW)", b"(" + text + b"*kW)", "1-0:1.7.0")
            for text in (
                b"nan",
                b"inf",
                b"-Infinity",
                b"1e5",  # float() reads 100000 (kW meant): never a reading in W
                b"0x10",
                b"1_000",  # Python's digit groups are not wire digits
                b"12x.5",
                b"1.0.0",
                b"",
            )
        ),
        (b"(00000.107*m3)", b"(nan*m3)", "0-1:24.2.1"),  # after a capture time
        (
            b"99.97.0(0)(0-0:96.7.19)",
            b"99.97.0(1)(0-0:96.7.19)(170102161005W)(1e3*s)",
            "1-0:99.97.0",
        ),
    ],
    ids=[
        "nan",
        "inf",
        "-Infinity",
        "1e5",
        "0x10",
        "1_000",
        "12x.5",
        "1.0.0",
        "empty",
        "m-bus",
        "profile",
    ],
)
def test_a_value_with_a_unit_that_is_not_a_decimal_rejects_the_telegram(
    old: bytes, new: bytes, register: str
) -> None:
    """Review of issue 12, item 1: ``1-0:1.7.0(nan*kW)`` became Reading('nan', 'W').

    The text skipped the plausibility gate, and a sensor float()ed ``1e5`` to 100000 W. A
    group that carries a unit promises a number: one that is not a decimal refuses the
    telegram as implausible, naming the register, and the next good telegram still reads.
    """
    good = wire(BY_ID["dp_v5"])
    data = _dp_v5_with(old, new)
    for chunk in (None, 7):
        results = decode(data + good, chunk=chunk)
        assert [type(r) for r in results] == [Rejected, Message]
        rejected = results[0]
        assert isinstance(rejected, Rejected)
        assert rejected.code is ErrorCode.IMPLAUSIBLE
        assert register in str(rejected.error)
        assert "not a decimal" in str(rejected.error)
        assert messages(results)[0].readings["1-0:1.7.0"].value == 244
    # Through the decoder too (its gate and the integration's path).
    found = Decoder(country="NL").feed(data, final=True)
    assert [r.code for r in found if isinstance(r, Rejected)] == [ErrorCode.IMPLAUSIBLE]


def test_a_dsmr22_gas_value_that_is_not_a_decimal_rejects_the_telegram() -> None:
    """The DSMR 2.2 24.3.0 record names its unit (m3) in a group of its own."""
    text = str(BY_ID["dp_v2_2"]["telegram"])
    assert parse_telegram(text.encode()).readings["0-1:24.3.0"].value == 1.001
    with pytest.raises(ImplausibleError, match=r"0-1:24\.3\.0: a value with a unit"):
        parse_telegram(text.replace("(00001.001)", "(1e3)").encode())


def test_a_count_python_cannot_read_is_malformed_not_an_exception() -> None:
    """5000 leading zeros: few significant digits, but beyond int()'s 4300-digit limit."""
    data = _dp_v5_with(b"99.97.0(0)", b"99.97.0(" + b"0" * 5000 + b"1)")
    results = decode(data)
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.MALFORMED]
    assert not messages(results)


def test_footer_edge_cases() -> None:
    assert verify_footer(b"1-0:1.8.0(1*kWh)\r\n!1234\r\n") is False  # no ident line
    assert verify_footer(b"/ABC5 X\r\n\r\n1-0:1.8.0(1*kWh)!1234\r\n") is False  # no footer line
    # Printable text that never ends is no telegram once a telegram's worth has arrived.
    framer = P1Framer()
    endless = b"/ABC5 X\r\n\r\n" + b"1-0:1.8.0(1*kWh)\r\n" * (MAX_TELEGRAM // 18 + 1)
    assert framer.scan(endless, 0).status is ScanStatus.INVALID
    assert framer.scan(endless[:4000], 0).status is ScanStatus.NEED_MORE
