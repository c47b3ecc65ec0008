"""Capacity sensors through Home Assistant: real frames in, the independent reference out.

Belgian days (Flanders' rule) around the spring DST change and the month end, with a power
cut, a gap across a quarter-hour boundary, one inside a quarter and Home Assistant down for 24
minutes (the entry stopped and started again: the state comes back from the entry's store).
Frames are the real Fluvius telegram with its clock and registers set (``capacity_frames``),
decoded by the library and handed to the coordinator as the reader does (``Chunk``). At every
quarter-hour end the sensors must say exactly what ``tests/capacity_reference.py`` computes
from the same registers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime
import math
from typing import Any

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.han_port.capacity import LIVE_INTERVAL, EntryCapacity, store_key
from custom_components.han_port.capacity_rules import CONF_CAPACITY
from custom_components.han_port.connection import Chunk
from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.han.capacity import FLANDERS
from tests.capacity_reference import Month, reference
from tests.common import Pty, vector, wire

from .capacity_frames import (
    BRUSSELS,
    Days,
    decode,
    fluvius_telegram,
    generate,
    local,
    state_of,
)
from .entries import set_up_entry
from .timing import SetTimings

ID = "fluvius"
QUARTER = 900


def kw(value_w: float) -> str:
    return str(round(value_w / 1000, 3))


class Feeder:
    """Hands frames to an entry's coordinator as the reader does, one chunk per read."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self._received: Iterator[float] = iter(())
        self.attach()

    @property
    def capacity(self) -> EntryCapacity:
        capacity = self.entry.runtime_data.capacity
        assert capacity is not None
        return capacity

    def attach(self) -> None:
        """(Again, after a restart) let the entry's capacity tracker see our receive times."""
        self.capacity.clock = lambda: next(self._received)

    async def push(self, frames: list[bytes], times: list[float], *, lag: float = 0.4) -> None:
        """One read: frames sent at ``times`` (meter clock), received ``lag`` s later."""
        self._received = iter([t + lag for t in times])
        messages = decode(frames, "BE")
        self.entry.runtime_data.take(Chunk(sum(map(len, frames)), messages))
        await self.hass.async_block_till_done()


def entity_ids(hass: HomeAssistant) -> dict[str, str]:
    registry = er.async_get(hass)
    found = {
        entry.unique_id.removeprefix(f"{ID}_"): entry.entity_id
        for entry in registry.entities.values()
        if entry.platform == DOMAIN and entry.unique_id.startswith(f"{ID}_capacity")
    }
    assert found, "no capacity sensors"
    return found


async def setup(hass: HomeAssistant, pty: Pty, options: dict[str, Any]) -> MockConfigEntry:
    data = {CONF_PORT: pty.path, CONF_PROFILE: "be_fluvius"}
    return await set_up_entry(hass, data, unique_id=ID, title="Fluvius", options=options)


def reference_months(days: Days) -> tuple[list[Any], list[Any]]:
    """The reference before and after the month end (each month from its own start)."""
    april = local(BRUSSELS, 2025, 4, 1)
    march = Month(
        "Europe/Brussels",
        int(days.times[0]),
        days.times[days.times <= april],
        days.total[days.times <= april],
        days.power[days.times <= april],
        0,
    )
    after = days.times >= april
    april_month = Month(
        "Europe/Brussels", april, days.times[after], days.total[after], days.power[after], 0
    )
    return reference(march, FLANDERS), reference(april_month, FLANDERS)


