"""A month's peaks: the intervals that make the capacity value, and how far the next may go.

Values are exact (int or Fraction Wh over one interval, weighted by the rule), so the
capacity value and every threshold are computed without rounding; floats appear only when a
status is reported.

The month's value is the mean of the ``peaks`` largest contributions (one per local day with
``distinct_days``). While fewer contributions exist (the first days of a month) it is the mean
of those there are: the value if the rest of the month stays below them, and the level that,
kept at every interval end, is still kept when the month closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

type Exact = int | Fraction

#: How an interval's energy is known.
EXACT: Final = "exact"  # register readings at both ends (or spanning only this interval)
ESTIMATED: Final = "estimated"  # an end interpolated over a gap in the readings
PARTIAL: Final = "partial"  # readings began inside the interval: a lower bound


@dataclass(frozen=True, slots=True)
class Peak:
    """One closed interval as the rule counts it."""

    value: Exact  # weighted Wh (what the rule ranks)
    energy: Exact  # imported Wh
    start: float
    day: int
    quality: str = EXACT


def _rank(peak: Peak) -> tuple[Exact, float]:
    return (-peak.value, peak.start)


class MonthPeaks:
    """Contributions of one month (index ``month``) for a rule's ``peaks``/``distinct_days``."""

    __slots__ = ("_ranked", "days", "distinct", "month", "n", "top", "version")

    def __init__(self, month: int, n: int, *, distinct: bool) -> None:
        """Start an empty month."""
        self.month = month
        self.n = n
        self.distinct = distinct
        #: Largest contribution per local day (distinct days only).
        self.days: dict[int, Peak] = {}
        #: The ``n`` largest intervals (distinct_days off).
        self.top: list[Peak] = []
        #: Bumped on every change (cache key for callers).
        self.version = 0
        self._ranked: list[Peak] | None = []

    def add(self, peak: Peak) -> bool:
        """Count a closed interval; True when the contributions changed."""
        if self.distinct:
            current = self.days.get(peak.day)
            if current is not None and peak.value <= current.value:
                return False
            self.days[peak.day] = peak
        else:
            if len(self.top) >= self.n and peak.value <= self.top[-1].value:
                return False
            self.top.append(peak)
            self.top.sort(key=_rank)
            del self.top[self.n :]
        self.version += 1
        self._ranked = None
        return True

    def contributions(self) -> list[Peak]:
        """Every stored contribution, largest first."""
        items = list(self.days.values()) if self.distinct else list(self.top)
        items.sort(key=_rank)
        return items

    def ranked(self) -> list[Peak]:
        """The contributions that make the value, largest first."""
        if self._ranked is None:
            self._ranked = self.contributions()[: self.n]
        return self._ranked

    def value(self) -> Fraction:
        """The month's value so far (weighted Wh per interval); 0 when nothing counted yet."""
        ranked = self.ranked()
        if not ranked:
            return Fraction(0)
        return Fraction(sum(p.value for p in ranked), len(ranked))

    def limit(self, day: int, target: Exact, extra: Peak | None = None) -> Fraction | None:
        """Largest contribution an interval of ``day`` may make with the value still <= target.

        ``extra`` is a provisional contribution (an interval that ended but whose closing
        register reading has not arrived yet). None when no contribution keeps the value at
        or below the target (it is already above).
        """
        others: list[Exact] = []
        today: Exact | None = None
        if self.distinct:
            for other_day, peak in self.days.items():
                if other_day == day:
                    today = peak.value
                else:
                    others.append(peak.value)
        else:
            others = [p.value for p in self.top]
        if extra is not None:
            if self.distinct and extra.day == day:
                today = extra.value if today is None else max(today, extra.value)
            elif self.distinct and extra.day in self.days:
                index = others.index(self.days[extra.day].value)
                others[index] = max(others[index], extra.value)
            else:
                others.append(extra.value)
        others.sort(reverse=True)
        n = self.n
        if len(others) + 1 <= n:
            best = Fraction(target) * (len(others) + 1) - sum(others)
        elif sum(others[:n]) > target * n:
            return None
        else:
            best = Fraction(target) * n - sum(others[: n - 1])
        if best < 0 or (today is not None and today > best):
            return None
        return best

    def with_extra_value(self, extra: Peak | None) -> Fraction:
        """The value if ``extra`` were counted too (for provisional reporting)."""
        if extra is None:
            return self.value()
        values = [p.value for p in self.contributions()]
        if self.distinct and extra.day in self.days:
            values.remove(self.days[extra.day].value)
            values.append(max(self.days[extra.day].value, extra.value))
        else:
            values.append(extra.value)
        values.sort(reverse=True)
        top = values[: self.n]
        return Fraction(sum(top), len(top))
