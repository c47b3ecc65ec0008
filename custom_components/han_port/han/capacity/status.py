"""What a tracker reports: the live interval, the month's peaks, the billed value, the budget.

Powers are in W. ``budget_w`` and ``step_budget_w`` are the load (W) that can be added from
now to the end of the interval on top of the present net import (import minus export), so
that the month's value does not rise (``budget_w``) or does not leave the target step
(``step_budget_w``). Negative means that much load must be shed. When the energy so far has
already raised the value, the budget keeps the import at zero from now on (no further rise);
when the month is already above the target step, ``step_budget_w`` is ``budget_w``. Both are
None when the interval does not count for the rule (outside its hours or days: the rule sets
no limit; cap it with the fuse headroom) or when the energy so far is unknown. A budget can
be far above any fuse near the end of an interval (a few Wh left for a few seconds): it is
the rule's limit only, to be combined with the phase headroom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime  # noqa: TC003 - NamedTuple fields resolve at runtime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class MonthRecord:
    """A finished month (from the tracker, or seeded from the meter's own history)."""

    month: int  # year*12 + month-1 (see clock.month_index)
    value_w: float  # the month's capacity value, floor applied
    peak_w: float  # the largest interval average of the month
    peak_start: float | None  # POSIX start of that interval, if known
    source: str = "tracker"  # "tracker" or "meter"
    complete: bool = True  # readings covered the whole month


@dataclass(frozen=True, slots=True)
class PeakInfo:
    """One interval that makes this month's value."""

    start: datetime
    end: datetime
    day: date  # local day
    average_w: float  # imported energy over the interval, as average power
    counted_w: float  # what the rule counts (average_w times the night weight)
    quality: str  # "exact", "estimated" (gap at an end, interpolated) or "partial"


class CapacityStatus(NamedTuple):
    """A tracker's view at one moment (a named tuple: built on every frame, so cheap)."""

    time: float  # POSIX time of the status
    interval_start: datetime
    interval_end: datetime
    counts: bool  # whether the current interval counts for the rule
    average_w: float | None  # the current interval's average import so far
    projected_w: float | None  # its average at the end if the present net import continues
    estimated: bool  # the values so far rest on power samples, not register readings
    peaks: tuple[PeakInfo, ...]  # this month's peaks that make the value, largest first
    month_value_w: float  # this month's capacity value (floor applied)
    billed_w: float  # what the grid bills: the rolling mean for Flanders, else month_value_w
    billed_months: int  # months in that mean
    step: int | None  # 1-based step of month_value_w (None: the rule has no steps)
    target_step: int | None  # the step the step budget keeps (None: no steps)
    step_upper_w: float | None  # upper bound of the target step (None: open-ended)
    max_average_w: float | None  # the highest average this interval may end with (no rise)
    budget_w: float | None  # load that may be added without raising month_value_w
    step_budget_w: float | None  # load that may be added without leaving the target step
    step_exceeded: bool  # the month's value is already above the target step
