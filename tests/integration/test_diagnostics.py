"""Diagnostics: keys and system title redacted, counters and frames; frame bytes only in capture."""

from __future__ import annotations

import json
import logging

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.han_port.const import (
    CONF_AK,
    CONF_EK,
    CONF_METER_ID,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    DOMAIN,
)
from tests.common import (
    LU_AK,
    LU_CORRUPT,
    LU_EK,
    LU_FRAME,
    WMBUS_GAMA_FRAME,
    WMBUS_GAMA_KEY,
    Meter,
    Pty,
    lu_frames,
    wait_for,
)

from .timing import SetTimings

SYSTEM_TITLE = "53414731234567ab"


async def test_diagnostics_redacts_keys(
    hass: HomeAssistant,
    hass_client,
    pty: Pty,
    stop_tasks: list,
    caplog: pytest.LogCaptureFixture,
    timings: SetTimings,
) -> None:
    caplog.set_level(logging.DEBUG)
    timings(silence_intervals=1000)
    # Rising frame counters, as the meter sends them (a repeated frame would be a replay).
    meter = Meter([part for frame in lu_frames(20) for part in (frame, LU_CORRUPT, b"\x00garbage")])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="SAG1030700012701",
        title="Smarty",
        data={
            CONF_PORT: pty.path,
            CONF_PROFILE: "lu_smarty",
            CONF_EK: LU_EK.lower(),
            CONF_AK: LU_AK.lower(),
            CONF_SYSTEM_TITLE: SYSTEM_TITLE,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data
    await wait_for(
        lambda: coordinator.counters.ok >= 2 and coordinator.counters.auth >= 1, limit=3.0
    )
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"][CONF_EK] == "**REDACTED**"
    assert diagnostics["entry"]["data"][CONF_AK] == "**REDACTED**"
    assert diagnostics["entry"]["data"][CONF_SYSTEM_TITLE] == "**REDACTED**"
    assert diagnostics["profile"]["id"] == "lu_smarty"
    assert diagnostics["detected_format"] == "p1"
    assert diagnostics["meter"]["meter_id"] == "**REDACTED**"
    assert diagnostics["entry"]["unique_id"] == "**REDACTED**"
    assert diagnostics["counters"]["ok"] >= 2
    assert diagnostics["counters"]["auth"] >= 1
    assert diagnostics["counters"]["last_error"] == "auth_failed"
    # Every refused frame is counted by its reason.
    assert diagnostics["counters"]["rejected"]["auth_failed"] == diagnostics["counters"]["auth"]
    assert diagnostics["reader"] == "receiving"
    assert diagnostics["connected"] is True
    assert set(diagnostics["replay_protection"]) == {"senders", "refusing", "refused_in_row"}
    assert diagnostics["replay_protection"]["refusing"] == 0
    frame = diagnostics["recent_frames"][0]
    assert set(frame) == {"at", "format", "size", "result"}
    assert {f["result"] for f in diagnostics["recent_frames"]} >= {"ok", "auth_failed"}
    assert diagnostics["decoder"]["stream"]["frames"] >= 2
    assert "1-0:1.8.0" in diagnostics["registers"]

    dumped = json.dumps(diagnostics).lower()
    for secret in (LU_EK, LU_AK, SYSTEM_TITLE, "SAG1030700012701"):
        assert secret.lower() not in dumped
        assert secret.lower() not in caplog.text.lower()
    # Frame bytes only in the capture for bug reports (test_capture.py), nowhere else.
    outside = json.dumps({k: v for k, v in diagnostics.items() if k != "capture"}).lower()
    assert LU_FRAME[-40:].hex() not in outside
    assert diagnostics["capture"]["frames"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_wireless(
    hass: HomeAssistant,
    hass_client,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
) -> None:
    """A wireless M-Bus receiver entry reads its meter and lists what it hears."""
    timings(silence_intervals=1000)
    meter = Meter([WMBUS_GAMA_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="30584551",
        title="Gama",
        data={
            CONF_PORT: pty.path,
            CONF_PROFILE: "pl_stoen_wmbus",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "30584551",
            CONF_EK: WMBUS_GAMA_KEY.lower(),
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    registry = er.async_get(hass)
    await wait_for(
        lambda: registry.async_get_entity_id("sensor", DOMAIN, "30584551_1-0:1.8.0"), limit=3.0
    )
    await hass.async_block_till_done()
    state = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, "30584551_1-0:1.8.0"))
    assert state.state == "15948.218"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["decoder"] == {"heard": "**REDACTED**", "meters_heard": 1}
    assert WMBUS_GAMA_KEY.lower() not in json.dumps(diagnostics).lower()
    assert "30584551" not in json.dumps(diagnostics)
    assert await hass.config_entries.async_unload(entry.entry_id)
