"""Config-flow test helpers: start a flow, go through a progress step as the dialog does, and
a detection that answers what a test wants."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PORT
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType

from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.detect import Detection, Outcome
from custom_components.han_port.han.model import Message, MeterIdentity

#: What a test patches to give the flow its detection.
DETECT = "custom_components.han_port.flow_detect.async_detect"
#: A port no meter answers on (detection is patched).
PORT = "socket://127.0.0.1:1"


async def progress(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    """Do what the frontend's dialog does with a progress step; return the step after it.

    The dialog subscribes to progress events only once it shows the spinner, so a detection
    that ends at once has already announced its end. Here detection always ends first, then
    the dialog subscribes, waits for an event for its flow and fetches the flow.
    """
    assert result["type"] is FlowResultType.SHOW_PROGRESS, result
    assert result["progress_action"] == "detect"
    flow_id = result["flow_id"]
    await hass.async_block_till_done()
    told = asyncio.Event()

    @callback
    def _progressed(event: Event) -> None:
        if event.data["flow_id"] == flow_id:
            told.set()

    unsubscribe = hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, _progressed)
    try:
        async with asyncio.timeout(5):  # on a spinner that never ends, this fails the test
            await told.wait()
    finally:
        unsubscribe()
    return await hass.config_entries.flow.async_configure(flow_id)


async def start(hass: HomeAssistant, port: str, profile: str = "auto", **meter: Any) -> Any:
    """A user flow through the port and meter steps."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})
    assert result["step_id"] == "meter"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: profile, **meter}
    )


def suggested(result: dict[str, Any]) -> dict[str, Any]:
    """The values a form shows pre-filled (suggested values and defaults)."""
    values: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        description = getattr(key, "description", None) or {}
        if "suggested_value" in description:
            values[str(key)] = description["suggested_value"]
    return values


def answer(detection: Detection, delay: float = 0) -> Any:
    """A detection that answers after ``delay`` seconds (0: at the next turn of the loop)."""

    async def detect(_config: Any) -> Detection:
        await asyncio.sleep(delay)
        return detection

    return detect


def found(*notes: str) -> Detection:
    message = Message("p1", meter=MeterIdentity(meter_id="12345678"), notes=list(notes))
    return Detection(Outcome.FOUND, message=message, tried=["115200 8N1"])
