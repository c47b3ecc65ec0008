"""MonthPeaks with a provisional contribution (an interval awaiting its closing register)."""

from __future__ import annotations

from fractions import Fraction

from han.capacity.peaks import MonthPeaks, Peak


def month(distinct: bool) -> MonthPeaks:
    peaks = MonthPeaks(0, 3, distinct=distinct)
    for start, (day, value) in enumerate([(1, 10), (2, 8), (3, 6), (3, 5)]):
        peaks.add(Peak(value, value, float(start), day))
    return peaks


def test_provisional_contribution_on_another_day_replaces_that_day() -> None:
    peaks = month(distinct=True)
    assert peaks.value() == 8
    extra = Peak(9, 9, 10.0, 3)  # day 3 rises from 6 to 9
    assert peaks.with_extra_value(extra) == 9
    # With day 3 at 9, a day-4 interval may reach 8 keeping the value at 9 (10, 9, 8).
    assert peaks.limit(4, 9, extra) == 8
    assert peaks.limit(4, 9) == 9  # without it: 10, 9, 8 -> 9
    same_day = Peak(7, 7, 11.0, 4)
    assert peaks.limit(4, 9, same_day) == 9  # today's own provisional value: 9 > 7 still fine
    assert peaks.limit(4, Fraction(6), same_day) is None  # already above 6


def test_provisional_contribution_without_distinct_days() -> None:
    peaks = month(distinct=False)
    assert peaks.value() == 8
    extra = Peak(12, 12, 10.0, 9)
    assert peaks.with_extra_value(extra) == 10  # 12, 10, 8
    assert peaks.limit(9, 10, extra) == 8  # 12, 10, 8 -> 10
    assert peaks.with_extra_value(None) == peaks.value()
    assert peaks.add(Peak(1, 1, 20.0, 5)) is False  # below the three largest
