"""Config flow for HAN Port."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PORT
import voluptuous as vol

from .const import CONF_PROFILE, DOMAIN

DEFAULT_PROFILE = "auto"


class HanPortConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a meter: the port it is on and its country/meter profile."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the port and profile."""
        if user_input is not None:
            await self.async_set_unique_id(user_input[CONF_PORT])
            self._abort_if_unique_id_configured()
            return self.async_create_entry(title=user_input[CONF_PORT], data=user_input)
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): str,
                vol.Required(CONF_PROFILE, default=DEFAULT_PROFILE): str,
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema)
