"""Capacity tracker edge cases: hourly registers, resets, glitches, gaps, months, state."""

from __future__ import annotations

from datetime import datetime
import json
from zoneinfo import ZoneInfo

import pytest

from han.capacity import (
    FLANDERS,
    NORWAY,
    SWEDEN_WEEKDAY_DAYTIME,
    CapacityTracker,
)
from han.capacity.clock import month_index

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2025, 1, 6, tzinfo=OSLO).timestamp()  # a Monday, local midnight
HOUR = 3600.0


def nordic_hours(tracker: CapacityTracker, hours: list[float], *, e0: int = 1_000_000) -> int:
    """Nordic meter: power every 10 s (receive time), the register once an hour.

    The hourly list is generated at hh:00:00 (its clock) and arrives at hh:00:10, after the
    power frames of hh:00:00-hh:00:08.
    """
    register = e0
    tracker.feed(T0, register, hours[0])
    for h, power in enumerate(hours):
        for s in range(10, 3600, 10):
            tracker.feed(T0 + h * HOUR + s, None, power)
            if s == 10 and h > 0:
                tracker.feed(T0 + h * HOUR, register, None)  # late, stamped on the hour
        register += round(power)
        tracker.feed(T0 + (h + 1) * HOUR + 0.5, None, power)
    tracker.feed(T0 + len(hours) * HOUR, register, None)
    return register


def test_hourly_registers_with_power_in_between() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    nordic_hours(tracker, [500.0, 4200.0, 800.0, 3100.0])
    status = tracker.status()
    assert status is not None
    assert [p.average_w for p in status.peaks] == [4200.0]  # one day: one peak
    assert status.month_value_w == 4200.0
    # Mid-hour: the energy so far is estimated from power since the last register reading.
    tracker.feed(T0 + 4 * HOUR + 1800, None, 2000.0)
    mid = tracker.status()
    assert mid is not None
    assert mid.estimated
    assert mid.average_w == pytest.approx(3100.0 * 10 / 1800 + 3100.0 * 1790 / 1800, rel=0.01)


def test_status_before_the_hourly_register_arrives_counts_the_last_hour_provisionally() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    register = nordic_hours(tracker, [500.0, 600.0])
    for s in range(10, 3600, 10):  # hour 2 at 6 kW, its register not yet sent
        tracker.feed(T0 + 2 * HOUR + s, None, 6000.0)
    tracker.feed(T0 + 3 * HOUR + 5, None, 300.0)  # 5 s into hour 3, no register yet
    status = tracker.status()
    assert status is not None
    assert status.estimated
    assert status.month_value_w == pytest.approx(6000.0, rel=0.01)  # provisional
    assert status.budget_w is not None
    tracker.feed(T0 + 3 * HOUR, register + 6000, None)  # the register, stamped hh:00:00
    exact = tracker.status()
    assert exact is not None
    assert exact.month_value_w == 6000.0
    assert exact.peaks[0].quality == "exact"


def test_a_repeated_hourly_snapshot_is_ignored_and_the_next_hour_split() -> None:
    """Aidon meters sometimes repeat the previous list 3 (same counters, same clock)."""
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    tracker.feed(T0, 1000)
    tracker.feed(T0 + HOUR, 2000)
    tracker.feed(T0 + HOUR, 2000)  # repeated snapshot
    tracker.feed(T0 + 3 * HOUR, 8000)  # hour 2's list lost: 6 kWh over two hours
    assert tracker.counters["duplicate"] == 1
    status = tracker.status()
    assert status is not None
    assert [(p.average_w, p.quality) for p in status.peaks] == [(3000.0, "estimated")]
    assert status.month_value_w == 3000.0


def test_a_register_reset_counts_no_energy_and_never_negative() -> None:
    tracker = CapacityTracker(FLANDERS, "Europe/Brussels")
    t = T0
    tracker.feed(t, 5_000_000)
    tracker.feed(t + 600, 5_000_100)  # 600 W
    tracker.feed(t + 700, 20)  # the meter was replaced: the new register starts near 0
    assert tracker.counters["rejected"] == 1  # held as suspect
    tracker.feed(t + 800, 40)  # continues from the new register: a reset
    assert tracker.counters["reset"] == 1
    tracker.feed(t + 900, 60)
    status = tracker.status()
    assert status is not None
    # 100 Wh before the reset, nothing between 600 s and 700 s, 40 Wh after it.
    assert status.peaks[0].average_w == (100 + 40) * 4
    assert status.peaks[0].average_w >= 0


