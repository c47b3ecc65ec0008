"""The capacity tracker: what the grid will bill this month, live, and the power budget.

``CapacityTracker`` adds the output half to ``accounting.IntervalAccounting``: ``status(now)``
gives the current interval's average so far and projected, this month's peaks, the monthly
value and the billed (rolling) value, the step, and the budgets. ``to_dict``/``from_dict``
carry it across restarts (JSON-safe; a restored tracker gives identical results).

The projection and the budgets assume the present net import (the newest power sample, or the
interval's average so far when no fresh one exists) continues to the interval's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import TYPE_CHECKING, Any, Final

from . import state
from .accounting import DEFAULT_MAX_GAP_S, DEFAULT_MAX_POWER_W, IntervalAccounting, exact
from .peaks import ESTIMATED, MonthPeaks, Peak
from .status import CapacityStatus, PeakInfo

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from .clock import IntervalInfo
    from .rules import CapacityRule

__all__ = ["CapacityTracker"]

#: A power sample older than this no longer says what the load is.
_POWER_FRESH_S: Final = 120.0
#: Budgets are rounded down by this much more, so float rounding can never make them generous.
_MARGIN_W: Final = 1e-3


@dataclass(frozen=True, slots=True)
class _Plan:
    """The part of a status that changes only once an interval."""

    start_t: float
    step_target: int | None
    start: datetime
    end: datetime
    peaks: tuple[PeakInfo, ...]
    month_w: float
    billed_w: float
    billed_months: int
    step: int | None
    target: int | None
    upper: float | None
    limit: float | None  # Wh this interval may reach without raising the value
    step_limit: float | None  # Wh this interval may reach within the target step
    max_average_w: float | None
    exceeded: bool


class CapacityTracker(IntervalAccounting):
    """Track one meter's capacity value for one rule in one time zone."""

    def __init__(
        self,
        rule: CapacityRule,
        tz: str,
        *,
        step_target: int | None = None,
        max_power_w: float = DEFAULT_MAX_POWER_W,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        zone: tzinfo | None = None,
    ) -> None:
        """Start empty. ``step_target``: 1-based step to stay within (None: the current one)."""
        super().__init__(
            rule,
            tz,
            step_target=step_target,
            max_power_w=max_power_w,
            max_gap_s=max_gap_s,
            zone=zone,
        )
        self._to_w_float = float(self._to_w)
        self._floor_e = Fraction(rule.floor_w) / self._to_w
        self._live: IntervalInfo | None = None
        self._plan_cache: _Plan | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], zone: tzinfo | None = None) -> CapacityTracker:
        """Rebuild a tracker from ``to_dict`` output; ValueError when it is not one.

        ``zone``: the loaded zone the state's ``tz`` names, if at hand (see ``LocalClock``).

        The tracker keeps the rule it was saved with: compare ``tracker.rule`` with the
        configured rule and start a new tracker when they differ.
        """
        data = state.mapping(data)
        try:
            rule, tz = cls._rule_of(data)
            step_target = data.get("step_target")
            tracker = cls(
                rule,
                tz,
                step_target=None if step_target is None else state.integer(step_target),
                max_power_w=state.real(data.get("max_power_w", DEFAULT_MAX_POWER_W)),
                max_gap_s=state.real(data.get("max_gap_s", DEFAULT_MAX_GAP_S)),
                zone=zone if zone is not None and str(zone) == tz else None,
            )
            tracker._load(data)
        except (KeyError, TypeError, ZeroDivisionError, LookupError) as err:
            msg = f"not a capacity tracker state: {err!r}"
            raise ValueError(msg) from err
        return tracker

    def status(self, now: float | None = None) -> CapacityStatus | None:
        """The view at ``now`` (default: the newest frame time); None before any reading."""
        opened = self._open
        if opened is None or self._peaks is None:
            return None
        if now is None:
            now = self.now if self.now is not None else opened.start
        info = self._live
        if info is None or not info.start <= now < info.end:
            info = self._live = self.clock.info(self.clock.start_of(now))
        if info.start == opened.start:  # the common case, inlined: registers are fresh
            acc = self._acc
            so_far: float | None = float(self._e_reg - self._e_open) + acc
            estimated = acc > 0
            extra = None
        else:
            so_far, estimated, extra = self._so_far(info)
        plan = self._plan_cache
        if (
            extra is not None
            or plan is None
            or plan.start_t != info.start
            or plan.step_target is not self.step_target
        ):
            plan = self._plan(info, extra)
        remaining = info.end - now
        t_pow = self._t_pow
        fresh = t_pow is not None and now - t_pow <= _POWER_FRESH_S
        net: float | None = self._p if fresh else None
        average = projected = budget = step_budget = None
        if so_far is not None:
            elapsed = now - (self._open_from if info.start == opened.start else info.start)
            average = so_far * 3600.0 / elapsed if elapsed > 0 else None
            if net is None:
                net = average if average is not None else 0.0
            rate = net if net > 0.0 else 0.0  # noqa: FURB136 - max() costs a call per frame
            projected = (so_far + rate * remaining / 3600.0) * self._to_w_float
            # _budget, inlined for the common case (this runs on every frame).
            limit = plan.limit
            if limit is not None:
                headroom = limit - so_far if limit > so_far else 0.0
                budget = float(floor(headroom * 3600.0 / remaining - net - _MARGIN_W))
            if plan.step_limit is not None:
                step_budget = self._budget(plan.step_limit, so_far, net, remaining)
            elif plan.upper is not None and info.counts:
                step_budget = budget  # already above the target step: do not go higher
        return CapacityStatus(
            now,
            plan.start,
            plan.end,
            info.counts,
            average,
            projected,
            estimated,
            plan.peaks,
            plan.month_w,
            plan.billed_w,
            plan.billed_months,
            plan.step,
            plan.target,
            plan.upper,
            plan.max_average_w,
            budget,
            step_budget,
            plan.exceeded,
        )

    def _plan(self, info: IntervalInfo, extra: Peak | None) -> _Plan:
        """Everything in a status that changes only once an interval (cached)."""
        tracked = self._peaks
        assert tracked is not None
        rule = self.rule
        peaks = tracked if info.month == tracked.month else self._empty(info.month)
        value = peaks.with_extra_value(extra)
        to_w = self._to_w
        month_w = max(rule.floor_w, float(value * to_w))
        billed_w, billed_months = self._billed(info.month, month_w)
        step = rule.step_of(month_w) if rule.steps else None
        target = self._target(step)
        upper = rule.step_bounds(target)[1] if target is not None else None
        limit = step_limit = None
        if info.counts:
            limit = self._limit(peaks, info, max(self._floor_e, value), extra)
            if upper is not None and month_w <= upper:
                step_limit = self._limit(peaks, info, Fraction(upper) / to_w, extra)
        plan = _Plan(
            start_t=info.start,
            step_target=self.step_target,
            start=self.clock.local(info.start),
            end=self.clock.local(info.end),
            peaks=self._peak_infos(peaks),
            month_w=month_w,
            billed_w=billed_w,
            billed_months=billed_months,
            step=step,
            target=target,
            upper=upper,
            limit=limit,
            step_limit=step_limit,
            max_average_w=limit * self._to_w_float if limit is not None else None,
            exceeded=upper is not None and month_w > upper,
        )
        if extra is None:
            self._plan_cache = plan
        return plan

    def _changed(self) -> None:
        self._plan_cache = None

    def _so_far(self, info: IntervalInfo) -> tuple[float | None, bool, Peak | None]:
        """(Wh imported in ``info`` so far, estimated?, provisional pending interval)."""
        opened = self._open
        assert opened is not None
        if info.start == opened.start:
            return float(self._e_reg - self._e_open) + self._acc, self._acc > 0, None
        cross = self._cross
        if cross is None or cross[0] != info.start:
            return None, True, None
        extra = None
        if opened.end == info.start and opened.counts and opened.month == info.month:
            energy = exact(self._e_reg - self._e_open) + Fraction(cross[1])
            extra = Peak(energy * opened.weight, energy, opened.start, opened.day, ESTIMATED)
        return self._acc - cross[1], True, extra

    @staticmethod
    def _limit(
        peaks: MonthPeaks, info: IntervalInfo, target: Fraction, extra: Peak | None
    ) -> float | None:
        """Largest energy (Wh, not weighted) this interval may reach with the value <= target."""
        best = peaks.limit(info.day, target, extra)
        return float(best / info.weight) if best is not None else None

    @staticmethod
    def _budget(limit: float, so_far: float, net: float, remaining: float) -> float:
        """Load (W) that may run on top of ``net`` to the end with the energy <= ``limit``.

        When the energy so far already passed the limit, the rise is unavoidable: the budget
        then keeps the import at zero from now on, so the value rises no further.
        """
        headroom = max(limit - so_far, 0.0)
        return float(floor(headroom * 3600.0 / remaining - net - _MARGIN_W))

    def _target(self, step: int | None) -> int | None:
        if step is None:
            return None
        if self.step_target is None:
            return step
        return min(max(self.step_target, 1), len(self.rule.steps) + 1)

    def _billed(self, month: int, month_w: float) -> tuple[float, int]:
        """The billed value: the mean of the known monthly values in the rolling window."""
        rolling = self.rule.rolling_months
        values = [month_w]
        if rolling > 1:
            values += [r.value_w for r in self.history if month - rolling < r.month < month]
            peaks = self._peaks
            if peaks is not None and month - rolling < peaks.month < month:
                values.append(self._record(peaks, complete=False).value_w)
        return sum(values) / len(values), len(values)

    def _empty(self, month: int) -> MonthPeaks:
        found = self._cache.get("empty")
        if isinstance(found, MonthPeaks) and found.month == month:
            return found
        empty = MonthPeaks(month, self.rule.peaks, distinct=self.rule.distinct_days)
        self._put("empty", empty)
        return empty

    def _peak_infos(self, peaks: MonthPeaks) -> tuple[PeakInfo, ...]:
        key = f"peaks:{peaks.month}:{peaks.version}"
        found = self._cache.get(key)
        if isinstance(found, tuple):
            return found
        infos = tuple(
            PeakInfo(
                start=self._dt(p.start),
                end=self._dt(p.start + self.clock.length),
                day=self._dt(p.start).date(),
                average_w=float(p.energy * self._to_w),
                counted_w=float(p.value * self._to_w),
                quality=p.quality,
            )
            for p in peaks.ranked()
        )
        self._put(key, infos)
        return infos

    def _put(self, key: str, value: object) -> None:
        """Remember a derived value (the cache is small: it only spares per-frame work)."""
        if len(self._cache) >= 32:
            self._cache.clear()
        self._cache[key] = value

    def _dt(self, t: float) -> datetime:
        return self.clock.local(t)
