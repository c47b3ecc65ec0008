"""Decoded messages as a table a person reads: name, value and unit as Home Assistant shows them.

Energy is shown in kWh (kvarh, kVAh) as the integration's sensors show it, identifiers that a
meter sends as hex-encoded ASCII (DSMR gas meter ids) are decoded, and a profile buffer (the
power-failure log 99.97.0, the demand history 98.1.0) is one row per entry.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from han.model import Message
from han.obis import DEVICE_TYPE, Medium, lookup, medium, readable_id, submeter_code
from han.units import DISPLAY_UNITS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from han.model import Reading, Rejected

_IDS = ("96.1.0", "96.1.1", "42.0.0")
#: Profile buffers the OBIS catalogue does not name (IEC 62056-61; DSMR 5 section 6.12).
_PROFILES = {"99.97.0": "Power failure log", "98.1.0": "Monthly peak demand history"}
#: Sub-meter media -> what to call them.
_MEDIUMS = {
    Medium.GAS: "Gas meter",
    Medium.HEAT: "Heat meter",
    Medium.WATER: "Water meter",
    Medium.HOT_WATER: "Water meter",
}


def shown(reading: Reading) -> tuple[str, str]:
    """(value, unit) of a reading as Home Assistant shows it."""
    value, unit = reading.value, reading.unit or ""
    if isinstance(value, bool) or value is None:
        return ("" if value is None else str(value)), unit
    if isinstance(value, int | float):
        converted = DISPLAY_UNITS.get(unit)
        if converted is not None:
            unit = converted[0]
            value = round(value * converted[1], 9)
        return str(value), unit
    text = str(value)
    if reading.obis.split(":", 1)[-1] in _IDS:
        text = readable_id(text)
    return text, unit


def _name(obis: str, message: Message | None = None) -> str:
    """The register's name; a sub-meter's registers go by its medium ("Gas meter id")."""
    cde = obis.split(":", 1)[-1]
    if cde in _PROFILES:
        return _PROFILES[cde]
    info = lookup(obis)
    if info is None:
        return ""
    channel = obis.split(":", 1)[0].rsplit("-", maxsplit=1)[-1]
    if not obis.startswith("0-") or channel == "0":
        return info.name
    code = submeter_code(info.channel, DEVICE_TYPE)
    kind = message.readings.get(code) if message is not None else None
    found = medium(kind.value) if kind is not None else None
    called = _MEDIUMS.get(found) if found is not None else None
    if called is None:
        return f"{info.name} (M-Bus {channel})"
    name = info.name.replace("Sub-meter ", "").replace("Gas reading", "reading")
    return f"{called} {name}"


def _profile_rows(
    obis: str, value: str, message: Message
) -> list[tuple[str, str, str, str]] | None:
    """One row per entry of a profile buffer (None when ``value`` is not one)."""
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    if not isinstance(doc, dict) or "entries" not in doc:
        return None
    objects = [_name(code, message) or code for code in doc.get("objects", [])]
    label = _name(obis, message) or "Profile"
    if objects:
        label += f" ({', '.join(objects)})"
    entries = doc["entries"]
    rows = [(label, f"{len(entries)} entries", "", obis)]
    units = doc.get("units") or []
    for number, entry in enumerate(entries, 1):
        cells = []
        for index, cell in enumerate(entry):
            unit = units[index] if index < len(units) and units[index] else ""
            cells.append(f"{cell} {unit}".strip() if cell is not None else "-")
        rows.append((f"  #{number}", "  ".join(cells), "", ""))
    return rows


def message_rows(message: Message) -> list[tuple[str, str, str, str]]:
    """(name, value, unit, OBIS) rows of one message."""
    rows: list[tuple[str, str, str, str]] = []
    for obis, reading in message.readings.items():
        if isinstance(reading.value, str) and reading.value.startswith("{"):
            profile = _profile_rows(obis, reading.value, message)
            if profile is not None:
                rows.extend(profile)
                continue
        value, unit = shown(reading)
        rows.append((_name(obis, message), value, unit, obis))
    return rows


def _heading(number: int, message: Message) -> str:
    meter = message.meter
    parts = [f"Message {number}: {message.format}"]
    maker = " ".join(part for part in (meter.manufacturer, meter.model) if part)
    if maker:
        parts.append(maker)
    if meter.meter_id:
        parts.append(f"meter {meter.meter_id}")
    if message.timestamp is not None:
        parts.append(message.timestamp.isoformat())
    parts.extend(message.notes)
    return " · ".join(parts)


def render_message(number: int, message: Message) -> str:
    """A heading and an aligned table of one message."""
    rows = [("Name", "Value", "Unit", "OBIS"), *message_rows(message)]
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    lines = [_heading(number, message)]
    for row in rows:
        cells = [row[col].ljust(widths[col]) for col in range(3)]
        lines.append(f"  {'  '.join(cells)}  {row[3]}".rstrip())
    return "\n".join(lines) + "\n"


def render_rejected(rejected: Rejected) -> str:
    """One line for a frame that was dropped, and why."""
    return (
        f"Rejected {rejected.format} frame ({rejected.size} bytes): "
        f"{rejected.code}: {rejected.error}\n"
    )


def render(results: Iterable[Message | Rejected]) -> str:
    """Every result, messages numbered from 1."""
    out: list[str] = []
    number = 0
    for result in results:
        if isinstance(result, Message):
            number += 1
            out.append(render_message(number, result))
        else:
            out.append(render_rejected(result))
    return "".join(out)
