"""Capacity tariff sensors: what the grid will bill for this month's peaks, and the budget.

Created per meter when the entry has a capacity rule (``capacity``); all are power sensors
with state class ``measurement`` (long-term statistics: mean, min and max per hour), in kW
except the budgets (W, what a charger's automation compares with power). What they say:

- interval average: the current interval's import so far, as average power (live);
- projected: the interval's average at its end if the present net import continues (live);
- peak 1..N: the intervals that make this month's value (as the rule counts them), largest
  first; start, end, measured average and how exactly it is known as attributes; the largest
  one's start also as a timestamp sensor;
- month value: the capacity value of the month so far (the rule's floor applied);
- billed value: Flanders only, the rolling 12-month mean the bill uses;
- step (and step budget): rules with price steps (Norway);
- budget: the import power (W) that can be added for the rest of the interval without raising
  the month's value; the step budget: without leaving the target step (live). Unknown outside
  the rule's hours or days: the rule sets no limit then, and the attribute ``counts`` is false
  (only then: unknown with ``counts`` true or missing means the budget is not known).

Live values are unknown until the first frame after a start (the month's values are restored
at once). The sensors take a new status at every interval end and otherwise at most every
``capacity.LIVE_INTERVAL`` seconds (``EntryCapacity.shown_at``); one coordinator listener
updates them all (``CapacitySensors``), and a sensor writes its state only when its value,
attributes or availability changed: the month's values change a few times a month, not with
every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfPower
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er

from .device import meter_device_info
from .han.capacity import CapacityRule
from .han.capacity.rules import MAX_PEAKS

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.helpers.typing import StateType

    from .capacity import EntryCapacity
    from .coordinator import HanPortCoordinator
    from .han.capacity import CapacityStatus


@dataclass(frozen=True, kw_only=True)
class HanCapacitySensorEntityDescription(SensorEntityDescription):
    """A capacity sensor: its value and attributes from the tracker's status."""

    value_fn: Callable[[CapacityStatus], StateType | datetime]
    attr_fn: Callable[[CapacityStatus, CapacityRule], dict[str, Any]] | None = None
    #: A value of the current interval: unknown until a frame arrived since the start.
    live: bool = False


def _kw(value_w: float | None) -> float | None:
    return None if value_w is None else round(value_w / 1000, 3)


def _w(value_w: float | None) -> int | None:
    return None if value_w is None else int(value_w)


def _interval(status: CapacityStatus, _rule: CapacityRule) -> dict[str, Any]:
    return {
        "interval_start": status.interval_start.isoformat(),
        "interval_end": status.interval_end.isoformat(),
        "counts": status.counts,
        "estimated": status.estimated,
    }


def _budget(status: CapacityStatus, _rule: CapacityRule) -> dict[str, Any]:
    return {
        "counts": status.counts,
        "interval_end": status.interval_end.isoformat(),
        "max_average": _kw(status.max_average_w),
    }


def _step_budget(status: CapacityStatus, _rule: CapacityRule) -> dict[str, Any]:
    return {
        "counts": status.counts,
        "interval_end": status.interval_end.isoformat(),
        "target_step": status.target_step,
        "target_upper": _kw(status.step_upper_w),
        "step_exceeded": status.step_exceeded,
    }


def _step(status: CapacityStatus, rule: CapacityRule) -> dict[str, Any]:
    assert status.step is not None  # the step sensor exists only for rules with steps
    lower, upper = rule.step_bounds(status.step)
    return {
        "lower": _kw(lower),
        "upper": _kw(upper),
        "price": rule.step_price(status.step),
        "currency": rule.currency,
    }


def _billed(status: CapacityStatus, _rule: CapacityRule) -> dict[str, Any]:
    return {"months": status.billed_months}


def _power(
    key: str,
    value_fn: Callable[[CapacityStatus], StateType | datetime],
    attr_fn: Callable[[CapacityStatus, CapacityRule], dict[str, Any]] | None = None,
    *,
    watts: bool = False,
    live: bool = False,
    rank: int | None = None,
) -> HanCapacitySensorEntityDescription:
    """A power sensor in kW (or W, for the budgets) with long-term statistics."""
    return HanCapacitySensorEntityDescription(
        key=key if rank is None else f"{key}_{rank}",
        translation_key=key,
        translation_placeholders=None if rank is None else {"rank": str(rank)},
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT if watts else UnitOfPower.KILO_WATT,
        suggested_display_precision=0 if watts else 2,
        value_fn=value_fn,
        attr_fn=attr_fn,
        live=live,
    )


def _peak(rank: int) -> HanCapacitySensorEntityDescription:
    index = rank - 1

    def value(status: CapacityStatus) -> float | None:
        peaks = status.peaks
        return _kw(peaks[index].counted_w) if len(peaks) > index else None

    def attributes(status: CapacityStatus, _rule: CapacityRule) -> dict[str, Any]:
        if len(status.peaks) <= index:
            return {}
        peak = status.peaks[index]
        return {
            "start": peak.start.isoformat(),
            "end": peak.end.isoformat(),
            "average": _kw(peak.average_w),
            "quality": peak.quality,
        }

    return _power("capacity_peak", value, attributes, rank=rank)


def _peak_start(status: CapacityStatus) -> datetime | None:
    return status.peaks[0].start if status.peaks else None


