"""Config flow for HAN Port: connection, meter profile, keys, then listen to the real port.

user (port) -> meter (profile, serial override) -> keys / wmbus (when needed) -> detect
(progress) -> confirm. Detection failures lead back to the form where the fix is, with an
error that says exactly what is wrong, and the form keeps what the user typed; when bytes
arrive and nothing decodes them, the meter form also offers to add the meter anyway, so that
its diagnostics can capture what it sends (issue 14). USB discovery
starts at usb -> usb_confirm -> meter. Reauth (new keys) and reconfigure (port, profile and
keys) are in ``flow_change``; the detection step and what every step shares in
``flow_detect``; selectors and key parsing in ``flow_forms``; the options flow (tuning and
the capacity tariff) in ``flow_options``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from homeassistant.components import usb
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
)
from homeassistant.const import CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .connection import MeterConfig, is_network_port
from .const import (
    CONF_AK,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_FORMAT,
    CONF_METER_ID,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SERIAL,
    DEFAULT_PROFILE,
    DEFAULT_RECEIVER,
    DOMAIN,
    SERIAL_FIELDS,
)
from .detect import Detection, Outcome
from .flow_change import ChangingFlow
from .flow_forms import (
    ADD_ANYWAY,
    KEY_FIELDS,
    async_port_selector,
    async_stable_port,
    key_schema,
    parse_keys,
    profile_selector,
    receiver_selector,
    serial_selectors,
    text,
)
from .flow_options import HanPortOptionsFlow
from .flow_summary import async_confirm_placeholders
from .han.model import MeterIdentity
from .naming import meter_title
from .ports import port_label

if TYPE_CHECKING:
    from homeassistant.helpers.service_info.usb import UsbServiceInfo

    from .han.profiles import SerialSettings


@dataclass(slots=True)
class _Found:
    """What the confirm step shows."""

    unique_id: str
    title: str


class HanPortConfigFlow(ChangingFlow, domain=DOMAIN):
    """Set up a meter: where it is, what it speaks, its keys, and proof that it works."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        super().__init__()
        self._found: _Found | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HanPortOptionsFlow:  # noqa: ARG004
        """Tuning options: update rate, CT scale factor, main fuse, capacity tariff."""
        return HanPortOptionsFlow()

    # ------------------------------------------------------------------ helpers

    def _needs_keys_step(self) -> bool:
        profile = self._profile
        return profile.wireless or profile.encrypts

    # ------------------------------------------------------------------ user steps

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where the meter is: a serial port or a URL."""
        if user_input is None:
            await self._async_load_texts()
            return await self._async_show_user()
        if not str(user_input.get(CONF_PORT) or "").strip():
            return await self._async_show_user({CONF_PORT: "no_port"})
        self._data[CONF_PORT] = await async_stable_port(
            self.hass, user_input[CONF_PORT], self._data.get(CONF_PORT)
        )
        return await self.async_step_meter()

    async def _async_show_user(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        selector, suggested = await async_port_selector(self.hass, self._data.get(CONF_PORT))
        # Optional, so that the frontend does not fill in the first port by itself (a
        # built-in UART); an empty answer is refused with "no_port".
        schema = vol.Schema({vol.Optional(CONF_PORT): selector})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, {CONF_PORT: suggested}),
            errors=self._errors("user", errors),
            description_placeholders=self._placeholders(),
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A USB adapter matching the manifest was plugged in."""
        await self._async_load_texts()
        port = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        self._async_abort_entries_match({CONF_PORT: port})
        await self.async_set_unique_id(
            f"usb_{discovery_info.vid}_{discovery_info.pid}_{discovery_info.serial_number}"
        )
        self._abort_if_unique_id_configured(reload_on_update=False)
        self._data[CONF_PORT] = port
        name = discovery_info.description or discovery_info.manufacturer or port_label(port)
        self.context["title_placeholders"] = {"name": name}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before listening to a discovered adapter."""
        if user_input is not None:
            return await self.async_step_meter()
        self._set_confirm_only()
        return self.async_show_form(
            step_id="usb_confirm", description_placeholders=self._placeholders()
        )

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Which country and meter, and optionally fixed serial settings."""
        if user_input is not None:
            self._data[CONF_PROFILE] = user_input[CONF_PROFILE]
            serial = user_input.get(CONF_SERIAL) or {}
            for field in SERIAL_FIELDS:
                self._data.pop(field, None)
            if serial.get(CONF_BAUDRATE):
                self._data[CONF_BAUDRATE] = int(serial[CONF_BAUDRATE])
                self._data[CONF_PARITY] = serial.get(CONF_PARITY) or "N"
                self._data[CONF_BYTESIZE] = int(serial.get(CONF_BYTESIZE) or 8)
            if user_input.get(ADD_ANYWAY) and not self._profile.wireless:
                return await self._async_add_anyway()
            if self._needs_keys_step():
                return await self.async_step_keys()
            return await self.async_step_detect()
        return self._show_meter()

    def _offers_add_anyway(self) -> bool:
        """Detection heard bytes on a wired port and nothing decoded: offer to add it anyway.

        The entry then reads the port, and its diagnostics hold the raw capture that a bug
        report needs (and the "no decode" repair issue asks for). Not after silence (nothing
        to capture), a key error or a port that cannot be opened: those have their own fix.
        """
        detection = self._detection
        return (
            self._failure is not None
            and self._failure[0] == "meter"
            and detection is not None
            and detection.outcome is Outcome.UNREADABLE
            and detection.bytes_received > 0
            and not self._profile.wireless
        )

    async def _async_add_anyway(self) -> ConfigFlowResult:
        """Create the entry with no detected format, at the first (or the chosen) setting.

        Known by its port, as a meter without an id is (the label: no URL secrets).
        """
        port = self._data[CONF_PORT]
        self._async_abort_entries_match({CONF_PORT: port})
        if not is_network_port(port):
            self._store_settings(MeterConfig.from_data(self._data).candidate_settings()[0])
        self._data.pop(CONF_FORMAT, None)
        label = port_label(port)
        await self.async_set_unique_id(label, raise_on_progress=False)
        self._abort_if_unique_id_configured(reload_on_update=False)
        title = self._title(MeterIdentity(), port=label)
        return self.async_create_entry(title=title, data=self._data)

    def _store_settings(self, settings: SerialSettings) -> None:
        """Keep the serial settings the entry reads its port at."""
        self._data[CONF_BAUDRATE] = settings.baudrate
        self._data[CONF_PARITY] = settings.parity.value
        self._data[CONF_BYTESIZE] = settings.bytesize

    def _title(self, meter: MeterIdentity, *, meter_id: str | None = None, port: str = "") -> str:
        """The entry's title.

        Without maker or model it starts with the profile's name, in Home Assistant's language.
        """
        profile = replace(self._profile, name=self._texts.profile_name(self._profile))
        return meter_title(meter, profile, meter_id=meter_id, port=port)

    def _show_meter(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        serial = {field: str(self._data[field]) for field in SERIAL_FIELDS if field in self._data}
        fields: dict[Any, Any] = {vol.Required(CONF_PROFILE): profile_selector()}
        if not is_network_port(str(self._data.get(CONF_PORT, ""))):
            # Line settings mean nothing on a TCP URL: the far end sets them.
            fields[vol.Optional(CONF_SERIAL)] = section(
                vol.Schema(serial_selectors()), {"collapsed": not serial}
            )
        if self._offers_add_anyway():
            fields[vol.Optional(ADD_ANYWAY, default=False)] = BooleanSelector()
        suggested = {
            CONF_PROFILE: self._data.get(CONF_PROFILE, DEFAULT_PROFILE),
            CONF_SERIAL: serial,
        }
        return self.async_show_form(
            step_id="meter",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            errors=self._errors("meter", errors),
            description_placeholders=self._placeholders(),
        )

    async def async_step_keys(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The keys the grid operator handed out (wired meters)."""
        if self._profile.wireless:
            return await self.async_step_wmbus(user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            for field in KEY_FIELDS:
                self._data.pop(field, None)
            errors = parse_keys(user_input, self._data)
            self._keys_typed = True
            if not errors:
                return await self.async_step_detect()
        return self._show_keys(errors, user_input)

    def _show_keys(
        self, errors: dict[str, str] | None = None, typed: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        profile = self._profile
        ek_required = self._need_key or profile.encrypts
        schema = key_schema(profile, ek_required=ek_required)
        return self.async_show_form(
            step_id="keys",
            data_schema=self.add_suggested_values_to_schema(
                schema, typed if typed is not None else self._typed_keys()
            ),
            errors=self._errors("keys", errors),
            description_placeholders=self._placeholders(),
        )

    async def async_step_wmbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wireless M-Bus: the receiver, the meter id and its key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            for field in (CONF_EK, CONF_METER_ID):
                self._data.pop(field, None)
            errors = parse_keys(user_input, self._data)
            self._keys_typed = True
            if not errors:
                return await self.async_step_detect()
        return self._show_wmbus(errors)

    def _show_wmbus(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        schema = vol.Schema(
            {
                vol.Required(CONF_RECEIVER): receiver_selector(),
                vol.Optional(CONF_METER_ID): text(),
                (vol.Required(CONF_EK) if self._need_key else vol.Optional(CONF_EK)): text(
                    password=True
                ),
            }
        )
        suggested = {
            CONF_RECEIVER: self._data.get(CONF_RECEIVER, DEFAULT_RECEIVER),
            CONF_METER_ID: self._data.get(CONF_METER_ID),
            **{k: v for k, v in self._typed_keys().items() if k == CONF_EK},
        }
        return self.async_show_form(
            step_id="wmbus",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=self._errors("wmbus", errors),
            description_placeholders=self._placeholders(),
        )

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wireless M-Bus: which of the meters heard is yours."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = parse_keys(user_input, self._data)
            if not errors:
                return await self.async_step_detect()
        heard = self._detection.heard if self._detection else []
        schema = vol.Schema(
            {
                vol.Required(CONF_METER_ID): SelectSelector(
                    SelectSelectorConfig(
                        options=heard, custom_value=True, mode=SelectSelectorMode.LIST
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="pick",
            data_schema=schema,
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    # ------------------------------------------------------------------ detection results

    async def async_step_result(
        self,
        user_input: dict[str, Any] | None = None,  # noqa: ARG002 - a progress-done target
    ) -> ConfigFlowResult:
        """Act on what detection found."""
        detection = self._detection
        assert detection is not None
        if detection.outcome is not Outcome.FOUND:
            return await self._async_show_failure(detection.outcome)
        self._apply(detection)
        assert self._found is not None
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return await self._async_changed_meter(self._found.unique_id)
        await self.async_set_unique_id(self._found.unique_id, raise_on_progress=False)
        self._abort_if_unique_id_configured(reload_on_update=False)
        return await self.async_step_confirm()

    def _apply(self, detection: Detection) -> None:
        """Keep what worked: serial settings, format, keys the right way round."""
        message = detection.message
        assert message is not None
        settings = detection.settings
        port = self._data[CONF_PORT]
        if settings is not None and not is_network_port(port):
            self._store_settings(settings)
        self._data[CONF_FORMAT] = str(message.format)
        if "keys_swapped" in message.notes and CONF_AK in self._data:
            self._data[CONF_EK], self._data[CONF_AK] = self._data[CONF_AK], self._data[CONF_EK]
        meter = message.meter
        meter_id = self._data.get(CONF_METER_ID) or meter.meter_id
        # A meter without an id is known by its port: the label, never a URL's secrets. The
        # label of a path or a URL without secrets is the port itself (the unique id of
        # entries made before).
        label = port_label(port)
        unique_id = meter_id or meter.system_title or label
        # The system title stays out of the title (diagnostics redact it, the title is shown).
        title = self._title(meter, meter_id=meter_id, port="" if meter.system_title else label)
        self._found = _Found(str(unique_id), title)

    async def _async_show_failure(self, outcome: Outcome) -> ConfigFlowResult:
        errors = {"base": outcome.value}
        if outcome in (Outcome.NEED_KEY, Outcome.AUTH_FAILED, Outcome.WRONG_KEY):
            self._need_key = True
        if self.source == SOURCE_REAUTH:
            step_id = "reauth_confirm"
        elif self.source == SOURCE_RECONFIGURE:
            step_id = "reconfigure"
        elif outcome is Outcome.PICK_METER:
            return await self.async_step_pick()
        elif outcome in (Outcome.CANNOT_CONNECT, Outcome.NOTHING):
            step_id = "user"
        elif outcome is Outcome.UNREADABLE:
            step_id = "meter"
        elif self._profile.wireless:
            step_id = "wmbus"
        else:
            step_id = "keys"
        self._failure = (step_id, errors)
        return await self._async_show(step_id)

    async def _async_show(self, step_id: str) -> ConfigFlowResult:
        """Show the form ``step_id`` with the pending detection failure."""
        if step_id == "reauth_confirm":
            return self._show_reauth()
        if step_id == "reconfigure":
            return await self._async_show_reconfigure()
        if step_id == "user":
            return await self._async_show_user()
        if step_id == "meter":
            return self._show_meter()
        if step_id == "wmbus":
            return self._show_wmbus()
        return self._show_keys()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was found; create the entry when the user agrees."""
        found = self._found
        detection = self._detection
        assert found is not None
        assert detection is not None
        if user_input is not None:
            return self.async_create_entry(title=found.title, data=self._data)
        placeholders = await async_confirm_placeholders(
            self.hass, detection, self._data, found.title
        )
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                **self._placeholders(),
                **placeholders,
                "meter_id": found.unique_id,
            },
        )
