"""Interval accounting: register readings and power samples in, closed intervals per month out.

Feed every frame: ``feed(t, energy_wh, power_w)`` with the frame's time (POSIX seconds, the
meter's clock when the frame has one), the import energy register (Wh; see
``registers.ImportRegister``) and the net import power (W, import minus export), either of
which may be None. Register readings are the truth; power samples only estimate the energy
since the last register reading (Nordic meters send their registers once an hour) and say what
the present load is, for the projection and the budget.

Interval energies are register differences. A boundary between two readings gets the register
value linearly interpolated between them (exact when a reading falls on it): an interval with a
gap inside but readings around it is still exact, and a gap across a boundary splits its energy
in proportion to time (the interval is then "estimated"). A register that goes back, or jumps
further than ``max_power_w`` allows, is held as suspect: if the next reading continues from it,
the register was reset (meter restart or replacement) and the time in between counts as no
energy, so energy is never negative; otherwise it was a glitch and is dropped. Readings not
newer than the last one (a repeated snapshot, as Aidon meters send) are ignored. Readings after
a gap longer than ``max_gap_s`` start afresh: the intervals in the gap get nothing.
"""

from __future__ import annotations

from fractions import Fraction
import math
from typing import TYPE_CHECKING, Any, Final

from . import state
from .clock import IntervalInfo, LocalClock
from .peaks import ESTIMATED, EXACT, PARTIAL, MonthPeaks, Peak
from .rules import CapacityRule
from .status import MonthRecord

if TYPE_CHECKING:
    from datetime import tzinfo

    from .peaks import Exact

STATE_VERSION: Final = 1
_HISTORY: Final = 24
_QUALITY_RANK: Final = {EXACT: 0, ESTIMATED: 1, PARTIAL: 2}
#: A register rising faster than this (W on average) is a glitch, not consumption.
DEFAULT_MAX_POWER_W: Final = 250_000.0
#: Readings further apart than this (s) start afresh: the intervals between get nothing.
DEFAULT_MAX_GAP_S: Final = 31 * 86400.0

type Number = int | float | Fraction


