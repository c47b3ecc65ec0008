"""Diagnostics: what the reader saw, without keys or ids; the last frames as received (``capture``).

Redacted (``async_redact_data`` with ``TO_REDACT``): the keys, the meter id, the DLMS system
title, the entry's unique id, the identifier registers (meter and equipment ids, logical
device name, device ids, M-Bus sub-meter ids, on every channel), the wM-Bus ids heard. Then
every text that embeds one of those ids (the entry title, a refusal's detail) has it replaced
(``_scrub``). The capture's frame bytes are left whole: a plain frame carries the meter id, and
the capture is there to be decoded again (README, Diagnostics).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_PORT

from .const import CONF_AK, CONF_EK, CONF_METER_ID, CONF_SYSTEM_TITLE
from .han.obis import lookup, readable_id
from .naming import SHORT_ID_DIGITS
from .report import capture_section

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from .coordinator import HanPortConfigEntry
    from .han.model import MeterIdentity

#: Keys redacted wherever they appear: the keys, the meter's ids (entry data and the meter
#: section), the unique id, the wM-Bus ids heard, and 0-0:96.1.255 (an id register the
#: library's catalogue does not name; those it names are found by ``_ID_REGISTERS``).
TO_REDACT = {
    CONF_EK,
    CONF_AK,
    CONF_SYSTEM_TITLE,
    CONF_METER_ID,
    "unique_id",
    "heard",
    "0-0:96.1.255",
}
#: What the library's catalogue (``han.obis``) calls the registers that name a device: the
#: meter's (``meter_id``, ``equipment_id``, ``logical_device_name``), 1-x:0.0.E device ids and
#: the M-Bus sub-meters' ids on channels 1-4 (0-n:96.1.0 / 0-n:96.1.1): redacted too.
_ID_REGISTERS = frozenset(
    {"meter_id", "equipment_id", "logical_device_name", "device_id", "submeter_id"}
)
#: Ids shorter than this are not searched for inside texts (a "1" would blank every 1).
_MIN_ID_TEXT = 6
#: The capture's frame bytes, whole (see the module's docstring).
_BYTES = frozenset({"hex", "raw_hex"})


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001
    entry: HanPortConfigEntry,
) -> dict[str, Any]:
    """Entry, profile, counters, the last frames' sizes and errors, the capacity tracker."""
    coordinator = entry.runtime_data
    data = coordinator.data
    capacity = coordinator.capacity
    decoder = coordinator.reader.decoder
    profile = coordinator.meter.profile
    counters = asdict(coordinator.counters)
    if counters["last_error_at"] is not None:
        counters["last_error_at"] = counters["last_error_at"].isoformat()
    entry_data = async_redact_data(dict(entry.data), TO_REDACT)
    entry_data[CONF_PORT] = coordinator.port_label
    registers = {
        obis: {"value": reading.value, "unit": reading.unit}
        for obis, reading in sorted(data.readings.items())
    }
    id_registers = _id_registers(registers)
    ids = _ids(entry, data.meter, [registers[obis]["value"] for obis in id_registers])
    decoder_data = decoder.diagnostics() if decoder is not None else {}
    if "heard" in decoder_data:  # wM-Bus: how many meters are heard, never which
        decoder_data["meters_heard"] = len(decoder_data["heard"])
    diagnostics = {
        "entry": {
            "title": _title(entry, ids, data.meter),
            "unique_id": entry.unique_id,
            "data": entry_data,
            "options": dict(entry.options),
        },
        "profile": {
            "id": profile.id,
            "name": profile.name,
            "interval": profile.interval,
            "keys": profile.keys.value,
            "settings": str(coordinator.meter.candidate_settings()[0]),
        },
        "connected": coordinator.reader.connected,
        "reader": coordinator.reader.state,
        # While frames arrive and are all refused: the reason that refused the most of them
        # since the last good frame (``checksum``, ``implausible``, ``replayed``, ...).
        "refusing": coordinator.reader.refusing,
        "refused_since_last_message": dict(coordinator.health.refusals),
        "available": coordinator.last_update_success,
        "unavailable_reason": coordinator.lost_reason,
        "detected_format": data.format,
        "meter": async_redact_data(asdict(data.meter), TO_REDACT),
        "messages": data.messages,
        "counters": counters,
        "recent_frames": [
            {
                "at": frame.at.isoformat(),
                "format": frame.format,
                "size": frame.size,
                "result": frame.result,
            }
            for frame in coordinator.health.recent
        ],
        "decoder": decoder_data,
        # Senders are counted, never named (a system title identifies the meter).
        "replay_protection": {
            "senders": len(coordinator.replay.guard.counters),
            "refusing": len(coordinator.replay.guard.refused),
            "refused_in_row": coordinator.replay.refused_in_row,
        },
        "registers": registers,
        # What the totals' sensors show (guarded: never lower than before), in their units.
        "totals": dict(sorted(data.totals.items())),
        "capacity": capacity.diagnostics(data.readings) if capacity is not None else None,
        # The last frames as received, for a bug report (report.py; scripts/han decode --file).
        "capture": capture_section(coordinator.meter, coordinator.capture),
    }
    redacted = async_redact_data(diagnostics, TO_REDACT | id_registers)
    # The longest first: no half ids left.
    return _scrub(redacted, sorted(ids, key=len, reverse=True))  # type: ignore[no-any-return]


def _id_registers(registers: Mapping[str, Any]) -> set[str]:
    """The registers among ``registers`` that name the meter or a sub-meter."""
    found = set()
    for obis in registers:
        info = lookup(obis)
        if info is not None and info.key in _ID_REGISTERS:
            found.add(obis)
    return found


def _ids(entry: HanPortConfigEntry, meter: MeterIdentity, registered: list[object]) -> set[str]:
    """Every id of the meter and its sub-meters known here, as sent and as read.

    ``registered``: the values of its id registers.
    """
    values: list[object] = [
        entry.unique_id,
        entry.data.get(CONF_METER_ID),
        entry.data.get(CONF_SYSTEM_TITLE),
        meter.meter_id,
        meter.system_title,
    ]
    values += registered
    ids = set()
    for value in values:
        if isinstance(value, str) and len(value.strip()) >= _MIN_ID_TEXT:
            text = value.strip()
            ids |= {text, text.lower(), text.upper(), readable_id(text)}
    return {text for text in ids if len(text) >= _MIN_ID_TEXT}


def _title(entry: HanPortConfigEntry, ids: set[str], meter: MeterIdentity) -> str:
    """The entry title without the meter id, nor the end of the system title.

    A meter without an id register is titled with the last digits of its system title
    (``naming.short_id``).
    """
    titles = (meter.system_title, entry.data.get(CONF_SYSTEM_TITLE), entry.unique_id)
    short = {t[-SHORT_ID_DIGITS:] for t in titles if isinstance(t, str) and len(t) == 16}
    everything = ids | {s.upper() for s in short} | {s.lower() for s in short}
    return _scrub_text(entry.title, sorted(everything, key=len, reverse=True))


def _scrub(data: Any, ids: list[str]) -> Any:
    """``data`` with every id inside its texts replaced (the capture's bytes excepted)."""
    if isinstance(data, dict):
        return {key: value if key in _BYTES else _scrub(value, ids) for key, value in data.items()}
    if isinstance(data, list):
        return [_scrub(value, ids) for value in data]
    if isinstance(data, str):
        return _scrub_text(data, ids)
    return data


def _scrub_text(text: str, ids: list[str]) -> str:
    """``text`` with each of ``ids`` (the longest first) replaced."""
    for ident in ids:
        if ident in text:
            text = text.replace(ident, REDACTED)
    return text