def chunks(days: Days, start: int, stop: int) -> Iterator[tuple[list[bytes], list[float]]]:
    """Frames from ``start`` to ``stop`` as reads ending at every quarter end and midpoint."""
    frames: list[bytes] = []
    times: list[float] = []
    for i in np.flatnonzero((days.times >= start) & (days.times < stop)).tolist():
        t = int(days.times[i])
        frames.append(fluvius_telegram(t, int(days.t1[i]), int(days.t2[i]), int(days.power[i])))
        times.append(float(t))
        if t % (QUARTER // 2) == 0:
            yield frames, times
            frames, times = [], []
    if frames:
        yield frames, times


def check_peak(hass: HomeAssistant, ids: dict[str, str], peaks: list[tuple[int, float]]) -> None:
    """The peak sensors: the largest quarter's average (kW) and start, or unknown."""
    peak = hass.states.get(ids["capacity_peak_1"])
    start = hass.states.get(ids["capacity_peak_start"])
    assert peak is not None
    assert start is not None
    if not peaks:
        assert (peak.state, start.state) == ("unknown", "unknown")
        return
    assert peak.state == kw(peaks[0][1])
    assert peak.attributes["start"] == datetime.fromtimestamp(peaks[0][0], BRUSSELS).isoformat()
    assert datetime.fromisoformat(start.state).timestamp() == peaks[0][0]


async def test_belgian_days_match_the_reference_at_every_quarter_end(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, hass_client: Any, hass_storage: Any
) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    days = generate(
        BRUSSELS,
        (2025, 3, 29, 0, 0),
        (2025, 4, 2, 0, 0),
        seed=21,
        cut=((2025, 3, 31, 10, 50), (2025, 3, 31, 13, 20)),
        gaps=[
            ((2025, 3, 30, 17, 56, 30), (2025, 3, 30, 18, 4)),  # across 18:00
            ((2025, 4, 1, 9, 2), (2025, 4, 1, 9, 11)),  # inside 09:00-09:15
        ],
    )
    down, up = local(BRUSSELS, 2025, 3, 31, 16, 7, 30), local(BRUSSELS, 2025, 3, 31, 16, 31)
    days = days.select((days.times < down) | (days.times >= up))  # Home Assistant is down
    march, april = reference_months(days)
    ends = [b for b, _, _ in march] + [b for b, _, _ in april]
    by_end = {b: (value, peaks) for b, value, peaks in march}
    march_value = march[-1][1]
    by_end.update({b: (value, peaks) for b, value, peaks in april})
    # At the month end April has begun: nothing counted yet, the value is the floor.
    by_end[local(BRUSSELS, 2025, 4, 1)] = (FLANDERS.floor_w, [])
    at = dict(zip(days.times.tolist(), days.total.tolist(), strict=True))
    power = dict(zip(days.times.tolist(), days.power.tolist(), strict=True))
    assert len(ends) == 4 * 96 - 4  # the DST day has 23 hours

    entry = await setup(hass, pty, {CONF_CAPACITY: "be_capaciteitstarief"})
    ids = entity_ids(hass)
    assert set(ids) == {
        "capacity_average",
        "capacity_projected",
        "capacity_peak_1",
        "capacity_peak_start",
        "capacity_month",
        "capacity_billed",
        "capacity_budget",
    }
    feeder = Feeder(hass, entry)
    checked = {"ends": 0, "budgets": 0, "averages": 0}

    async def run(start: int, stop: int) -> None:
        for frames, times in chunks(days, start, stop):
            await feeder.push(frames, times)
            t = int(times[-1])
            if t < ends[0]:
                continue  # the first frame: no quarter has ended yet
            latest = ends[bisect_right(ends, t) - 1]
            value, peaks = by_end[latest]
            when = datetime.fromtimestamp(latest, BRUSSELS)
            assert state_of(hass, ids["capacity_month"]) == kw(value), when
            check_peak(hass, ids, peaks)
            billed = value if latest < local(BRUSSELS, 2025, 4, 1) else (value + march_value) / 2
            assert state_of(hass, ids["capacity_billed"]) == kw(billed), when
            checked["ends"] += 1
            if t % QUARTER == 0:  # a quarter just ended: nothing imported in the new one yet
                net = power[t]
                expected = math.floor(value - net - 1e-3)
                assert state_of(hass, ids["capacity_budget"]) == str(expected), when
                assert state_of(hass, ids["capacity_projected"]) == kw(net), when
                assert state_of(hass, ids["capacity_average"]) == "unknown"
                checked["budgets"] += 1
            elif (start := t - t % QUARTER) in at:  # the average so far, from the registers
                # The live values move on once a minute; this read spans more: they did,
                # and show the status at its last frame.
                shown = feeder.capacity.shown_at
                assert shown is not None
                assert t - LIVE_INTERVAL < shown <= t
                average = (at[t] - at[start]) * 3600.0 / (t - start)
                assert state_of(hass, ids["capacity_average"]) == kw(average), when
                checked["averages"] += 1

    await run(int(days.times[0]), down)
    # Home Assistant stops (the entry unloads: the state is written) and starts again.
    month_before = state_of(hass, ids["capacity_month"])
    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[store_key(entry.entry_id)]["data"]["tracker"]
    assert stored["rule"]["key"] == FLANDERS.key
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, ids["capacity_month"]) == month_before  # restored, before any frame
    assert state_of(hass, ids["capacity_budget"]) == "unknown"  # live values need a frame
    feeder.attach()
    await run(up, int(days.times[-1]) + 1)

    # Every quarter end was checked, except those inside the gaps (no frame there).
    assert checked["ends"] >= 2 * len(ends) - 40
    assert checked["budgets"] >= len(ends) - 20
    assert checked["averages"] >= len(ends) - 20
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    capacity = diagnostics["capacity"]
    assert capacity["stored_state"] == "restored"
    assert capacity["clock"]["meter"] == capacity["frames"]  # every frame at the meter's time
    assert capacity["clock"]["received"] == capacity["clock"]["meter_skewed"] == 0
    assert capacity["import_registers"] == ["1-0:1.8.1", "1-0:1.8.2"]
    assert capacity["status"]["month_value_w"] == april[-1][1]
    # The template's own 1.6.0 (a 2023 peak) disagrees with these days: a diagnostic only.
    fluvius = capacity["fluvius"]
    assert fluvius["counts"]["1-0:1.6.0"]["differ"] > 0
    assert 0 < len(fluvius["mismatches"]) <= 10
    assert fluvius["mismatches"][-1]["register"] in ("1-0:1.4.0", "1-0:1.6.0")
    assert [r["month"] for r in capacity["history"]][-1] == 2025 * 12 + 2  # March 2025


