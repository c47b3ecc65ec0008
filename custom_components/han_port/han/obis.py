"""OBIS catalogue: what each code a HAN port sends means.

Codes are ``A-B:C.D.E``. The catalogue keys on ``C.D.E`` for electricity (A=1) and abstract
objects (A=0), so channel B (0 or 1, or an M-Bus channel 1-4 for sub-meters) does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import re


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


@dataclass(frozen=True, slots=True)
class ObisInfo:
    """Name and quantity of one code."""

    name: str
    quantity: Quantity


_PHASES = {"": "", "L1": "L1 ", "L2": "L2 ", "L3": "L3 "}
_CATALOGUE: dict[str, ObisInfo] = {
    "0-0:1.0.0": ObisInfo("Meter clock", Quantity.TIMESTAMP),
    "0-0:96.1.0": ObisInfo("Meter id", Quantity.TEXT),
    "0-0:96.1.1": ObisInfo("Equipment id", Quantity.TEXT),
    "0-0:96.1.7": ObisInfo("Meter model", Quantity.TEXT),
    "0-0:42.0.0": ObisInfo("Logical device name", Quantity.TEXT),
    "1-1:0.2.129": ObisInfo("List id", Quantity.TEXT),
    "1-3:0.2.8": ObisInfo("DSMR version", Quantity.TEXT),
    "0-0:96.14.0": ObisInfo("Active tariff", Quantity.TEXT),
    "0-0:96.13.0": ObisInfo("Text message", Quantity.TEXT),
    "0-0:96.7.21": ObisInfo("Power failures", Quantity.COUNT),
    "0-0:96.7.9": ObisInfo("Long power failures", Quantity.COUNT),
    "0-0:17.0.0": ObisInfo("Power limit", Quantity.ACTIVE_POWER),
    "1-0:1.7.0": ObisInfo("Active power import", Quantity.ACTIVE_POWER),
    "1-0:2.7.0": ObisInfo("Active power export", Quantity.ACTIVE_POWER),
    "1-0:3.7.0": ObisInfo("Reactive power import", Quantity.REACTIVE_POWER),
    "1-0:4.7.0": ObisInfo("Reactive power export", Quantity.REACTIVE_POWER),
    "1-0:9.7.0": ObisInfo("Apparent power import", Quantity.APPARENT_POWER),
    "1-0:10.7.0": ObisInfo("Apparent power export", Quantity.APPARENT_POWER),
    "1-0:13.7.0": ObisInfo("Power factor", Quantity.POWER_FACTOR),
    "1-0:14.7.0": ObisInfo("Frequency", Quantity.FREQUENCY),
    "1-0:1.8.0": ObisInfo("Energy import", Quantity.ACTIVE_ENERGY),
    "1-0:2.8.0": ObisInfo("Energy export", Quantity.ACTIVE_ENERGY),
    "1-0:3.8.0": ObisInfo("Reactive energy import", Quantity.REACTIVE_ENERGY),
    "1-0:4.8.0": ObisInfo("Reactive energy export", Quantity.REACTIVE_ENERGY),
    "1-0:15.8.0": ObisInfo("Energy absolute total", Quantity.ACTIVE_ENERGY),
}
for _tariff in range(1, 5):
    for _c, _what, _q in (
        (1, "Energy import", Quantity.ACTIVE_ENERGY),
        (2, "Energy export", Quantity.ACTIVE_ENERGY),
        (3, "Reactive energy import", Quantity.REACTIVE_ENERGY),
        (4, "Reactive energy export", Quantity.REACTIVE_ENERGY),
    ):
        _CATALOGUE[f"1-0:{_c}.8.{_tariff}"] = ObisInfo(f"{_what} tariff {_tariff}", _q)
for _phase, _base in (("L1", 20), ("L2", 40), ("L3", 60)):
    for _offset, _what, _q in (
        (1, "active power import", Quantity.ACTIVE_POWER),
        (2, "active power export", Quantity.ACTIVE_POWER),
        (3, "reactive power import", Quantity.REACTIVE_POWER),
        (4, "reactive power export", Quantity.REACTIVE_POWER),
        (9, "apparent power import", Quantity.APPARENT_POWER),
        (11, "current", Quantity.CURRENT),
        (12, "voltage", Quantity.VOLTAGE),
        (13, "power factor", Quantity.POWER_FACTOR),
    ):
        _CATALOGUE[f"1-0:{_base + _offset}.7.0"] = ObisInfo(f"{_phase} {_what}", _q)
    _CATALOGUE[f"1-0:{_base + 12}.32.0"] = ObisInfo(f"{_phase} voltage sags", Quantity.COUNT)
    _CATALOGUE[f"1-0:{_base + 12}.36.0"] = ObisInfo(f"{_phase} voltage swells", Quantity.COUNT)
    _CATALOGUE[f"1-0:{_base + 11}.4.0"] = ObisInfo(f"{_phase} fuse limit", Quantity.CURRENT)

_SUBMETER = {
    "24.2.1": ObisInfo("Sub-meter reading", Quantity.GAS),
    "24.2.3": ObisInfo("Sub-meter reading (uncorrected)", Quantity.GAS),
    "24.3.0": ObisInfo("Gas reading", Quantity.GAS),
    "24.1.0": ObisInfo("Sub-meter device type", Quantity.TEXT),
    "96.1.0": ObisInfo("Sub-meter id", Quantity.TEXT),
    "96.1.1": ObisInfo("Sub-meter id", Quantity.TEXT),
}

_KEY = re.compile(r"^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$")


def normalise_code(code: str) -> str:
    """Canonical ``A-B:C.D.E`` from ``1-0:1.8.0.255``, ``1-0:1.8.0*255`` or ``1.0.1.8.0.255``."""
    parts = re.split(r"[-:.*]", code)
    if len(parts) == 6:  # the F group, always 255 on a HAN port
        parts = parts[:5]
    if len(parts) != 5 or not all(p.isdigit() for p in parts):
        return code
    a, b, c, d, e = (int(p) for p in parts)
    return f"{a}-{b}:{c}.{d}.{e}"


def lookup(code: str) -> ObisInfo | None:
    """What ``code`` means, or None for a code the catalogue does not know."""
    code = normalise_code(code)
    info = _CATALOGUE.get(code)
    if info is not None:
        return info
    match = _KEY.match(code)
    if match is None:
        return None
    a, b, cde = match.group(1), match.group(2), code.split(":", 1)[1]
    if a == "0" and b != "0":
        return _SUBMETER.get(cde)
    # Same register on another channel (1-1:1.8.0 on Swedish P1, 1-0 elsewhere).
    return _CATALOGUE.get(f"{a}-0:{cde}")
