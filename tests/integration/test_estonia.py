"""Issue 14's acceptance: a simulated E360 in either encoding is found by ``ee_elektrilevi``.

The simulated meters are beliefs, not Estonian captures (hanport_dev/simulator/estonia.py): the
Swedish E360 P1 telegram and a Swiss Landis+Gyr DLMS push in HDLC blocks. The config flow
listens with the profile, finds the meter, stores what it found (serial settings, format), and
the entry it creates reads the meter with that format.
"""

from __future__ import annotations

import asyncio

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.han_port.connection import MeterConfig
from custom_components.han_port.const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_FORMAT,
    CONF_PARITY,
    CONF_PROFILE,
)
from custom_components.han_port.detect import Outcome, async_detect
from custom_components.han_port.han.framing import FrameKind
from hanport_dev.simulator import MeterSimulator
from tests.common import Meter, Pty

from .fake_port import fake_port
from .flow import progress, start
from .timing import SetTimings

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]


@pytest.mark.parametrize(
    ("name", "fmt", "meter", "unique_id"),
    [
        # No id in the Swedish telegram: the port stands in for it.
        ("ee_elektrilevi", "p1", "Landis+Gyr E360 {port}", None),
        # The model from the profile (the Swiss push names none), the id from the frame.
        ("ee_elektrilevi_dlms", "dlms", "Landis+Gyr E360 63326413", "63326413"),
    ],
)
async def test_the_flow_finds_a_simulated_e360_in_either_encoding(
    hass: HomeAssistant,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
    name: str,
    fmt: str,
    meter: str,
    unique_id: str | None,
) -> None:
    timings(silence_intervals=1000)
    sim = MeterSimulator(name, seed=3)
    pusher = Meter([sim.next_frame() for _ in range(30)])
    pusher.start_pty(pty)
    stop_tasks.append(pusher)

    result = await progress(hass, await start(hass, pty.path, "ee_elektrilevi"))
    assert result["step_id"] == "confirm", result.get("errors")
    placeholders = result["description_placeholders"]
    assert placeholders["meter"] == meter.format(port=pty.path)
    assert "- Power import: " in placeholders["registers"]
    assert placeholders["notes"] == "- Serial settings: 115200 8N1\n"  # the first one tried
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data[CONF_PROFILE] == "ee_elektrilevi"
    assert data[CONF_FORMAT] == fmt
    assert (data[CONF_BAUDRATE], data[CONF_PARITY], data[CONF_BYTESIZE]) == (115200, "N", 8)
    entry = result["result"]
    assert entry.unique_id == (unique_id or pty.path)

    # The entry reads the meter with the format found, and only with it.
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    kinds = {"p1": {FrameKind.P1, FrameKind.DSMR_GCM}}.get(
        fmt, {FrameKind.HDLC, FrameKind.MBUS, FrameKind.APDU}
    )
    assert set(coordinator.meter.formats or ()) == kinds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while coordinator.data.messages < 2:
        assert loop.time() < deadline, "the entry decodes nothing"
        await asyncio.sleep(0.02)
    assert coordinator.data.readings["1-0:1.7.0"].unit == "W"
    assert await hass.config_entries.async_unload(entry.entry_id)


def _as_7e1_read_at_8n1(data: bytes) -> bytes:
    """What an 8N1 reader sees of a 7E1 line: the even-parity bit as the eighth data bit."""
    return bytes(b | 0x80 if b.bit_count() % 2 else b for b in data)


async def test_detection_tries_115200_7e1_after_8n1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dutch E360 only parsed at 115200 7E1 (ndokter/dsmr_parser PR #82): tried second."""
    sim = MeterSimulator("ee_elektrilevi", seed=1)
    telegrams = [sim.next_frame() for _ in range(3)]
    garbled = [_as_7e1_read_at_8n1(t) for t in telegrams]
    assert garbled != telegrams  # some characters have odd parity
    fake_port(monkeypatch, [garbled, telegrams])
    config = MeterConfig.from_data({CONF_PORT: "/dev/ttyUSB0", CONF_PROFILE: "ee_elektrilevi"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.FOUND
    assert detection.tried == ["115200 8N1", "115200 7E1"]
    assert str(detection.settings) == "115200 7E1"
    assert detection.message is not None
    assert detection.message.meter.model == "E360"


async def test_detection_goes_on_to_the_dlms_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage at both 115200 settings, the DLMS push at 2400 8E1 (the Swiss CII setting)."""
    sim = MeterSimulator("ee_elektrilevi_dlms", seed=1)
    noise = [bytes(range(128, 256)) * 4]
    fake_port(monkeypatch, [noise, noise, [sim.next_frame()]])
    config = MeterConfig.from_data({CONF_PORT: "/dev/ttyUSB0", CONF_PROFILE: "ee_elektrilevi"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.FOUND
    assert detection.tried == ["115200 8N1", "115200 7E1", "2400 8E1"]
    assert detection.message is not None
    assert detection.message.format == "dlms"
