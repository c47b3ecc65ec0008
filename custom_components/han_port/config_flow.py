"""Config flow for HAN Port: connection, meter profile, keys, then listen to the real port.

user (port) -> meter (profile, serial override) -> keys / wmbus (when needed) -> detect
(progress) -> confirm. Detection failures lead back to the form where the fix is, with an
error that says exactly what is wrong. USB discovery starts at usb -> usb_confirm -> meter.
Reauth asks for the keys again; reconfigure changes port, profile and keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components import usb
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import serialx
import voluptuous as vol

from .connection import (
    InvalidKeyError,
    MeterConfig,
    is_network_port,
    parse_key,
    parse_meter_id,
    parse_system_title,
)
from .const import (
    CONF_AK,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_FORMAT,
    CONF_FUSE,
    CONF_METER_ID,
    CONF_MIN_INTERVAL,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SCALE,
    CONF_SERIAL,
    CONF_SYSTEM_TITLE,
    DEFAULT_FUSE,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_PROFILE,
    DEFAULT_RECEIVER,
    DEFAULT_SCALE,
    DOMAIN,
    LOGGER,
    RECEIVERS,
)
from .detect import Detection, Outcome, async_detect, listen_window
from .han.profiles import PROFILES, KeyNeed, Profile, get_profile

if TYPE_CHECKING:
    import asyncio

    from homeassistant.helpers.service_info.usb import UsbServiceInfo

    from .coordinator import HanPortConfigEntry

BAUDRATES = ["300", "1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"]
PARITIES = ["N", "E", "O"]
BYTESIZES = ["7", "8"]
_KEY_FIELDS = (CONF_EK, CONF_AK, CONF_SYSTEM_TITLE)
_SHOWN_REGISTERS = 12


def _comports() -> list[Any]:
    """The machine's serial ports: pyserial's list, or serialx's where pyserial is gone."""
    try:
        from serial.tools import list_ports  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return list(serialx.list_serial_ports())
    return list(list_ports.comports())


def _list_ports() -> list[SelectOptionDict]:
    """Serial ports on this machine, labelled with maker and description (executor)."""
    options: list[SelectOptionDict] = []
    for port in _comports():
        path = usb.get_serial_by_id(port.device)
        details = ", ".join(
            part for part in (port.manufacturer, port.description, port.serial_number) if part
        )
        label = f"{port.device} - {details}" if details and details != "n/a" else port.device
        options.append(SelectOptionDict(value=path, label=label))
    return options


def _text(*, password: bool = False) -> TextSelector:
    return TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD if password else TextSelectorType.TEXT)
    )


def _profile_selector(*, wireless: bool | None = None) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=profile.id, label=profile.name)
                for profile in PROFILES
                if wireless is None or profile.wireless == wireless
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def _receiver_selector() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(RECEIVERS), mode=SelectSelectorMode.DROPDOWN, translation_key="receiver"
        )
    )


