"""A meter nothing can read yet is added anyway, so that its owner can send us a capture.

Issue 14: an Estonian E360 (or any meter) whose bytes nothing decodes could not be added, so
its diagnostics, with the raw capture the README asks for, could never be downloaded. After
an unreadable detection the meter form offers "Add it anyway"; the entry reads the port at
the profile's first serial setting (or the one set), raises the "no decode" repair issue and
its diagnostics hold the raw bytes.
"""

from __future__ import annotations

import random
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    _get_diagnostics_for_config_entry,
)

from custom_components.han_port.const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_FORMAT,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SERIAL,
    DOMAIN,
    ISSUE_NO_DECODE,
)
from custom_components.han_port.detect import Detection, Outcome
from custom_components.han_port.flow_forms import ADD_ANYWAY
from tests.common import Meter, Pty, wait_for

from .flow import DETECT, answer, progress, start
from .timing import SetTimings

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]

#: Bytes in which no frame starts (no HDLC flag, P1 '/', M-Bus 0x68, GCM 0xDB, 0x0F APDU).
NOISE = bytes(random.Random(14).randrange(256) for _ in range(600)).translate(
    bytes.maketrans(b"~/h\x0f\xdb", b"-----")
)


@pytest.fixture
async def noise(pty: Pty, stop_tasks: list) -> Meter:
    """A meter on a PTY whose bytes nothing decodes."""
    meter = Meter([NOISE], interval=0.02)
    meter.start_pty(pty)
    stop_tasks.append(meter)
    return meter


def unreadable(received: int = 600) -> Detection:
    return Detection(
        Outcome.UNREADABLE, tried=["115200 8N1"], bytes_received=received, listened=0.4
    )


async def test_an_unreadable_meter_is_added_anyway_and_asks_for_its_capture(
    hass: HomeAssistant, hass_client: Any, pty: Pty, noise: Meter, timings: SetTimings
) -> None:
    timings(silence_intervals=1000, no_decode_issue_after=0.3)
    result = await start(hass, pty.path, "ee_elektrilevi")
    result = await progress(hass, result)
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unreadable"}
    assert ADD_ANYWAY in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: "ee_elektrilevi", ADD_ANYWAY: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    # Known by its port, as a meter without an id; named by the profile.
    assert entry.unique_id == pty.path
    assert result["title"] == f"Estonia — Elektrilevi / Imatra Elekter (L+G E360) {pty.path}"
    data = result["data"]
    assert data[CONF_PROFILE] == "ee_elektrilevi"
    assert CONF_FORMAT not in data  # every format of the profile is read
    # The profile's first serial setting.
    assert (data[CONF_BAUDRATE], data[CONF_PARITY], data[CONF_BYTESIZE]) == (115200, "N", 8)
    await hass.async_block_till_done()

    # It reads, and after the (here shortened) 5 minutes the repair issue asks for a capture.
    issue_id = f"{ISSUE_NO_DECODE}_{entry.entry_id}"
    registry = ir.async_get(hass)
    await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id) is not None, limit=5.0)
    download = await _get_diagnostics_for_config_entry(hass, hass_client, entry)
    raw = bytes.fromhex(download["data"]["capture"]["raw_hex"])
    assert len(raw) >= len(NOISE)
    assert raw in NOISE * 8
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_add_anyway_uses_the_serial_settings_set(
    hass: HomeAssistant, pty: Pty, noise: Meter
) -> None:
    result = await start(hass, pty.path, "no_aidon")
    result = await progress(hass, result)
    assert result["errors"] == {"base": "unreadable"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PROFILE: "no_aidon", CONF_SERIAL: {CONF_BAUDRATE: "9600"}, ADD_ANYWAY: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert (data[CONF_BAUDRATE], data[CONF_PARITY], data[CONF_BYTESIZE]) == (9600, "N", 8)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_the_meter_form_without_the_box_detects_again(hass: HomeAssistant) -> None:
    with patch(DETECT, side_effect=answer(unreadable())) as detect:
        result = await start(hass, "/dev/ttyUSB0", "no_aidon")
        result = await progress(hass, result)
        assert ADD_ANYWAY in result["data_schema"].schema
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PROFILE: "no_kaifa", ADD_ANYWAY: False}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        result = await progress(hass, result)
    assert detect.call_count == 2
    assert result["errors"] == {"base": "unreadable"}


