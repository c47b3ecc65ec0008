"""The HAN Port integration: smart electricity meters read through their HAN port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import Platform
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr, issue_registry as ir

from .capacity import async_remove_store as async_remove_capacity_store
from .connection import close_port
from .const import DOMAIN
from .coordinator import HanPortConfigEntry, HanPortCoordinator
from .device import meter_device_info
from .replay_store import async_remove_store

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

PLATFORMS: list[Platform] = [Platform.SENSOR]

__all__ = ["HanPortConfigEntry"]


async def async_setup_entry(hass: HomeAssistant, entry: HanPortConfigEntry) -> bool:
    """Open the meter's port, add its sensors and start reading."""
    coordinator = HanPortCoordinator(hass, entry)
    await coordinator.async_load()
    try:
        connection = await coordinator.reader.async_open()
    except OSError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_open_port",
            translation_placeholders={"port": coordinator.port_label},
        ) from err
    try:
        entry.runtime_data = coordinator
        # The meter's device first, so sub-meter devices can point at it.
        dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id, **meter_device_info(coordinator)
        )
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    except BaseException:
        await close_port(connection[1])  # the reader that would own it never starts
        raise
    coordinator.reader.start(connection)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def _async_update_listener(hass: HomeAssistant, entry: HanPortConfigEntry) -> None:
    """Options, reconfigure and reauth change the entry: read it again."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: HanPortConfigEntry) -> bool:
    """Stop reading and remove the sensors."""
    await entry.runtime_data.async_stop()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant,  # noqa: ARG001
    entry: HanPortConfigEntry,
    device: dr.DeviceEntry,
) -> bool:
    """Let the user delete a sub-meter device (gas, water, heat); the meter itself stays."""
    coordinator = entry.runtime_data
    return (DOMAIN, coordinator.meter_key) not in device.identifiers


async def async_remove_entry(hass: HomeAssistant, entry: HanPortConfigEntry) -> None:
    """Remove the entry's repair issues (their ids end with the entry id) and its store."""
    suffix = f"_{entry.entry_id}"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.endswith(suffix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    await async_remove_store(hass, entry.entry_id)
    await async_remove_capacity_store(hass, entry.entry_id)
