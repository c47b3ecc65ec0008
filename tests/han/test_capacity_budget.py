"""The power budget never says a load can be added that would raise the month's value.

Property tests with Hypothesis: random rules (peaks, distinct days, floor, night weight,
steps), random closed intervals, a random point in the current interval with a random net
load (also exporting). Then the rest of the interval is run with the present load plus the
budget, registers exact (Fractions), and the month's value is checked: it did not rise (or did
not leave the target step). The budget is also tight: 2 W more would raise it.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from han.capacity import CapacityRule, CapacityTracker
from han.capacity.peaks import MonthPeaks, Peak

TZ = "Europe/Oslo"
#: 28 March 2025, local midnight: the runs cross the 30 March DST change.
START = datetime(2025, 3, 28, tzinfo=ZoneInfo(TZ)).timestamp()


@st.composite
def rules(draw: st.DrawFn) -> CapacityRule:
    night = draw(st.booleans())
    return CapacityRule(
        key="test",
        interval_minutes=draw(st.sampled_from([15, 60])),
        peaks=draw(st.integers(1, 4)),
        distinct_days=draw(st.booleans()),
        night_hours=(22, 6) if night else None,
        night_weight=0.5 if night else 1.0,
        floor_w=draw(st.sampled_from([0.0, 2500.0])),
        steps=(2000.0, 5000.0, 10000.0, 15000.0),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CapacityRule, CapacityTracker, float, float, float]:
    """A tracker mid-interval: (rule, tracker, now, register now, net power now)."""
    rule = draw(rules())
    length = rule.interval_s
    target = draw(st.none() | st.integers(1, 5))
    tracker = CapacityTracker(rule, TZ, step_target=target, max_power_w=1e9)
    register = Fraction(draw(st.integers(0, 10**9)))
    closed = draw(st.lists(st.integers(0, 20_000 * length // 3600), max_size=3 * 86400 // length))
    t = START
    tracker.feed(t, register)
    for energy in closed:
        t += length
        register += energy
        tracker.feed(t, register)
    elapsed = draw(st.integers(1, length - 1))
    now = t + elapsed
    register += Fraction(draw(st.integers(0, 16_000 * elapsed)), 3600)  # up to 16 kW so far
    net = float(draw(st.integers(-6000, 16_000)))
    tracker.feed(now, register, net)
    return rule, tracker, now, register, net


def finish(tracker: CapacityTracker, now: float, register: Fraction, load: float) -> float:
    """Run to the end of the interval with this net load; the month's value after it."""
    status = tracker.status(now)
    assert status is not None
    end = status.interval_end.timestamp()
    imported = Fraction(max(load, 0.0)) * Fraction(end - now) / 3600
    clone = CapacityTracker.from_dict(tracker.to_dict())
    clone.feed(end, register + imported, load)
    after = clone.status(end)
    assert after is not None
    return after.month_value_w


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_budget_never_raises_the_month_value(scenario) -> None:
    _, tracker, now, register, net = scenario
    status = tracker.status(now)
    assert status is not None
    assert status.budget_w is not None  # every interval counts for these rules
    budget = status.budget_w
    # What the interval already imported may have raised the value whatever comes next.
    unavoidable = max(status.month_value_w, finish(tracker, now, register, 0.0))
    if budget > 0:
        assert finish(tracker, now, register, net + budget) <= unavoidable
    if net + budget + 2 > 0:
        # Tight: 2 W more for the rest of the interval would raise the value.
        assert finish(tracker, now, register, net + budget + 2) > unavoidable


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_step_budget_never_leaves_the_target_step(scenario) -> None:
    _, tracker, now, register, net = scenario
    status = tracker.status(now)
    assert status is not None
    budget = status.step_budget_w
    if status.step_upper_w is None:
        assert budget is None  # the open last step: the step sets no limit
        return
    assert budget is not None
    unavoidable = max(status.step_upper_w, finish(tracker, now, register, 0.0))
    if budget > 0 and not status.step_exceeded:
        assert finish(tracker, now, register, net + budget) <= unavoidable
    if status.step_exceeded:
        assert budget == status.budget_w  # over the target already: do not make it worse


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 4),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 50)), max_size=12),
    st.integers(0, 6),
    st.integers(0, 60),
)
def test_limit_is_the_largest_contribution_within_the_target(n, distinct, items, day, target):
    """MonthPeaks.limit: the value with the limit is <= target; any more and it is above."""
    peaks = MonthPeaks(0, n, distinct=distinct)
    for index, (item_day, value) in enumerate(items):
        peaks.add(Peak(value, value, float(index), item_day))

    def value_with(extra: Fraction) -> Fraction:
        trial = MonthPeaks(0, n, distinct=distinct)
        for p in [*peaks.contributions(), Peak(extra, extra, 99.0, day)]:
            trial.add(p)
        return trial.value()

    limit = peaks.limit(day, target)
    if limit is None:
        assert value_with(Fraction(0)) > target
    else:
        assert limit >= 0
        assert value_with(limit) <= target
        assert value_with(limit + Fraction(1, 1000)) > target
