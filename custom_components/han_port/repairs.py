"""Fix flows for the repair issues that need the user's decision.

Only one issue is fixable: a total (energy, gas, water) the meter keeps reporting lower
than Home Assistant has. Accepting it is the user's call (a replaced meter, a changed CT
factor); until then the sensor holds its value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntryState

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.data_entry_flow import FlowResult


class AcceptLowerTotalFlow(ConfirmRepairFlow):
    """Confirm, then let the sensor take the meter's lower value."""

    def __init__(self, entry_id: str, obis: str) -> None:
        """Remember which entry and register the issue is about."""
        self._entry_id = entry_id
        self._obis = obis

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Accept the lower value when the user confirms."""
        if user_input is not None:
            entry = self.hass.config_entries.async_get_entry(self._entry_id)
            if entry is not None and entry.state is ConfigEntryState.LOADED:
                entry.runtime_data.async_accept_lower(self._obis)
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001
    issue_id: str,  # noqa: ARG001
    data: dict[str, Any] | None,
) -> RepairsFlow:
    """The fix flow for a fixable issue of ours."""
    data = data or {}
    return AcceptLowerTotalFlow(str(data.get("entry_id", "")), str(data.get("obis", "")))
