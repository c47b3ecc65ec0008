"""Norway's rule through Home Assistant with Kaifa lists: hourly registers, a naive meter clock.

Three days around the autumn DST change (26 October 2025: 02:00-03:00 twice) with a power cut
and a gap over an hour's end. The meter is a Kaifa MA304H3E: list 2 (power) every minute,
list 3 (power and the import register) on the hour, stamped by the meter's clock in local time
without a zone and received 10 s later. The tracker must take the meter's clock (the repeated
hour told apart by the receive time), so every hour's energy is the register difference the
bill uses. At every hour's end the sensors (three peaks, month value, step, budget, step budget)
must say what the reference computes; the budgets are checked by a brute-force search for the
largest hour that leaves the month's value (or step) where it is.
"""

from __future__ import annotations

from datetime import date, datetime
import math

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import numpy as np
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.capacity_rules import (
    CONF_CAPACITY,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_TARGET,
)
from custom_components.han_port.connection import Chunk
from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.han.capacity import NORWAY
from tests.capacity_reference import Month, reference, register_at
from tests.common import Pty

from .capacity_frames import OSLO, decode, generate, kaifa_frame, state_of
from .timing import SetTimings

ID = "kaifa"
HOUR = 3600
STEPS = (2000.0, 5000.0, 10000.0, 15000.0, 20000.0)


def kw(value_w: float | None) -> str:
    return "unknown" if value_w is None else str(round(value_w / 1000, 3))


def per_day(m: Month, upto: int) -> dict[date, float]:
    """The largest hour (Wh) of each day among the hours that ended by ``upto``."""
    best: dict[date, float] = {}
    for end in range(m.start + HOUR, upto + 1, HOUR):
        energy = float(register_at(m, end) - register_at(m, end - HOUR))
        day = datetime.fromtimestamp(end - HOUR, OSLO).date()
        best[day] = max(best.get(day, 0.0), energy)
    return best


def value_with(days: dict[date, float], day: date, energy: float) -> float:
    """The month's value (Wh per hour) if the current hour of ``day`` imports ``energy``."""
    values = dict(days)
    values[day] = max(values.get(day, 0.0), energy)
    top = sorted(values.values(), reverse=True)[:3]
    return sum(top) / len(top)


def budget(days: dict[date, float], day: date, limit_wh: float, net: float) -> int | None:
    """Brute force: the largest hour that keeps the value <= ``limit_wh``, minus the load."""
    if value_with(days, day, 0.0) > limit_wh:
        return None
    low, high = 0.0, 1e6
    for _ in range(80):
        middle = (low + high) / 2
        if value_with(days, day, middle) <= limit_wh:
            low = middle
        else:
            high = middle
    return math.floor(low - net - 1e-3)


async def test_norwegian_days_with_a_naive_meter_clock(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    days = generate(
        OSLO,
        (2025, 10, 25, 0, 0),
        (2025, 10, 28, 0, 0),
        seed=7,
        heavy=10,
        cut=((2025, 10, 27, 10, 50), (2025, 10, 27, 13, 20)),
        gaps=[((2025, 10, 26, 17, 56, 30), (2025, 10, 26, 18, 4))],
    )
    minutes = days.select(days.times % 60 == 0)
    hourly = minutes.times % HOUR == 0
    m = Month(
        "Europe/Oslo",
        int(minutes.times[0]),
        minutes.times[hourly],
        minutes.total[hourly],
        minutes.power[hourly],
        0,
    )
    expected = {b: (value, peaks) for b, value, peaks in reference(m, NORWAY)}
    assert len(expected) == 3 * 24 + 1  # 26 October has 25 hours
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=ID,
        title="Kaifa",
        data={CONF_PORT: pty.path, CONF_PROFILE: "no_kaifa"},
        options={
            CONF_CAPACITY: "no_other",
            CONF_CAPACITY_STEPS: ", ".join(f"{s / 1000:g}" for s in STEPS),
            CONF_CAPACITY_TARGET: 0,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    ids = {
        key: registry.async_get_entity_id("sensor", DOMAIN, f"{ID}_{key}")
        for key in (
            "capacity_peak_1",
            "capacity_peak_2",
            "capacity_peak_3",
            "capacity_month",
            "capacity_step",
            "capacity_budget",
            "capacity_step_budget",
        )
    }
    assert None not in ids.values()
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{ID}_capacity_billed") is None
    capacity = entry.runtime_data.capacity
    assert capacity is not None

    frames: list[bytes] = []
    received: list[float] = []
    checked = 0
    for t, power, total in zip(
        minutes.times.tolist(), minutes.power.tolist(), minutes.total.tolist(), strict=True
    ):
        on_the_hour = t % HOUR == 0
        frames.append(kaifa_frame(t, power, total if on_the_hour else None))
        received.append(t + (10.0 if on_the_hour else 0.5))
        if not on_the_hour:
            continue
        queue = iter(received)
        capacity.clock = lambda queue=queue: next(queue)  # type: ignore[misc]
        entry.runtime_data.take(Chunk(1, decode(frames, "NO")))
        await hass.async_block_till_done()
        frames, received = [], []
        if t not in expected:
            continue  # the first frame: no hour has ended yet
        value, peaks = expected[t]
        when = datetime.fromtimestamp(t, OSLO)
        assert state_of(hass, ids["capacity_month"]) == kw(value), when
        for rank, key in enumerate(("capacity_peak_1", "capacity_peak_2", "capacity_peak_3")):
            peak = peaks[rank] if rank < len(peaks) else None
            assert state_of(hass, ids[key]) == kw(peak[1] if peak else None), (when, rank)
            if peak is not None:
                start = hass.states.get(ids[key]).attributes["start"]  # type: ignore[union-attr]
                assert datetime.fromisoformat(start).timestamp() == peak[0]
        step = 1 + sum(value > bound for bound in STEPS)
        assert state_of(hass, ids["capacity_step"]) == str(step)
        attributes = hass.states.get(ids["capacity_step"]).attributes  # type: ignore[union-attr]
        assert attributes["upper"] == (STEPS[step - 1] / 1000 if step <= len(STEPS) else None)
        best = per_day(m, t)
        day = when.date()
        assert state_of(hass, ids["capacity_budget"]) == str(budget(best, day, value, power))
        upper = STEPS[step - 1] if step <= len(STEPS) else None
        step_budget = budget(best, day, upper, power) if upper is not None else None
        assert state_of(hass, ids["capacity_step_budget"]) == (
            "unknown" if step_budget is None else str(step_budget)
        ), when
        checked += 1
    assert checked == 3 * 24 + 1 - 4  # every hour's end but those in the gap and the cut
    assert capacity.clocks["received"] == capacity.clocks["meter_skewed"] == 0
    steps_seen = {1 + sum(value > bound for bound in STEPS) for value, _ in expected.values()}
    assert len(steps_seen) >= 2  # the month moved up a step
    assert np.any(minutes.power > 5000)
