"""Diagnostics: what the reader saw, without keys; the last frames as received (``capture``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PORT

from .const import CONF_AK, CONF_EK, CONF_SYSTEM_TITLE
from .report import capture_section

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import HanPortConfigEntry

TO_REDACT = {CONF_EK, CONF_AK, CONF_SYSTEM_TITLE}


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
    return {
        "entry": {
            "title": entry.title,
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
        "decoder": decoder.diagnostics() if decoder is not None else {},
        # Senders are counted, never named (a system title identifies the meter).
        "replay_protection": {
            "senders": len(coordinator.replay.guard.counters),
            "refusing": len(coordinator.replay.guard.refused),
            "refused_in_row": coordinator.replay.refused_in_row,
        },
        "registers": {
            obis: {"value": reading.value, "unit": reading.unit}
            for obis, reading in sorted(data.readings.items())
        },
        # What the totals' sensors show (guarded: never lower than before), in their units.
        "totals": dict(sorted(data.totals.items())),
        "capacity": capacity.diagnostics(data.readings) if capacity is not None else None,
        # The last frames as received, for a bug report (report.py; scripts/han decode --file).
        "capture": capture_section(coordinator.meter, coordinator.capture),
    }
