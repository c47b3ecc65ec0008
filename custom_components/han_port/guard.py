"""The guard that keeps a total (energy, gas, water) from ever going backwards in Home Assistant.

A lower value is never published: a corrupt-but-valid frame, a decoder change or a swapped
meter would otherwise make the Energy dashboard count the whole register again. A jump
faster than any household can consume is dropped the same way. When the meter keeps
reporting a lower value, the sensor raises a repair issue and only the user can accept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

#: A rise is implausible when it is more than this much above ``max_per_hour * hours``.
_SLACK_HOURS = 0.001


class Verdict(StrEnum):
    """What the guard did with a value."""

    ACCEPTED = "accepted"
    LOWER = "lower"
    JUMP = "jump"


@dataclass(slots=True)
class TotalGuard:
    """The last published value of one total, and how many lower values came since."""

    max_per_hour: float
    value: float | None = None
    at: datetime | None = None
    lower: int = 0

    def seed(self, value: float, at: datetime) -> None:
        """Start from a value Home Assistant already has (restored after a restart)."""
        self.value = value
        self.at = at
        self.lower = 0

    def check(self, value: float, now: datetime, *, force: bool = False) -> Verdict:
        """Accept ``value`` if it keeps the total monotonic and plausible."""
        last, at = self.value, self.at
        if force or last is None or at is None:
            self.seed(value, now)
            return Verdict.ACCEPTED
        if value < last:
            self.lower += 1
            return Verdict.LOWER
        hours = max((now - at).total_seconds(), 1.0) / 3600
        if value - last > self.max_per_hour * (hours + _SLACK_HOURS):
            return Verdict.JUMP
        self.seed(value, now)
        return Verdict.ACCEPTED