def descriptions(rule: CapacityRule) -> list[HanCapacitySensorEntityDescription]:
    """The capacity sensors of a rule (peaks per rank, steps and billed value if it has them)."""
    found = [
        _power("capacity_average", lambda s: _kw(s.average_w), _interval, live=True),
        _power("capacity_projected", lambda s: _kw(s.projected_w), live=True),
        *(_peak(rank) for rank in range(1, rule.peaks + 1)),
        HanCapacitySensorEntityDescription(
            key="capacity_peak_start",
            translation_key="capacity_peak_start",
            device_class=SensorDeviceClass.TIMESTAMP,
            value_fn=_peak_start,
        ),
        _power("capacity_month", lambda s: _kw(s.month_value_w)),
        _power("capacity_budget", lambda s: _w(s.budget_w), _budget, watts=True, live=True),
    ]
    if rule.rolling_months > 1:
        found.append(_power("capacity_billed", lambda s: _kw(s.billed_w), _billed))
    if rule.steps:
        found += [
            HanCapacitySensorEntityDescription(
                key="capacity_step",
                translation_key="capacity_step",
                state_class=SensorStateClass.MEASUREMENT,
                value_fn=lambda s: s.step,
                attr_fn=_step,
            ),
            _power(
                "capacity_step_budget",
                lambda s: _w(s.step_budget_w),
                _step_budget,
                watts=True,
                live=True,
            ),
        ]
    return found


def capacity_sensors(coordinator: HanPortCoordinator) -> list[HanCapacitySensor]:
    """The entry's capacity sensors (none when its capacity tariff is off).

    They are updated together by one coordinator listener (``CapacitySensors``), not one each:
    with nothing new to show, a publish costs them one comparison. Capacity sensors of the
    entry that the rule no longer has (another rule, fewer peaks, the tariff off) are removed
    from the entity registry.
    """
    capacity = coordinator.capacity
    provided = descriptions(capacity.rule) if capacity is not None else []
    _remove_orphans(coordinator, {description.key for description in provided})
    if capacity is None:
        return []
    sensors = [HanCapacitySensor(coordinator, capacity, description) for description in provided]
    group = CapacitySensors(coordinator, capacity, sensors)
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(group.update))
    return sensors


def _every_key() -> set[str]:
    """The keys of every capacity sensor any rule can have."""
    most = CapacityRule(key="every", peaks=MAX_PEAKS, rolling_months=2, steps=(1.0,))
    return {description.key for description in descriptions(most)}


def _remove_orphans(coordinator: HanPortCoordinator, keep: set[str]) -> None:
    """Remove the entry's capacity sensors not in ``keep`` from the entity registry."""
    registry = er.async_get(coordinator.hass)
    entry_id = coordinator.config_entry.entry_id
    orphans = {f"{coordinator.meter_key}_{key}" for key in _every_key() - keep}
    for entity in er.async_entries_for_config_entry(registry, entry_id):
        if entity.domain == "sensor" and entity.unique_id in orphans:
            registry.async_remove(entity.entity_id)


class CapacitySensors:
    """An entry's capacity sensors, updated when the status they show or availability moves."""

    def __init__(
        self,
        coordinator: HanPortCoordinator,
        capacity: EntryCapacity,
        sensors: list[HanCapacitySensor],
    ) -> None:
        """Update ``sensors`` of ``capacity`` on ``coordinator``'s publishes."""
        self._coordinator = coordinator
        self._capacity = capacity
        self._sensors = sensors
        self._live = [sensor for sensor in sensors if sensor.entity_description.live]
        self._shown = self._news()

    def _news(self) -> tuple[object, ...]:
        capacity = self._capacity
        return (capacity.shown_at, capacity.month_shown_at, self._coordinator.last_update_success)

    @callback
    def update(self) -> None:
        """A publish: refresh the sensors if there is news for them (a coordinator listener).

        Within an interval only the live values move; the month's values are read again when
        an interval ended (or availability changed).
        """
        shown = self._news()
        previous = self._shown
        if shown == previous:
            return
        self._shown = shown
        sensors = self._live if shown[1:] == previous[1:] else self._sensors
        for sensor in sensors:
            if sensor.added:
                sensor.async_refresh()


class HanCapacitySensor(SensorEntity):
    """One value of the entry's capacity tracker (on the meter's device)."""

    entity_description: HanCapacitySensorEntityDescription
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        coordinator: HanPortCoordinator,
        capacity: EntryCapacity,
        description: HanCapacitySensorEntityDescription,
    ) -> None:
        """Create the sensor."""
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.meter_key}_{description.key}"
        self._attr_device_info = meter_device_info(coordinator)
        self._coordinator = coordinator
        self._capacity = capacity
        self._shown = self._refresh()
        #: Added to Home Assistant (and not removed yet): its state may be written.
        self.added = False

    @property
    def available(self) -> bool:
        """Available while the meter is (as the meter's other sensors)."""
        return self._coordinator.last_update_success

    async def async_added_to_hass(self) -> None:
        """Take the status at once (restored, or what arrived while it was added)."""
        await super().async_added_to_hass()
        self.added = True
        self._shown = self._refresh()

    async def async_will_remove_from_hass(self) -> None:
        """No more state writes."""
        self.added = False
        await super().async_will_remove_from_hass()

    def _refresh(self) -> tuple[object, ...]:
        """Read the value and attributes from the tracker; what the state would show."""
        description = self.entity_description
        capacity = self._capacity
        status = capacity.status
        value: StateType | datetime = None
        attributes: dict[str, Any] | None = None
        if status is not None and (capacity.live or not description.live):
            value = description.value_fn(status)
            if description.attr_fn is not None:
                attributes = description.attr_fn(status, capacity.rule)
        self._attr_native_value = value
        self._attr_extra_state_attributes = attributes or {}
        return (self.available, value, attributes)

    @callback
    def async_refresh(self) -> None:
        """Write the state if something it shows changed."""
        shown = self._refresh()
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
