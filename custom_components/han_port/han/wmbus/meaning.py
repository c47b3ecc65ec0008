"""What a data record means: quantity, normalised unit and value, and its OBIS-style key.

VIF tables follow EN 13757-3:2018 (primary table, extension tables 0xFB and 0xFD and the
combinable VIFEs, including the 0xFC extension with phases and quadrants).

Keys (documented in ``README`` terms, OBIS ``A-B:C.D.E``):

* electricity (A=1): active energy import/export ``1.8.t``/``2.8.t`` (t = tariff), reactive
  ``3.8``/``4.8`` (quadrants ``5.8``-``8.8``), apparent ``9.8``/``10.8``; active power
  ``1.7.0``/``2.7.0`` and per phase ``21/22``, ``41/42``, ``61/62``; reactive power
  ``3.7.0``/``4.7.0`` (per phase ``23/24``…), apparent ``9.7.0``/``10.7.0``; maximum
  ``C.6.t``, minimum ``C.3.t``; voltage ``32/52/72.7.0`` (no phase ``12.7.0``), current
  ``31/51/71.7.0`` (neutral ``91.7.0``, none ``11.7.0``), frequency ``14.7.0``;
* heat (A=6) and cooling (A=5): energy ``C=1``, volume ``2``, mass ``3``, power ``8``,
  flow ``9``, flow/return temperature ``10``/``11``, difference ``12`` (``6-0:1.0.0`` …);
* gas (A=7): volume ``7-0:3.0.0``, flow ``7-0:43.0.0``;
* water (A=8 cold, 9 warm/hot): volume ``8-0:1.0.0``, flow ``8-0:2.0.0``, temperature
  ``8-0:3.0.0``; heat cost allocators (A=4): ``4-0:1.0.0``;
* any meter: date-time ``0-0:1.0.0`` (ISO text), fabrication number ``0-0:96.1.0``, error
  flags ``0-0:97.97.0``.

B is the subunit; a storage number n > 0 (historic values) is appended as ``*n``.
Everything else keeps its record header as key: ``wmbus:0BABC8FC10``.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from typing import TYPE_CHECKING

from ..obis import DEVICE_TYPES, NEUTRAL_CURRENT, VALUE_GROUPS, Medium, phase_code  # noqa: TID252
from .records import INT_CODINGS, Record, decode_datetime, decode_number, decode_text

if TYPE_CHECKING:
    from ..model import Value  # noqa: TID252

_DURATION = (1, 60, 3600, 86400)


@dataclass(frozen=True, slots=True)
class Meaning:
    """A record's quantity and how to scale it."""

    quantity: str
    unit: str | None = None
    exponent: int = 0
    kind: str = "number"  # number, unsigned, datetime, date, text
    factor: float = 1.0
    direction: int = 0  # 1 = backward flow (export)
    phase: int = 0  # 1..3 = L1..L3, 4 = neutral
    quadrant: int = 0
    extra: bool = False  # a modifier this module does not map (limits, averages, ...)
    error: bool = False  # the record carries an error code instead of a value


