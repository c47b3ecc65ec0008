"""The config flow's steps for an existing meter: new keys (reauth), new port (reconfigure).

Both listen to the port again (the detection step) before they change the entry, and refuse
a different meter (``wrong_meter``) when both the entry and the frames name their meter.
Keys are never sent back to a form: reauth asks for every key anew (a key left empty is
removed), reconfigure keeps a key whose field is left empty and removes the stored keys the
user ticks in its "remove stored keys" list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_PORT
import voluptuous as vol

from .const import (
    CONF_AK,
    CONF_EK,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    DEFAULT_PROFILE,
    DEFAULT_RECEIVER,
    SERIAL_FIELDS,
)
from .flow_detect import DetectingFlow
from .flow_forms import (
    KEY_FIELDS,
    REMOVE_KEYS,
    async_port_selector,
    async_stable_port,
    key_schema,
    parse_keys,
    profile_selector,
    receiver_selector,
    remove_keys_selector,
    text,
)

if TYPE_CHECKING:
    from .coordinator import HanPortConfigEntry


def names_a_meter(unique_id: str | None) -> bool:
    """Whether a unique id names a meter: an id register, a system title, a wM-Bus id.

    A meter that sends neither an id nor a system title is set up under its port's path
    or URL; that says nothing about which meter answers on another port.
    """
    return bool(unique_id) and not (str(unique_id).startswith("/") or "://" in str(unique_id))


class ChangingFlow(DetectingFlow):
    """The reauth and reconfigure steps (no domain: not registered)."""

    async def _async_changed_meter(self, unique_id: str) -> ConfigFlowResult:
        """Update the entry with what detection found, unless another meter answered.

        The entry keeps its unique id: its entities' ids derive from it.
        """
        entry = self._entry
        assert entry is not None
        if names_a_meter(entry.unique_id) and names_a_meter(unique_id):
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_mismatch(reason="wrong_meter")
        return self._async_update_and_abort(entry)

    # ------------------------------------------------------------------ reauth

    async def async_step_reauth(self, entry_data: dict[str, Any]) -> ConfigFlowResult:
        """The meter's frames stopped decrypting: ask for the keys again."""
        await self._async_load_texts()
        self._entry = self._get_reauth_entry()
        self._data = dict(entry_data)
        self._need_key = True
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New keys for an existing meter."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(self._data)
            for field in KEY_FIELDS:
                data.pop(field, None)
            errors = parse_keys(user_input, data)
            if not errors:
                self._data = data
                self._keys_typed = True
                return await self.async_step_detect()
        return self._show_reauth(errors, user_input)

    def _show_reauth(
        self, errors: dict[str, str] | None = None, typed: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        if self._profile.wireless:
            schema = vol.Schema({vol.Required(CONF_EK): text(password=True)})
        else:
            schema = key_schema(self._profile, ek_required=True)
        if typed is None:
            # Reauth replaces every key with what the form sends (an AK left empty is gone).
            # The stored system title is not a key: it is shown, so that it is kept unless
            # the user clears it.
            typed = self._typed_keys() or {
                CONF_SYSTEM_TITLE: self._data.get(CONF_SYSTEM_TITLE) or None
            }
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(schema, typed),
            errors=self._errors("reauth_confirm", errors),
            description_placeholders=self._placeholders(),
        )

    # ------------------------------------------------------------------ reconfigure

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change port, profile or keys of an existing meter."""
        entry = self._get_reconfigure_entry()
        if self._entry is None:
            await self._async_load_texts()
            self._entry = entry
            self._data = dict(entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(self._data)
            data[CONF_PROFILE] = user_input[CONF_PROFILE]
            for field in SERIAL_FIELDS:
                data.pop(field, None)
            # An empty key field keeps the stored key; a ticked one is removed (a key typed
            # as well replaces it).
            for field in user_input.get(REMOVE_KEYS) or ():
                data.pop(field, None)
            errors = parse_keys(user_input, data)
            if not errors:
                self._data = data
                self._data[CONF_PORT] = await async_stable_port(
                    self.hass, user_input[CONF_PORT], self._data.get(CONF_PORT)
                )
                return await self.async_step_detect()
        return await self._async_show_reconfigure(errors)

    async def _async_show_reconfigure(
        self, errors: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        wireless = self._profile.wireless
        # The port is shown as its label (a URL's secrets redacted), and suggested as such.
        port_selector, port = await async_port_selector(self.hass, self._data.get(CONF_PORT))
        fields: dict[Any, Any] = {
            vol.Required(CONF_PORT): port_selector,
            vol.Required(CONF_PROFILE): profile_selector(wireless=wireless),
        }
        if wireless:
            fields[vol.Required(CONF_RECEIVER)] = receiver_selector()
            fields[vol.Optional(CONF_EK)] = text(password=True)
        else:
            fields[vol.Optional(CONF_EK)] = text(password=True)
            fields[vol.Optional(CONF_AK)] = text(password=True)
            fields[vol.Optional(CONF_SYSTEM_TITLE)] = text()
        # Keys are never sent back to the form, so an empty field cannot mean "none": the
        # stored ones are listed (by name only) to be removed explicitly.
        stored = [field for field in KEY_FIELDS if self._data.get(field)]
        if stored:
            fields[vol.Optional(REMOVE_KEYS)] = remove_keys_selector(stored)
        suggested = {
            CONF_PORT: port,
            CONF_PROFILE: self._data.get(CONF_PROFILE, DEFAULT_PROFILE),
            CONF_RECEIVER: self._data.get(CONF_RECEIVER, DEFAULT_RECEIVER),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            errors=self._errors("reconfigure", errors),
            description_placeholders=self._placeholders(),
        )

    def _async_update_and_abort(self, entry: HanPortConfigEntry) -> ConfigFlowResult:
        """Store the new data; the entry's update listener reloads it.

        (Not the reloading helper: an update listener plus a reloading helper is deprecated
        from HA 2026.6, and ConfigFlow.async_update_and_abort does not exist in 2025.4.)
        """
        changed = self.hass.config_entries.async_update_entry(entry, data=self._data)
        if not changed or entry.state is not ConfigEntryState.LOADED:
            # No listener will fire: reload (or retry the setup) ourselves.
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        reason = "reauth_successful" if self.source == SOURCE_REAUTH else "reconfigure_successful"
        return self.async_abort(reason=reason)
