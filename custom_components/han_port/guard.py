"""The guard that keeps a total (energy, gas, water) from ever going backwards in Home Assistant.

A lower value is never published: a corrupt-but-valid frame, a decoder change or a swapped
meter would otherwise make the Energy dashboard count the whole register again. A rise faster
than any household can consume (``MAX_POWER``, the library's bound) is held the same way.
When the meter keeps reporting such a value, a repair issue lets the user accept it
(``published``, which runs one guard per total for the coordinator).

Numbers are bounded by the library's gate (``han.plausibility``: every decoded number is
finite and at most ``MAX_MAGNITUDE``), the one gate for what the meter sends. The guard checks
them once more because its values also come from elsewhere: the state Home Assistant restored
after a restart, and the CT scale factor applied to the meter's value. ``NaN < last`` is
false, so without that check a NaN would slip through every comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import TYPE_CHECKING

from .data import as_number
from .han.plausibility import MAX_MAGNITUDE, MAX_POWER

if TYPE_CHECKING:
    from datetime import datetime, timedelta

__all__ = ["MAX_MAGNITUDE", "MAX_POWER", "TotalGuard", "Verdict", "sane_number"]

#: A rise is implausible when it is more than this much above ``max_per_hour * hours``.
_SLACK_HOURS = 0.001


def sane_number(value: object) -> bool:
    """True for an int or float that is finite and at most ``MAX_MAGNITUDE`` in size.

    The library's bound (``han.plausibility``), so the guard never drops what the gate let
    through. Anything else (bool, text, None) is not a number and is not judged here: True.
    """
    number = as_number(value)
    if number is None:
        return True
    if isinstance(number, float) and not math.isfinite(number):
        return False
    return -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE


class Verdict(StrEnum):
    """What the guard did with a value."""

    ACCEPTED = "accepted"
    LOWER = "lower"
    JUMP = "jump"
    #: Not a finite number of a sane size: dropped, never held for the user to accept.
    INVALID = "invalid"


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
        if not sane_number(value):
            return
        self.value = value
        self.at = at
        self.held = 0
        self.held_since = None

    def check(self, value: float, now: datetime, *, force: bool = False) -> Verdict:
        """Accept ``value`` if it keeps the total monotonic and plausible."""
        if not sane_number(value):
            return Verdict.INVALID
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
