"""The detection spinner: every outcome replaces it, at once or after a delay.

The frontend subscribes to progress events only after it shows the spinner; ``flow.progress``
subscribes only after detection has ended, as the dialog does when the answer is fast. Without
the flow telling the dialog again, these tests time out: the spinner that never ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.han_port import flow_detect
from custom_components.han_port.const import CONF_AK, CONF_EK, CONF_PROFILE, CONF_RECEIVER
from custom_components.han_port.detect import Detection, Outcome

from .flow import DETECT, PORT, answer, found, progress, start

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]

KEY_A = "000102030405060708090A0B0C0D0E0F"
KEY_B = "F0E0D0C0B0A090807060504030201000"


DELAYS = pytest.mark.parametrize("delay", [0, 0.05], ids=["at-once", "after-a-delay"])


@DELAYS
@pytest.mark.parametrize(
    ("outcome", "step_id"),
    [
        (Outcome.CANNOT_CONNECT, "user"),
        (Outcome.NOTHING, "user"),
        (Outcome.UNREADABLE, "meter"),
        (Outcome.NEED_KEY, "keys"),
        (Outcome.AUTH_FAILED, "keys"),
        (Outcome.WRONG_KEY, "keys"),
    ],
)
async def test_failure_replaces_the_spinner(
    hass: HomeAssistant, delay: float, outcome: Outcome, step_id: str
) -> None:
    detection = Detection(outcome, tried=["115200 8N1"], listened=6.2)
    with patch(DETECT, side_effect=answer(detection, delay)):
        result = await start(hass, PORT)
        result = await progress(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step_id
    assert result["errors"] == {"base": outcome.value}
    # The dialog fetching the form again (a second, late event) shows the same error.
    again = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert again["step_id"] == step_id
    assert again["errors"] == {"base": outcome.value}


@DELAYS
async def test_found_replaces_the_spinner(hass: HomeAssistant, delay: float) -> None:
    with patch(DETECT, side_effect=answer(found(), delay)):
        result = await start(hass, PORT)
        result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["meter"] == "Auto-detect 12345678"
    # A network port: no serial settings, no key notes.
    assert result["description_placeholders"]["notes"] == ""


@DELAYS
async def test_swapped_keys_replace_the_spinner(hass: HomeAssistant, delay: float) -> None:
    with patch(DETECT, side_effect=answer(found("keys_swapped"), delay)):
        result = await start(hass, PORT, "dk_kamstrup")
        assert result["step_id"] == "keys"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_EK: KEY_A, CONF_AK: KEY_B}
        )
        result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert "wrong way round" in result["description_placeholders"]["notes"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert (result["data"][CONF_EK], result["data"][CONF_AK]) == (KEY_B.lower(), KEY_A.lower())


@DELAYS
async def test_pick_meter_replaces_the_spinner(hass: HomeAssistant, delay: float) -> None:
    detection = Detection(Outcome.PICK_METER, heard=["30584551"], tried=["57600 8N1"])
    with patch(DETECT, side_effect=answer(detection, delay)):
        result = await start(hass, "/dev/ttyACM0", "wmbus_oms")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_RECEIVER: "raw"}
        )
        result = await progress(hass, result)
    assert result["step_id"] == "pick"


@DELAYS
async def test_crash_replaces_the_spinner(hass: HomeAssistant, delay: float) -> None:
    async def crash(_config: Any) -> Detection:
        await asyncio.sleep(delay)
        msg = "bug"
        raise RuntimeError(msg)

    with patch(DETECT, side_effect=crash):
        result = await start(hass, PORT)
        result = await progress(hass, result)
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unreadable"}


async def test_telling_stops_once_the_dialog_fetched(hass: HomeAssistant) -> None:
    with patch(DETECT, side_effect=answer(Detection(Outcome.NOTHING), 0)):
        result = await start(hass, PORT)
        result = await progress(hass, result)
    events = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESSED)
    await asyncio.sleep(0.1)
    assert events == []
    assert result["errors"] == {"base": "nothing_received"}


async def test_telling_gives_up_when_nobody_fetches(hass: HomeAssistant) -> None:
    events = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESSED)
    with patch(DETECT, side_effect=answer(Detection(Outcome.NOTHING), 0)):
        result = await start(hass, PORT)
        await hass.async_block_till_done()
        # Until the telling has given up (its task ends), however long a loaded machine takes.
        flow = hass.config_entries.flow._progress[result["flow_id"]]
        assert flow._renotify_task is not None
        await asyncio.wait_for(flow._renotify_task, 10)
        await hass.async_block_till_done()
    flow_events = [e for e in events if e.data["flow_id"] == result["flow_id"]]
    # Home Assistant's own event (the one a late dialog misses), then one per delay.
    assert len(flow_events) == 1 + len(flow_detect.RENOTIFY_DELAYS)


async def test_closing_the_dialog_stops_telling(hass: HomeAssistant) -> None:
    with patch(DETECT, side_effect=answer(Detection(Outcome.NOTHING), 0)):
        result = await start(hass, PORT)
        await hass.async_block_till_done()
    hass.config_entries.flow.async_abort(result["flow_id"])
    events = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESSED)
    await asyncio.sleep(0.1)
    assert events == []


async def test_outcomes_are_logged_once_at_info(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.han_port")
    for detection in (
        Detection(Outcome.CANNOT_CONNECT),
        Detection(Outcome.NOTHING, tried=["115200 8N1"], listened=6.2),
        Detection(Outcome.UNREADABLE, tried=["2400 8E1", "2400 8N1"]),
        Detection(Outcome.NEED_KEY),
        Detection(Outcome.AUTH_FAILED),
        found("keys_swapped"),
    ):
        caplog.clear()
        with patch(DETECT, side_effect=answer(detection, 0)):
            result = await start(hass, PORT, "dk_kamstrup")
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_EK: KEY_A, CONF_AK: KEY_B}
            )
            await progress(hass, result)
        lines = [r for r in caplog.records if r.getMessage().startswith("Detection on")]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].levelno == logging.INFO
        text = lines[0].getMessage()
        assert KEY_A not in text.upper()
        assert KEY_B not in text.upper()
        hass.config_entries.flow.async_abort(result["flow_id"])
    assert text == f"Detection on {PORT}: p1 meter found (keys were entered swapped)"


async def test_nothing_received_says_time_and_settings(hass: HomeAssistant) -> None:
    detection = Detection(Outcome.NOTHING, tried=["115200 8N1", "115200 7E1"], listened=12.4)
    with patch(DETECT, side_effect=answer(detection, 0)):
        result = await start(hass, PORT, "nl_dsmr")
        result = await progress(hass, result)
    placeholders = result["description_placeholders"]
    assert (placeholders["listened"], placeholders["tried"]) == ("12", "115200 8N1, 115200 7E1")
    # The user form keeps the port; the meter form after it keeps the profile.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PORT})
    assert result["step_id"] == "meter"
    schema = result["data_schema"].schema
    profile = next(key for key in schema if key == CONF_PROFILE)
    assert profile.description == {"suggested_value": "nl_dsmr"}
    # A network port has no serial settings section.
    assert "serial" not in schema