def test_glitches_are_dropped() -> None:
    tracker = CapacityTracker(FLANDERS, "Europe/Brussels")
    tracker.feed(T0, 1000)
    tracker.feed(T0 + 10, 10**12)  # passes every checksum, still absurd
    tracker.feed(T0 + 20, 1005)  # back to normal: the spike was a glitch
    tracker.feed(T0 + 30, 3)  # backwards
    tracker.feed(T0 + 40, 1010)
    tracker.feed(T0 + 50, float("nan"))
    tracker.feed(T0 + 60, 1020, float("nan"))
    tracker.feed(T0 + 900, 1100)
    assert tracker.counters == {"duplicate": 0, "rejected": 3, "reset": 0, "gap": 0}
    status = tracker.status()
    assert status is not None
    assert status.peaks[0].average_w == 400.0


def test_a_long_gap_starts_afresh() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo", max_gap_s=7 * 86400)
    tracker.feed(T0, 1000)
    tracker.feed(T0 + 1800, 2000)  # 2 kW for half an hour
    later = T0 + 10 * 86400 + 1800  # ten days later, mid-hour
    tracker.feed(later, 90_000)
    assert tracker.counters["gap"] == 1
    tracker.feed(later + 1800, 92_000)
    status = tracker.status()
    assert status is not None
    # The hour before the gap counts what was seen (a lower bound), the gap counts nothing.
    assert [(p.average_w, p.quality) for p in status.peaks] == [
        (2000.0, "partial"),
        (1000.0, "partial"),
    ]


def test_a_tracker_started_mid_interval() -> None:
    tracker = CapacityTracker(FLANDERS, "Europe/Brussels")
    tracker.feed(T0 + 300, 1000, 1200.0)
    tracker.feed(T0 + 600, 1100, 1200.0)
    status = tracker.status()
    assert status is not None
    assert status.average_w == 1200.0  # over the 300 s it saw, not the 600 s since the start
    tracker.feed(T0 + 900, 1200)
    closed = tracker.status()
    assert closed is not None
    assert closed.peaks[0].quality == "partial"
    assert closed.month_value_w == 2500.0  # 800 W seen, the 2.5 kW floor applies


def test_months_roll_into_the_rolling_mean() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    tracker = CapacityTracker(FLANDERS, "Europe/Brussels")
    register = 0
    for month, peak_wh in ((1, 1000), (2, 1500), (3, 500)):
        start = datetime(2025, month, 1, tzinfo=brussels).timestamp()
        tracker.feed(start, register)
        tracker.feed(start + 900, register + peak_wh)  # one quarter at peak_wh * 4 W
        register += peak_wh
        tracker.feed(start + 20 * 86400, register)  # then nothing for the rest of the month
        register += 1
    status = tracker.status()
    assert status is not None
    assert [(r.month, r.value_w, r.complete) for r in tracker.history] == [
        (month_index(2025, 1), 4000.0, True),
        (month_index(2025, 2), 6000.0, True),
    ]
    assert status.month_value_w == 2500.0  # 2000 W, floored
    assert status.billed_months == 3
    assert status.billed_w == (4000 + 6000 + 2500) / 3
    # Early in April, before any April register reading: March counts as history.
    april = datetime(2025, 4, 1, 0, 0, 5, tzinfo=brussels).timestamp()
    tracker.feed(april, None, 100.0)
    early = tracker.status()
    assert early is not None
    assert early.billed_months == 4
    assert early.peaks == ()


def test_outside_the_window_the_rule_sets_no_limit() -> None:
    tracker = CapacityTracker(SWEDEN_WEEKDAY_DAYTIME, "Europe/Stockholm")
    saturday = datetime(2025, 1, 4, 12, tzinfo=ZoneInfo("Europe/Stockholm")).timestamp()
    tracker.feed(saturday, 100, 3000.0)
    tracker.feed(saturday + 60, 150, 3000.0)
    status = tracker.status()
    assert status is not None
    assert not status.counts
    assert status.budget_w is None
    assert status.step_budget_w is None
    assert status.step is None  # this rule has no steps


