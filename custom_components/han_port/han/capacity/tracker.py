"""The capacity tracker: what the grid will bill this month, live, and the power budget.

``CapacityTracker`` adds the output half to ``accounting.IntervalAccounting``: ``status(now)``
gives the current interval's average so far and projected, this month's peaks, the monthly
value and the billed (rolling) value, the step, and the budgets. ``to_dict``/``from_dict``
carry it across restarts (JSON-safe; a restored tracker gives identical results).

The projection and the budgets assume the present net import (the newest power sample, or the
interval's average so far when no fresh one exists) continues to the interval's end.
"""

from __future__ import annotations

from fractions import Fraction
import math
from typing import TYPE_CHECKING, Any, Final

from . import state
from .accounting import IntervalAccounting, exact
from .peaks import ESTIMATED, MonthPeaks, Peak
from .status import CapacityStatus, PeakInfo

if TYPE_CHECKING:
    from datetime import datetime

    from .clock import IntervalInfo

__all__ = ["CapacityTracker"]

#: A power sample older than this no longer says what the load is.
_POWER_FRESH_S: Final = 120.0
#: Budgets are rounded down by this much more, so float rounding can never make them generous.
_MARGIN_W: Final = 1e-3


class CapacityTracker(IntervalAccounting):
    """Track one meter's capacity value for one rule in one time zone."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CapacityTracker:
        """Rebuild a tracker from ``to_dict`` output; ValueError when it is not one.

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
                max_power_w=state.real(data.get("max_power_w", 250_000.0)),
                max_gap_s=state.real(data.get("max_gap_s", 31 * 86400.0)),
            )
            tracker._load(data)
        except (KeyError, TypeError, ZeroDivisionError, LookupError) as err:
            msg = f"not a capacity tracker state: {err!r}"
            raise ValueError(msg) from err
        return tracker

    def status(self, now: float | None = None) -> CapacityStatus | None:
        """The view at ``now`` (default: the newest frame time); None before any reading."""
        if self._open is None or self._peaks is None:
            return None
        if now is None:
            now = self.now if self.now is not None else self._open.start
        clock = self.clock
        rule = self.rule
        info = clock.info(clock.start_of(now))
        remaining = info.end - now
        so_far, estimated, extra = self._so_far(info)
        peaks = self._peaks if info.month == self._peaks.month else self._empty(info.month)
        to_w = 3600.0 / clock.length
        value, month_w = self._value(peaks, extra)
        billed_w, billed_months = self._billed(info.month, month_w)
        step = rule.step_of(month_w) if rule.steps else None
        target = self._target(step)
        upper = rule.step_bounds(target)[1] if target is not None else None

        fresh = self._t_pow is not None and now - self._t_pow <= _POWER_FRESH_S
        net: float | None = self._p if fresh else None
        average = projected = max_average = budget = step_budget = None
        if so_far is not None:
            known_from = self._open_from if info.start == self._open.start else info.start
            elapsed = now - known_from
            average = so_far * 3600.0 / elapsed if elapsed > 0 else None
            if net is None:
                net = average if average is not None else 0.0
            projected = (so_far + max(net, 0.0) * remaining / 3600.0) * to_w
            if info.counts:
                floor = Fraction(rule.floor_w) / Fraction(to_w)
                limit = self._limit(peaks, info, max(floor, value), extra)
                if limit is not None:
                    max_average = limit * to_w
                    budget = self._budget(limit, so_far, net, remaining)
                step_limit = None
                if upper is not None and month_w <= upper:
                    step_limit = self._limit(peaks, info, Fraction(upper) / Fraction(to_w), extra)
                if step_limit is not None:
                    step_budget = self._budget(step_limit, so_far, net, remaining)
                elif upper is not None:
                    step_budget = budget  # already above the target step: do not go higher
        return CapacityStatus(
            time=now,
            interval_start=clock.local(info.start),
            interval_end=clock.local(info.end),
            counts=info.counts,
            average_w=average,
            projected_w=projected,
            estimated=estimated,
            peaks=self._peak_infos(peaks),
            month_value_w=month_w,
            billed_w=billed_w,
            billed_months=billed_months,
            step=step,
            target_step=target,
            step_upper_w=upper,
            max_average_w=max_average,
            budget_w=budget,
            step_budget_w=step_budget,
            step_exceeded=upper is not None and month_w > upper,
        )

    def _value(self, peaks: MonthPeaks, extra: Peak | None) -> tuple[Fraction, float]:
        """The month's value (weighted Wh per interval) and in W with the floor applied."""
        key = f"value:{peaks.month}:{peaks.version}"
        found = self._cache.get(key) if extra is None else None
        if isinstance(found, tuple):
            return found
        value = peaks.with_extra_value(extra) if extra is not None else peaks.value()
        result = (value, max(self.rule.floor_w, float(value * self._to_w)))
        if extra is None:
            self._put(key, result)
        return result

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

    def _limit(
        self, peaks: MonthPeaks, info: IntervalInfo, target: Fraction, extra: Peak | None
    ) -> float | None:
        """Largest energy (Wh, not weighted) this interval may reach with the value <= target."""
        key = f"{peaks.month}:{peaks.version}:{info.start}:{target}"
        if extra is None and key in self._cache:
            cached = self._cache[key]
            return cached if isinstance(cached, float) else None
        best = peaks.limit(info.day, target, extra)
        result = float(best / info.weight) if best is not None else None
        if extra is None:
            self._put(key, result)
        return result

    @staticmethod
    def _budget(limit: float, so_far: float, net: float, remaining: float) -> float:
        """Load (W) that may run on top of ``net`` to the end with the energy <= ``limit``.

        When the energy so far already passed the limit, the rise is unavoidable: the budget
        then keeps the import at zero from now on, so the value rises no further.
        """
        headroom = max(limit - so_far, 0.0)
        return float(math.floor(headroom * 3600.0 / remaining - net - _MARGIN_W))

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
