"""Intervals on the local clock: where an interval starts, which day and month it belongs to.

Times are POSIX seconds (floats). An interval is ``interval_s`` seconds of real time whose
start is a multiple of the interval on the local wall clock: 15-minute and hourly intervals
in every European zone, where offsets are whole hours, so a 23-hour spring day has 23 (or 92)
intervals and a 25-hour autumn day has 25 (or 100); the repeated local hour 02:00-03:00 is two
separate intervals. An interval's day, month, weekday and hour are those of its start in local
time (zoneinfo), so the interval 23:45-00:00 on the last day belongs to that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from fractions import Fraction
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from .holidays import is_holiday

if TYPE_CHECKING:
    from .rules import CapacityRule

_CACHE: Final = 64
_ONE: Final = Fraction(1)


@dataclass(frozen=True, slots=True)
class IntervalInfo:
    """One interval: its bounds, local day (ordinal), month (year*12 + month-1), rule flags."""

    start: float
    end: float
    day: int
    month: int
    counts: bool
    weight: Fraction


def month_index(year: int, month: int) -> int:
    """A month as one integer (consecutive months differ by one)."""
    return year * 12 + month - 1


def month_of(index: int) -> tuple[int, int]:
    """(year, month) of a month index."""
    return index // 12, index % 12 + 1


def _in_hours(hour: int, window: tuple[int, int]) -> bool:
    start, end = window
    if start == end:
        return True  # (0, 0) or (0, 24): every hour
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # wraps midnight, e.g. (22, 6)


class LocalClock:
    """Interval arithmetic for one rule in one time zone (IANA name, e.g. "Europe/Oslo")."""

    def __init__(self, rule: CapacityRule, tz: str, zone: tzinfo | None = None) -> None:
        """Bind the rule's interval length and calendar filters to a zone.

        ``zone``: the zone ``tz`` names, already loaded (reading it from disk is blocking
        I/O an event loop must not do); None: loaded here.
        """
        self.rule = rule
        self.tz_name = tz
        self.tz = zone if zone is not None else ZoneInfo(tz)
        self.length = float(rule.interval_s)
        self._weight = Fraction(rule.night_weight)
        self._cache: dict[float, IntervalInfo] = {}

    def local(self, t: float) -> datetime:
        """Aware local datetime of a POSIX time."""
        return datetime.fromtimestamp(t, self.tz)

    def start_of(self, t: float) -> float:
        """Start of the interval holding ``t``."""
        offset = self.local(t).utcoffset()
        seconds = offset.total_seconds() if offset is not None else 0.0
        return t - ((t + seconds) % self.length)

    def month_start(self, index: int) -> float:
        """POSIX time of local midnight on the first day of a month."""
        year, month = month_of(index)
        return datetime(year, month, 1, tzinfo=self.tz).timestamp()

    def info(self, start: float) -> IntervalInfo:
        """Calendar facts of the interval starting at ``start`` (cached)."""
        found = self._cache.get(start)
        if found is not None:
            return found
        rule = self.rule
        local = self.local(start)
        counts = rule.months is None or local.month in rule.months
        if counts and rule.weekdays_only:
            day = local.date()
            counts = local.weekday() < 5 and day not in rule.excluded_dates
            if counts and rule.holidays is not None:
                counts = not is_holiday(rule.holidays, day)
        if counts and rule.hours is not None:
            counts = _in_hours(local.hour, rule.hours)
        weight = _ONE
        if rule.night_hours is not None and _in_hours(local.hour, rule.night_hours):
            weight = self._weight
        info = IntervalInfo(
            start,
            start + self.length,
            local.toordinal(),
            month_index(local.year, local.month),
            counts,
            weight,
        )
        if len(self._cache) >= _CACHE:
            self._cache.clear()
        self._cache[start] = info
        return info