def _primary(code: int, record: Record) -> Meaning:  # noqa: PLR0911
    n = code & 0x07
    if code <= 0x07:
        return Meaning("energy", "Wh", n - 3)
    if code <= 0x0F:
        return Meaning("energy", "GJ", n - 9)
    if code <= 0x17:
        return Meaning("volume", "m³", n - 6)
    if code <= 0x1F:
        return Meaning("mass", "kg", n - 3)
    if code <= 0x23:
        return Meaning("on_time", "s", 0, factor=_DURATION[code & 3])
    if code <= 0x27:
        return Meaning("operating_time", "s", 0, factor=_DURATION[code & 3])
    if code <= 0x2F:
        return Meaning("power", "W", n - 3)
    if code <= 0x37:
        return Meaning("power", "W", n, factor=1 / 3600)
    if code <= 0x3F:
        return Meaning("volume_flow", "m³/h", n - 6)
    if code <= 0x47:
        return Meaning("volume_flow", "m³/h", n - 7, factor=60)
    if code <= 0x4F:
        return Meaning("volume_flow", "m³/h", n - 9, factor=3600)
    if code <= 0x57:
        return Meaning("mass_flow", "kg/h", n - 3)
    m = code & 0x03
    table = {
        0x58: ("flow_temperature", "°C"),
        0x5C: ("return_temperature", "°C"),
        0x60: ("temperature_difference", "K"),
        0x64: ("external_temperature", "°C"),
        0x68: ("pressure", "bar"),
    }
    if code <= 0x6B:
        name, unit = table[code & 0xFC]
        return Meaning(name, unit, m - 3)
    if code == 0x6C:
        return Meaning("date", kind="date")
    if code == 0x6D:
        return Meaning("datetime", kind="datetime")
    if code == 0x6E:
        return Meaning("hca")
    if 0x70 <= code <= 0x73:
        return Meaning("averaging_duration", "s", 0, factor=_DURATION[m])
    if 0x74 <= code <= 0x77:
        return Meaning("actuality_duration", "s", 0, factor=_DURATION[m])
    if code == 0x78:
        return Meaning("fabrication_no", kind="text")
    if code == 0x79:
        return Meaning("enhanced_id", kind="text")
    if code == 0x7A:
        return Meaning("bus_address", kind="unsigned")
    if code == 0x7C:
        return Meaning("plain_text_unit", record.vif_text)
    return Meaning("unknown", extra=True)


_FD_TEXT = {
    0x09: "medium",
    0x0A: "manufacturer",
    0x0B: "parameter_set",
    0x0C: "model_version",
    0x0D: "hardware_version",
    0x0E: "firmware_version",
    0x0F: "software_version",
    0x10: "customer_location",
    0x11: "customer",
    0x12: "access_code_user",
    0x16: "password",
    0x67: "special_supplier_information",
}
_FD_UNSIGNED = {
    0x08: "access_number",
    0x17: "error_flags",
    0x18: "error_mask",
    0x1A: "digital_output",
    0x1B: "digital_input",
    0x1C: "baud_rate",
    0x1D: "response_delay",
    0x1E: "retry",
    0x3A: "dimensionless",
    0x60: "reset_counter",
    0x61: "cumulation_counter",
    0x62: "control_signal",
    0x63: "day_of_week",
    0x64: "week_number",
    0x75: "stop_counter",
}


def _table_fd(code: int) -> Meaning:
    if code in _FD_TEXT:
        return Meaning(_FD_TEXT[code], kind="text")
    if code in _FD_UNSIGNED:
        return Meaning(_FD_UNSIGNED[code], kind="unsigned")
    if 0x40 <= code <= 0x4F:
        return Meaning("voltage", "V", (code & 0x0F) - 9)
    if 0x50 <= code <= 0x5F:
        return Meaning("current", "A", (code & 0x0F) - 12)
    if 0x24 <= code <= 0x27:
        return Meaning("storage_interval", "s", 0, factor=_DURATION[code & 3])
    if 0x2C <= code <= 0x2F:
        return Meaning("duration_since_readout", "s", 0, factor=_DURATION[code & 3])
    if 0x31 <= code <= 0x33:
        return Meaning("duration_of_tariff", "s", 0, factor=_DURATION[code & 3])
    if 0x34 <= code <= 0x37:
        return Meaning("period_of_tariff", "s", 0, factor=_DURATION[code & 3])
    if code in (0x30, 0x70):
        return Meaning("tariff_start" if code == 0x30 else "battery_change", kind="datetime")
    if code == 0x71:
        return Meaning("rf_level", "dBm")
    if code == 0x74:
        return Meaning("remaining_battery", "s", 0, factor=86400)
    return Meaning("unknown", extra=True)


