"""Fluvius meters' own capacity registers, compared with what the tracker computed.

Belgian (e-MUCS) meters send 1-0:1.4.0 (current average demand), 1-0:1.6.0 (this month's
peak; the decoder keeps its value, the capture time is passed separately) and 0-0:98.1.0 (the
monthly peaks of up to 13 months, decoded as JSON by ``p1``). A disagreement is a diagnostic,
never an error: the meter's numbers are not what the grid bills either (the bill uses the
grid's validated quarter-hour data).

What is known and what is assumed:
- 98.1.0 entries are (month stamp, peak time, peak): the stamp is local midnight on the first
  day of the month *after* the peak's month (real telegrams: stamp 2023-11-01 with a peak on
  2023-10-16; dsmr_parser test telegrams in ``tests/fixtures/dsmr.jsonl``).
- 1.6.0's and 98.1.0's peak times are quarter-hour aligned in 2023 telegrams; a user reading
  of the spec says they mark the *end* of the quarter (dsmr-reader issue #1807). The e-MUCS
  1.7.1 example telegram (2020) has unaligned times. ASSUMPTION: end of the interval; the
  comparison also accepts the start.
- 1.4.0: one source says it "starts from 0 each quarter-hour and rises to the final value"
  (energy so far over 15 minutes; dsmr_parser issue #138); DLMS demand registers can also
  mean the average so far. Both readings are checked, the note says which one matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
import json
import math
from typing import TYPE_CHECKING, Final

from .clock import month_index
from .registers import number_in
from .status import MonthRecord

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..model import Reading  # noqa: TID252
    from .rules import CapacityRule
    from .status import CapacityStatus
    from .tracker import CapacityTracker

__all__ = ["Check", "compare_fluvius", "meter_history", "month_peak_w"]

CURRENT_DEMAND: Final = "1-0:1.4.0"
MONTH_PEAK: Final = "1-0:1.6.0"
HISTORY: Final = "0-0:98.1.0"
#: Fixed part of the tolerance: a few W of the meter's kW-with-3-decimals rounding plus the
#: tracker's 1 Wh register resolution over a quarter hour (2 Wh = 8 W).
_TOLERANCE_W: Final = 12.0
_REL: Final = 0.005
_EARLY_S: Final = 30.0
#: A monthly peak above this (W, as the meter sends it) is no household's: the entry is skipped.
_MAX_PEAK_W: Final = 1e6


@dataclass(frozen=True, slots=True)
class Check:
    """One register compared: the meter's value, the computed one, agreement, why."""

    register: str
    meter: float | None
    computed: float | None
    ok: bool
    note: str


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance + _REL * max(abs(a), abs(b))


def _power(readings: Mapping[str, Reading], key: str, scale: float = 1.0) -> float | None:
    value = number_in(readings, key, "W")
    return None if value is None else float(value) * scale


def month_peak_w(readings: Mapping[str, Reading], scale: float = 1.0) -> float | None:
    """The meter's own peak of this month (1-0:1.6.0) in W, times the CT ``scale``."""
    value = _power(readings, MONTH_PEAK, scale)
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def meter_history(
    readings: Mapping[str, Reading],
    tz: str | tzinfo,
    rule: CapacityRule,
    *,
    scale: float = 1.0,
) -> list[MonthRecord]:
    """The meter's monthly peaks from 0-0:98.1.0 as history records (empty months skipped).

    Each entry is read on its own: one that does not parse (a stamp that is no time, a
    peak that is no finite number >= 0) is skipped, the others are kept. ``tz``: the zone
    (or its name) the month stamps are local midnights of; a stamp without an offset is taken
    in it. Peaks are multiplied by the CT ``scale``.
    """
    reading = readings.get(HISTORY)
    if reading is None or not isinstance(reading.value, str):
        return []
    try:
        doc = json.loads(reading.value)
        entries = doc["entries"]
    except (ValueError, KeyError, TypeError):
        return []
    if isinstance(tz, str):
        from zoneinfo import ZoneInfo  # noqa: PLC0415 - library callers only

        tz = ZoneInfo(tz)
    records = []
    for entry in entries if isinstance(entries, list) else []:
        record = _history_record(entry, tz, rule, scale)
        if record is not None:
            records.append(record)
    return records


