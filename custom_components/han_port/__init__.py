"""The HAN Port integration: smart electricity meters read through their HAN port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant

PLATFORMS: list[Platform] = []


@dataclass(slots=True)
class HanPortData:
    """Runtime state of one meter's config entry."""

    port: str


type HanPortConfigEntry = ConfigEntry[HanPortData]


async def async_setup_entry(hass: HomeAssistant, entry: HanPortConfigEntry) -> bool:
    """Set up a meter from a config entry."""
    entry.runtime_data = HanPortData(port=entry.data["port"])
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HanPortConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