def _parse_keys(user_input: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """Check the form of every key field before any I/O; store good ones as hex in ``data``.

    Empty fields are left as they are in ``data``. Returns field -> error key.
    """
    errors: dict[str, str] = {}
    parsers = {
        CONF_EK: (parse_key, "invalid_key"),
        CONF_AK: (parse_key, "invalid_key"),
        CONF_SYSTEM_TITLE: (parse_system_title, "invalid_system_title"),
    }
    for field, (parse, error) in parsers.items():
        text = str(user_input.get(field) or "").strip()
        if not text:
            continue
        try:
            data[field] = parse(text).hex()
        except InvalidKeyError:
            errors[field] = error
    meter_id = str(user_input.get(CONF_METER_ID) or "").strip()
    if meter_id:
        try:
            data[CONF_METER_ID] = parse_meter_id(meter_id)
        except InvalidKeyError:
            errors[CONF_METER_ID] = "invalid_meter_id"
    if CONF_RECEIVER in user_input:
        data[CONF_RECEIVER] = user_input[CONF_RECEIVER]
    return errors


@dataclass(slots=True)
class _Found:
    """What the confirm step shows."""

    unique_id: str
    title: str


class HanPortConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a meter: where it is, what it speaks, its keys, and proof that it works."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, Any] = {}
        self._need_key = False
        self._detect_task: asyncio.Task[Detection] | None = None
        self._detection: Detection | None = None
        self._found: _Found | None = None
        self._entry: HanPortConfigEntry | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HanPortOptionsFlow:  # noqa: ARG004
        """Tuning options: update rate, CT scale factor, main fuse."""
        return HanPortOptionsFlow()

    # ------------------------------------------------------------------ helpers

    @property
    def _profile(self) -> Profile:
        return get_profile(self._data.get(CONF_PROFILE, DEFAULT_PROFILE))

    def _placeholders(self) -> dict[str, str]:
        """Every placeholder any of this flow's texts uses."""
        profile = self._profile
        detection = self._detection
        config = MeterConfig.from_data(self._data) if CONF_PORT in self._data else None
        window = listen_window(profile.interval)
        tries = len(config.candidate_settings()) if config else 1
        return {
            "port": self._data.get(CONF_PORT, ""),
            "profile": profile.name,
            "activation": profile.activation,
            "ek_name": profile.key_names.get("ek", "EK"),
            "ak_name": profile.key_names.get("ak", "AK"),
            "seconds": str(round(window * tries)),
            "tried": ", ".join(detection.tried) if detection else "",
            "heard": ", ".join(detection.heard) if detection else "",
        }

    async def _async_port_options(self) -> list[SelectOptionDict]:
        options = await self.hass.async_add_executor_job(_list_ports)
        current = self._data.get(CONF_PORT)
        if current and all(option["value"] != current for option in options):
            options.insert(0, SelectOptionDict(value=current, label=current))
        return options

    async def _async_port_selector(self) -> SelectSelector:
        return SelectSelector(
            SelectSelectorConfig(
                options=await self._async_port_options(),
                custom_value=True,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )

    async def _async_set_port(self, port: str) -> None:
        port = port.strip()
        if port.startswith("/dev/"):
            port = await self.hass.async_add_executor_job(usb.get_serial_by_id, port)
        self._data[CONF_PORT] = port

    def _needs_keys_step(self) -> bool:
        profile = self._profile
        return profile.wireless or profile.keys in (KeyNeed.EK, KeyNeed.EK_AK)

    # ------------------------------------------------------------------ user steps

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where the meter is: a serial port or a URL."""
        if user_input is not None:
            await self._async_set_port(user_input[CONF_PORT])
            return await self.async_step_meter()
        return await self._async_show_user()

    async def _async_show_user(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        schema = vol.Schema({vol.Required(CONF_PORT): await self._async_port_selector()})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, self._data),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A USB adapter matching the manifest was plugged in."""
        port = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        self._async_abort_entries_match({CONF_PORT: port})
        await self.async_set_unique_id(
            f"usb_{discovery_info.vid}_{discovery_info.pid}_{discovery_info.serial_number}"
        )
        self._abort_if_unique_id_configured(reload_on_update=False)
        self._data[CONF_PORT] = port
        name = discovery_info.description or discovery_info.manufacturer or port
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
            for field in (CONF_BAUDRATE, CONF_PARITY, CONF_BYTESIZE):
                self._data.pop(field, None)
            if serial.get(CONF_BAUDRATE):
                self._data[CONF_BAUDRATE] = int(serial[CONF_BAUDRATE])
                self._data[CONF_PARITY] = serial.get(CONF_PARITY) or "N"
                self._data[CONF_BYTESIZE] = int(serial.get(CONF_BYTESIZE) or 8)
            if self._needs_keys_step():
                return await self.async_step_keys()
            return await self.async_step_detect()
        return self._show_meter()

    def _show_meter(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        serial = {
            field: str(self._data[field])
            for field in (CONF_BAUDRATE, CONF_PARITY, CONF_BYTESIZE)
            if field in self._data
        }
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PROFILE, default=self._data.get(CONF_PROFILE, DEFAULT_PROFILE)
                ): _profile_selector(),
                vol.Optional(CONF_SERIAL): section(
                    vol.Schema(
                        {
                            vol.Optional(CONF_BAUDRATE): SelectSelector(
                                SelectSelectorConfig(
                                    options=BAUDRATES, mode=SelectSelectorMode.DROPDOWN
                                )
                            ),
                            vol.Optional(CONF_PARITY): SelectSelector(
                                SelectSelectorConfig(
                                    options=PARITIES,
                                    mode=SelectSelectorMode.DROPDOWN,
                                    translation_key="parity",
                                )
                            ),
                            vol.Optional(CONF_BYTESIZE): SelectSelector(
                                SelectSelectorConfig(
                                    options=BYTESIZES, mode=SelectSelectorMode.DROPDOWN
                                )
                            ),
                        }
                    ),
                    {"collapsed": not serial},
                ),
            }
        )
        return self.async_show_form(
            step_id="meter",
            data_schema=self.add_suggested_values_to_schema(schema, {CONF_SERIAL: serial}),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_keys(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The keys the grid operator handed out (wired meters)."""
        if self._profile.wireless:
            return await self.async_step_wmbus(user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            for field in _KEY_FIELDS:
                self._data.pop(field, None)
            errors = _parse_keys(user_input, self._data)
            if not errors:
                return await self.async_step_detect()
        return self._show_keys(errors)

    def _key_schema(self, *, ek_required: bool) -> vol.Schema:
        profile = self._profile
        ak_required = profile.keys is KeyNeed.EK_AK
        fields: dict[Any, Any] = {
            (vol.Required(CONF_EK) if ek_required else vol.Optional(CONF_EK)): _text(password=True),
            (vol.Required(CONF_AK) if ak_required else vol.Optional(CONF_AK)): _text(password=True),
        }
        if profile.country in (None, "PL"):
            fields[vol.Optional(CONF_SYSTEM_TITLE)] = _text()
        return vol.Schema(fields)

    def _show_keys(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        profile = self._profile
        ek_required = self._need_key or profile.keys in (KeyNeed.EK, KeyNeed.EK_AK)
        return self.async_show_form(
            step_id="keys",
            data_schema=self._key_schema(ek_required=ek_required),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_wmbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wireless M-Bus: the receiver, the meter id and its key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            for field in (CONF_EK, CONF_METER_ID):
                self._data.pop(field, None)
            errors = _parse_keys(user_input, self._data)
            if not errors:
                return await self.async_step_detect()
        return self._show_wmbus(errors)

    def _show_wmbus(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_RECEIVER, default=self._data.get(CONF_RECEIVER, DEFAULT_RECEIVER)
                ): _receiver_selector(),
                vol.Optional(CONF_METER_ID): _text(),
                (vol.Required(CONF_EK) if self._need_key else vol.Optional(CONF_EK)): _text(
                    password=True
                ),
            }
        )
        suggested = {CONF_METER_ID: self._data.get(CONF_METER_ID)}
        return self.async_show_form(
            step_id="wmbus",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wireless M-Bus: which of the meters heard is yours."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _parse_keys(user_input, self._data)
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

    # ------------------------------------------------------------------ detection

    async def async_step_detect(
        self,
        user_input: dict[str, Any] | None = None,  # noqa: ARG002 - a progress step
    ) -> ConfigFlowResult:
        """Listen to the port (bounded time) with a progress spinner."""
        if self._detect_task is None:
            self._detect_task = self.hass.async_create_task(self._async_detect())
        if not self._detect_task.done():
            return self.async_show_progress(
                step_id="detect",
                progress_action="detect",
                progress_task=self._detect_task,
                description_placeholders=self._placeholders(),
            )
        task, self._detect_task = self._detect_task, None
        try:
            self._detection = task.result()
        except Exception:  # noqa: BLE001 - a decoder bug must not leave the flow hanging
            LOGGER.exception("Detection on %s failed", self._data.get(CONF_PORT))
            self._detection = Detection(Outcome.UNREADABLE)
        return self.async_show_progress_done(next_step_id="result")

    async def _async_detect(self) -> Detection:
        config = MeterConfig.from_data(self._data)
        entry = self._entry
        if entry is not None and entry.state is ConfigEntryState.LOADED:
            async with entry.runtime_data.async_port_released():
                return await async_detect(config)
        return await async_detect(config)

    @callback
    def async_remove(self) -> None:
        """Stop listening when the user closes the dialog."""
        if self._detect_task is not None and not self._detect_task.done():
            self._detect_task.cancel()

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
            assert self._entry is not None
            if self._entry.unique_id is not None:
                await self.async_set_unique_id(self._found.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_meter")
            return self._async_update_and_abort(self._entry)
        await self.async_set_unique_id(self._found.unique_id, raise_on_progress=False)
        self._abort_if_unique_id_configured(reload_on_update=False)
        return await self.async_step_confirm()

    def _apply(self, detection: Detection) -> None:
        """Keep what worked: serial settings, format, keys the right way round."""
        message = detection.message
        assert message is not None
        settings = detection.settings
        if settings is not None and not is_network_port(self._data[CONF_PORT]):
            self._data[CONF_BAUDRATE] = settings.baudrate
            self._data[CONF_PARITY] = settings.parity.value
            self._data[CONF_BYTESIZE] = settings.bytesize
        self._data[CONF_FORMAT] = str(message.format)
        if "keys_swapped" in message.notes and CONF_AK in self._data:
            self._data[CONF_EK], self._data[CONF_AK] = self._data[CONF_AK], self._data[CONF_EK]
        meter = message.meter
        unique_id = (
            self._data.get(CONF_METER_ID)
            or meter.meter_id
            or meter.system_title
            or self._data[CONF_PORT]
        )
        name = " ".join(part for part in (meter.manufacturer, meter.model) if part)
        name = name or self._profile.name
        # The system title stays out of the title (diagnostics redact it, the title is shown).
        title = name if unique_id == meter.system_title else f"{name} {unique_id}"
        self._found = _Found(str(unique_id), title)

    async def _async_show_failure(self, outcome: Outcome) -> ConfigFlowResult:
        errors = {"base": outcome.value}
        if outcome in (Outcome.NEED_KEY, Outcome.AUTH_FAILED, Outcome.WRONG_KEY):
            self._need_key = True
        if self.source == SOURCE_REAUTH:
            return self._show_reauth(errors)
        if self.source == SOURCE_RECONFIGURE:
            return await self._async_show_reconfigure(errors)
        if outcome in (Outcome.CANNOT_CONNECT, Outcome.NOTHING):
            return await self._async_show_user(errors)
        if outcome is Outcome.UNREADABLE:
            return self._show_meter(errors)
        if outcome is Outcome.PICK_METER:
            return await self.async_step_pick()
        if self._profile.wireless:
            return self._show_wmbus(errors)
        return self._show_keys(errors)

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was found; create the entry when the user agrees."""
        found = self._found
        detection = self._detection
        assert found is not None
        assert detection is not None
        assert detection.message is not None
        if user_input is not None:
            return self.async_create_entry(title=found.title, data=self._data)
        message = detection.message
        registers = sorted(message.readings, key=lambda obis: (not obis.startswith("1-"), obis))
        shown = ", ".join(registers[:_SHOWN_REGISTERS])
        if len(registers) > _SHOWN_REGISTERS:
            shown += ", …"
        if "keys_swapped" in message.notes:
            keys = "⇄"
        elif self._data.get(CONF_EK):
            keys = "✓"
        else:
            keys = "-"
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                **self._placeholders(),
                "format": str(message.format),
                "meter_id": found.unique_id,
                "manufacturer": message.meter.manufacturer or "-",
                "model": message.meter.model or "-",
                "count": str(len(registers)),
                "registers": shown,
                "settings": str(detection.settings) if detection.settings else "-",
                "keys": keys,
            },
        )

    # ------------------------------------------------------------------ reauth

    async def async_step_reauth(self, entry_data: dict[str, Any]) -> ConfigFlowResult:
        """The meter's frames stopped decrypting: ask for the keys again."""
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
            for field in _KEY_FIELDS:
                data.pop(field, None)
            errors = _parse_keys(user_input, data)
            if not errors:
                self._data = data
                return await self.async_step_detect()
        return self._show_reauth(errors)

    def _show_reauth(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        if self._profile.wireless:
            schema = vol.Schema({vol.Required(CONF_EK): _text(password=True)})
        else:
            schema = self._key_schema(ek_required=True)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    # ------------------------------------------------------------------ reconfigure

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change port, profile or keys of an existing meter."""
        entry = self._get_reconfigure_entry()
        if self._entry is None:
            self._entry = entry
            self._data = dict(entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(self._data)
            data[CONF_PROFILE] = user_input[CONF_PROFILE]
            for field in (CONF_BAUDRATE, CONF_PARITY, CONF_BYTESIZE):
                data.pop(field, None)
            errors = _parse_keys(user_input, data)
            if not errors:
                self._data = data
                await self._async_set_port(user_input[CONF_PORT])
                return await self.async_step_detect()
        return await self._async_show_reconfigure(errors)

    async def _async_show_reconfigure(
        self, errors: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        wireless = self._profile.wireless
        fields: dict[Any, Any] = {
            vol.Required(CONF_PORT): await self._async_port_selector(),
            vol.Required(CONF_PROFILE): _profile_selector(wireless=wireless),
        }
        if wireless:
            fields[vol.Required(CONF_RECEIVER)] = _receiver_selector()
            fields[vol.Optional(CONF_EK)] = _text(password=True)
        else:
            fields[vol.Optional(CONF_EK)] = _text(password=True)
            fields[vol.Optional(CONF_AK)] = _text(password=True)
            fields[vol.Optional(CONF_SYSTEM_TITLE)] = _text()
        suggested = {
            CONF_PORT: self._data.get(CONF_PORT),
            CONF_PROFILE: self._data.get(CONF_PROFILE, DEFAULT_PROFILE),
            CONF_RECEIVER: self._data.get(CONF_RECEIVER, DEFAULT_RECEIVER),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            errors=errors,
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


class HanPortOptionsFlow(OptionsFlow):
    """Tuning that does not change which meter is read."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Update rate limit, CT scale factor and main fuse size."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        schema = vol.Schema(
            {
                vol.Required(CONF_MIN_INTERVAL, default=DEFAULT_MIN_INTERVAL): NumberSelector(
                    NumberSelectorConfig(
                        min=0,
                        max=3600,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="s",
                    )
                ),
                vol.Required(CONF_SCALE, default=DEFAULT_SCALE): NumberSelector(
                    NumberSelectorConfig(
                        min=0.001, max=100000, step="any", mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Required(CONF_FUSE, default=DEFAULT_FUSE): NumberSelector(
                    NumberSelectorConfig(
                        min=0,
                        max=1000,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="A",
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, self.config_entry.options),
        )