def _table_fb(code: int) -> Meaning:  # noqa: PLR0911
    n = code & 0x01
    nn = code & 0x03
    if code <= 0x01:
        return Meaning("energy", "Wh", n + 5)
    if code <= 0x03:
        return Meaning("reactive_energy", "varh", n + 3)
    if code <= 0x07:
        return Meaning("apparent_energy", "VAh", nn + 3)
    if code <= 0x09:
        return Meaning("energy", "GJ", n - 1)
    if 0x10 <= code <= 0x11:
        return Meaning("volume", "m³", n + 2)
    if 0x14 <= code <= 0x17:
        return Meaning("reactive_power", "var", nn)
    if 0x18 <= code <= 0x19:
        return Meaning("mass", "kg", n + 5)
    if 0x1A <= code <= 0x1B:
        return Meaning("relative_humidity", "%", n - 1)
    if 0x28 <= code <= 0x29:
        return Meaning("power", "W", n + 5)
    if 0x2C <= code <= 0x2F:
        return Meaning("frequency", "Hz", nn - 3)
    if 0x30 <= code <= 0x31:
        return Meaning("power", "W", n + 8, factor=1 / 3600)
    if 0x34 <= code <= 0x37:
        return Meaning("apparent_power", "VA", nn)
    return Meaning("unknown", extra=True)


def _combinable(base: Meaning, vifes: bytes) -> Meaning:
    exponent = base.exponent
    direction = phase = quadrant = 0
    extra = base.extra
    error = False
    i = 0
    while i < len(vifes):
        vife = vifes[i]
        code = vife & 0x7F
        i += 1
        if code == 0x7F:
            extra = True  # manufacturer specific: the rest is the maker's
            break
        if code == 0x7C:
            if not vife & 0x80 or i >= len(vifes):
                extra = True
                continue
            ext = vifes[i] & 0x7F
            i += 1
            if 0x01 <= ext <= 0x03:
                phase = ext
            elif ext == 0x04:
                phase = 4
            elif 0x08 <= ext <= 0x0B:
                quadrant = ext - 0x07
            else:
                extra = True
        elif code in {0x00, 0x3B}:
            continue
        elif code <= 0x11 or 0x15 <= code <= 0x1C:
            error = True
        elif code == 0x3C:
            direction = 1
        elif 0x70 <= code <= 0x77:
            exponent += code - 0x76
        elif code == 0x7D:
            exponent += 3
        else:
            extra = True
    return Meaning(
        base.quantity,
        base.unit,
        exponent,
        base.kind,
        base.factor,
        direction,
        phase,
        quadrant,
        extra,
        error,
    )


def interpret(record: Record) -> Meaning:
    """The meaning of one record's VIF and VIFEs."""
    code = record.vif & 0x7F
    vifes = record.vifes
    if code == 0x7F:
        return Meaning("manufacturer_specific", extra=True, kind="unsigned")
    if code in (0x7B, 0x7D) and record.vif & 0x80 and vifes:
        base = _table_fb(vifes[0] & 0x7F) if code == 0x7B else _table_fd(vifes[0] & 0x7F)
        rest = vifes[1:] if vifes[0] & 0x80 else b""
        return _combinable(base, rest)
    return _combinable(_primary(code, record), vifes)


def value_of(record: Record, meaning: Meaning) -> Value:
    """The record's value in the meaning's unit (ISO text for times)."""
    if meaning.kind in ("datetime", "date"):
        when = decode_datetime(record.raw)
        if isinstance(when, dt.datetime | dt.date | dt.time):
            return when.isoformat()
        return None
    if meaning.kind == "text":
        return decode_text(record)
    signed = meaning.kind != "unsigned"
    if record.coding in INT_CODINGS and meaning.quantity in ("fabrication_no", "enhanced_id"):
        signed = False
    number = decode_number(record, signed=signed)
    if number is None:
        return decode_text(record) if record.lvar is not None else None
    if meaning.kind == "unsigned":
        return number
    return scale(number, meaning.exponent, meaning.factor)


