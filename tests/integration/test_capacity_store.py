"""The capacity tracker's state in the entry's store, its clocks, and its odd inputs."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from homeassistant.const import CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.capacity import LIVE_INTERVAL, EntryCapacity, store_key
from custom_components.han_port.capacity_rules import (
    CONF_CAPACITY,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_TARGET,
)
from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.han.capacity import (
    FLANDERS,
    NORWAY,
    NORWAY_BKK,
    NORWAY_LEDE,
    CapacityTracker,
    MonthRecord,
)
from custom_components.han_port.han.capacity.clock import month_index
from custom_components.han_port.han.model import Message
from tests.common import Pty, vector, wire

from .capacity_frames import BRUSSELS, OSLO, decode, local
from .timing import SetTimings

T0 = local(BRUSSELS, 2025, 3, 3, 18, 0)


def message(t: float | None, energy: int | None, power: int | None, **extra: Any) -> Message:
    msg = Message("p1", timestamp=None if t is None else datetime.fromtimestamp(t, BRUSSELS))
    if energy is not None:
        msg.add("1-0:1.8.0", energy, "Wh")
    if power is not None:
        msg.add("1-0:1.7.0", power, "W")
    for obis, reading in extra.items():
        msg.readings[obis] = reading
    return msg


def stored_tracker(rule: Any, tz: str) -> dict[str, Any]:
    tracker = CapacityTracker(rule, tz)
    for k in range(0, 7201, 60):
        tracker.feed(float(T0 + k), 1_000_000 + k // 2, 1800.0)
    return {"tracker": tracker.to_dict()}


def store(hass_storage: dict[str, Any], entry_id: str, data: Any) -> None:
    hass_storage[store_key(entry_id)] = {"version": 1, "minor_version": 1, "key": "", "data": data}


async def test_state_for_the_same_counting_is_kept_with_new_steps(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store(hass_storage, "a", stored_tracker(NORWAY_BKK, "Europe/Oslo"))
    capacity = EntryCapacity(hass, "a", NORWAY, target=4)
    await capacity.async_load()
    assert capacity.restored == "restored"
    assert capacity.tracker.rule == NORWAY  # the configured steps and prices
    assert capacity.tracker.step_target == 4
    status = capacity.status
    assert status is not None
    assert status.month_value_w == 1800.0  # the stored hours, one day: 1.8 kW


@pytest.mark.parametrize(
    ("saved", "tz", "why"),
    [
        (stored_tracker(NORWAY_LEDE, "Europe/Oslo"), None, "rule changed: started afresh"),
        (stored_tracker(NORWAY, "Europe/Stockholm"), None, "rule changed: started afresh"),
        ({"tracker": {"rule": "garbage"}}, None, "unreadable: started afresh"),
        ({"tracker": {"rule": NORWAY.to_dict(), "tz": "Europe/Oslo"}}, None, "unreadable"),
        ({"tracker": ["not", "a", "state"]}, None, "unreadable: started afresh"),
        ({"something": "else"}, None, "nothing stored"),
    ],
)
async def test_a_state_that_does_not_fit_is_not_used(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    saved: Any,
    tz: str | None,
    why: str,
) -> None:
    store(hass_storage, "b", saved)
    capacity = EntryCapacity(hass, "b", NORWAY)
    await capacity.async_load()
    assert capacity.restored.startswith(why)
    assert capacity.status is None  # a fresh tracker: nothing known
    if why.startswith("unreadable"):
        assert "cannot be read" in caplog.text


async def test_home_assistant_stopping_writes_the_state(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, hass_storage: dict[str, Any]
) -> None:
    timings(silence_intervals=1000)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="m",
        data={CONF_PORT: pty.path, CONF_PROFILE: "be_fluvius"},
        options={CONF_CAPACITY: "be_capaciteitstarief"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    capacity = entry.runtime_data.capacity
    assert capacity is not None
    capacity.clock = lambda: T0 + 5.0
    capacity.feed(message(T0 + 5, 1_000_000, 400))
    assert store_key(entry.entry_id) not in hass_storage  # the first frame writes nothing
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await asyncio.sleep(0.01)  # the store writes on the next turn of the loop
    await hass.async_block_till_done()
    saved = hass_storage[store_key(entry.entry_id)]["data"]["tracker"]
    assert saved["register"]["e"] == 1_000_000
    # Nothing new since: unloading writes nothing more.
    hass_storage.pop(store_key(entry.entry_id))
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert store_key(entry.entry_id) not in hass_storage
    # Removing the entry removes its store.
    store(hass_storage, entry.entry_id, {"tracker": saved})
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(entry.entry_id) not in hass_storage


async def test_clocks_and_frames_without_registers(hass: HomeAssistant) -> None:
    capacity = EntryCapacity(hass, "c", FLANDERS)
    await capacity.async_load()
    now = [float(T0)]
    capacity.clock = lambda: now[0]
    capacity.feed(message(T0, None, None))  # a sub-meter's message: nothing for the tracker
    assert capacity.frames == 0
    assert not capacity.live
    capacity.feed(message(None, 1_000_000, 500))  # no clock in the frame: received time
    now[0] += 30
    capacity.feed(message(T0 - 3600, 1_000_010, 500))  # an hour off: received time
    now[0] += 30
    capacity.feed(message(T0 + 61, 1_000_020, 500))  # a second off: the meter's time
    assert capacity.clocks == {"meter": 1, "received": 1, "meter_skewed": 1}
    assert capacity.tracker.now == T0 + 61
    assert capacity.live
    # The sensors' status moves on at most every LIVE_INTERVAL s within an interval.
    shown = capacity.shown_at
    now[0] += 1
    capacity.feed(message(T0 + 62, 1_000_021, 500))
    assert capacity.shown_at == shown
    now[0] += LIVE_INTERVAL
    capacity.feed(message(T0 + 62 + LIVE_INTERVAL, 1_000_022, 500))
    assert capacity.shown_at == T0 + 62 + LIVE_INTERVAL


async def test_naive_meter_time_in_the_repeated_hour(hass: HomeAssistant) -> None:
    capacity = EntryCapacity(hass, "d", NORWAY)
    await capacity.async_load()
    first = local(OSLO, 2025, 10, 26, 2, 30)  # 02:30 CEST (fold 0)
    naive = datetime(2025, 10, 26, 2, 30)  # noqa: DTZ001 - the meter's clock has no zone
    for received in (first + 2.0, first + 3600 + 2.0):  # 02:30 CEST, then 02:30 CET
        capacity.clock = lambda received=received: received
        msg = message(None, 1_000_000 + int(received - first), 500)
        msg.timestamp = naive
        capacity.feed(msg)
        assert capacity.tracker.now == received - 2.0
    assert capacity.clocks["meter"] == 2


async def test_meter_history_fills_months_the_tracker_saw_in_part(hass: HomeAssistant) -> None:
    """0-0:98.1.0 replaces a month the tracker saw only in part, never a whole one."""
    item = vector("dsmr", "dp_fluvius_v171_alt")  # 98.1.0: August-October 2023
    real = decode([wire(item)], "BE")[0]
    capacity = EntryCapacity(hass, "e", FLANDERS)
    await capacity.async_load()
    tracker = capacity.tracker
    tracker.add_history(MonthRecord(month_index(2023, 9), 3000.0, 3000.0, None, complete=False))
    tracker.add_history(MonthRecord(month_index(2023, 10), 4000.0, 4000.0, None))
    assert real.timestamp is not None
    t = real.timestamp.timestamp()
    capacity.clock = lambda: t
    capacity.feed(real)
    months = {r.month: (r.value_w, r.source) for r in tracker.history}
    assert months == {
        month_index(2023, 8): (2500.0, "meter"),  # 1862 W: the floor
        month_index(2023, 9): (4229.0, "meter"),  # was partial: the meter's
        month_index(2023, 10): (4000.0, "tracker"),  # a whole month: the tracker's stays
    }
    # The same 98.1.0 reading again is not read again; a frame without it changes nothing.
    capacity.feed(real)
    plain = message(t + 900, 302_000 + 270_014, 300)
    capacity.feed(plain)
    assert len(tracker.history) == 3


async def test_fluvius_registers_are_compared_only_under_flanders(hass: HomeAssistant) -> None:
    real = decode([wire(vector("dsmr", "dp_fluvius_v171_alt"))], "BE")[0]
    capacity = EntryCapacity(hass, "f", NORWAY)
    await capacity.async_load()
    assert "fluvius" not in capacity.diagnostics(real.readings)
    flanders = EntryCapacity(hass, "g", FLANDERS)
    await flanders.async_load()
    start = T0 - T0 % 900
    times = [start + 10 * k for k in range(91)]
    for k, t in enumerate(times):
        flanders.clock = lambda t=t: t
        flanders.feed(message(t, 1_000_000 + k, 360))  # no Fluvius registers in these
    assert flanders.fluvius.counts == {}  # halfway through, nothing to compare
    assert flanders.diagnostics({})["fluvius"]["now"] == []


async def test_step_sensor_attributes(hass: HomeAssistant, pty: Pty, timings: SetTimings) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="n",
        data={CONF_PORT: pty.path, CONF_PROFILE: "no_kamstrup"},
        options={CONF_CAPACITY: "no_bkk", CONF_CAPACITY_STEPS: "2, 5", CONF_CAPACITY_TARGET: 1},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data
    assert coordinator.capacity is not None
    midnight = local(OSLO, 2025, 3, 3, 0, 0)
    for hour in range(3):  # three hours on one day at 3 kW: step 2, above the target step 1
        t = midnight + hour * 3600
        coordinator.capacity.clock = lambda t=t: t
        coordinator._handle_message(message(t, 1_000_000 + hour * 3000, 3000))
    await hass.async_block_till_done()
    registry = er.async_get(hass)

    def attributes(key: str) -> tuple[str, dict[str, Any]]:
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"n_{key}")
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        return state.state, dict(state.attributes)

    state, step = attributes("capacity_step")
    assert state == "2"
    assert (step["lower"], step["upper"], step["price"], step["currency"]) == (
        2.0,
        5.0,
        None,
        "NOK",
    )
    state, budget = attributes("capacity_step_budget")
    assert budget["target_step"] == 1
    assert budget["step_exceeded"] is True
    assert state == attributes("capacity_budget")[0]  # above the target: keep the value
    # The meter is lost: the sensors go unavailable (written although nothing else changed).
    coordinator.set_lost("silent")
    await hass.async_block_till_done()
    assert attributes("capacity_month")[0] == "unavailable"


async def test_registers_after_the_boundary_update_the_month_values(hass: HomeAssistant) -> None:
    """An Aidon-like meter: power crosses the hour first, the hourly registers follow."""
    capacity = EntryCapacity(hass, "h", NORWAY)
    await capacity.async_load()
    hour = local(OSLO, 2025, 3, 3, 10, 0)

    def feed(t: int, energy: int | None) -> None:
        capacity.clock = lambda: t + 0.5
        capacity.feed(message(t, energy, 3000))

    feed(hour, 1_000_000)
    feed(hour + 2400, None)
    feed(hour + 3602, None)  # power only: the hour ended, provisionally
    assert capacity.month_shown_at == hour + 3602
    status = capacity.status
    assert status is not None
    assert status.peaks == ()  # the hour is not closed yet; its value is provisional
    assert status.month_value_w == pytest.approx(3000.0)  # from the power samples
    feed(hour + 3610, 1_003_001)  # the hourly list: registers
    assert capacity.month_shown_at == hour + 3610  # the month's values are read again
    status = capacity.status
    assert status is not None
    # Closed from the registers (interpolated to the boundary: read 10 s after it).
    assert status.peaks[0].quality == "estimated"
    assert status.month_value_w == pytest.approx(3001 * 3600 / 3610)
    feed(hour + 3670, None)
    assert capacity.month_shown_at == hour + 3610  # within the hour: the live values only
    assert capacity.shown_at == hour + 3670


async def test_a_replaced_meter_never_gives_negative_energy(hass: HomeAssistant) -> None:
    """The register starts again near zero (a new meter): a new start, not a negative hour."""
    capacity = EntryCapacity(hass, "i", FLANDERS)
    await capacity.async_load()
    quarter = local(BRUSSELS, 2025, 3, 3, 10, 0)
    readings = [(0, 1_000_000), (300, 1_000_100), (600, 12), (660, 20), (900, 100)]
    for offset, energy in readings:
        capacity.clock = lambda offset=offset: quarter + offset + 0.5
        capacity.feed(message(quarter + offset, energy, 1200))
    assert capacity.tracker.counters["reset"] == 1
    status = capacity.status
    assert status is not None
    # 10:00-10:15: 100 Wh before the swap, nothing between 300 and 600 s, 88 Wh after: 752 W.
    assert status.peaks[0].average_w == pytest.approx((100 + 88) * 4)
    assert status.month_value_w == 2500.0  # below the floor
