"""OBIS meaning: what each code a HAN port sends is (quantity, phase, direction, tariff, unit).

This is the one place that knows what a code means; the decoders produce codes, the
integration asks here what they are and only decides how Home Assistant shows them.

Codes are ``A-B:C.D.E`` (IEC 62056-61; the F group is 255 on a HAN port and left out):

* A=1, electricity: C is the quantity and direction, with phase blocks of 20 (C=1-20 all
  phases, 21-40 L1, 41-60 L2, 61-80 L3; 91 the neutral), D what is done with it (7 the
  instantaneous value, 8 the energy register, 4 a current average, 6 a maximum, 32/36 counts
  of voltage sags/swells in DSMR), E the tariff (0: the total). B, the measurement channel,
  does not change the meaning (Swedish P1 meters send ``1-1:``, most others ``1-0:``);
* A=0, B=0: abstract objects of the meter (clock, ids, tariff indicator, messages, limiter);
* A=0, B=1-4: an M-Bus sub-meter on channel B (DSMR 24.x.x registers: its device type and
  reading); what it measures comes from its device type (EN 13757-3) and unit;
* D=97 and D=98: error registers, event logs and profiles (lists, not a state).

Sources: IEC 62056-61 / DLMS UA Blue Book value groups; DSMR 5.0.2 P1 companion standard
(section 6.12, the M-Bus and identification registers); EN 13757-3 device types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
import re
from typing import NamedTuple


class Quantity(StrEnum):
    """Physical quantity of a register."""

    ACTIVE_POWER = "active_power"
    REACTIVE_POWER = "reactive_power"
    APPARENT_POWER = "apparent_power"
    ACTIVE_ENERGY = "active_energy"
    REACTIVE_ENERGY = "reactive_energy"
    APPARENT_ENERGY = "apparent_energy"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    GAS = "gas"
    WATER = "water"
    HEAT = "heat"
    TEXT = "text"
    TIMESTAMP = "timestamp"
    COUNT = "count"


class Direction(StrEnum):
    """Which way energy flows: imported from the grid, exported to it, or both added up."""

    IMPORT = "import"
    EXPORT = "export"
    ABSOLUTE = "absolute"  # |+A| + |-A| (C=15)


class Medium(StrEnum):
    """What an M-Bus (sub-)meter measures, from its device type."""

    ELECTRICITY = "electricity"
    GAS = "gas"
    HEAT = "heat"
    COOLING = "cooling"
    WATER = "water"
    HOT_WATER = "hot_water"
    HEAT_COST_ALLOCATOR = "heat_cost_allocator"


@dataclass(frozen=True, slots=True)
class ObisInfo:
    """What one code is."""

    #: What a person calls it ("L1 voltage", "Energy import tariff 2").
    name: str
    quantity: Quantity
    #: The meaning without phase, tariff and channel ("voltage", "energy_import").
    key: str = ""
    #: 1-3 for L1-L3; None for all phases (or no phase).
    phase: int | None = None
    direction: Direction | None = None
    #: 1-n for a tariff register; None for the total.
    tariff: int | None = None
    #: The unit the library's readings of this register carry (``units.normalise``).
    unit: str | None = None
    #: The M-Bus channel of a sub-meter's register (A=0, B=1-4); 0 for the meter itself.
    channel: int = 0
    #: It names or describes the meter (id, model, list, clock): device info, not a state.
    identity: bool = False
    #: A configured threshold (fuse, limiter), not a measurement.
    limit: bool = False


class Code(NamedTuple):
    """The five value groups of a code."""

    a: int
    b: int
    c: int
    d: int
    e: int

    @property
    def cde(self) -> str:
        """``C.D.E``: what the code is, whatever its channel."""
        return f"{self.c}.{self.d}.{self.e}"

    @property
    def channel(self) -> int:
        """The M-Bus channel of a sub-meter register (A=0, B>0); 0 for the meter itself."""
        return self.b if self.a == 0 else 0

    @property
    def log(self) -> bool:
        """D=97/98: an error register, event log or profile (a list, not a state)."""
        return self.d in (97, 98)


#: A code as the decoders write it (no F group, no storage suffix).
_CANONICAL = re.compile(r"^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$")
#: A phase block of electricity C codes (L1 = C + 20, L2 = C + 40, L3 = C + 60).
PHASE_BLOCK = 20
NEUTRAL_CURRENT = 91
#: The DSMR sub-meter registers (on channel B = 1-4).
DEVICE_TYPE = "24.1.0"
SUBMETER_IDS = ("96.1.0", "96.1.1")
#: ``key`` of a sub-meter's reading (24.2.E, 24.3.0); its quantity: ``submeter_quantity``.
SUBMETER_READING = "submeter_reading"


def parse(code: str) -> Code | None:
    """The value groups of a code written ``A-B:C.D.E``; None for anything else.

    Strict: ``1-0:1.8.0*2`` (a wireless M-Bus storage number) and ``wmbus:...`` keys are
    not codes of a present value and get None.
    """
    match = _CANONICAL.match(code)
    if match is None:
        return None
    a, b, c, d, e = (int(group) for group in match.groups())
    return Code(a, b, c, d, e)


@lru_cache(maxsize=4096)
def code_text(raw: bytes) -> str:
    r"""A code in the six bytes DLMS sends it as: ``b'\x01\x00\x01\x08\x00\xff'`` -> ``1-0:1.8.0``.

    The F group is always 255 on a HAN port and is left out.
    """
    return f"{raw[0]}-{raw[1]}:{raw[2]}.{raw[3]}.{raw[4]}"


@lru_cache(maxsize=1024)
def code_bytes(code: str) -> bytes:
    """The six DLMS bytes of a code written ``A-B:C.D.E`` (F = 255)."""
    ab, cde = code.split(":")
    a, b = ab.split("-")
    c, d, e = cde.split(".")
    return bytes((int(a), int(b), int(c), int(d), int(e), 255))


def normalise_code(code: str) -> str:
    """Canonical ``A-B:C.D.E`` from ``1-0:1.8.0.255``, ``1-0:1.8.0*255`` or ``1.0.1.8.0.255``."""
    parts = re.split(r"[-:.*]", code)
    if len(parts) == 6:  # the F group, always 255 on a HAN port
        parts = parts[:5]
    if len(parts) != 5 or not all(p.isdigit() for p in parts):
        return code
    a, b, c, d, e = (int(p) for p in parts)
    return f"{a}-{b}:{c}.{d}.{e}"


def phase_code(base: int, phase: int) -> int:
    """The C code of quantity ``base`` (1-20) on phase 1-3, or 0 for all phases (11, 1 -> 31)."""
    return base + PHASE_BLOCK * phase


# -- The catalogue ------------------------------------------------------------------------

_ELECTRICITY: dict[str, ObisInfo] = {}
_UNITS = {
    Quantity.ACTIVE_POWER: "W",
    Quantity.REACTIVE_POWER: "var",
    Quantity.APPARENT_POWER: "VA",
    Quantity.ACTIVE_ENERGY: "Wh",
    Quantity.REACTIVE_ENERGY: "varh",
    Quantity.APPARENT_ENERGY: "VAh",
    Quantity.VOLTAGE: "V",
    Quantity.CURRENT: "A",
    Quantity.FREQUENCY: "Hz",
}
#: Electricity C codes 1-15 (all phases): quantity of the instantaneous value (D=7), of the
#: energy register (D=8), direction and key stem.
_FLOWS: dict[int, tuple[Quantity, Quantity | None, Direction | None, str]] = {
    1: (Quantity.ACTIVE_POWER, Quantity.ACTIVE_ENERGY, Direction.IMPORT, "import"),
    2: (Quantity.ACTIVE_POWER, Quantity.ACTIVE_ENERGY, Direction.EXPORT, "export"),
    3: (Quantity.REACTIVE_POWER, Quantity.REACTIVE_ENERGY, Direction.IMPORT, "import"),
    4: (Quantity.REACTIVE_POWER, Quantity.REACTIVE_ENERGY, Direction.EXPORT, "export"),
    9: (Quantity.APPARENT_POWER, Quantity.APPARENT_ENERGY, Direction.IMPORT, "import"),
    10: (Quantity.APPARENT_POWER, Quantity.APPARENT_ENERGY, Direction.EXPORT, "export"),
    11: (Quantity.CURRENT, None, None, "current"),
    12: (Quantity.VOLTAGE, None, None, "voltage"),
    13: (Quantity.POWER_FACTOR, None, None, "power_factor"),
    14: (Quantity.FREQUENCY, None, None, "frequency"),
    15: (Quantity.ACTIVE_POWER, Quantity.ACTIVE_ENERGY, Direction.ABSOLUTE, "absolute"),
}
_KEYS = {
    Quantity.ACTIVE_POWER: "power",
    Quantity.REACTIVE_POWER: "reactive_power",
    Quantity.APPARENT_POWER: "apparent_power",
    Quantity.ACTIVE_ENERGY: "energy",
    Quantity.REACTIVE_ENERGY: "reactive_energy",
    Quantity.APPARENT_ENERGY: "apparent_energy",
}
_LABELS = {
    "power_import": "Active power import",
    "power_export": "Active power export",
    "energy_absolute": "Energy absolute total",
    "power_factor": "Power factor",
    "current_neutral": "Neutral current",
    "current_limit": "Fuse limit",
}


def _key(quantity: Quantity, stem: str) -> str:
    return f"{_KEYS[quantity]}_{stem}" if quantity in _KEYS else stem


def _label(key: str) -> str:
    return _LABELS.get(key) or key.replace("_", " ").capitalize()


def _add(
    c: int,
    d: int,
    quantity: Quantity,
    key: str,
    *,
    phase: int | None = None,
    tariff: int | None = None,
    direction: Direction | None = None,
    limit: bool = False,
) -> None:
    name = _label(key)
    if phase is not None:
        name = f"L{phase} {name[0].lower()}{name[1:]}"
    if tariff is not None:
        name = f"{name} tariff {tariff}"
    info = ObisInfo(name, quantity, key, phase, direction, tariff, _UNITS.get(quantity))
    _ELECTRICITY[f"{c}.{d}.{tariff or 0}"] = replace(info, limit=True) if limit else info


def _flow(c: int, d: int, *, phase: int | None = None, tariff: int | None = None) -> None:
    """Add the instantaneous value (D=7) or the energy register (D=8) of C code ``c``."""
    power, energy, direction, stem = _FLOWS[c]
    quantity = energy if d == 8 and energy is not None else power
    code = c if phase is None else phase_code(c, phase)
    key = _key(quantity, stem)
    _add(code, d, quantity, key, phase=phase, tariff=tariff, direction=direction)


def _electricity() -> None:
    """The electricity registers HAN ports send (A=1), keyed by ``C.D.E``."""
    for c in (1, 2, 3, 4, 9, 10, 13, 14):
        _flow(c, 7)
    for c in (1, 2, 15, 3, 4, 9, 10):
        _flow(c, 8)
    for tariff in range(1, 5):
        for c in (1, 2, 3, 4):
            _flow(c, 8, tariff=tariff)
    power, current = Quantity.ACTIVE_POWER, Quantity.CURRENT
    _add(1, 4, power, "average_demand_import", direction=Direction.IMPORT)
    _add(1, 6, power, "peak_demand_import", direction=Direction.IMPORT)
    _add(NEUTRAL_CURRENT, 7, current, "current_neutral")
    _ELECTRICITY["0.2.8"] = ObisInfo("DSMR version", Quantity.TEXT, "dsmr_version")
    _ELECTRICITY["0.2.129"] = ObisInfo("List id", Quantity.TEXT, "list_id", identity=True)
    for phase in (1, 2, 3):
        for base in (1, 2, 3, 4, 9, 10, 11, 12, 13):
            _flow(base, 7, phase=phase)
        for base in (1, 2):
            _flow(base, 8, phase=phase)
        voltage, fuse = phase_code(12, phase), phase_code(11, phase)
        _add(voltage, 32, Quantity.COUNT, "voltage_sags", phase=phase)
        _add(voltage, 36, Quantity.COUNT, "voltage_swells", phase=phase)
        _add(fuse, 4, current, "current_limit", phase=phase, limit=True)


_electricity()

#: Abstract objects of the meter itself (A=0, B=0), by the whole code.
_ABSTRACT: dict[str, ObisInfo] = {
    "0-0:1.0.0": ObisInfo("Meter clock", Quantity.TIMESTAMP, "meter_clock", identity=True),
    "0-0:96.1.0": ObisInfo("Meter id", Quantity.TEXT, "meter_id", identity=True),
    "0-0:96.1.1": ObisInfo("Equipment id", Quantity.TEXT, "equipment_id", identity=True),
    "0-0:96.1.7": ObisInfo("Meter model", Quantity.TEXT, "model", identity=True),
    "0-0:42.0.0": ObisInfo(
        "Logical device name", Quantity.TEXT, "logical_device_name", identity=True
    ),
    # DSMR 5 Belgium (eMUCS): the P1 version of the Fluvius companion standard.
    "0-0:96.1.4": ObisInfo("P1 version", Quantity.TEXT, "p1_version", identity=True),
    "0-0:96.14.0": ObisInfo("Active tariff", Quantity.TEXT, "active_tariff"),
    "0-0:96.13.0": ObisInfo("Text message", Quantity.TEXT, "text_message"),
    "0-0:96.3.10": ObisInfo("Breaker state", Quantity.TEXT, "breaker_state"),
    "0-0:96.7.21": ObisInfo("Power failures", Quantity.COUNT, "power_failures"),
    "0-0:96.7.9": ObisInfo("Long power failures", Quantity.COUNT, "long_power_failures"),
    "0-0:17.0.0": ObisInfo(
        "Power limit", Quantity.ACTIVE_POWER, "power_limit", unit="W", limit=True
    ),
}
#: Registers of an M-Bus sub-meter (A=0, B=1-4), by ``C.D.E``; 24.2.E are its readings.
_SUBMETER: dict[str, ObisInfo] = {
    "24.2.1": ObisInfo("Sub-meter reading", Quantity.GAS, SUBMETER_READING),
    "24.2.3": ObisInfo("Sub-meter reading (uncorrected)", Quantity.GAS, SUBMETER_READING),
    "24.3.0": ObisInfo("Gas reading", Quantity.GAS, SUBMETER_READING),
    DEVICE_TYPE: ObisInfo("Sub-meter device type", Quantity.TEXT, "device_type", identity=True),
    SUBMETER_IDS[0]: ObisInfo("Sub-meter id", Quantity.TEXT, "submeter_id", identity=True),
    SUBMETER_IDS[1]: ObisInfo("Sub-meter id", Quantity.TEXT, "submeter_id", identity=True),
}
_DEVICE_ID = ObisInfo("Device id", Quantity.TEXT, "device_id", identity=True)


def meaning(code: Code) -> ObisInfo | None:
    """What ``code`` is, or None for a code the catalogue does not know."""
    if code.a == 1:
        if code.c == 0 and code.d == 0:  # 1-x:0.0.E: device ids (Kaifa's meter id is 0.0.5)
            return _DEVICE_ID
        return _ELECTRICITY.get(code.cde)
    if code.a != 0:
        return None
    if code.b == 0:
        return _ABSTRACT.get(f"0-0:{code.cde}")
    info = _SUBMETER.get(code.cde)
    if info is None and code.c == 24 and code.d == 2:  # 24.2.E: any reading
        info = _SUBMETER["24.2.1"]
    return replace(info, channel=code.b) if info is not None else None


@lru_cache(maxsize=1024)
def register(code: str) -> tuple[Code, ObisInfo | None] | None:
    """The value groups and meaning of a code as the decoders write it (cached).

    None when ``code`` is not ``A-B:C.D.E`` (see ``parse``).
    """
    parsed = parse(code)
    if parsed is None:
        return None
    return parsed, meaning(parsed)


def catalogue() -> dict[str, ObisInfo]:
    """Every code the catalogue names, written for channel 0 (sub-meters: channel 1)."""
    return {
        **{f"1-0:{cde}": info for cde, info in _ELECTRICITY.items()},
        **_ABSTRACT,
        **{f"0-1:{cde}": replace(info, channel=1) for cde, info in _SUBMETER.items()},
    }


def lookup(code: str) -> ObisInfo | None:
    """What ``code`` means in any common spelling (``normalise_code``), or None."""
    parsed = parse(normalise_code(code))
    return meaning(parsed) if parsed is not None else None


# -- Sub-meters ---------------------------------------------------------------------------

#: EN 13757-3:2018 table 3, device types -> medium (the types HAN ports and OMS meters use).
DEVICE_TYPES: dict[int, Medium] = {
    0x02: Medium.ELECTRICITY,
    0x03: Medium.GAS,
    0x04: Medium.HEAT,  # heat, outlet
    0x0C: Medium.HEAT,  # heat, inlet
    0x0D: Medium.HEAT,  # heat/cooling
    0x0A: Medium.COOLING,  # cooling, outlet
    0x0B: Medium.COOLING,  # cooling, inlet
    0x06: Medium.HOT_WATER,  # warm water (30-90 °C)
    0x15: Medium.HOT_WATER,  # hot water (>= 90 °C)
    0x07: Medium.WATER,
    0x16: Medium.WATER,  # cold water
    0x08: Medium.HEAT_COST_ALLOCATOR,
}
#: OBIS value group A of each medium (IEC 62056-61: 4 HCA, 5 cooling, 6 heat, 7 gas,
#: 8 cold water, 9 hot water).
VALUE_GROUPS: dict[Medium, int] = {
    Medium.ELECTRICITY: 1,
    Medium.HEAT_COST_ALLOCATOR: 4,
    Medium.COOLING: 5,
    Medium.HEAT: 6,
    Medium.GAS: 7,
    Medium.WATER: 8,
    Medium.HOT_WATER: 9,
}
#: Media whose sub-meter readings are water.
_WATERS = frozenset((Medium.WATER, Medium.HOT_WATER))


def medium(device_type: object) -> Medium | None:
    """The medium of an M-Bus device type as a register sends it (``7``, ``"007"``)."""
    if isinstance(device_type, bool):
        return None
    if isinstance(device_type, int):
        return DEVICE_TYPES.get(device_type)
    if isinstance(device_type, str) and device_type.isdigit():
        return DEVICE_TYPES.get(int(device_type))
    return None


def submeter_code(channel: int, cde: str) -> str:
    """The code of register ``cde`` of the sub-meter on ``channel`` (``0-1:24.1.0``)."""
    return f"0-{channel}:{cde}"


def submeter_quantity(unit: str | None, device_type: object) -> Quantity:
    """What a sub-meter's reading (24.2.E, 24.3.0) measures.

    An energy unit means heat (GJ, or Wh from heat meters that count like electricity); a
    water device type means water; anything else is read as gas, the sub-meter most P1
    meters have (DSMR 24.2.1 is the gas reading when the device type is missing).
    """
    if unit in ("GJ", "Wh"):
        return Quantity.HEAT
    if medium(device_type) in _WATERS:
        return Quantity.WATER
    return Quantity.GAS


_HEX = frozenset("0123456789abcdefABCDEF")


def readable_id(value: str) -> str:
    """An identifier sent as hex-encoded ASCII (DSMR ``4730...`` -> ``G0...``), decoded if so.

    Anything else (not hex, an odd length, not printable once decoded) is returned as sent.
    """
    if value and len(value) % 2 == 0 and set(value) <= _HEX:
        text = bytes.fromhex(value).decode("latin-1")
        if text.isascii() and text.isprintable():
            return text
    return value