@pytest.mark.parametrize(
    ("profile", "detection", "step_id"),
    [
        # A decoder crash: no bytes counted, nothing to capture.
        ("no_aidon", unreadable(received=0), "meter"),
        # Wireless receivers keep no capture.
        ("wmbus_oms", unreadable(), "meter"),
        # Silence, a refused port, key errors: each has its own fix.
        ("no_aidon", Detection(Outcome.NOTHING, tried=["2400 8E1"]), "user"),
        ("no_aidon", Detection(Outcome.CANNOT_CONNECT), "user"),
        ("dk_kamstrup", Detection(Outcome.AUTH_FAILED, bytes_received=600), "keys"),
        ("auto", Detection(Outcome.NEED_KEY, bytes_received=600), "keys"),
    ],
)
async def test_add_anyway_is_offered_only_for_bytes_nothing_decodes(
    hass: HomeAssistant, profile: str, detection: Detection, step_id: str
) -> None:
    with patch(DETECT, side_effect=answer(detection)):
        result = await start(hass, "/dev/ttyUSB0", profile)
        if result["step_id"] == "wmbus":
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_RECEIVER: "raw"}
            )
        elif result["step_id"] == "keys":
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_EK: "00112233445566778899AABBCCDDEEFF"}
            )
        result = await progress(hass, result)
    assert result["step_id"] == step_id
    assert result["errors"] == {"base": detection.outcome.value}
    assert ADD_ANYWAY not in result["data_schema"].schema
    if step_id == "user":
        # Back at the meter form after fixing the port: still not offered.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: "/dev/ttyUSB0"}
        )
        assert result["step_id"] == "meter"
        assert ADD_ANYWAY not in result["data_schema"].schema


async def test_a_wireless_profile_chosen_with_the_box_asks_for_the_receiver(
    hass: HomeAssistant,
) -> None:
    with patch(DETECT, side_effect=answer(unreadable())):
        result = await start(hass, "/dev/ttyUSB0", "no_aidon")
        result = await progress(hass, result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: "wmbus_oms", ADD_ANYWAY: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "wmbus"


async def test_add_anyway_on_a_url_stores_no_line_settings_and_no_secret(
    hass: HomeAssistant,
) -> None:
    url = "socket://10.0.0.9:2000?key=c2VjcmV0LWtleS12YWx1ZQ=="
    label = "socket://10.0.0.9:2000?key=REDACTED"
    with patch(DETECT, side_effect=answer(unreadable())):
        result = await start(hass, url, "ee_elektrilevi")
        result = await progress(hass, result)
    with patch("custom_components.han_port.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PROFILE: "ee_elektrilevi", ADD_ANYWAY: True}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == label
    assert result["title"].endswith(label)
    assert result["data"][CONF_PORT] == url
    assert CONF_BAUDRATE not in result["data"]  # the far end sets the line


@pytest.mark.parametrize("unique_id", ["/dev/ttyUSB0", "6970631404129954"])
async def test_add_anyway_on_a_port_in_use_aborts(hass: HomeAssistant, unique_id: str) -> None:
    """Another entry known by this port, or another meter read on it: already configured."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=unique_id,
        data={CONF_PORT: "/dev/ttyUSB0", CONF_PROFILE: "no_kaifa"},
    ).add_to_hass(hass)
    with patch(DETECT, side_effect=answer(unreadable())):
        result = await start(hass, "/dev/ttyUSB0", "no_aidon")
        result = await progress(hass, result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: "no_aidon", ADD_ANYWAY: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
