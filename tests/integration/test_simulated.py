"""Every wired profile's simulated meter, end to end: PTY -> coordinator -> sensors."""

from __future__ import annotations

import asyncio

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.han.profiles import PROFILES
from hanport_dev.simulator import MeterSimulator
from tests.common import Meter, Pty

from .timing import SetTimings

WIRED = [profile.id for profile in PROFILES if not profile.wireless]


@pytest.mark.parametrize("profile", WIRED)
async def test_simulated_meter(
    hass: HomeAssistant,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
    profile: str,
) -> None:
    timings(silence_intervals=1000)
    sim = MeterSimulator(profile, seed=0)
    meter = Meter([sim.next_frame() for _ in range(3)])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    # The entry data the simulator writes for scripts/develop (keys as upper-case hex).
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="sim",
        title="Simulated",
        data={CONF_PORT: pty.path, CONF_PROFILE: profile, **sim.keys.entry_data()},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    registry = er.async_get(hass)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while (found := registry.async_get_entity_id("sensor", DOMAIN, "sim_1-0:1.7.0")) is None and (
        registry.async_get_entity_id("sensor", DOMAIN, "sim_1-1:1.7.0") is None
    ):
        assert loop.time() < deadline, "no power sensor"
        await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    found = found or registry.async_get_entity_id("sensor", DOMAIN, "sim_1-1:1.7.0")
    state = hass.states.get(found)
    assert state is not None
    assert float(state.state) >= 0
    assert entry.runtime_data.counters.auth == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