def _history_record(
    entry: object, zone: tzinfo, rule: CapacityRule, scale: float
) -> MonthRecord | None:
    """One 98.1.0 entry (month stamp, peak time, peak W) as a record; None if it is not one."""
    if not isinstance(entry, list) or len(entry) != 3:
        return None
    stamp, peak_time, peak = entry
    if not isinstance(stamp, str) or not isinstance(peak_time, str):
        return None
    if isinstance(peak, bool) or not isinstance(peak, int | float):
        return None
    value = float(peak) * scale
    if not (math.isfinite(value) and 0 <= peak <= _MAX_PEAK_W):
        return None
    try:
        month_stamp = datetime.fromisoformat(stamp)
        at = datetime.fromisoformat(peak_time)
        if month_stamp.tzinfo is None:
            month_stamp = month_stamp.replace(tzinfo=zone)
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        before = month_stamp.astimezone(zone) - timedelta(days=1)
        end = at.timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return MonthRecord(
        month=month_index(before.year, before.month),
        value_w=max(rule.floor_w, value),
        peak_w=value,
        peak_start=end - rule.interval_s,
        source="meter",
    )


def compare_fluvius(
    readings: Mapping[str, Reading],
    tracker: CapacityTracker,
    *,
    at: float | None = None,
    peak_time: datetime | None = None,
    scale: float = 1.0,
) -> list[Check]:
    """Compare the meter's 1.4.0, 1.6.0 (+ its time) and 98.1.0 with the tracker at ``at``.

    The meter's values are multiplied by the CT ``scale`` first (the tracker is fed scaled
    registers).
    """
    checks: list[Check] = []
    status = tracker.status(at)
    if status is None:
        return checks
    length = tracker.clock.length
    demand = _power(readings, CURRENT_DEMAND, scale)
    elapsed = status.time - status.interval_start.timestamp()
    if demand is not None:
        if status.average_w is None or elapsed < _EARLY_S:
            checks.append(Check(CURRENT_DEMAND, demand, None, ok=True, note="too early to tell"))
        else:
            so_far = status.average_w * elapsed / length  # energy so far over the interval
            candidates = (
                ("average so far", status.average_w, 2 * 3600 / elapsed),
                ("energy so far per interval", so_far, 2 * 3600 / length),
            )
            match = next((c for c in candidates if _close(demand, c[1], _TOLERANCE_W + c[2])), None)
            checks.append(
                Check(
                    CURRENT_DEMAND,
                    demand,
                    (match or candidates[0])[1],
                    ok=match is not None,
                    note=f"matches the {match[0]}" if match else "matches neither reading",
                )
            )
    peak = _power(readings, MONTH_PEAK, scale)
    if peak is not None:
        checks.append(_month_peak(tracker, status, peak, peak_time))
    history = {r.month: r for r in tracker.history if r.source == "tracker" and r.complete}
    for record in meter_history(readings, tracker.clock.tz, tracker.rule, scale=scale):
        mine = history.get(record.month)
        if mine is None:
            continue
        ok = _close(record.peak_w, mine.peak_w, _TOLERANCE_W)
        note = f"month {record.month // 12}-{record.month % 12 + 1:02d}"
        checks.append(Check(HISTORY, record.peak_w, mine.peak_w, ok=ok, note=note))
    return checks


def _month_peak(
    tracker: CapacityTracker, status: CapacityStatus, peak: float, peak_time: datetime | None
) -> Check:
    """1.6.0 against the largest interval of the month (closed, or the open one so far)."""
    now = status.time
    length = tracker.clock.length
    peaks = tracker.month_peaks
    best = max(peaks.contributions(), key=lambda p: p.energy, default=None) if peaks else None
    to_w = 3600.0 / length
    closed = float(best.energy * to_w) if best is not None else 0.0
    elapsed = now - status.interval_start.timestamp()
    running = (status.average_w or 0.0) * elapsed / length
    partial = tracker.month_since is not None and tracker.month_since > (
        tracker.clock.month_start(peaks.month) if peaks else now
    )
    if any(_close(peak, c, _TOLERANCE_W) for c in (closed, max(closed, running))):
        ok, note = True, "matches"
    elif partial and max(closed, running) < peak:
        ok, note = True, "the tracker started after this month's peak"
    else:
        ok, note = False, "differs"
    if ok and peak_time is not None and best is not None and note == "matches":
        when = peak_time.timestamp()
        if when == best.start + length:
            note = "matches, time is the interval end"
        elif when == best.start:
            note = "matches, time is the interval start"
        else:
            ok, note = False, "value matches, time differs"
    return Check(MONTH_PEAK, peak, max(closed, running), ok=ok, note=note)
