"""Makers' own phase conventions: Gran-System-S sub-units, on the real CC-301 frame."""

from __future__ import annotations

from han.model import Message
from han.wmbus import decode_vector_bytes
from han.wmbus.readings import readings_from_records
from han.wmbus.records import parse_records
from tests.common import vectors_by_id

#: Gran-System-S CC-301 20100117, wmbusmeters ``drivers/src/gransystems.xmq`` test telegram
#: (three-phase; only L1 connected: 234.1 V, RTC_ERROR, 50.00 Hz as that test asserts).
GSS301 = bytes.fromhex(
    "9e44731e17011020010278046d0813bc21040300000000841003000000008420030000000084300300000000"
    "848010030000000084016d0000bc218401030000000084110300000000842103000000008431030000000084"
    "811003000000008440fd4825090000848040fd480000000084c040fd48000000008440fd5b00000000848040"
    "fd5b0000000084c040fd5b0000000002fb2d881304fd1702000101"
)


def _readings(message: object) -> dict[str, tuple[object, str | None]]:
    assert isinstance(message, Message), message
    return {key: (r.value, r.unit) for key, r in message.readings.items()}


def test_gran_system_301_sub_units_are_phases() -> None:
    readings = _readings(decode_vector_bytes(GSS301, None, None))
    assert readings["1-0:32.7.0"] == (234.1, "V")
    assert readings["1-0:52.7.0"] == (0, "V")
    assert readings["1-0:72.7.0"] == (0, "V")
    for key in ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"):
        assert readings[key] == (0, "A")
    assert readings["1-0:14.7.0"] == (50.0, "Hz")
    assert not [key for key in readings if key.startswith(("1-1:", "1-2:", "1-3:"))]


def test_gran_system_101_has_no_sub_units() -> None:
    vector = vectors_by_id("wmbus")["wmbusmeters-gransystems-18046178-046d"]
    readings = _readings(decode_vector_bytes(bytes.fromhex(vector["bytes_hex"]), None, None))
    assert readings["1-0:32.7.0"] == (235, "V")
    assert readings["1-0:31.7.0"] == (0, "A")


def test_other_makers_keep_the_sub_unit_as_obis_b() -> None:
    records = parse_records(bytes.fromhex("8440FD4825090000"))
    for maker, key in (("GSS", "1-0:32.7.0"), ("XYZ", "1-1:12.7.0")):
        message = Message("wmbus")
        readings_from_records(message, records, 0x02, maker)
        assert list(message.readings) == [key]
    water = Message("wmbus")
    readings_from_records(water, records, 0x07, "GSS")  # only electricity meters
    assert list(water.readings) == ["wmbus:8440FD48"]


def _keys_of(hex_records: str) -> dict[str, tuple[object, str | None]]:
    message = Message("wmbus")
    readings_from_records(message, parse_records(bytes.fromhex(hex_records)), 0x02, "XYZ")
    assert message.timestamp is None
    return {key: (r.value, r.unit) for key, r in message.readings.items()}


def test_plain_text_units_and_a_time_without_date() -> None:
    # VIF 7C: the unit is sent as text, last character first ("hWk" -> kWh).
    assert _keys_of("047C03" + b"hWk".hex() + "0A000000") == {"wmbus:047C0368576B": (10, "kWh")}
    # A 3-byte date-time field is a time of day: kept as text, not taken as the timestamp.
    assert _keys_of("036D000813") == {"0-0:1.0.0": ("19:08:00", None)}


def test_no_total_is_derived_when_a_phase_exports() -> None:
    phases = "04ABFC010A000000" + "04ABFC020A000000" + "04ABFC030A000000"
    derived = _keys_of(phases)
    assert derived["1-0:1.7.0"] == (30, "W")
    exporting = _keys_of(phases + "04ABBCFC0100000000")
    assert "1-0:22.7.0" in exporting
    assert "1-0:1.7.0" not in exporting
