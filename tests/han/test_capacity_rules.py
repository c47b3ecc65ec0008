"""Capacity rules as data: presets, steps, validation, the JSON round trip, calendar filters."""

from __future__ import annotations

from datetime import date, datetime
import json
from zoneinfo import ZoneInfo

import pytest

from han.capacity import (
    FLANDERS,
    NORWAY,
    NORWAY_LEDE,
    PRESETS,
    SWEDEN_ELLEVIO,
    SWEDEN_WEEKDAY_DAYTIME,
    CapacityRule,
)
from han.capacity.clock import LocalClock, month_index, month_of


@pytest.mark.parametrize("rule", list(PRESETS.values()), ids=list(PRESETS))
def test_presets_round_trip_through_json(rule: CapacityRule) -> None:
    again = CapacityRule.from_dict(json.loads(json.dumps(rule.to_dict())))
    assert again == rule
    assert rule.source.startswith("https://")


def test_norwegian_steps() -> None:
    assert [NORWAY.step_of(w) for w in (0, 1999, 2000, 2001, 4999, 25_000, 100_001)] == [
        1,
        1,
        1,  # a value on a bound is in the lower step ("0-2 kW" holds 2 kW)
        2,
        2,
        6,
        10,
    ]
    assert NORWAY.step_bounds(1) == (0.0, 2000.0)
    assert NORWAY.step_bounds(10) == (100_000.0, None)
    assert NORWAY.step_price(1) == 110.0
    assert NORWAY.step_price(7) is None  # the stored Elvia page prices only steps 1-6
    assert NORWAY_LEDE.step_price(11) == 10795.0
    with pytest.raises(ValueError, match="out of range"):
        NORWAY.step_bounds(11)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval_minutes": 20}, "interval_minutes"),
        ({"peaks": 0}, "peaks"),
        ({"hours": [7, 25]}, "hours"),
        ({"night_hours": [-1, 6]}, "night_hours"),
        ({"months": []}, "months"),
        ({"months": [13]}, "months"),
        ({"night_weight": 0}, "night_weight"),
        ({"floor_w": -1}, "night_weight"),
        ({"floor_w": float("inf")}, "finite"),
        ({"rolling_months": 13}, "rolling_months"),
        ({"steps": [5000, 2000]}, "ascending"),
        ({"steps": [0]}, "ascending"),
        ({"step_prices": [1, 2, 3]}, "more step prices"),
        ({"peaks": True}, "integer"),
        ({"floor_w": "2500"}, "number"),
        ({"hours": [7]}, "not a capacity rule"),
    ],
)
def test_invalid_rules_are_refused(change: dict[str, object], message: str) -> None:
    data = {**CapacityRule(key="x", steps=(1000.0,)).to_dict(), **change}
    with pytest.raises(ValueError, match=message):
        CapacityRule.from_dict(data)


def test_a_rule_needs_a_key() -> None:
    with pytest.raises(ValueError, match="not a capacity rule"):
        CapacityRule.from_dict({})


def _info(rule: CapacityRule, tz: str, *args: int):
    clock = LocalClock(rule, tz)
    t = datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()
    return clock.info(clock.start_of(t))


def test_weekday_daytime_window_and_holidays() -> None:
    rule = CapacityRule(
        key="se",
        weekdays_only=True,
        hours=(7, 19),
        excluded_dates=frozenset({date(2025, 12, 24)}),
    )
    tz = "Europe/Stockholm"
    assert _info(rule, tz, 2025, 12, 22, 7, 30).counts  # Monday 07-08
    assert not _info(rule, tz, 2025, 12, 22, 19, 0).counts  # 19-20 is outside 07-19
    assert not _info(rule, tz, 2025, 12, 22, 6, 59).counts
    assert not _info(rule, tz, 2025, 12, 20, 12, 0).counts  # Saturday
    assert not _info(rule, tz, 2025, 12, 24, 12, 0).counts  # Christmas Eve, excluded
    assert SWEDEN_WEEKDAY_DAYTIME.hours == (7, 19)


def test_months_filter_and_night_weight() -> None:
    winter = CapacityRule(key="telge", months=frozenset({11, 12, 1, 2, 3}))
    assert _info(winter, "Europe/Stockholm", 2025, 11, 3, 12).counts
    assert not _info(winter, "Europe/Stockholm", 2025, 4, 3, 12).counts
    tz = "Europe/Stockholm"
    assert _info(SWEDEN_ELLEVIO, tz, 2025, 11, 3, 22).weight == 0.5
    assert _info(SWEDEN_ELLEVIO, tz, 2025, 11, 3, 5).weight == 0.5
    assert _info(SWEDEN_ELLEVIO, tz, 2025, 11, 3, 6).weight == 1
    every = CapacityRule(key="all", hours=(0, 24), night_hours=(3, 3), night_weight=0.5)
    assert _info(every, tz, 2025, 11, 3, 23).counts
    assert _info(every, tz, 2025, 11, 3, 23).weight == 0.5  # (h, h): every hour


def test_intervals_on_dst_days() -> None:
    """The repeated autumn hour is two intervals; an interval's day is its local start's."""
    clock = LocalClock(FLANDERS, "Europe/Brussels")
    first = datetime(2025, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/Brussels"))
    second = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Brussels"))
    a = clock.start_of(first.timestamp())
    b = clock.start_of(second.timestamp())
    assert b - a == 3600
    assert clock.info(a).day == clock.info(b).day == date(2025, 10, 26).toordinal()
    last = clock.info(
        clock.start_of(datetime(2025, 10, 31, 23, 50, tzinfo=first.tzinfo).timestamp())
    )
    assert month_of(last.month) == (2025, 10)
    assert clock.month_start(month_index(2025, 11)) == last.end
    clock.info(a)  # cached
    for k in range(70):  # the cache stays small
        clock.info(a + 900 * k)
    assert len(clock._cache) <= 64


def test_accounting_is_what_decides_the_intervals() -> None:
    """Rules that differ only in prices, steps, floor or months billed count alike."""
    from dataclasses import fields, replace

    from han.capacity import FLANDERS, NORWAY, NORWAY_BKK, NORWAY_LEDE

    assert NORWAY.accounting() == NORWAY_BKK.accounting()  # other steps and prices
    assert NORWAY.accounting() != NORWAY_LEDE.accounting()  # one peak, not three
    priced = replace(FLANDERS, floor_w=0.0, rolling_months=1, currency=None, key="x")
    assert priced.accounting() == FLANDERS.accounting()
    counted = {"interval_minutes": 60, "peaks": 2, "distinct_days": True, "weekdays_only": True}
    counted |= {"hours": (8, 20), "months": frozenset({1}), "night_hours": (22, 6)}
    counted |= {"excluded_dates": frozenset({date(2025, 1, 2)}), "holidays": "SE"}
    counted |= {"night_weight": 0.5}
    for name, value in counted.items():
        assert replace(FLANDERS, **{name: value}).accounting() != FLANDERS.accounting(), name
    # Every field is one or the other: a new field is part of the accounting by default.
    assert len(FLANDERS.accounting()) == len(fields(FLANDERS)) - 7
