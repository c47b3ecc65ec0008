"""A stored key can be removed: reconfigure lists the stored keys (by name) to remove.

With an AK configured, a frame without a valid tag is refused. An Austrian meter encrypts
without a tag (SC 0x20), so an AK typed there by mistake makes every frame fail; an empty key
field in reconfigure keeps the stored key (keys are never sent back to a form), so the AK
could not be removed. Reauth asks for every key anew: an AK left empty there is gone.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import (
    CONF_AK,
    CONF_EK,
    CONF_METER_ID,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    DOMAIN,
)
from custom_components.han_port.detect import Detection, Outcome
from custom_components.han_port.flow_forms import REMOVE_KEYS
from custom_components.han_port.han.model import Message, MeterIdentity
from tests.common import AT_EK, AT_FRAME, Meter, Pty

from .flow import DETECT, answer, progress, suggested

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]

AT_METER_ID = "181220000009"
MISTAKEN_AK = "00112233445566778899AABBCCDDEEFF"
SYSTEM_TITLE = "4B464D1020000009"


@pytest.fixture
async def austrian(pty: Pty, stop_tasks: list) -> Meter:
    """An Austrian Kaifa: encrypted, no authentication tag (EK only)."""
    meter = Meter([AT_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    return meter


def _entry(port: str, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        unique_id=AT_METER_ID,
        data={CONF_PORT: port, CONF_PROFILE: "at_mbus", CONF_EK: AT_EK.lower(), **data},
    )


def _found(meter_id: str) -> Any:
    message = Message("dlms", meter=MeterIdentity(meter_id=meter_id))
    return answer(Detection(Outcome.FOUND, message=message, tried=["2400 8N1"]))


async def test_reconfigure_removes_a_mistaken_ak(
    hass: HomeAssistant, pty: Pty, austrian: Meter
) -> None:
    entry = _entry(pty.path, **{CONF_AK: MISTAKEN_AK.lower()})
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"].schema
    # The stored keys are listed by name; no key is ever sent to the form.
    assert schema[REMOVE_KEYS].config["options"] == [CONF_EK, CONF_AK]
    assert schema[REMOVE_KEYS].config["multiple"] is True
    shown = str(suggested(result)) + str(schema[REMOVE_KEYS].config)
    assert AT_EK.lower() not in shown.lower()
    assert MISTAKEN_AK.lower() not in shown.lower()

    # The key fields left empty keep both keys: the tag-less frames are refused.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: pty.path, CONF_PROFILE: "at_mbus"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "auth_failed"}

    with patch.object(hass.config_entries, "async_schedule_reload") as reload:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_PORT: pty.path, CONF_PROFILE: "at_mbus", REMOVE_KEYS: [CONF_AK]},
        )
        result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert CONF_AK not in entry.data
    assert entry.data[CONF_EK] == AT_EK.lower()  # kept: its field was left empty
    reload.assert_called_once_with(entry.entry_id)


async def test_a_key_typed_and_ticked_replaces_the_stored_one(hass: HomeAssistant) -> None:
    entry = _entry(
        "/dev/ttyUSB0",
        **{
            CONF_AK: MISTAKEN_AK.lower(),
            CONF_PROFILE: "pl_stoen_p1",
            CONF_SYSTEM_TITLE: SYSTEM_TITLE.lower(),
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    options = result["data_schema"].schema[REMOVE_KEYS].config["options"]
    assert options == [CONF_EK, CONF_AK, CONF_SYSTEM_TITLE]
    new_ak = "FFEEDDCCBBAA99887766554433221100"
    with (
        patch(DETECT, side_effect=_found(AT_METER_ID)),
        patch.object(hass.config_entries, "async_schedule_reload"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_PORT: "/dev/ttyUSB0",
                CONF_PROFILE: "pl_stoen_p1",
                CONF_AK: new_ak,
                REMOVE_KEYS: [CONF_AK, CONF_SYSTEM_TITLE],
            },
        )
        result = await progress(hass, result)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_AK] == new_ak.lower()
    assert CONF_SYSTEM_TITLE not in entry.data
    assert entry.data[CONF_EK] == AT_EK.lower()


async def test_without_stored_keys_there_is_nothing_to_remove(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={CONF_PORT: "/dev/ttyUSB0", CONF_PROFILE: "nl_dsmr"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert REMOVE_KEYS not in result["data_schema"].schema


async def test_reconfigure_of_a_wireless_meter_removes_its_key(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="30584551",
        data={
            CONF_PORT: "/dev/ttyACM0",
            CONF_PROFILE: "wmbus_oms",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "30584551",
            CONF_EK: MISTAKEN_AK.lower(),
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["data_schema"].schema[REMOVE_KEYS].config["options"] == [CONF_EK]
    with (
        patch(DETECT, side_effect=_found("30584551")),
        patch.object(hass.config_entries, "async_schedule_reload"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_PORT: "/dev/ttyACM0",
                CONF_PROFILE: "wmbus_oms",
                CONF_RECEIVER: "raw",
                REMOVE_KEYS: [CONF_EK],
            },
        )
        result = await progress(hass, result)
    assert result["reason"] == "reconfigure_successful"
    assert CONF_EK not in entry.data


async def test_reauth_with_the_ak_left_empty_removes_it(
    hass: HomeAssistant, pty: Pty, austrian: Meter
) -> None:
    """Reauth replaces every key with what is typed: no AK typed, no AK stored."""
    entry = _entry(pty.path, **{CONF_AK: MISTAKEN_AK.lower()})
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert suggested(result) == {}  # no key shown back
    with patch.object(hass.config_entries, "async_schedule_reload"):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_EK: AT_EK})
        result = await progress(hass, result)
    assert result["reason"] == "reauth_successful"
    assert CONF_AK not in entry.data
    assert entry.data[CONF_EK] == AT_EK.lower()


async def test_reauth_shows_and_keeps_the_stored_system_title(hass: HomeAssistant) -> None:
    """The system title is not a key: reauth shows it, so leaving it alone keeps it."""
    entry = _entry(
        "/dev/ttyUSB0",
        **{
            CONF_PROFILE: "pl_stoen_p1",
            CONF_AK: MISTAKEN_AK.lower(),
            CONF_SYSTEM_TITLE: SYSTEM_TITLE.lower(),
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert suggested(result) == {CONF_SYSTEM_TITLE: SYSTEM_TITLE.lower()}
    new_ak = "FFEEDDCCBBAA99887766554433221100"
    with (
        patch(DETECT, side_effect=_found(AT_METER_ID)),
        patch.object(hass.config_entries, "async_schedule_reload"),
    ):
        # What the dialog sends: the keys typed, the system title as shown.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_EK: AT_EK, CONF_AK: new_ak, CONF_SYSTEM_TITLE: SYSTEM_TITLE.lower()},
        )
        result = await progress(hass, result)
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_SYSTEM_TITLE] == SYSTEM_TITLE.lower()
    assert entry.data[CONF_AK] == new_ak.lower()
