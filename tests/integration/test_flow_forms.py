"""Config-flow forms keep what the user typed, and ask only for what is needed."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
import voluptuous as vol

from custom_components.han_port.const import CONF_AK, CONF_EK, CONF_SYSTEM_TITLE, DOMAIN
from custom_components.han_port.flow_forms import key_schema
from custom_components.han_port.han.profiles import get_profile
from tests.common import LU_AK, LU_EK, LU_FRAME, Meter, Pty, TcpMeter

from .flow import progress, start, suggested

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]

OTHER_KEY = "00112233445566778899AABBCCDDEEFF"
STRINGS = json.loads(
    (Path(__file__).parents[2] / "custom_components/han_port/strings.json").read_text()
)


async def test_keys_are_kept_after_a_key_error(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "lu_smarty")
    # A key in the wrong form: the form comes back with exactly what was typed.
    typed = {CONF_EK: "not a key", CONF_AK: LU_AK}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["errors"] == {CONF_EK: "invalid_key"}
    assert suggested(result) == typed
    # Keys that do not authenticate: the form shows them again (as stored, hex).
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: OTHER_KEY, CONF_AK: LU_AK}
    )
    result = await progress(hass, result)
    assert result["errors"] == {"base": "auth_failed"}
    assert suggested(result) == {CONF_EK: OTHER_KEY.lower(), CONF_AK: LU_AK.lower()}


@pytest.mark.parametrize("profile", ["dk_kamstrup", "lu_smarty", "at_mbus", "auto"])
def test_authentication_key_is_optional(profile: str) -> None:
    """The help says: leave it empty if the operator gave only one key."""
    schema = key_schema(get_profile(profile), ek_required=True).schema
    ak = next(key for key in schema if key == CONF_AK)
    assert isinstance(ak, vol.Optional)
    assert "Leave empty" in STRINGS["config"]["step"]["keys"]["data_description"][CONF_AK]


def test_keys_step_does_not_name_the_profile() -> None:
    """Auto-detect is no operator: the keys step never reads "sent for Auto-detect"."""
    assert "{profile}" not in STRINGS["config"]["step"]["keys"]["description"]


async def test_empty_port_is_refused(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: " "})
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_PORT: "no_port"}


async def test_builtin_uart_is_not_prefilled(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropdown that must be filled shows its first port: suggest none instead."""
    ports = [SimpleNamespace(device="/dev/ttyS0", manufacturer=None, description="n/a")]
    for port in ports:
        port.serial_number = None
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["data_schema"].schema[CONF_PORT].config["options"] == [
        {"value": "/dev/ttyS0", "label": "/dev/ttyS0"}
    ]
    assert suggested(result) == {CONF_PORT: None}
    port = next(key for key in result["data_schema"].schema if key == CONF_PORT)
    assert isinstance(port, vol.Optional)  # a required dropdown is pre-filled by the frontend
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {CONF_PORT: "no_port"}


async def test_network_meter_shows_no_serial_settings(
    hass: HomeAssistant, socket_enabled: None, stop_tasks: list
) -> None:
    meter = TcpMeter([LU_FRAME])
    await meter.start()
    stop_tasks.append(meter)
    result = await start(hass, meter.url, "lu_smarty")
    assert CONF_SYSTEM_TITLE not in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_EK: LU_EK})
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert "Serial settings" not in placeholders["notes"]
    assert "wrong way round" not in placeholders["notes"]
    assert "- Power export: 897 W" in placeholders["registers"]
    assert "- Gas meter: 14239.771 m³" in placeholders["registers"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["title"] == "Lux 53663629_D SAG1030700012701"
    await hass.async_block_till_done()
