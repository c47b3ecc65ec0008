"""A stored tracker state rescaled for a new CT scale factor is the state the new factor gives."""

from __future__ import annotations

from fractions import Fraction

import pytest

from han.capacity import FLANDERS, NORWAY, CapacityTracker, MonthRecord
from han.capacity.clock import month_index
from han.capacity.rescale import rescaled

T0 = 1_740_000_000.0 - 1_740_000_000.0 % 3600  # on the hour


def feed(tracker: CapacityTracker, factor: Fraction, *, suspect: bool) -> None:
    """Three hours of hourly registers with power samples between them, times ``factor``."""
    energy = 1_000_000
    for k in range(0, 3 * 3600 + 1, 600):
        power = 1000 + (k * 7) % 2000
        tracker.feed(T0 + k + 5, None, float(power * factor))  # power after the boundary
        if k % 3600 == 0:
            tracker.feed(T0 + k, energy * factor, None)
        energy += power // 6
    if suspect:
        tracker.feed(T0 + 3 * 3600 + 60, 10 * factor, None)  # the register goes back
    # Power samples across the next boundary, no register yet: an estimated crossing.
    tracker.feed(T0 + 3 * 3600 + 3000, None, float(1500 * factor))
    tracker.feed(T0 + 4 * 3600 + 10, None, float(1500 * factor))


@pytest.mark.parametrize("factor", [Fraction(3), Fraction(5, 2), Fraction(1, 10)])
@pytest.mark.parametrize("suspect", [False, True])
@pytest.mark.parametrize("rule", [NORWAY, FLANDERS])
def test_rescaled_state_equals_the_state_fed_scaled(rule, factor: Fraction, suspect: bool) -> None:
    plain = CapacityTracker(rule, "Europe/Oslo")
    feed(plain, Fraction(1), suspect=suspect)
    plain.add_history(MonthRecord(month_index(2025, 1), 2000.0, 1000.0, None))
    scaled = CapacityTracker(rule, "Europe/Oslo")
    feed(scaled, factor, suspect=suspect)
    floor = rule.floor_w
    scaled.add_history(
        MonthRecord(
            month_index(2025, 1),
            max(floor, float((1000.0 if rule.peaks == 1 else 2000.0) * factor)),
            float(1000.0 * factor),
            None,
        )
    )
    state = plain.to_dict()
    assert state["power"]["cross"] is not None
    assert (state["suspect"] is not None) is suspect
    got = CapacityTracker.from_dict(rescaled(state, factor)).to_dict()
    want = scaled.to_dict()
    power, want_power = got.pop("power"), want.pop("power")
    assert got == want  # energies exact
    # Power estimates are floats: equal but for rounding.
    assert power["p"] == pytest.approx(want_power["p"])
    assert power["acc"] == pytest.approx(want_power["acc"])
    assert power["cross"] == pytest.approx(want_power["cross"])


def test_a_state_without_readings_and_an_unreadable_one() -> None:
    empty = CapacityTracker(NORWAY, "Europe/Oslo").to_dict()
    assert rescaled(empty, Fraction(2)) == empty
    with pytest.raises(ValueError, match="not a capacity tracker state"):
        rescaled({"rule": NORWAY.to_dict(), "month": {"no peaks": []}}, Fraction(2))
    with pytest.raises(ValueError, match="expected an object"):
        rescaled([], Fraction(2))  # type: ignore[arg-type]
