"""The coordinator's publishing step: each new reading judged once, before the entities see it.

``PublishedValues.update`` runs on the meter's data right before the coordinator's
``async_set_updated_data``; the sensors only read what it leaves in ``MeterData``:

* **Totals never go backwards.** Each total register (a sensor with state class
  ``total_increasing``: energy, gas, water, heat, counts) has a ``TotalGuard`` owned here.
  Its guarded value, in the sensor's unit, is ``MeterData.totals[obis]``. A lower value, or a
  rise faster than ``MAX_POWER`` could cause, is held and counted (``energy_dropped``); held
  ``Timings.total_issue_readings`` times in a row for ``Timings.total_issue_after`` seconds, it
  raises the fixable ``total_held`` repair issue (``repairs``): accepting it lets the total go on
  from the meter's value (``accept``). A value that fits again removes the issue.
* **Numbers are numbers.** A register whose sensor shows a number but whose value is not one
  (text such as ``"nan"`` or ``"1e5"``) is shown as unknown, counted (``not_numbers``) and
  logged once. The library refuses text that carries a unit (``han.plausibility``); this is the
  second line, for any register and any path a value may take.

The floor across restarts. Each total's sensor is a ``RestoreSensor``: Home Assistant keeps the
state it showed, with its unit, and writes it itself (when it stops, and every 15 minutes). When
the sensor is added it hands that value over once (``restore``), the set-up of its guard, as a
constructor argument would be; at run time the sensor only reads. The guard then starts from the
restored value and judges the meter's current reading against it. A copy in the entry's store
was the alternative; it would add a disk write for every changed total (on SD cards) to keep a
number Home Assistant already keeps, and it would be empty on the first start after an update,
when the restored state is the only floor there is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN, SensorStateClass
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import as_number
from .guard import MAX_POWER, TotalGuard, Verdict
from .sensor_descriptions import BASE_UNITS, describe, to_native

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.core import HomeAssistant

    from .const import Timings
    from .data import MeterData
    from .han.model import Reading
    from .health import ReaderHealth
    from .repairs import MeterIssues
    from .sensor_descriptions import HanSensorEntityDescription


@dataclass(slots=True)
class _Total:
    """One total register: its guard, its sensor's description, whether its issue is open."""

    guard: TotalGuard
    description: HanSensorEntityDescription
    issue: bool


class PublishedValues:
    """What one entry's sensors are given: guarded totals, numbers that are numbers."""

    def __init__(
        self,
        hass: HomeAssistant,
        issues: MeterIssues,
        health: ReaderHealth,
        *,
        meter_key: str,
        scale: float,
        timings: Timings,
    ) -> None:
        """Judge the readings of the meter ``meter_key`` (the entities' unique-id prefix)."""
        self._hass = hass
        self._issues = issues
        self._health = health
        self._meter_key = meter_key
        self._scale = scale
        self._issue_readings = timings.total_issue_readings
        self._issue_after = timedelta(seconds=timings.total_issue_after)
        #: Each register's sensor description (None: no sensor), fixed when first seen, as
        #: the sensor's own is.
        self._descriptions: dict[str, HanSensorEntityDescription | None] = {}
        self._totals: dict[str, _Total] = {}
        #: The reading of each register judged last: a reading is judged once, however
        #: often the data is published again.
        self._seen: dict[str, Reading] = {}
        #: Totals whose lower value the user accepted, until a number comes to take.
        self._accepting: set[str] = set()

    def update(self, data: MeterData) -> None:
        """Judge every reading new since the last publish (the coordinator publishes next)."""
        now: datetime | None = None
        seen = self._seen
        for obis, reading in data.readings.items():
            if seen.get(obis) is reading and obis not in self._accepting:
                continue
            seen[obis] = reading
            description = self._description(obis, data)
            if description is None or not description.numeric:
                continue
            number = as_number(reading.value)
            if number is None:
                if reading.value is not None:
                    self._health.not_a_number(obis)
                continue
            if description.state_class is SensorStateClass.TOTAL_INCREASING:
                now = now or dt_util.utcnow()
                value = to_native(number, reading.unit, description, self._scale)
                self._judge(obis, value, data, now)

    def restore(self, obis: str, value: float, at: datetime, data: MeterData) -> None:
        """Start a total from what Home Assistant showed at ``at`` (before a restart or reload).

        The meter's current reading is judged again, against that floor.
        """
        total = self._total(obis, data)
        if total is None:
            return
        total.guard.seed(value, at)
        if total.guard.value is not None:
            data.totals[obis] = total.guard.value
        self._seen.pop(obis, None)
        self.update(data)

    def accept(self, obis: str, data: MeterData) -> None:
        """The user accepted a total's value (repair flow): take the meter's value as it is."""
        self._accepting.add(obis)
        self.update(data)

    def _description(self, obis: str, data: MeterData) -> HanSensorEntityDescription | None:
        if obis in self._descriptions:
            return self._descriptions[obis]
        description = describe(obis, data)[0] if obis in data.readings else None
        self._descriptions[obis] = description
        return description

    def _total(self, obis: str, data: MeterData) -> _Total | None:
        total = self._totals.get(obis)
        if total is not None:
            return total
        description = self._description(obis, data)
        if description is None or description.state_class is not SensorStateClass.TOTAL_INCREASING:
            return None
        # The highest plausible rise per hour, in the sensor's own unit.
        base = BASE_UNITS.get(description.native_unit_of_measurement or "", "Wh")
        max_per_hour = abs(to_native(MAX_POWER, base, description, self._scale))
        total = _Total(
            TotalGuard(max_per_hour=max_per_hour),
            description,
            # An issue raised before a restart or reload is ours to remove when values fit.
            issue=self._issues.total_open(obis),
        )
        self._totals[obis] = total
        return total

    def _judge(self, obis: str, value: float, data: MeterData, now: datetime) -> None:
        total = self._total(obis, data)
        if total is None:  # pragma: no cover - update() judges totals only
            return
        guard = total.guard
        forced = obis in self._accepting
        self._accepting.discard(obis)
        verdict = guard.check(value, now, force=forced)
        if guard.value is not None:
            data.totals[obis] = guard.value
        if verdict is Verdict.ACCEPTED:
            if total.issue:
                total.issue = False
                self._issues.total_follows(obis)
            return
        self._health.counters.energy_dropped += 1
        if not total.issue and guard.stuck(
            now, readings=self._issue_readings, after=self._issue_after
        ):
            self._raise_issue(obis, total, value)

    def _raise_issue(self, obis: str, total: _Total, reported: float) -> None:
        """Ask the user about a total that keeps being held (not for a disabled sensor)."""
        registry = er.async_get(self._hass)
        entity_id = registry.async_get_entity_id(SENSOR_DOMAIN, DOMAIN, f"{self._meter_key}_{obis}")
        entity = registry.async_get(entity_id) if entity_id else None
        if entity is not None and entity.disabled:
            return  # Home Assistant shows nothing of it: nothing to ask
        total.issue = True
        unit = total.description.native_unit_of_measurement or ""
        self._issues.total_held(
            obis,
            entity_id or obis,
            f"{total.guard.value} {unit}".strip(),
            f"{reported} {unit}".strip(),
        )