def fluvius_month_frames(vector_id: str) -> tuple[list[bytes], list[float], Any]:
    """From the 1st of the month to a real Fluvius telegram, which ends the frames.

    Shaped as the library's Fluvius test shapes its day: 400 W, the quarter ending at the
    telegram's 1.6.0 time at the telegram's peak, the current quarter at the power that makes
    its energy so far what the telegram's 1.4.0 says. The frames before it carry the meter's
    own registers as a Fluvius meter computes them (1.4.0: energy so far over 15 minutes;
    1.6.0: the month's largest closed quarter, stamped at its end) -- an assumption the
    comparison also checks against the real telegram at the end.
    """
    item = vector("dsmr", vector_id)
    real = decode([wire(item)], "BE")[0]
    assert real.timestamp is not None
    end = real.timestamp.timestamp()
    peak = real.readings["1-0:1.6.0"]
    assert peak.captured is not None
    peak_end, peak_w = peak.captured.timestamp(), float(peak.value)  # type: ignore[arg-type]
    demand_w = float(real.readings["1-0:1.4.0"].value)  # type: ignore[arg-type]
    t1_end = int(real.readings["1-0:1.8.1"].value)  # type: ignore[arg-type]
    t2 = int(real.readings["1-0:1.8.2"].value)  # type: ignore[arg-type]
    when = datetime.fromtimestamp(end, BRUSSELS)
    start = local(BRUSSELS, when.year, when.month, 1)
    quarter = end - end % QUARTER
    current_w = demand_w * QUARTER / (end - quarter)

    def power(t: float) -> float:
        if peak_end - QUARTER <= t < peak_end:
            return peak_w
        return current_w if t >= quarter else 400.0

    times = [float(t) for t in range(start, int(end), 30)]
    work = [0.0]
    for a, b in zip(times, [*times[1:], end], strict=True):
        work.append(work[-1] + power(a) * (b - a))
    registers = [t1_end - round((work[-1] - w) / 3600) for w in work]
    frames = []
    closed: tuple[float, float] | None = None  # (end, W) of the largest closed quarter
    open_start, open_e = float(start), registers[0]
    for t, e in zip(times, registers, strict=False):
        if t >= open_start + QUARTER:  # a quarter ended at the frame on its boundary
            average = (e - open_e) * 4.0
            if closed is None or average > closed[1]:
                closed = (open_start + QUARTER, average)
            open_start, open_e = t - t % QUARTER, e
        running = ((e - open_e) * 4.0, open_start + QUARTER)
        shown = closed if closed is not None else (running[1], running[0])
        telegram = item["telegram"]
        frames.append(
            fluvius_telegram(
                t, e, t2, round(power(t)), demand_w=running[0], peak=shown, template=telegram
            )
        )
    frames.append(wire(item))  # the real telegram, unchanged
    return frames, [*times, end], real


