"""Fluvius' own peak of the month (1-0:1.6.0) as the floor of the month's value."""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import HomeAssistant
import pytest

from custom_components.han_port.capacity import EntryCapacity
from custom_components.han_port.han.capacity import FLANDERS, NORWAY
from custom_components.han_port.han.model import Reading

from .capacity_frames import BRUSSELS, local
from .test_capacity_store import message

START = local(BRUSSELS, 2025, 3, 10, 18, 0)


def peak(value_w: float, at: datetime | None) -> Reading:
    return Reading("1-0:1.6.0", value_w, "W", captured=at)


async def fed(
    hass: HomeAssistant, meter: Reading | None, *, rule=FLANDERS, scale: float = 1.0
) -> EntryCapacity:
    """A tracker that saw 3.6 kW from 18:00 to 18:20 (18:00-18:15 closed), the meter's peak."""
    capacity = EntryCapacity(hass, f"p{id(meter)}", rule, scale=scale)
    await capacity.async_load()
    for k in range(0, 20 * 60 + 1, 10):
        capacity.clock = lambda k=k: START + k + 0.4
        extra = {"1-0:1.6.0": meter} if meter is not None else {}
        capacity.feed(message(START + k, 1_000_000 + k, 3600, **extra))
    return capacity


async def test_the_meters_higher_peak_of_this_month_is_the_floor(hass: HomeAssistant) -> None:
    alone = (await fed(hass, None)).status
    assert alone is not None
    assert alone.month_value_w == 3600.0
    when = datetime.fromtimestamp(local(BRUSSELS, 2025, 3, 2, 8, 15), BRUSSELS)
    status = (await fed(hass, peak(5200.0, when))).status
    assert status is not None
    assert status.month_value_w == 5200.0  # the meter saw a quarter the tracker did not
    assert status.billed_w == 5200.0  # one month known: the mean is the month
    assert status.peaks == alone.peaks  # the tracked quarters stay what they were
    assert status.budget_w == alone.budget_w  # still keeps the tracked peak: no rise
    assert status.max_average_w == alone.max_average_w
    # Behind a CT the meter's value is scaled like every other.
    scaled = (await fed(hass, peak(5200.0, when), scale=2)).status
    assert scaled is not None
    assert scaled.month_value_w == 10400.0


@pytest.mark.parametrize(
    ("value_w", "at", "why"),
    [
        (5200.0, local(BRUSSELS, 2025, 3, 1, 0, 0), "last month's (ends at 00:00 on the 1st)"),
        (5200.0, local(BRUSSELS, 2025, 2, 20, 8, 0), "last month's"),
        (5200.0, None, "no time: which month is unknown"),
        (3000.0, local(BRUSSELS, 2025, 3, 2, 8, 15), "lower than the tracked one"),
    ],
)
async def test_a_meter_peak_that_is_not_this_months_or_lower_changes_nothing(
    hass: HomeAssistant, value_w: float, at: float | None, why: str
) -> None:
    when = None if at is None else datetime.fromtimestamp(at, BRUSSELS)
    status = (await fed(hass, peak(value_w, when))).status
    assert status is not None
    assert status.month_value_w == 3600.0, why


async def test_only_under_flanders_rule(hass: HomeAssistant) -> None:
    when = datetime.fromtimestamp(local(BRUSSELS, 2025, 3, 2, 8, 15), BRUSSELS)
    status = (await fed(hass, peak(9000.0, when), rule=NORWAY)).status
    assert status is not None
    assert status.month_value_w < 9000.0