def scale(number: float, exponent: int, factor: float = 1.0) -> float | int:
    """``number x 10^exponent x factor``, exact for integers where it can be."""
    if isinstance(number, int) and factor == 1.0:
        if exponent >= 0:
            return int(number * 10**exponent)
        return round(number / 10.0**-exponent, 12)
    value = float(number) * factor
    value = value * 10.0**exponent if exponent >= 0 else value / 10.0**-exponent
    return round(value, 12)


#: Each medium's record group (heat and cooling share their C codes, cold and hot water theirs).
_GROUP_NAMES: dict[Medium, str] = {
    Medium.ELECTRICITY: "electricity",
    Medium.GAS: "gas",
    Medium.HEAT: "heat",
    Medium.COOLING: "cooling",
    Medium.WATER: "water",
    Medium.HOT_WATER: "water",
    Medium.HEAT_COST_ALLOCATOR: "hca",
}
#: Device type -> (group, OBIS A), from the library's EN 13757-3 table (``obis``).
GROUPS: dict[int, tuple[str, int]] = {
    device_type: (_GROUP_NAMES[medium], VALUE_GROUPS[medium])
    for device_type, medium in DEVICE_TYPES.items()
}

_HEAT_C = {
    "energy": 1,
    "volume": 2,
    "mass": 3,
    "power": 8,
    "volume_flow": 9,
    "flow_temperature": 10,
    "return_temperature": 11,
    "temperature_difference": 12,
}
_GAS_C = {"volume": 3, "volume_flow": 43}
_WATER_C = {"volume": 1, "volume_flow": 2, "flow_temperature": 3}
_HCA_C = {"hca": 1}


def _electricity_c(meaning: Meaning) -> int | None:
    q = meaning.quantity
    d = meaning.direction
    p = meaning.phase
    if meaning.quadrant:
        if q in ("reactive_energy", "reactive_power") and not p:
            return 4 + meaning.quadrant
        return None
    if p == 4:
        return NEUTRAL_CURRENT if q == "current" and not d else None
    if q in ("energy", "power"):
        return phase_code(1 + d, p) if q == "power" or not p else None
    if q in ("reactive_energy", "reactive_power"):
        return phase_code(3 + d, p) if q == "reactive_power" or not p else None
    if q in ("apparent_energy", "apparent_power"):
        return phase_code(9 + d, p) if q == "apparent_power" or not p else None
    if d:
        return None
    if q == "voltage":
        return phase_code(12, p)
    if q == "current":
        return phase_code(11, p)
    if q == "frequency" and not p:
        return 14
    return None


def obis_key(record: Record, meaning: Meaning, device_type: int) -> str | None:
    """The OBIS-style key of a record, or None when it has none (see the module doc)."""
    if meaning.extra or meaning.error:
        return None
    suffix = f"*{record.storage}" if record.storage else ""
    q = meaning.quantity
    if q in ("datetime", "fabrication_no", "error_flags"):
        if record.function or record.tariff or record.subunit:
            return None
        code = {"datetime": "1.0.0", "fabrication_no": "96.1.0", "error_flags": "97.97.0"}[q]
        return f"0-0:{code}{suffix}"
    group = GROUPS.get(device_type)
    if group is None:
        return None
    name, a = group
    b = record.subunit
    e = record.tariff
    if name == "electricity":
        c = _electricity_c(meaning)
        if c is None:
            return None
        energy = q.endswith("energy")
        if record.function == 0:
            d = 8 if energy else 7
        elif record.function in (1, 2) and not energy:
            d = 6 if record.function == 1 else 3
        else:
            return None
        return f"1-{b}:{c}.{d}.{e}{suffix}"
    if record.function or meaning.direction or meaning.phase or meaning.quadrant:
        return None
    table = {"heat": _HEAT_C, "cooling": _HEAT_C, "gas": _GAS_C, "water": _WATER_C}.get(
        name, _HCA_C
    )
    c = table.get(q)
    if c is None:
        return None
    return f"{a}-{b}:{c}.0.{e}{suffix}"
