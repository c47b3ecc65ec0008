"""The capacity tariff of one entry at run time: the library's tracker, fed every frame, stored.

The coordinator hands every accepted message to ``EntryCapacity.feed``: the import register
(``ImportRegister``) and the net import power go into the tracker with the frame's time. That
is all most frames cost. The sensors show a new status (``shown_at`` moves on) at every
interval end and otherwise once a minute (``LIVE_INTERVAL`` seconds of the frames' time); only
then is the status (interval average, projection, peaks, month value, budgets) computed, once,
when the first sensor asks for it (``status``), and only sensors whose value changed write a
state. Measured through the coordinator (tests/integration/test_capacity_cpu.py): updated with
every frame, the live values (they change with every frame) cost a quarter more CPU per frame
and three rows a second in the recorder's database; every 10 s, still 24 % more for a meter
that pushes every 10 s; once a minute, 1-4 % for a 1-s meter and 4-9 % for a 10-s meter. A
charger's automation needs no faster budget: a late reaction is made up for by the next
budget, which spreads what is left over the rest of the interval.

Which clock. A register reading is fed at the meter's own time when the frame carries one and
it is within ``MAX_SKEW_S`` of Home Assistant's clock, else at the time Home Assistant received
the frame. The grid bills the meter's own interval values: Nordic meters send their registers
once an hour, stamped on the hour by their clock but received seconds later; at the meter's
time the reading falls on the interval boundary and the interval's energy is exactly the
register difference the bill uses, at the receive time it would be interpolated over the
hour. A meter time far from Home Assistant's is a clock that is not set (a meter after a power
cut, a year-2000 clock) or a time read in the wrong zone: the receive time is then the better
guess. Times without a zone (DLMS clocks with an unspecified deviation, as Kaifa's) are local
time in the rule's country; in the repeated autumn hour the one closer to the receive time is
taken. Diagnostics count how many frames took which clock.

The tracker's state is stored in the entry's own store (``han_port.<entry id>.capacity``):
after every interval end (once a quarter hour or an hour, delayed a little), when the entry
unloads and when Home Assistant stops; never once per frame. Register readings are totals, so
a state from the last interval end loses nothing: the first reading after a restart closes
the open interval from its stored start. A stored state whose rule counts intervals
differently from the configured one (another number of peaks, other hours) is not used; one
that differs only in price steps, prices or the step to keep is.

Fluvius meters (Belgium) also say what they computed: the current quarter's demand
(1-0:1.4.0), this month's peak with its time (1-0:1.6.0) and the monthly peaks of up to 13
months (0-0:98.1.0). The history fills the months the tracker did not see (the rolling
12-month mean needs them); all three are compared with the tracker once an interval, halfway
through, and disagreements are counted and kept for diagnostics: they are not errors (the bill
uses the grid's validated data, not the meter's registers). The month's peak (1.6.0) is also the
floor of the month's value shown (``status``).

The CT scale factor of the options multiplies the register and the power before the tracker
sees them, as it does for the meter's sensors; a state stored at another factor is rescaled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from fractions import Fraction
import math
from pathlib import Path
import time
import traceback
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .capacity_rules import rule_from_options, step_target, zone
from .const import DEFAULT_SCALE, DOMAIN, LOGGER
from .han.capacity import (
    FLANDERS,
    CapacityRule,
    CapacityTracker,
    ImportRegister,
    compare_fluvius,
    meter_history,
    net_power_w,
)
from .han.capacity.accounting import DEFAULT_MAX_POWER_W
from .han.capacity.clock import month_index
from .han.capacity.fluvius import CURRENT_DEMAND, HISTORY, MONTH_PEAK, month_peak_w
from .han.capacity.rescale import rescaled

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime, tzinfo

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import Event, HomeAssistant

    from .han.capacity import CapacityStatus, Check
    from .han.model import Message, Reading

STORE_VERSION: Final = 1
#: Seconds between an interval end and the write of the state.
SAVE_DELAY: Final = 30.0
#: A meter time further than this from Home Assistant's clock is not used (seconds).
MAX_SKEW_S: Final = 300.0
#: Seconds (of the frames' time) between two updates of the live sensors within an interval.
LIVE_INTERVAL: Final = 60.0
#: Fluvius disagreements remembered for diagnostics.
FLUVIUS_KEEP: Final = 10
_FLUVIUS: Final = (CURRENT_DEMAND, MONTH_PEAK, HISTORY)
_HALF_HOUR: Final = 1800.0


def store_key(entry_id: str) -> str:
    """The storage key of an entry's capacity state (a file under ``.storage``)."""
    return f"{DOMAIN}.{entry_id}.capacity"


