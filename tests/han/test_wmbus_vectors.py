"""Every wM-Bus vector of tests/fixtures/wmbus.jsonl through decode_vector_bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from han.model import (
    AuthenticationError,
    CheckBytesError,
    HanError,
    MalformedError,
    Message,
    NoKeyError,
    Rejected,
    UnsupportedError,
    WrongKeyError,
)
from han.wmbus import WmbusDecoder, decode_vector_bytes
from han.wmbus.compact import FormatStore
from hanport_dev.cli import main, vector_result
from tests.common import load

VECTORS = load("wmbus")
BY_ID = {v["id"]: v for v in VECTORS}

#: wmbusmeters field names -> OBIS (the scorer's mapping for electricity meters).
FIELDS = {
    "total_energy_consumption_kwh": "1-0:1.8.0",
    "total_energy_production_kwh": "1-0:2.8.0",
    "current_power_consumption_kw": "1-0:1.7.0",
    "current_power_production_kw": "1-0:2.7.0",
    "current_power_consumption_phase1_kw": "1-0:21.7.0",
    "current_power_consumption_phase2_kw": "1-0:41.7.0",
    "current_power_consumption_phase3_kw": "1-0:61.7.0",
    "current_at_phase_1_a": "1-0:31.7.0",
    "frequency_hz": "1-0:14.7.0",
    "voltage_at_phase_1_v": "1-0:32.7.0",
    "voltage_at_phase_2_v": "1-0:52.7.0",
    "voltage_at_phase_3_v": "1-0:72.7.0",
    # mapped by this decoder beyond the scorer's table
    "max_power_consumption_kw": "1-0:1.6.0",
    "reactive_power_inductive_kvar": "1-0:3.7.0",
    "reactive_power_capacitive_kvar": "1-0:4.7.0",
}
for _n in range(1, 5):
    FIELDS[f"total_energy_consumption_tariff_{_n}_kwh"] = f"1-0:1.8.{_n}"
    FIELDS[f"total_energy_production_tariff_{_n}_kwh"] = f"1-0:2.8.{_n}"
FACTOR = {
    "kWh": ("Wh", 1000),
    "kW": ("W", 1000),
    "kvar": ("var", 1000),
    "V": ("V", 1),
    "A": ("A", 1),
}
FACTOR["Hz"] = ("Hz", 1)

#: Negative vectors and the error class each must raise.
NEGATIVE = {
    "esphome375-elgama-gama350-31397268-encrypted-nokey": NoKeyError,
    "issue674-elgama-gama-13829063-encrypted-nokey": NoKeyError,
    "oms-mode5-no-key": NoKeyError,
    "issue2062-synthetic-kpl-mode5-609b": CheckBytesError,
    "wmbusmeters-apator162-mode5-wrongkey": WrongKeyError,
    "oms-mode5-wrong-key": WrongKeyError,
    "wmbusmeters-multical21-c1-ell-ctr-wrongkey": WrongKeyError,
    "jmbus-ell-wrong-key": WrongKeyError,
    "oms-mode7-wrong-key-mac-fail": AuthenticationError,
    # The rtl_wmbus line said CRC failed; the bytes alone carry a Techem CI 0xA0 payload.
    "rtlwmbus-crc-failed-line": UnsupportedError,
    # Format B with a bad CRC; read as CRC-free, its C-field 0x24 is no meter's.
    "esphome87-c1-frame-b-bad-crc": MalformedError,
}
#: Positive vectors this decoder cannot turn into readings, and why.
UNDECODED = {
    "wmbusmeters-apator162-mode5-zerokey": MalformedError,  # Apator 16-2 proprietary payload
    "wmbusmeters-dll-crcs-present-apator08": UnsupportedError,  # CI 0xA0 manufacturer data
}
COMPACT = "wmbusmeters-omnipower-32666857-20e9"


def _decode(vector: dict[str, Any], formats: FormatStore | None = None) -> Message | Rejected:
    ek = (vector.get("keys") or {}).get("ek")
    return decode_vector_bytes(
        bytes.fromhex(vector["bytes_hex"]),
        bytes.fromhex(ek) if ek else None,
        vector.get("meter_id"),
        formats=formats,
    )


def test_every_vector_is_classified() -> None:
    assert len(VECTORS) == 50
    negatives = {v["id"] for v in VECTORS if not v["expected"]}
    assert negatives == set(NEGATIVE)


@pytest.mark.parametrize("vid", sorted(NEGATIVE))
def test_negative_vectors_raise_the_right_error(vid: str) -> None:
    result = _decode(BY_ID[vid])
    assert isinstance(result, Rejected)
    assert type(result.error) is NEGATIVE[vid]
    assert result.format == "wmbus"


@pytest.mark.parametrize("vid", sorted(UNDECODED))
def test_known_undecodable_positives(vid: str) -> None:
    result = _decode(BY_ID[vid])
    assert isinstance(result, Rejected)
    assert type(result.error) is UNDECODED[vid]


POSITIVES = sorted(v["id"] for v in VECTORS if v["expected"] and v["id"] not in UNDECODED)


@pytest.mark.parametrize("vid", POSITIVES)
def test_positive_vectors(vid: str) -> None:
    vector = BY_ID[vid]
    result = _decode(vector)
    assert isinstance(result, Message), result
    assert result.format == "wmbus"
    assert result.meter.meter_id is not None
    assert len(result.meter.meter_id) == 8
    checked = 0
    for field, expected in vector["expected"].items():
        obis = FIELDS.get(field)
        if obis is None or expected["value"] is None:
            continue
        unit, factor = FACTOR[expected["unit"]]
        reading = result.readings[obis]
        assert reading.unit == unit, (field, reading)
        assert reading.value == pytest.approx(expected["value"] * factor, rel=1e-9, abs=1e-9)
        checked += 1
    if any(field in FIELDS for field in vector["expected"]):
        assert checked


def test_compact_frame_decodes_alone_and_after_its_long_frame() -> None:
    """OMNIPOWER's compact frame carries no DIF/VIF: the shipped layout decodes it alone."""
    compact = BY_ID[COMPACT]
    alone = _decode(compact)
    assert isinstance(alone, Message), alone
    formats = FormatStore()
    long_frame = _decode(BY_ID["wmbusmeters-omnipower-32666857-20e4"], formats)
    assert isinstance(long_frame, Message)
    assert len(formats) == 1  # the long frame taught this meter's layout
    result = _decode(compact, formats)
    assert isinstance(result, Message)
    assert result.readings["1-0:1.8.0"].value == 7940
    assert result.readings["1-0:1.7.0"].value == 3
    expected = {k: r.value for k, r in long_frame.readings.items()}
    assert {k: r.value for k, r in result.readings.items()} == expected
    assert {k: r.value for k, r in alone.readings.items()} == expected


