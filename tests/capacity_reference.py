"""The independent reference the capacity tests check the tracker against (no Home Assistant).

A month of register readings (``Month``) is recomputed in the plainest way: the register value
at each interval boundary (the reading there, else the straight line between the readings
around it), interval energies as differences, then the rule's own words (per-day maxima, the n
largest, their mean, the floor). ``tests/han/test_capacity_month.py`` checks the library's
tracker with it, ``tests/integration/test_capacity.py`` the sensors of the integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
import heapq
from zoneinfo import ZoneInfo

import numpy as np

from han.capacity import CapacityRule


@dataclass
class Month:
    tz: str
    start: int  # POSIX second of local midnight on the 1st
    seconds: np.ndarray  # POSIX seconds with a frame (sorted)
    registers: np.ndarray  # import register (Wh, integer) at those seconds
    power: np.ndarray  # net import power (W) at those seconds
    boundaries_15: int  # sanity: number of quarter hours in the month


def register_at(m: Month, t: int) -> Fraction:
    j = int(np.searchsorted(m.seconds, t))
    if m.seconds[j] == t:
        return Fraction(int(m.registers[j]))
    t0, t1 = int(m.seconds[j - 1]), int(m.seconds[j])
    e0, e1 = int(m.registers[j - 1]), int(m.registers[j])
    return e0 + Fraction(e1 - e0) * Fraction(t - t0, t1 - t0)


def counts(rule: CapacityRule, local: datetime) -> bool:
    if rule.weekdays_only and (local.weekday() >= 5 or local.date() in rule.excluded_dates):
        return False
    if rule.hours is not None:
        return rule.hours[0] <= local.hour < rule.hours[1]
    return True


def weight(rule: CapacityRule, local: datetime) -> Fraction:
    if rule.night_hours is None:
        return Fraction(1)
    start, end = rule.night_hours  # e.g. 22-06, across midnight
    night = local.hour >= start or local.hour < end
    return Fraction(rule.night_weight) if night else Fraction(1)


def reference(m: Month, rule: CapacityRule) -> list[tuple[int, float, list[tuple[int, float]]]]:
    """(interval end, month value in W, peaks as (start, W)) after every interval of the month."""
    tz = ZoneInfo(m.tz)
    length = rule.interval_s
    end = m.start + len(range(m.start, int(m.seconds[-1]) + 1))
    ends = list(range(m.start + length, end + 1, length))
    at = {t: register_at(m, t) for t in [m.start, *ends] if t <= m.seconds[-1]}
    per_day: dict[date, tuple[Fraction, int, Fraction]] = {}
    counted: list[tuple[Fraction, int, Fraction]] = []
    out = []
    to_w = Fraction(3600, length)
    for b in ends:
        if b not in at:
            break
        a = b - length
        energy = at[b] - at[a]
        local = datetime.fromtimestamp(a, tz)
        if counts(rule, local):
            item = (energy * weight(rule, local), a, energy)
            if rule.distinct_days:
                day = local.date()
                if day not in per_day or item[0] > per_day[day][0]:
                    per_day[day] = item
            else:
                counted.append(item)
                counted.sort(key=lambda x: (-x[0], x[1]))  # largest first, earlier on ties
                del counted[rule.peaks :]  # only the n largest can ever count
        pool = list(per_day.values()) if rule.distinct_days else counted
        top = heapq.nsmallest(rule.peaks, pool, key=lambda x: (-x[0], x[1]))
        value = sum(x[0] for x in top) / len(top) if top else Fraction(0)
        month_w = max(rule.floor_w, float(value * to_w))
        out.append((b, month_w, [(x[1], float(x[2] * to_w)) for x in top]))
    return out
