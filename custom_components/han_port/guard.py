"""The guard that keeps a total (energy, gas, water) from ever going backwards in Home Assistant.

A lower value is never published: a corrupt-but-valid frame, a decoder change or a swapped
meter would otherwise make the Energy dashboard count the whole register again. A rise faster
than any household can consume is held the same way. When the meter keeps reporting such a
value, the sensor raises a repair issue and only the user can accept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime, timedelta

#: A rise is implausible when it is more than this much above ``max_per_hour * hours``.
_SLACK_HOURS = 0.001


class Verdict(StrEnum):
    """What the guard did with a value."""

    ACCEPTED = "accepted"
    LOWER = "lower"
    JUMP = "jump"


@dataclass(slots=True)
class TotalGuard:
    """The last published value of one total, and the run of values held since."""

    max_per_hour: float
    value: float | None = None
    at: datetime | None = None
    #: Values held in a row, and when the first of them came.
    held: int = 0
    held_since: datetime | None = None

    def seed(self, value: float, at: datetime) -> None:
        """Start from a value Home Assistant already has (restored after a restart)."""
        self.value = value
        self.at = at
        self.held = 0
        self.held_since = None

    def check(self, value: float, now: datetime, *, force: bool = False) -> Verdict:
        """Accept ``value`` if it keeps the total monotonic and plausible."""
        last, at = self.value, self.at
        if force or last is None or at is None:
            self.seed(value, now)
            return Verdict.ACCEPTED
        if value < last:
            return self._hold(Verdict.LOWER, now)
        hours = max((now - at).total_seconds(), 1.0) / 3600
        if value - last > self.max_per_hour * (hours + _SLACK_HOURS):
            return self._hold(Verdict.JUMP, now)
        self.seed(value, now)
        return Verdict.ACCEPTED

    def stuck(self, now: datetime, *, readings: int, after: timedelta) -> bool:
        """True once at least ``readings`` values in a row were held for ``after`` or longer."""
        since = self.held_since
        return since is not None and self.held >= readings and now - since >= after

    def _hold(self, verdict: Verdict, now: datetime) -> Verdict:
        self.held += 1
        if self.held_since is None:
            self.held_since = now
        return verdict
