"""The CT scale factor in the capacity tracker, and a capacity bug that must not stop readings."""

from __future__ import annotations

import threading
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.han_port.capacity import EntryCapacity, store_key
from custom_components.han_port.capacity_rules import CONF_CAPACITY
from custom_components.han_port.const import CONF_SCALE
from custom_components.han_port.han.capacity import FLANDERS, NORWAY
from custom_components.han_port.han.model import Reading
from tests.common import Pty

from .capacity_frames import BRUSSELS, fluvius_telegram, local, state_of
from .test_capacity import Feeder, entity_ids, setup
from .test_capacity_store import T0, message, store
from .timing import SetTimings

QUARTER = 900


async def push_quarter(feeder: Feeder, start: float, t1_wh: int, power_w: int) -> int:
    """16 minutes of frames every 10 s at ``power_w`` (meter side); the register at the end."""
    wh = t1_wh
    for k in range(16 * 6 + 1):
        t = start + 10 * k
        wh = t1_wh + (power_w * 10 * k) // 3600
        await feeder.push([fluvius_telegram(t, wh, 270_014, power_w)], [t])
    return wh


async def test_the_tracker_is_fed_scaled_registers(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    """Behind 10:1 current transformers a 5 kW reading is 50 kW: the peak too."""
    timings(silence_intervals=1000, publish_min_interval=0)
    entry = await setup(hass, pty, {CONF_CAPACITY: FLANDERS.key, CONF_SCALE: 10})
    feeder = Feeder(hass, entry)
    await push_quarter(feeder, local(BRUSSELS, 2025, 3, 3, 18, 0), 301_548, 5000)
    ids = entity_ids(hass)
    assert state_of(hass, "sensor.fluvius_power_import") == "50000.0"
    assert state_of(hass, ids["capacity_peak_1"]) == "50.0"  # 1250 Wh x 10 in a quarter
    assert state_of(hass, ids["capacity_month"]) == "50.0"
    assert float(state_of(hass, ids["capacity_average"])) == pytest.approx(50.0, abs=0.5)
    assert feeder.capacity.tracker.counters["rejected"] == 0


async def test_a_scale_change_rescales_the_stored_state(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """The stored state is multiplied by new/old; no jump of the register counts as energy."""
    first = EntryCapacity(hass, "s", FLANDERS)  # scale 1
    await first.async_load()
    for k in range(0, 16 * 60 + 1, 10):  # 3.6 kW for 16 minutes
        first.clock = lambda k=k: T0 + k + 0.4
        first.feed(message(T0 + k, 1_000_000 + k, 3600))
    await first.async_flush()
    assert hass_storage[store_key("s")]["data"]["scale"] == 1.0
    assert first.status is not None
    assert first.status.peaks[0].average_w == 3600.0

    again = EntryCapacity(hass, "s", FLANDERS, scale=2.5)
    await again.async_load()
    assert again.restored == "restored at another CT scale factor: rescaled"
    status = again.status
    assert status is not None
    assert status.peaks[0].average_w == 9000.0  # 3.6 kW at 2.5: exactly
    # The register goes on where it was (raw): x2.5 it would be 1.5 MWh beyond a stored
    # register left unscaled. The open quarter (18:15, one minute in) goes on, x2.5.
    for k in range(16 * 60 + 10, 31 * 60 + 1, 10):
        again.clock = lambda k=k: T0 + k + 0.4
        again.feed(message(T0 + k, 1_000_000 + k, 3600))
    tracker = again.tracker
    assert tracker.counters == {"duplicate": 0, "rejected": 0, "reset": 0, "gap": 0}
    status = again.status
    assert status is not None
    assert status.average_w == pytest.approx(9000.0)  # the new quarter so far: 2.5 x 3.6 kW
    assert status.month_value_w == 9000.0  # no 1.5 MWh "peak"
    await again.async_flush()
    assert hass_storage[store_key("s")]["data"]["scale"] == 2.5


async def test_the_same_scale_restores_as_before(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    first = EntryCapacity(hass, "t", NORWAY, scale=3)
    await first.async_load()
    for k in range(0, 3601, 60):
        first.clock = lambda k=k: T0 + k
        first.feed(message(T0 + k, 1_000_000 + k, 1000))
    await first.async_flush()
    again = EntryCapacity(hass, "t", NORWAY, scale=3)
    await again.async_load()
    assert again.restored == "restored"
    assert again.tracker.to_dict() == first.tracker.to_dict()
    assert again.tracker.max_power_w == 750_000.0  # the plausibility limit scales too


@pytest.mark.parametrize("scale", [0, -1, "10", True, None])
async def test_an_unreadable_stored_scale_starts_afresh(
    hass: HomeAssistant, hass_storage: dict[str, Any], scale: Any
) -> None:
    first = EntryCapacity(hass, "u", NORWAY)
    await first.async_load()
    first.feed(message(T0, 1_000_000, 1000))
    store(hass_storage, "u", {"tracker": first.tracker.to_dict(), "scale": scale})
    again = EntryCapacity(hass, "u", NORWAY)
    await again.async_load()
    assert again.restored == "unreadable: started afresh"
    assert again.status is None


async def test_a_tracker_needs_async_load(hass: HomeAssistant) -> None:
    capacity = EntryCapacity(hass, "v", NORWAY)
    with pytest.raises(RuntimeError, match="async_load"):
        capacity.feed(message(T0, 1_000_000, 1000))


async def test_the_zone_is_not_read_from_disk_on_the_event_loop(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    """Loading a zone reads tzdata (blocking I/O): Home Assistant's loader does it, off the loop.

    The tracker's clock is given the loaded zone; it never builds one itself on the loop.
    """
    from custom_components.han_port.han.capacity import clock

    loop_thread = threading.get_ident()
    built_on_loop: list[str] = []
    real = clock.ZoneInfo

    def spy(key: str) -> ZoneInfo:
        if threading.get_ident() == loop_thread:
            built_on_loop.append(key)
        return real(key)

    timings(silence_intervals=1000, publish_min_interval=0)
    with (
        patch.object(clock, "ZoneInfo", spy),
        patch(
            "custom_components.han_port.capacity.dt_util.async_get_time_zone",
            wraps=dt_util.async_get_time_zone,
        ) as loader,
    ):
        entry = await setup(hass, pty, {CONF_CAPACITY: FLANDERS.key})
        start = local(BRUSSELS, 2025, 3, 3, 18, 0)
        await Feeder(hass, entry).push([fluvius_telegram(start, 301_548, 270_014, 500)], [start])
    assert built_on_loop == []
    loader.assert_awaited_once_with("Europe/Brussels")
    capacity = entry.runtime_data.capacity
    assert capacity.tracker.clock.tz is await dt_util.async_get_time_zone("Europe/Brussels")


async def test_a_capacity_failure_never_stops_the_readings(
    hass: HomeAssistant,
    pty: Pty,
    timings: SetTimings,
    caplog: pytest.LogCaptureFixture,
    hass_client: ClientSessionGenerator,
) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    entry = await setup(hass, pty, {CONF_CAPACITY: FLANDERS.key})
    feeder = Feeder(hass, entry)
    start = local(BRUSSELS, 2025, 3, 3, 18, 0)
    boom = ValueError("secret-looking 1234567890 detail")
    with patch.object(feeder.capacity.tracker, "feed", side_effect=boom):
        for k in range(3):
            t = start + 10 * k
            await feeder.push([fluvius_telegram(t, 301_548 + k, 270_014, 1000 + k)], [t])
    # The readings went on: the meter's sensors show the last frame.
    assert state_of(hass, "sensor.fluvius_power_import") == "1002"
    assert feeder.capacity.failures == 3
    errors = [r for r in caplog.records if "capacity tariff could not take" in r.getMessage()]
    assert len(errors) == 1  # logged once
    assert "ValueError at" in errors[0].getMessage()
    assert "1234567890" not in caplog.text  # never the exception's text
    assert entry.entry_id not in caplog.text
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["capacity"]["failures"] == 3
    assert diagnostics["capacity"]["last_failure"].startswith("ValueError at ")
    # Once the bug is gone the tracker takes frames again.
    t = start + 30
    await feeder.push([fluvius_telegram(t, 301_560, 270_014, 1000)], [t])
    assert feeder.capacity.frames == 1


async def test_a_failure_without_a_traceback_is_counted(hass: HomeAssistant) -> None:
    capacity = EntryCapacity(hass, "w", NORWAY)
    capacity.failed(RuntimeError("no traceback"))
    assert (capacity.failures, capacity.last_failure) == (1, "RuntimeError at ?")


async def test_fluvius_registers_are_scaled_for_the_comparison(hass: HomeAssistant) -> None:
    """1.4.0 and 1.6.0 are the meter's (unscaled) values: compared x scale, they agree."""
    capacity = EntryCapacity(hass, "x", FLANDERS, scale=2)
    await capacity.async_load()
    start = T0
    for k in range(0, 451, 10):  # 1.8 kW (meter side) to halfway through the quarter
        capacity.clock = lambda k=k: start + k + 0.4
        demand = Reading("1-0:1.4.0", 1800 * k / 900, "W")
        capacity.feed(message(start + k, 1_000_000 + k // 2, 1800, **{"1-0:1.4.0": demand}))
    counts = capacity.fluvius.counts
    assert counts == {"1-0:1.4.0": {"agree": 1, "differ": 0}}