def exact(value: Number) -> Exact:
    """An int or Fraction equal to ``value`` (floats are converted without rounding)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else Fraction(value)
    return value


def _worse(a: str, b: str) -> str:
    return a if _QUALITY_RANK[a] >= _QUALITY_RANK[b] else b


class IntervalAccounting:
    """The input half of a capacity tracker (see ``tracker.CapacityTracker``)."""

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
        """Start empty. ``step_target``: 1-based step to stay within (None: the current one).

        ``zone``: the loaded zone ``tz`` names (see ``LocalClock``).
        """
        self.rule = rule
        self.clock = LocalClock(rule, tz, zone)
        self.step_target = step_target
        self.max_power_w = max_power_w
        self.max_gap_s = max_gap_s
        self.counters: dict[str, int] = {"duplicate": 0, "rejected": 0, "reset": 0, "gap": 0}
        self.history: list[MonthRecord] = []
        self.now: float | None = None
        # Register state (energies are "continuous": raw reading + offset).
        self._t_reg: float | None = None
        self._e_reg: Number = 0
        self._offset: Number = 0
        self._open: IntervalInfo | None = None
        self._open_end = -math.inf
        self._open_from = 0.0  # where the open interval's known energy starts
        self._e_open: Number = 0
        self._open_quality = EXACT
        self._suspect: tuple[float, Number] | None = None
        self._peaks: MonthPeaks | None = None
        self._since: float | None = None  # first reading of the tracked month
        # Power state: ``_acc`` Wh imported (estimated) from ``_t_reg`` to ``_t_pow``.
        self._t_pow: float | None = None
        self._p = 0.0
        self._acc = 0.0
        self._cross: tuple[float, float] | None = None  # (boundary, _acc at it)
        self._pow_end = -math.inf
        self._cache: dict[str, object] = {}
        #: Wh per interval -> average W, exactly.
        self._to_w = Fraction(3600, rule.interval_s)

    # ----------------------------------------------------------------------------------
    # Frames
    # ----------------------------------------------------------------------------------

    def feed(self, t: float, energy_wh: Number | None = None, power_w: float | None = None) -> None:
        """Take one frame's time, import register (Wh) and net import power (W)."""
        if self.now is None or t > self.now:
            self.now = t
        t_reg = self._t_reg
        if (
            energy_wh is not None
            and t_reg is not None
            and t_reg < t < self._open_end
            and self._suspect is None
        ):
            # The common case, inlined: a newer plausible reading inside the open interval.
            e = energy_wh + self._offset
            de = e - self._e_reg
            if de >= 0 and de * 3600 <= self.max_power_w * (t - t_reg):
                t_pow = self._t_pow
                if power_w is not None and (t_pow is None or t > t_pow) and power_w - power_w == 0:
                    # A power sample with the register: nothing to integrate since the reading.
                    self._t_pow = t_pow = t
                    self._p = power_w
                self._t_reg = t
                self._e_reg = e
                if t_pow is None or t_pow <= t:
                    self._acc = 0.0
                    self._cross = None
                    self._pow_end = self._open_end
                else:
                    self._reset_power(t)
                return
        if power_w is not None:
            self._power(t, power_w)
        if energy_wh is not None:
            self._register(t, energy_wh)

    def _power(self, t: float, power_w: float) -> None:
        t_pow = self._t_pow
        if (t_pow is not None and t <= t_pow) or not math.isfinite(power_w):
            return
        if t_pow is not None:
            start = t_pow if self._t_reg is None or t_pow > self._t_reg else self._t_reg
            if t > start:
                rate = max(self._p, 0.0) / 3600.0
                if t >= self._pow_end:
                    boundary = self.clock.start_of(t)
                    if boundary > start:
                        self._cross = (boundary, self._acc + rate * (boundary - start))
                    self._pow_end = boundary + self.clock.length
                self._acc += rate * (t - start)
        self._t_pow = t
        self._p = power_w

    def _reset_power(self, t: float) -> None:
        """A register reading at ``t``: power estimates restart from it."""
        self._cross = None
        self._pow_end = self._open_end
        t_pow = self._t_pow
        if t_pow is None or t_pow <= t:
            self._acc = 0.0
            return
        # Power samples newer than the register reading (its clock lags the receive time).
        rate = max(self._p, 0.0) / 3600.0
        self._acc = rate * (t_pow - t)
        if t_pow >= self._open_end:
            boundary = self.clock.start_of(t_pow)
            self._cross = (boundary, rate * (boundary - t))
            self._pow_end = boundary + self.clock.length

    def _register(self, t: float, raw: Number) -> None:
        if not math.isfinite(raw):
            self.counters["rejected"] += 1
            return
        if self._t_reg is None:
            self._start(t, raw + self._offset)
            return
        if t <= self._t_reg:
            self.counters["duplicate"] += 1
            return
        if t - self._t_reg > self.max_gap_s:
            self.counters["gap"] += 1
            self._suspect = None
            self._offset = self._e_reg - raw
            self._restart(t)
            return
        e = raw + self._offset
        if not self._plausible(self._t_reg, self._e_reg, t, e):
            suspect = self._suspect
            if suspect is None or not self._plausible(*suspect, t, raw):
                self._suspect = (t, raw)
                self.counters["rejected"] += 1
                return
            # The suspect reading was a register reset: no energy up to it.
            self.counters["reset"] += 1
            self._offset = self._e_reg - suspect[1]
            self._advance(suspect[0], self._e_reg)
            e = raw + self._offset
        self._suspect = None
        self._advance(t, e)

    def _plausible(self, t0: float, e0: Number, t1: float, e1: Number) -> bool:
        de = e1 - e0
        return t1 > t0 and de >= 0 and de * 3600 <= self.max_power_w * (t1 - t0)

    def _start(self, t: float, e: Number) -> None:
        """The first reading ever."""
        self._t_reg = t
        self._e_reg = e
        self._open_at(t, e)
        self._reset_power(t)

    def _restart(self, t: float) -> None:
        """Readings resume after a gap too long to spread energy over."""
        self._close(self._e_reg, PARTIAL)
        self._t_reg = t
        self._open_at(t, self._e_reg)
        self._reset_power(t)

    def _open_at(self, t: float, e: Number) -> None:
        """Open the interval holding ``t``, whose energy is known from ``t`` on."""
        info = self.clock.info(self.clock.start_of(t))
        self._open = info
        self._open_end = info.end
        self._open_from = t
        self._e_open = e
        self._open_quality = EXACT if t == info.start else PARTIAL
        if self._peaks is None:
            self._peaks = MonthPeaks(info.month, self.rule.peaks, distinct=self.rule.distinct_days)
            self._since = t
        elif info.month != self._peaks.month:
            self._roll(info.month, since=t)

    def _advance(self, t: float, e: Number) -> None:
        """A plausible reading at ``t`` after the last one: close every interval it ends."""
        t0 = self._t_reg
        e0 = self._e_reg
        assert t0 is not None
        while t >= self._open_end:
            boundary = self._open_end
            if boundary == t:
                e_b: Number = e
                quality = EXACT
            else:
                share = (Fraction(boundary) - Fraction(t0)) / (Fraction(t) - Fraction(t0))
                e_b = exact(e0) + (exact(e) - exact(e0)) * share
                quality = ESTIMATED
            self._close(e_b, quality)
            info = self.clock.info(boundary)
            assert self._peaks is not None
            if info.month != self._peaks.month:
                self._roll(info.month, since=boundary)
            self._open = info
            self._open_end = info.end
            self._open_from = boundary
            self._e_open = e_b
            self._open_quality = quality
        self._t_reg = t
        self._e_reg = e
        self._reset_power(t)

    def _close(self, e_end: Number, quality: str) -> None:
        info = self._open
        peaks = self._peaks
        assert info is not None
        assert peaks is not None
        assert info.month == peaks.month
        if not info.counts:
            return
        energy = exact(e_end) - exact(self._e_open)
        value = energy if info.weight == 1 else energy * info.weight
        if peaks.add(
            Peak(value, energy, info.start, info.day, _worse(self._open_quality, quality))
        ):
            self._changed()

    def _roll(self, month: int, *, since: float) -> None:
        """Close the tracked month and start ``month``."""
        old = self._peaks
        assert old is not None
        start = self.clock.month_start(old.month)
        self.add_history(
            self._record(old, complete=self._since is not None and self._since <= start)
        )
        self._peaks = MonthPeaks(month, self.rule.peaks, distinct=self.rule.distinct_days)
        self._since = since
        self._changed()

    def _record(self, peaks: MonthPeaks, *, complete: bool) -> MonthRecord:
        contributions = peaks.contributions()
        best = max(contributions, key=lambda p: (p.energy, -p.start), default=None)
        return MonthRecord(
            month=peaks.month,
            value_w=max(self.rule.floor_w, float(peaks.value() * self._to_w)),
            peak_w=float(best.energy * self._to_w) if best is not None else 0.0,
            peak_start=best.start if best is not None else None,
            complete=complete,
        )

    def add_history(self, record: MonthRecord) -> None:
        """Store a finished month (replacing the same month), keeping the last 24."""
        kept = [r for r in self.history if r.month != record.month]
        kept.append(record)
        kept.sort(key=lambda r: r.month)
        self.history = kept[-_HISTORY:]
        self._changed()

    def _changed(self) -> None:
        """The month's contributions or the history changed (hook for derived values)."""

    @property
    def month_peaks(self) -> MonthPeaks | None:
        """The tracked month's contributions (read-only use)."""
        return self._peaks

    @property
    def month_since(self) -> float | None:
        """First reading time in the tracked month (its start when tracked from before)."""
        return self._since

    # ----------------------------------------------------------------------------------
    # State
    # ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart, as JSON-safe data."""
        enc = state.enc
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "rule": self.rule.to_dict(),
            "tz": self.clock.tz_name,
            "step_target": self.step_target,
            "max_power_w": self.max_power_w,
            "max_gap_s": self.max_gap_s,
            "now": self.now,
            "counters": dict(self.counters),
            "history": [
                [r.month, r.value_w, r.peak_w, r.peak_start, r.source, r.complete]
                for r in self.history
            ],
            "register": None,
            "suspect": [self._suspect[0], enc(self._suspect[1])] if self._suspect else None,
            "month": None,
            "power": None,
        }
        if self._t_reg is not None and self._open is not None:
            data["register"] = {
                "t": self._t_reg,
                "e": enc(self._e_reg),
                "offset": enc(self._offset),
                "open_start": self._open.start,
                "open_from": self._open_from,
                "e_open": enc(self._e_open),
                "quality": self._open_quality,
            }
        if self._peaks is not None:
            data["month"] = {
                "month": self._peaks.month,
                "since": self._since,
                "peaks": [
                    [enc(p.value), enc(p.energy), p.start, p.day, p.quality]
                    for p in self._peaks.contributions()
                ],
            }
        if self._t_pow is not None:
            data["power"] = {
                "t": self._t_pow,
                "p": self._p,
                "acc": self._acc,
                "cross": list(self._cross) if self._cross else None,
                "end": self._pow_end if math.isfinite(self._pow_end) else None,
            }
        return data

    def _load(self, data: dict[str, Any]) -> None:
        """Set the state from ``to_dict`` output (ValueError when malformed)."""
        self.now = state.opt_real(data.get("now"))
        counters = state.mapping(data.get("counters", {}))
        self.counters.update({k: state.integer(v) for k, v in counters.items()})
        for item in state.sequence(data.get("history", [])):
            month, value_w, peak_w, peak_start, source, complete = state.sequence(item, 6)
            self.history.append(
                MonthRecord(
                    state.integer(month),
                    state.real(value_w),
                    state.real(peak_w),
                    state.opt_real(peak_start),
                    str(source),
                    bool(complete),
                )
            )
        self.history.sort(key=lambda r: r.month)
        if data.get("month") is not None:
            month = state.mapping(data["month"])
            peaks = MonthPeaks(
                state.integer(month["month"]), self.rule.peaks, distinct=self.rule.distinct_days
            )
            for item in state.sequence(month["peaks"]):
                value, energy, start, day, quality = state.sequence(item, 5)
                if quality not in _QUALITY_RANK:
                    msg = f"unknown interval quality {quality!r}"
                    raise ValueError(msg)
                peaks.add(
                    Peak(
                        exact(state.dec(value)),
                        exact(state.dec(energy)),
                        state.real(start),
                        state.integer(day),
                        quality,
                    )
                )
            self._peaks = peaks
            self._since = state.opt_real(month.get("since"))
        if data.get("register") is not None:
            reg = state.mapping(data["register"])
            if self._peaks is None or reg["quality"] not in _QUALITY_RANK:
                msg = "register state without a month, or with an unknown quality"
                raise ValueError(msg)
            self._t_reg = state.real(reg["t"])
            self._e_reg = state.dec(reg["e"])
            self._offset = state.dec(reg["offset"])
            self._open = self.clock.info(state.real(reg["open_start"]))
            self._open_end = self._open.end
            self._open_from = state.real(reg["open_from"])
            self._e_open = state.dec(reg["e_open"])
            self._open_quality = str(reg["quality"])
            self._pow_end = self._open_end
        if data.get("suspect") is not None:
            t, raw = state.sequence(data["suspect"], 2)
            self._suspect = (state.real(t), state.dec(raw))
        if data.get("power") is not None:
            power = state.mapping(data["power"])
            self._t_pow = state.real(power["t"])
            self._p = state.real(power["p"])
            self._acc = state.real(power["acc"])
            if power.get("cross") is not None:
                boundary, acc = state.sequence(power["cross"], 2)
                self._cross = (state.real(boundary), state.real(acc))
            end = state.opt_real(power.get("end"))
            self._pow_end = end if end is not None else -math.inf

    @staticmethod
    def _rule_of(data: dict[str, Any]) -> tuple[CapacityRule, str]:
        """The rule and time zone a state was saved with (ValueError when unusable)."""
        if data.get("version") != STATE_VERSION:
            msg = f"unsupported capacity state version {data.get('version')!r}"
            raise ValueError(msg)
        return CapacityRule.from_dict(state.mapping(data["rule"])), str(data["tz"])