def test_without_power_or_fresh_register_the_budget_is_unknown() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    assert tracker.status() is None
    tracker.feed(T0 - 10, None, 500.0)  # power before any register: nothing to anchor
    assert tracker.status() is None
    tracker.feed(T0, 1000)
    tracker.feed(T0 + 2 * HOUR + 60, None, None)
    status = tracker.status(T0 + 2 * HOUR + 60)
    assert status is not None
    assert status.average_w is None
    assert status.budget_w is None
    assert status.month_value_w == 0.0


def test_step_target_and_exceeded() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo", step_target=2)
    tracker.feed(T0, 0, 1000.0)
    tracker.feed(T0 + HOUR, 7000, 1000.0)  # 7 kWh/h: step 3
    tracker.feed(T0 + HOUR + 60, 7010, 1000.0)
    status = tracker.status()
    assert status is not None
    assert (status.step, status.target_step, status.step_upper_w) == (3, 2, 5000.0)
    assert status.step_exceeded
    assert status.step_budget_w == status.budget_w
    low = CapacityTracker(NORWAY, "Europe/Oslo", step_target=0)
    low.feed(T0, 0)
    low.feed(T0 + 60, 10)
    low_status = low.status()
    assert low_status is not None
    assert low_status.target_step == 1


def test_state_round_trip_keeps_suspects_and_power() -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    nordic_hours(tracker, [500.0, 4200.0])
    tracker.feed(T0 + 2 * HOUR + 20, None, 900.0)
    tracker.feed(T0 + 2 * HOUR + 30, 10**12)  # a suspect
    tracker.feed(T0 + 3 * HOUR + 20, None, 900.0)  # power crossed a boundary
    data = json.loads(json.dumps(tracker.to_dict()))
    again = CapacityTracker.from_dict(data)
    assert again.to_dict() == data
    assert again.status() == tracker.status()
    assert again.rule == NORWAY


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"rule": {"key": "x", "peaks": 0}},
        {"tz": "Nowhere/Atlantis"},
        {"step_target": "2"},
        {"history": [[1, 2, 3]]},
        {"month": {"month": 1, "peaks": [["1", 2, 3.0, 4, "exact"]]}},
        {"month": {"month": 1, "peaks": [[1, 2, 3.0, 4, "guessed"]]}},
        {"register": {"t": 1.0, "e": 1, "offset": 0, "open_start": 0.0, "open_from": 0.0}},
        {"register": {"t": 1.0, "e": True, "quality": "exact"}},
        {"counters": {"duplicate": 1.5}},
        {"now": float("nan")},
        {"power": {"t": 1.0, "p": 2.0, "acc": "1/3"}},
        {"suspect": [1.0]},
        {"counters": []},
    ],
)
def test_malformed_state_is_refused(change: dict[str, object]) -> None:
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    tracker.feed(T0, 1000, 100.0)
    data = {**tracker.to_dict(), **change}
    with pytest.raises(ValueError, match=r"."):
        CapacityTracker.from_dict(data)


def test_state_of_an_empty_tracker() -> None:
    data = CapacityTracker(FLANDERS, "Europe/Brussels").to_dict()
    again = CapacityTracker.from_dict(data)
    assert again.status() is None
    assert again.to_dict() == data


def test_register_readings_that_lag_the_power_frames() -> None:
    """A register stamped earlier than power frames already received (meter clock vs receipt)."""
    tracker = CapacityTracker(NORWAY, "Europe/Oslo")
    tracker.feed(T0, 1000, 1000.0)
    tracker.feed(T0 + 1800, None, 2000.0)
    tracker.feed(T0 + 1795, 1500)  # stamped 5 s before the last power frame
    status = tracker.status()
    assert status is not None
    assert status.average_w == pytest.approx((500 + 2000 * 5 / 3600) * 3600 / 1800)
    tracker.feed(T0 + 2 * HOUR + 5, None, 3000.0)  # power into the next hour and beyond
    tracker.feed(T0 + HOUR, 2000)  # hour 1's register arrives late
    late = tracker.status()
    assert late is not None
    assert late.estimated
    assert late.peaks[0].average_w == 1000.0
