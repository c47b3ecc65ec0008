"""A HAN Port config entry added to Home Assistant and set up, as the tests need one."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import DOMAIN


async def set_up_entry(
    hass: HomeAssistant,
    data: dict[str, Any],
    *,
    unique_id: str | None,
    title: str = "Meter",
    options: dict[str, Any] | None = None,
    settle: bool = True,
) -> MockConfigEntry:
    """Add an entry with ``data`` (and ``options``), set it up; ``settle``: wait for HA's tasks."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=unique_id, title=title, data=data, options=options
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    if settle:
        await hass.async_block_till_done()
    return entry