@pytest.mark.parametrize(
    ("vector_id", "month_w", "billed"),
    [
        # November 2023: August-October from the meter's 0-0:98.1.0 (2500 floor, 4229, 4927).
        ("dp_fluvius_v171_alt", 3064.0, (2500 + 4229 + 4927 + 3064) / 4),
        # February 2023: January from 98.1.0 (3332 W); 1566 W is below the 2.5 kW floor.
        ("dr_fluvius_with_peak_data", 2500.0, (3332 + 2500) / 2),
    ],
)
async def test_fluvius_registers_of_real_telegrams_agree(
    hass: HomeAssistant,
    pty: Pty,
    timings: SetTimings,
    hass_client: Any,
    vector_id: str,
    month_w: float,
    billed: float,
) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    frames, times, real = fluvius_month_frames(vector_id)
    entry = await setup(hass, pty, {CONF_CAPACITY: "be_capaciteitstarief"})
    ids = entity_ids(hass)
    feeder = Feeder(hass, entry)
    batch: list[int] = []
    for index, t in enumerate(times):
        batch.append(index)
        if t % (QUARTER // 2) == 0 or index == len(times) - 1:
            await feeder.push([frames[i] for i in batch], [times[i] for i in batch])
            batch = []
    assert state_of(hass, ids["capacity_month"]) == kw(month_w)
    assert state_of(hass, ids["capacity_billed"]) == kw(billed)
    billed_state = hass.states.get(ids["capacity_billed"])
    assert billed_state is not None
    assert billed_state.attributes["months"] == (4 if month_w > 2500 else 2)
    peak = hass.states.get(ids["capacity_peak_1"])
    assert peak is not None
    assert peak.attributes["end"] == real.readings["1-0:1.6.0"].captured.isoformat()
    capacity = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["capacity"]
    fluvius = capacity["fluvius"]
    # Once a quarter, halfway through, 1.4.0 and 1.6.0 were compared: they always agreed.
    assert fluvius["counts"]["1-0:1.4.0"]["differ"] == 0
    assert fluvius["counts"]["1-0:1.6.0"]["differ"] == 0
    quarters = int(times[-1] - times[0]) // QUARTER
    assert fluvius["counts"]["1-0:1.6.0"]["agree"] == quarters
    assert fluvius["counts"]["1-0:1.4.0"]["agree"] == quarters
    assert fluvius["mismatches"] == []
    # The real telegram itself, compared with what the tracker computed from the frames.
    now = {check["register"]: check for check in fluvius["now"]}
    assert now["1-0:1.6.0"]["ok"]
    assert now["1-0:1.6.0"]["note"] == "matches, time is the interval end"
    assert now["1-0:1.4.0"]["ok"]
    assert now["1-0:1.4.0"]["note"] == "matches the energy so far per interval"
    assert {r["source"] for r in capacity["history"]} == {"meter"}