def test_gama350_record_set() -> None:
    result = _decode(BY_ID["wmbusmeters-pr2038-elgama-gama350-30584551-mode5"])
    assert isinstance(result, Message)
    assert result.meter.manufacturer == "EGM"
    assert result.meter.meter_id == "30584551"
    values = {k: (r.value, r.unit) for k, r in result.readings.items()}
    assert values["0-0:1.0.0"] == ("2026-07-28T00:40:16", None)
    assert values["0-0:96.1.0"] == ("30584551", None)
    assert values["1-0:1.8.4"] == (0, "Wh")
    assert values["1-0:2.8.4"] == (0, "Wh")
    assert values["wmbus:0BABC8FC10"] == (70000, "W")
    assert result.timestamp is not None
    assert result.timestamp.year == 2026


@pytest.mark.parametrize(
    ("vid", "key", "value", "unit"),
    [
        ("oms-example-profileA-mode5-with-dll-crc", "7-0:3.0.0", 28504.27, "m³"),
        ("oms-example-profileB-mode7-with-dll-crc", "7-0:3.0.0", 28504.27, "m³"),
        ("oms-example-profileB-mode7-radio-adapter", "7-0:3.0.0", 28504.27, "m³"),
        ("oms-example-partial-encryption-long-tpl", "4-0:1.0.0", 1234, None),
        ("oms-example-partial-encryption-long-tpl", "4-0:1.0.0*1", 23456, None),
        ("oms-example-partial-encryption-long-tpl", "wmbus:0CFD10", "12345678", None),
        ("oms-example-frame-type-b-with-crc", "8-0:1.0.0", 876.543, "m³"),
        ("oms-example-frame-type-b-without-crc", "8-0:1.0.0", 876.543, "m³"),
        ("jmbus-kamstrup-ell-ctr-goodkey", "8-0:1.0.0", 474.24, "m³"),
        ("jmbus-kamstrup-ell-ctr-goodkey", "8-0:1.0.0*1", 473.247, "m³"),
        ("jmbus-demo-zri-long-tpl-mode5", "8-0:1.0.0*2", 0.325, "m³"),
        ("jmbus-demo-zri-long-tpl-mode5", "0-0:97.97.0", 1024, None),
        ("issue2062-synthetic-kpl-mode5-ok", "wmbus:0C13", 12345.678, "m³"),
        ("wmbusmeters-multical21-c1-ell-ctr", "8-0:1.0.0", 6.408, "m³"),
        ("wmbusmeters-kadenwater-19228217-mode5", "8-0:1.0.0", 81.0976, "m³"),
        ("wmbusmeters-picoflux-56544919-mode5", "8-0:1.0.0", 4.492, "m³"),
        ("wmbusmeters-waterstarm-50496629-mode5", "8-0:1.0.0", 0.003, "m³"),
        ("wmbusmeters-elf2-24271170-mode5", "6-0:1.0.0", 144000, "Wh"),
        ("wmbusmeters-elf2-24271170-mode5", "6-0:2.0.0", 17.856, "m³"),
        ("wmbusmeters-elf2-24271170-mode5", "6-0:10.0.0", 22.5, "°C"),
        ("wmbusmeters-ehzp-55995599-201d", "wmbus:0420", 435346, "s"),
        ("wmbusmeters-em24-66666666-2070", "0-0:97.97.0", 0x22, None),
        ("wmbusmeters-abbb23-33221100-3e00", "wmbus:0DFD8E00", "B1.28.0", None),
        ("wmbusmeters-esyswm-77997799-208b", "0-0:96.1.0", "1SEY0987654321", None),
        ("wmbusmeters-ebzwmbe-22992299-20f6", "wmbus:0DFD11", "654321", None),
        ("wmbusmeters-gransystems-18046178-046d", "1-0:1.8.4*2", 0, "Wh"),
        ("wmbusmeters-pr2038-apator-otus3-56859196", "1-0:3.8.0", 1636164, "varh"),
    ],
)
def test_other_meters(vid: str, key: str, value: object, unit: str | None) -> None:
    result = _decode(BY_ID[vid])
    assert isinstance(result, Message)
    reading = result.readings[key]
    if isinstance(value, float):
        assert reading.value == pytest.approx(value)
    else:
        assert reading.value == value
    assert reading.unit == unit


