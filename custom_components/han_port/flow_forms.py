"""Pieces of the config flow's forms: the port list, selectors, key parsing.

Kept apart from ``config_flow.py`` so that file holds the steps and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components import usb
from homeassistant.helpers.selector import (
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

from .connection import InvalidKeyError, parse_key, parse_meter_id, parse_system_title
from .const import (
    CONF_AK,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_METER_ID,
    CONF_PARITY,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    RECEIVERS,
)
from .han.profiles import PROFILES, Profile
from .ports import port_label, unredact_port
from .texts import PROFILE

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

BAUDRATES = ["300", "1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"]
PARITIES = ["N", "E", "O"]
BYTESIZES = ["7", "8"]
KEY_FIELDS = (CONF_EK, CONF_AK, CONF_SYSTEM_TITLE)
#: The meter form's checkbox after an unreadable detection: add the meter anyway (a capture).
ADD_ANYWAY = "add_anyway"
#: The reconfigure form's list of stored keys to remove (``KEY_FIELDS`` by name, never values).
REMOVE_KEYS = "remove_keys"


def _comports() -> list[Any]:
    """The machine's serial ports: pyserial's list, or serialx's where pyserial is gone."""
    try:
        from serial.tools import list_ports  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return list(serialx.list_serial_ports())
    return list(list_ports.comports())


def list_ports() -> tuple[list[SelectOptionDict], str | None]:
    """Serial ports labelled with maker and description, and the one to suggest (executor).

    USB adapters come first and the first of them is suggested. A port without USB details
    (a built-in UART such as /dev/ttyS0) is listed last and never suggested: most are not
    HAN adapters, and a required dropdown would otherwise come pre-filled with one.
    """
    usb_ports: list[SelectOptionDict] = []
    other: list[SelectOptionDict] = []
    for port in _comports():
        path = usb.get_serial_by_id(port.device)
        details = ", ".join(
            part for part in (port.manufacturer, port.description, port.serial_number) if part
        )
        label = f"{port.device} - {details}" if details and details != "n/a" else port.device
        option = SelectOptionDict(value=path, label=label)
        (usb_ports if getattr(port, "vid", None) else other).append(option)
    suggested = usb_ports[0]["value"] if usb_ports else None
    return usb_ports + other, suggested


async def async_port_selector(
    hass: HomeAssistant, current: str | None
) -> tuple[SelectSelector, str | None]:
    """The port dropdown (with ``current`` in it), and the port to suggest.

    The current port is suggested; without one, the first USB adapter. A URL is shown with
    its secrets redacted (``ports.port_label``); ``async_stable_port`` puts them back.
    """
    options, suggested = await hass.async_add_executor_job(list_ports)
    current = port_label(current) if current else None
    if current and all(option["value"] != current for option in options):
        options.insert(0, SelectOptionDict(value=current, label=current))
    selector = SelectSelector(
        SelectSelectorConfig(options=options, custom_value=True, mode=SelectSelectorMode.DROPDOWN)
    )
    return selector, current or suggested


async def async_stable_port(hass: HomeAssistant, port: str, previous: str | None = None) -> str:
    """The port as typed or chosen, with a device path turned into its /dev/serial/by-id link.

    Secrets the form showed redacted (``name=REDACTED``) are those of ``previous``, the port
    the form was shown with.
    """
    port = unredact_port(port.strip(), previous)
    if port.startswith("/dev/"):
        port = await hass.async_add_executor_job(usb.get_serial_by_id, port)
    return port


def text(*, password: bool = False) -> TextSelector:
    """A text field (hidden for keys)."""
    return TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD if password else TextSelectorType.TEXT)
    )


def profile_selector(*, wireless: bool | None = None) -> SelectSelector:
    """The country / meter profile dropdown (only wired or only wireless ones if asked).

    The frontend shows each option's translation (``selector.profile.options.<id>``); the
    library's English name is the label only where a translation is missing.
    """
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=profile.id, label=profile.name)
                for profile in PROFILES
                if wireless is None or profile.wireless == wireless
            ],
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=PROFILE,
        )
    )


def key_schema(profile: Profile, *, ek_required: bool) -> vol.Schema:
    """EK (required when it must be), AK (always optional: one-key operators), title."""
    fields: dict[Any, Any] = {
        (vol.Required(CONF_EK) if ek_required else vol.Optional(CONF_EK)): text(password=True),
        vol.Optional(CONF_AK): text(password=True),
    }
    if profile.country in (None, "PL"):
        fields[vol.Optional(CONF_SYSTEM_TITLE)] = text()
    return vol.Schema(fields)


def remove_keys_selector(stored: list[str]) -> SelectSelector:
    """Check boxes for the stored keys (``KEY_FIELDS``), by translated name only."""
    return SelectSelector(
        SelectSelectorConfig(
            options=stored,
            multiple=True,
            mode=SelectSelectorMode.LIST,
            translation_key=REMOVE_KEYS,
        )
    )


def receiver_selector() -> SelectSelector:
    """The wireless M-Bus receiver dropdown."""
    return SelectSelector(
        SelectSelectorConfig(
            options=list(RECEIVERS), mode=SelectSelectorMode.DROPDOWN, translation_key="receiver"
        )
    )


def serial_selectors() -> dict[Any, Any]:
    """The fields of the meter step's advanced serial section."""
    return {
        vol.Optional(CONF_BAUDRATE): SelectSelector(
            SelectSelectorConfig(options=BAUDRATES, mode=SelectSelectorMode.DROPDOWN)
        ),
        vol.Optional(CONF_PARITY): SelectSelector(
            SelectSelectorConfig(
                options=PARITIES, mode=SelectSelectorMode.DROPDOWN, translation_key="parity"
            )
        ),
        vol.Optional(CONF_BYTESIZE): SelectSelector(
            SelectSelectorConfig(options=BYTESIZES, mode=SelectSelectorMode.DROPDOWN)
        ),
    }


def parse_keys(user_input: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
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
        value = str(user_input.get(field) or "").strip()
        if not value:
            continue
        try:
            data[field] = parse(value).hex()
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