class FluviusLog:
    """How often the meter's own capacity registers agreed with the tracker, and the last misses."""

    def __init__(self) -> None:
        """Nothing compared yet."""
        self.counts: dict[str, dict[str, int]] = {}
        self.mismatches: deque[dict[str, Any]] = deque(maxlen=FLUVIUS_KEEP)

    def add(self, checks: list[Check], at: datetime) -> None:
        """Count one comparison; keep the registers that disagreed."""
        for check in checks:
            counts = self.counts.setdefault(check.register, {"agree": 0, "differ": 0})
            counts["agree" if check.ok else "differ"] += 1
            if not check.ok:
                self.mismatches.append({"at": at.isoformat(), **asdict(check)})


class EntryCapacity:
    """One entry's capacity tracker: fed per frame, status per publish, state in a store."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        rule: CapacityRule,
        target: int | None = None,
        *,
        scale: float = DEFAULT_SCALE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Track ``rule`` (in its country's zone) for ``entry_id``; ``async_load`` next.

        ``scale``: the CT scale factor the register and the power are multiplied by (as the
        meter's sensors are). The tracker is built by ``async_load``, which reads the time
        zone off the event loop.
        """
        self.rule = rule
        self.tz = zone(rule)
        self.step_target = target
        self.scale = scale
        #: What readings are multiplied by (an int when whole: exact energies stay ints).
        self._factor: float = int(scale) if scale.is_integer() else scale
        self._max_power_w = DEFAULT_MAX_POWER_W * max(scale, 1.0)
        self._tracker: CapacityTracker | None = None
        #: Home Assistant's clock (POSIX seconds): when a frame was received.
        self.clock = clock
        #: Frames fed since the entry started (live values need one).
        self.frames = 0
        #: Frames by the clock they were fed at.
        self.clocks = {"meter": 0, "received": 0, "meter_skewed": 0}
        #: The frame time of the status the sensors should show (None: the restored one).
        self.shown_at: float | None = None
        #: The same, for the month's values (peaks, value, step): moved on at interval ends and
        #: by the first register reading of an interval (Nordic meters send theirs after it).
        self.month_shown_at: float | None = None
        #: What happened to the stored state at start.
        self.restored = "nothing stored"
        self.fluvius = FluviusLog()
        #: Frames whose capacity accounting failed (a bug: ``failed``), and where the last did.
        self.failures = 0
        self.last_failure: str | None = None
        self._zone: tzinfo | None = None
        self._register = ImportRegister()
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, store_key(entry_id))
        self._status: CapacityStatus | None = None
        self._fresh = False
        self._dirty = False
        self._next_end = -math.inf
        self._register_end = -math.inf
        self._check_at = math.inf
        self._history_seen: Reading | None = None
        #: The meter's own peak of the month (Fluvius' 1-0:1.6.0), the newest one received.
        self._meter_peak: Reading | None = None
        #: Fluvius' registers are compared only under Flanders' rule (whose they are).
        self._fluvius = rule.key == FLANDERS.key

    @classmethod
    def from_entry(
        cls, hass: HomeAssistant, entry: ConfigEntry[Any], scale: float
    ) -> EntryCapacity | None:
        """The entry's tracker, or None when its capacity tariff is off.

        ``scale``: the entry's CT scale factor (the coordinator's), applied to what it is fed.
        """
        rule = rule_from_options(entry.options)
        if rule is None:
            return None
        capacity = cls(hass, entry.entry_id, rule, step_target(entry.options, rule), scale=scale)
        entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, capacity._on_stop))
        return capacity

    # ------------------------------------------------------------------ state

    @property
    def tracker(self) -> CapacityTracker:
        """The library's tracker (RuntimeError before ``async_load``)."""
        tracker = self._tracker
        if tracker is None:
            msg = "EntryCapacity.async_load() was not awaited"
            raise RuntimeError(msg)
        return tracker

    async def async_load(self) -> None:
        """Load the zone, then continue from the stored state if kept for an equivalent rule.

        A state kept at another CT scale factor is rescaled (``rescale``: every energy and
        power times new/old), so the next reading continues it without a jump. States written
        before the scale was applied hold unscaled readings: their scale is 1.
        """
        found = await dt_util.async_get_time_zone(self.tz)
        if found is None:  # pragma: no cover - the zones are fixed; tzdata is a dependency
            msg = f"time zone {self.tz} not found"
            raise ValueError(msg)
        self._zone = found
        self._tracker = self._fresh_tracker()
        data = await self._store.async_load()
        state = data.get("tracker") if isinstance(data, dict) else None
        if state is None:
            return
        assert isinstance(data, dict)
        restored = "restored"
        try:
            saved = CapacityRule.from_dict(state["rule"])
            if saved.accounting() != self.rule.accounting() or state.get("tz") != self.tz:
                self.restored = "rule changed: started afresh"
                LOGGER.info("Capacity rule changed: the stored month is not used")
                return
            old = data.get("scale", 1.0)
            if isinstance(old, bool) or not isinstance(old, int | float) or not old > 0:
                msg = f"not a scale factor: {old!r}"
                raise ValueError(msg)  # noqa: TRY301 - every unusable state alike
            if old != self.scale:
                state = rescaled(state, Fraction(repr(self.scale)) / Fraction(repr(float(old))))
                restored = "restored at another CT scale factor: rescaled"
                LOGGER.info("CT scale factor changed: the stored capacity state is rescaled")
            state = {**state, "rule": self.rule.to_dict(), "step_target": self.step_target}
            tracker = CapacityTracker.from_dict(state, self._zone)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            self.restored = "unreadable: started afresh"
            LOGGER.warning("The stored capacity state cannot be read (%s): starting afresh", err)
            return
        tracker.max_power_w = self._max_power_w
        self._tracker = tracker
        self.restored = restored

    def _fresh_tracker(self) -> CapacityTracker:
        return CapacityTracker(
            self.rule,
            self.tz,
            step_target=self.step_target,
            max_power_w=self._max_power_w,
            zone=self._zone,
        )

    def _data(self) -> dict[str, Any]:
        self._dirty = False
        return {"tracker": self.tracker.to_dict(), "scale": self.scale}

    async def async_flush(self) -> None:
        """Write the state now if frames came since the last write (the entry unloads)."""
        if self._dirty:
            await self._store.async_save(self._data())

    @callback
    def _on_stop(self, _event: Event) -> None:
        """Home Assistant stops: write the state with its final writes."""
        if self._dirty:
            self._store.async_delay_save(self._data)

    # ------------------------------------------------------------------ frames

    @callback
    def feed(self, message: Message) -> None:
        """Take one accepted message (this runs for every frame: keep it cheap)."""
        readings = message.readings
        energy = self._register.energy_wh(readings)
        power = net_power_w(readings)
        if energy is None and power is None:
            return
        factor = self._factor
        if factor != 1:  # the CT scale factor, as the meter's sensors have it
            if energy is not None:
                energy *= factor
            if power is not None:
                power *= factor
        t = self._time(message.timestamp, self.clock())
        self.tracker.feed(t, energy, power)
        if self._fluvius:
            peak = readings.get(MONTH_PEAK)
            if peak is not None:
                self._meter_peak = peak
        self.frames += 1
        self._fresh = False
        self._dirty = True
        if t >= self._next_end:
            self._interval_started(t, readings)
            self.shown_at = self.month_shown_at = t
            if energy is not None:
                self._register_end = self._next_end
            return
        if energy is not None and t >= self._register_end:
            # The interval's first register reading closes the last one exactly.
            self._register_end = self._next_end
            self.shown_at = self.month_shown_at = t
            return
        if t >= self._check_at:
            self._check(t, readings)
        shown = self.shown_at
        if shown is None or t - shown >= LIVE_INTERVAL:
            self.shown_at = t

    def _time(self, stamp: datetime | None, received: float) -> float:
        """The time to feed a frame at (see the module's note on clocks)."""
        if stamp is None:
            self.clocks["received"] += 1
            return received
        if stamp.tzinfo is None:
            zone = self.tracker.clock.tz
            t = stamp.replace(tzinfo=zone).timestamp()
            if abs(t - received) >= _HALF_HOUR:
                # The other reading of an hour that repeats (DST ends) lies an hour away: only
                # when this one is half an hour off or more can that one be nearer.
                later = stamp.replace(tzinfo=zone, fold=1).timestamp()
                if abs(later - received) < abs(t - received):
                    t = later
        else:
            t = stamp.timestamp()
        if abs(t - received) <= MAX_SKEW_S:
            self.clocks["meter"] += 1
            return t
        self.clocks["meter_skewed"] += 1
        return received

    def _interval_started(self, t: float, readings: Mapping[str, Reading]) -> None:
        """The first frame of an interval: the last one ended, store the state."""
        first = self._next_end == -math.inf
        length = self.tracker.clock.length
        start = self.tracker.clock.start_of(t)
        self._next_end = start + length
        if self._fluvius:
            self._check_at = start + length / 2
        if self.rule.rolling_months > 1:
            self._seed_history(readings)
        if not first:
            self._store.async_delay_save(self._data, SAVE_DELAY)

    def _seed_history(self, readings: Mapping[str, Reading]) -> None:
        """Months the tracker did not see (or saw in part), from the meter's 0-0:98.1.0."""
        reading = readings.get(HISTORY)
        if reading is None or reading is self._history_seen:
            return
        self._history_seen = reading
        tracker = self.tracker
        known = {record.month: record for record in tracker.history}
        for record in meter_history(readings, tracker.clock.tz, self.rule, scale=self.scale):
            mine = known.get(record.month)
            if mine is None or (mine.source != "meter" and not mine.complete):
                tracker.add_history(record)
                self._fresh = False

    def _check(self, t: float, readings: Mapping[str, Reading]) -> None:
        """Halfway through a quarter hour: compare a Fluvius meter's own registers."""
        self._check_at = math.inf
        if not any(key in readings for key in _FLUVIUS):
            return
        peak = readings.get(MONTH_PEAK)
        checks = compare_fluvius(
            readings,
            self.tracker,
            at=t,
            peak_time=peak.captured if peak is not None else None,
            scale=self.scale,
        )
        self.fluvius.add(checks, self.tracker.clock.local(t))

    # ------------------------------------------------------------------ what sensors read

    @property
    def live(self) -> bool:
        """A frame arrived since the entry started: the interval's values are current."""
        return self.frames > 0

    @property
    def status(self) -> CapacityStatus | None:
        """The tracker's view at the newest frame (computed once per change, on demand).

        Under Flanders' rule the month's value is at least the meter's own peak of the month
        (1-0:1.6.0) when that peak lies in the status' month: the meter saw the whole month,
        the tracker perhaps not (it started late, or was off for a while). The budgets stay
        the tracker's: they keep the tracked peak, at most the meter's, from rising, so they
        keep the month's value too.
        """
        if not self._fresh:
            status = self.tracker.status()
            if status is not None and self._meter_peak is not None:
                status = self._with_meter_peak(status, self._meter_peak)
            self._status = status
            self._fresh = True
        return self._status

    def _with_meter_peak(self, status: CapacityStatus, reading: Reading) -> CapacityStatus:
        """``status`` with the meter's peak of the month as the floor of the month's value."""
        meter = month_peak_w({MONTH_PEAK: reading}, self.scale)
        captured = reading.captured
        if meter is None or captured is None or meter <= status.month_value_w:
            return status
        # ASSUMPTION (fluvius.py): the peak's time is its quarter hour's end; half a quarter
        # earlier is inside the quarter whichever end it marks (but for the month's first).
        local = self.tracker.clock.local(captured.timestamp() - self.tracker.clock.length / 2)
        start = status.interval_start
        if month_index(local.year, local.month) != month_index(start.year, start.month):
            return status
        months = status.billed_months
        billed = status.billed_w + (meter - status.month_value_w) / months
        step = self.rule.step_of(meter) if self.rule.steps else status.step
        return status._replace(month_value_w=meter, billed_w=billed, step=step)

    @callback
    def failed(self, err: Exception) -> None:
        """A frame's capacity accounting raised (a bug): count it, log the first one.

        The log names the exception's type and where it was raised, never its message (which
        could hold a value of the frame).
        """
        self.failures += 1
        frames = traceback.extract_tb(err.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        self.last_failure = f"{type(err).__name__} at {where}"
        if self.failures == 1:
            LOGGER.error(
                "The capacity tariff could not take a frame (%s); the meter's readings go on. "
                "Please report this with the diagnostics",
                self.last_failure,
            )

    def diagnostics(self, readings: Mapping[str, Reading]) -> dict[str, Any]:
        """The rule, the clocks used, the status, the history, and the Fluvius comparison."""
        tracker = self.tracker
        status = self.status
        data: dict[str, Any] = {
            "rule": self.rule.to_dict(),
            "time_zone": self.tz,
            "step_target": self.step_target,
            "stored_state": self.restored,
            "frames": self.frames,
            "scale": self.scale,
            "failures": self.failures,
            "last_failure": self.last_failure,
            "clock": dict(self.clocks),
            "import_registers": list(self._register.keys or ()),
            "tracker": dict(tracker.counters),
            "status": _status_dict(status) if status is not None else None,
            "history": [asdict(record) for record in tracker.history],
        }
        if self._fluvius:
            peak = readings.get(MONTH_PEAK)
            now = compare_fluvius(
                readings,
                tracker,
                peak_time=peak.captured if peak is not None else None,
                scale=self.scale,
            )
            data["fluvius"] = {
                "now": [asdict(check) for check in now],
                "counts": self.fluvius.counts,
                "mismatches": list(self.fluvius.mismatches),
            }
        return data


def _status_dict(status: CapacityStatus) -> dict[str, Any]:
    data = status._asdict()
    data["interval_start"] = status.interval_start.isoformat()
    data["interval_end"] = status.interval_end.isoformat()
    data["peaks"] = [
        {
            **asdict(peak),
            "start": peak.start.isoformat(),
            "end": peak.end.isoformat(),
            "day": peak.day.isoformat(),
        }
        for peak in status.peaks
    ]
    return data


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored capacity state (the entry is being removed)."""
    await Store[dict[str, Any]](hass, STORE_VERSION, store_key(entry_id)).async_remove()