@pytest.mark.parametrize(
    ("vid", "meter_id", "manufacturer"),
    [
        ("wmbusmeters-dll-crcs-present-sontex868", "27293981", "SON"),
        ("oms-example-profileB-mode7-radio-adapter", "12345678", "ELS"),
        ("jmbus-demo-zri-long-tpl-mode5", "49705932", "ZRI"),
    ],
)
def test_identity(vid: str, meter_id: str, manufacturer: str) -> None:
    result = _decode(BY_ID[vid])
    assert isinstance(result, Message)
    assert result.meter.meter_id == meter_id
    assert result.meter.manufacturer == manufacturer


def test_meter_id_filters_the_key() -> None:
    vector = BY_ID["wmbusmeters-pr2038-elgama-gama350-30584551-mode5"]
    data = bytes.fromhex(vector["bytes_hex"])
    key = bytes.fromhex(vector["keys"]["ek"])
    assert isinstance(decode_vector_bytes(data, key, "30584551"), Message)
    other = decode_vector_bytes(data, key, "11111111")
    assert isinstance(other, Rejected)
    assert isinstance(other.error, NoKeyError)


def test_plaintext_refused_when_a_key_is_set() -> None:
    vector = BY_ID["esphome375-elgama-gama350-31397268-plain"]
    result = decode_vector_bytes(bytes.fromhex(vector["bytes_hex"]), bytes(16), None)
    assert isinstance(result, Rejected)
    assert isinstance(result.error, AuthenticationError)


def test_errors_never_show_the_key() -> None:
    for vector in VECTORS:
        ek = (vector.get("keys") or {}).get("ek")
        result = _decode(vector)
        if isinstance(result, Rejected) and ek:
            text = f"{result} {result.error} {result.error!r}".lower()
            assert ek.lower() not in text
            assert isinstance(result.error, HanError)


def test_a_bad_meter_id_is_that_vectors_error(tmp_path: Path) -> None:
    """``scripts/han vectors`` reports a meter_id that is not 8 digits and goes on."""
    bad = dict(BY_ID["wmbusmeters-pr2038-elgama-gama350-30584551-mode5"], meter_id="3058455")
    good = BY_ID[COMPACT]
    assert vector_result(bad) == {"id": bad["id"], "readings": {}, "error": "malformed"}
    path = tmp_path / "vectors.jsonl"
    path.write_text(json.dumps(bad) + "\n" + json.dumps(good) + "\n")
    out = io.StringIO()
    assert main(["vectors", str(path)], out) == 0
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["error"] == "malformed"
    assert second["error"] is None
    assert second["readings"]["1-0:1.8.0"]["value"] == 7940


def test_mode7_without_a_key_and_unsupported_payloads_are_heard() -> None:
    mode7 = _decode(dict(BY_ID["oms-example-profileB-mode7-with-dll-crc"], keys=None))
    assert isinstance(mode7, Rejected)
    assert isinstance(mode7.error, NoKeyError)
    decoder = WmbusDecoder()
    apator = bytes.fromhex(BY_ID["wmbusmeters-dll-crcs-present-apator08"]["bytes_hex"])
    rejected = decoder.decode_frame(apator)
    assert isinstance(rejected, Rejected)
    assert isinstance(rejected.error, UnsupportedError)
    assert [m.manufacturer for m in decoder.heard.values()] == ["APT"]
