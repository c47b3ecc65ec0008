"""The library's answer to "what is this code": quantity, phase, direction, tariff, channel."""

from __future__ import annotations

import pytest

from han.obis import (
    Code,
    Direction,
    Medium,
    Quantity,
    catalogue,
    lookup,
    medium,
    parse,
    phase_code,
    readable_id,
    register,
    submeter_quantity,
)


def test_parse_is_strict() -> None:
    assert parse("1-0:31.7.0") == Code(1, 0, 31, 7, 0)
    assert parse("0-1:24.2.1").channel == 1
    assert parse("1-1:24.2.1").channel == 0  # A=1: B is a measurement channel
    assert parse("0-0:99.98.1").log
    # A storage number (wireless M-Bus history), the F group, other keys: not a present value.
    for text in ("1-0:31.7.0*2", "1-0:1.8.0.255", "wmbus:0BABC8FC10", "1-0:1.8", ""):
        assert parse(text) is None
        assert register(text) is None


@pytest.mark.parametrize(
    ("code", "quantity", "key", "phase", "direction", "tariff", "unit"),
    [
        ("1-0:1.7.0", Quantity.ACTIVE_POWER, "power_import", None, Direction.IMPORT, None, "W"),
        ("1-1:2.7.0", Quantity.ACTIVE_POWER, "power_export", None, Direction.EXPORT, None, "W"),
        ("1-0:62.7.0", Quantity.ACTIVE_POWER, "power_export", 3, Direction.EXPORT, None, "W"),
        ("1-0:31.7.0", Quantity.CURRENT, "current", 1, None, None, "A"),
        ("1-0:52.7.0", Quantity.VOLTAGE, "voltage", 2, None, None, "V"),
        ("1-0:2.8.2", Quantity.ACTIVE_ENERGY, "energy_export", None, Direction.EXPORT, 2, "Wh"),
        ("1-0:4.8.1", Quantity.REACTIVE_ENERGY, "reactive_energy_export", None, None, 1, "varh"),
        ("1-0:15.8.0", Quantity.ACTIVE_ENERGY, "energy_absolute", None, None, None, "Wh"),
        ("1-0:10.7.0", Quantity.APPARENT_POWER, "apparent_power_export", None, None, None, "VA"),
        ("1-0:73.7.0", Quantity.POWER_FACTOR, "power_factor", 3, None, None, None),
        ("1-0:91.7.0", Quantity.CURRENT, "current_neutral", None, None, None, "A"),
        ("1-0:72.36.0", Quantity.COUNT, "voltage_swells", 3, None, None, None),
        ("1-3:0.2.8", Quantity.TEXT, "dsmr_version", None, None, None, None),
    ],
)
def test_electricity(
    code: str,
    quantity: Quantity,
    key: str,
    phase: int | None,
    direction: Direction | None,
    tariff: int | None,
    unit: str | None,
) -> None:
    info = lookup(code)
    assert info is not None
    assert (info.quantity, info.key, info.phase, info.tariff, info.unit) == (
        quantity,
        key,
        phase,
        tariff,
        unit,
    )
    if direction is not None:
        assert info.direction is direction
    assert info.channel == 0
    assert not info.identity


def test_phase_blocks() -> None:
    assert [phase_code(11, phase) for phase in (1, 2, 3)] == [31, 51, 71]
    for phase in (1, 2, 3):
        current = lookup(f"1-0:{phase_code(11, phase)}.7.0")
        fuse = lookup(f"1-0:{phase_code(11, phase)}.4.0")
        assert current is not None
        assert fuse is not None
        assert (current.key, current.phase, current.limit) == ("current", phase, False)
        assert (fuse.key, fuse.phase, fuse.limit) == ("current_limit", phase, True)


def test_identity_abstract_and_unknown() -> None:
    for code in ("0-0:96.1.0", "0-0:96.1.1", "0-0:1.0.0", "1-1:0.2.129", "1-1:0.0.5"):
        info = lookup(code)
        assert info is not None
        assert info.identity, code
    limiter = lookup("0-0:17.0.0")
    assert limiter is not None
    assert (limiter.quantity, limiter.limit, limiter.unit) == (Quantity.ACTIVE_POWER, True, "W")
    assert lookup("0-0:96.14.0").key == "active_tariff"  # type: ignore[union-attr]
    # Not electricity: A=2 is no value group a HAN port uses; wireless M-Bus heat (A=6).
    assert lookup("2-0:1.8.0") is None
    assert lookup("6-0:1.0.0") is None
    assert lookup("1-0:1.8.5") is None


def test_submeter_registers() -> None:
    reading = lookup("0-2:24.2.3")
    assert reading is not None
    assert (reading.key, reading.channel, reading.quantity) == ("submeter_reading", 2, Quantity.GAS)
    assert lookup("0-1:24.2.0").key == "submeter_reading"  # type: ignore[union-attr]
    kind = lookup("0-4:24.1.0")
    assert kind is not None
    assert (kind.identity, kind.channel) == (True, 4)
    assert lookup("0-1:96.13.0") is None  # a sub-meter register nobody names


@pytest.mark.parametrize(
    ("device_type", "expected"),
    [
        (3, Medium.GAS),
        ("003", Medium.GAS),
        (7, Medium.WATER),
        ("7", Medium.WATER),
        (6, Medium.HOT_WATER),
        (0x15, Medium.HOT_WATER),
        (0x16, Medium.WATER),
        (4, Medium.HEAT),
        (12, Medium.HEAT),
        (0x0A, Medium.COOLING),
        (99, None),
        ("x", None),
        (True, None),
        (None, None),
        (7.0, None),
    ],
)
def test_medium(device_type: object, expected: Medium | None) -> None:
    assert medium(device_type) is expected


def test_submeter_quantity() -> None:
    assert submeter_quantity("m³", 3) is Quantity.GAS
    assert submeter_quantity("m³", None) is Quantity.GAS  # DSMR: 24.2.1 without type is gas
    assert submeter_quantity("m³", 7) is Quantity.WATER
    assert submeter_quantity("m³", 0x15) is Quantity.WATER
    assert submeter_quantity("GJ", 7) is Quantity.HEAT  # the unit decides first
    assert submeter_quantity("Wh", None) is Quantity.HEAT
    assert submeter_quantity("m³", 4) is Quantity.GAS  # a heat meter's volume: as before


def test_readable_id() -> None:
    assert readable_id("4730303339303031393336393930363139") == "G0039001936990619"
    assert readable_id("12") == "12"  # not printable once decoded
    assert readable_id("ff") == "ff"
    assert readable_id("e9") == "e9"  # latin-1, not ASCII
    assert readable_id("414") == "414"  # odd length
    assert readable_id("41 42") == "41 42"  # not hex digits only
    assert readable_id("") == ""


def test_catalogue_is_consistent() -> None:
    codes = catalogue()
    assert len(codes) > 90
    for code, info in codes.items():
        assert lookup(code) == info, code
        assert info.name
        assert info.key


def test_wireless_mbus_groups_come_from_the_library() -> None:
    from han.wmbus.meaning import GROUPS

    assert GROUPS == {
        0x02: ("electricity", 1),
        0x03: ("gas", 7),
        0x04: ("heat", 6),
        0x0C: ("heat", 6),
        0x0D: ("heat", 6),
        0x0A: ("cooling", 5),
        0x0B: ("cooling", 5),
        0x06: ("water", 9),
        0x15: ("water", 9),
        0x07: ("water", 8),
        0x16: ("water", 8),
        0x08: ("hca", 4),
    }
