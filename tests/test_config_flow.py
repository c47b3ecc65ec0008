"""The config flow."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import DOMAIN


async def test_user_creates_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": "/dev/ttyUSB0", "profile": "auto"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"port": "/dev/ttyUSB0", "profile": "auto"}


async def test_same_port_aborts(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id="/dev/ttyUSB0", data={"port": "/dev/ttyUSB0"}
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"port": "/dev/ttyUSB0", "profile": "auto"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
