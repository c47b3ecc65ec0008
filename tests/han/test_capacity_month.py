"""Capacity tracker against an independent computation over generated months of 1-s data.

Each month has a DST change, a power cut (no frames, no energy), a communication gap across
an interval boundary (no frames, energy keeps flowing) and one inside an interval. The meter
register is integer Wh at every second. The tracker gets the frames around every boundary and
gap and one a minute elsewhere (every interval end depends only on the readings next to it;
one whole day at full 1-s resolution shows the thinning changes nothing). The reference
(``tests/capacity_reference.py``) recomputes everything from the full 1-s arrays in the
plainest way: register value at each boundary (the reading there, else the straight line
between the readings around it), interval energies as differences, then the rule's own words
(per-day maxima, n largest, mean, floor).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
import json
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from han.capacity import (
    FLANDERS,
    NORWAY,
    SWEDEN_ELLEVIO,
    SWEDEN_WEEKDAY_DAYTIME,
    CapacityRule,
    CapacityTracker,
)
from tests.capacity_reference import Month, reference, register_at


def _local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp())


def make_month(tz_name: str, year: int, month: int, seed: int) -> Month:
    tz = ZoneInfo(tz_name)
    start = _local(tz, year, month, 1, 0)
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    end = _local(tz, *nxt, 1, 0)
    n = end - start
    rng = np.random.default_rng(seed)
    minute_level = rng.integers(250, 900, n // 60 + 1)
    # Heavy loads (EV, sauna, oven): 70 blocks of 5-150 minutes at 1.5-9 kW, some on the same day.
    for _ in range(70):
        at = int(rng.integers(0, n // 60 - 150))
        minute_level[at : at + int(rng.integers(5, 150))] += int(rng.integers(1500, 9000))
    power = np.repeat(minute_level, 60)[:n] + rng.integers(0, 120, n)
    gap = _local(tz, year, month, 12, 17, 56) - start
    power[gap - 1800 : gap + 2400] += 25_000  # the month's peak, around the gap below
    dark, light = _local(tz, year, month, 10, 10, 50), _local(tz, year, month, 10, 13, 20)
    cut = slice(dark - start, light - start)
    power[cut] = 0  # power cut: the meter is dark, nothing is imported
    work = np.concatenate(([0], np.cumsum(power[:-1], dtype=np.int64)))
    registers = 5_000_000 + work // 3600  # Wh, as the meter shows it
    available = np.ones(n, dtype=bool)
    available[cut] = False
    available[gap + 30 : gap + 490] = False  # 17:56:30-18:04:10, across the 18:00 boundary
    inside = _local(tz, year, month, 14, 9, 2) - start
    available[inside : inside + 540] = False  # 09:02-09:11, inside one interval
    index = np.flatnonzero(available)
    return Month(tz_name, start, start + index, registers[index], power[index], n // 900)


def thinned(m: Month, length: int) -> np.ndarray:
    """Indexes of the frames fed: near every boundary, at gap edges, and one a minute."""
    offset = (m.seconds - m.start) % length
    near = (offset <= 3) | (offset >= length - 3) | ((m.seconds - m.start) % 60 == 0)
    edges = np.zeros(len(m.seconds), dtype=bool)
    jumps = np.flatnonzero(np.diff(m.seconds) > 1)
    edges[jumps] = edges[jumps + 1] = True
    edges[[0, -1]] = True
    return np.flatnonzero(near | edges)


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------

MARCH = make_month("Europe/Oslo", 2025, 3, seed=13)  # 30 March: 23-hour day
OCTOBER = make_month("Europe/Brussels", 2025, 10, seed=14)  # 26 October: 25-hour day


def test_generated_months_have_their_dst_day() -> None:
    assert MARCH.boundaries_15 == (31 * 24 - 1) * 4
    assert OCTOBER.boundaries_15 == (31 * 24 + 1) * 4


def run(m: Month, rule: CapacityRule, frames: np.ndarray, *, restore_at: int | None = None):
    """Feed ``frames``; yield (time, tracker) after each frame that passes an interval end."""
    tracker = CapacityTracker(rule, m.tz)
    length = rule.interval_s
    next_end = m.start + length
    for i in frames.tolist():
        t = int(m.seconds[i])
        if restore_at is not None and t >= restore_at:
            state = json.loads(json.dumps(tracker.to_dict()))
            tracker = CapacityTracker.from_dict(state)
            restore_at = None
        tracker.feed(float(t), int(m.registers[i]), float(m.power[i]))
        if t >= next_end:
            yield t, tracker
            next_end = t - (t - m.start) % length + length


@pytest.mark.parametrize(
    ("m", "rule"),
    [
        (MARCH, NORWAY),
        (MARCH, SWEDEN_ELLEVIO),
        (MARCH, SWEDEN_WEEKDAY_DAYTIME),
        (OCTOBER, FLANDERS),
    ],
    ids=["NO-march", "SE-ellevio-march", "SE-weekday-march", "BE-october"],
)
def test_every_interval_end_matches_the_reference(m: Month, rule: CapacityRule) -> None:
    expected = reference(m, rule)
    by_end = {b: (value, peaks) for b, value, peaks in expected}
    ends = [b for b, _, _ in expected]
    checked = 0
    for t, tracker in run(m, rule, thinned(m, rule.interval_s)):
        latest = ends[bisect_left(ends, t + 1) - 1]  # the last interval end at or before t
        value, peaks = by_end[latest]
        status = tracker.status(float(t))
        assert status is not None
        assert status.month_value_w == value, datetime.fromtimestamp(latest, ZoneInfo(m.tz))
        assert [(p.start.timestamp(), p.average_w) for p in status.peaks] == peaks
        assert status.billed_w == value
        if rule.steps:
            assert status.step == 1 + sum(value > bound for bound in rule.steps)
        checked += 1
    # Every interval end was checked except those inside the two gaps (no frame there).
    assert checked >= len(expected) - (150 // (rule.interval_s // 60) + 2)
    assert expected[-1][1] > 2500  # the month had real peaks


def test_thinning_changes_nothing_on_a_full_day() -> None:
    """One day (with the 09:02-09:11 gap) fed at every second gives the thinned results."""
    day = (MARCH.seconds >= MARCH.start + 13 * 86400) & (MARCH.seconds < MARCH.start + 15 * 86400)
    full = np.flatnonzero(day)
    sparse = np.intersect1d(thinned(MARCH, 3600), full)
    fine = [(t, tr.status(float(t))) for t, tr in run(MARCH, NORWAY, full)]
    coarse = [(t, tr.status(float(t))) for t, tr in run(MARCH, NORWAY, sparse)]
    assert len(fine) == len(coarse) == 48  # the first frame, then 47 hour ends
    assert [s.month_value_w for _, s in fine] == [s.month_value_w for _, s in coarse]
    assert fine[-1][1].peaks == coarse[-1][1].peaks


def test_live_average_so_far_is_the_register_difference() -> None:
    tracker = CapacityTracker(FLANDERS, OCTOBER.tz)
    tz = ZoneInfo(OCTOBER.tz)
    stop = _local(tz, 2025, 10, 3, 12, 7)
    for i in np.flatnonzero(OCTOBER.seconds <= stop).tolist():
        tracker.feed(float(OCTOBER.seconds[i]), int(OCTOBER.registers[i]), float(OCTOBER.power[i]))
    status = tracker.status()
    assert status is not None
    start = _local(tz, 2025, 10, 3, 12, 0)
    so_far = register_at(OCTOBER, stop) - register_at(OCTOBER, start)
    assert status.average_w == float(so_far) * 3600.0 / 420
    power = float(OCTOBER.power[OCTOBER.seconds == stop][0])
    assert status.projected_w == pytest.approx((float(so_far) + power * 480 / 3600) * 4)
    assert not status.estimated


@pytest.mark.parametrize("rule", [NORWAY, FLANDERS], ids=["NO", "BE"])
def test_restore_mid_month_gives_identical_results(rule: CapacityRule) -> None:
    m = MARCH
    frames = thinned(m, rule.interval_s)
    restore_at = _local(ZoneInfo(m.tz), 2025, 3, 16, 12, 34) + 56
    straight = [(t, tr.status(float(t))) for t, tr in run(m, rule, frames)]
    restored = [(t, tr.status(float(t))) for t, tr in run(m, rule, frames, restore_at=restore_at)]
    assert straight == restored
    assert len(straight) > 700
