"""Sensors: one per register the meter sends, plus identity and phase headroom.

Entities are created for what the meter actually sends. A register that first appears in
a later message (an hourly list, a sub-meter plugged in) gets its entity then. Which sensor
a register gets is decided in ``sensor_descriptions`` from what the library says it is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from homeassistant.components.sensor import RestoreSensor, SensorEntity, SensorStateClass
from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from . import const
from .const import DOMAIN
from .entity import HanPortEntity
from .guard import TotalGuard, Verdict
from .sensor_capacity import capacity_sensors
from .sensor_descriptions import (
    ABSTRACT,
    BASE_UNITS,
    ELECTRICITY,
    GAS,
    HEADROOM,
    HEAT,
    HEAT_ENERGY,
    METER_SENSORS,
    WATER,
    HanMeterSensorEntityDescription,
    HanSensorEntityDescription,
    describe,
    to_native,
)

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .coordinator import HanPortConfigEntry, HanPortCoordinator
    from .han.model import Reading

__all__ = [
    "ABSTRACT",
    "ELECTRICITY",
    "GAS",
    "HEADROOM",
    "HEAT",
    "HEAT_ENERGY",
    "METER_SENSORS",
    "WATER",
    "HanSensorEntityDescription",
    "describe",
]
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: HanPortConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for what the meter sends, now and whenever something new appears."""
    coordinator = entry.runtime_data
    known: set[str] = set()

    @callback
    def _add_new() -> None:
        data = coordinator.data
        new: list[SensorEntity] = []
        for obis in list(data.readings):
            if obis in known:
                continue
            description, channel = describe(obis, data)
            if description is None:
                continue
            known.add(obis)
            new.append(register_sensor(coordinator, obis, description, channel))
        for meter_description in (*METER_SENSORS, *HEADROOM):
            if meter_description.key in known:
                continue
            if meter_description.exists_fn(coordinator, data):
                known.add(meter_description.key)
                new.append(HanMeterSensor(coordinator, meter_description))
        if new:
            async_add_entities(new)

    async_add_entities(capacity_sensors(coordinator))
    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


def register_sensor(
    coordinator: HanPortCoordinator,
    obis: str,
    description: HanSensorEntityDescription,
    channel: int,
) -> HanRegisterSensor:
    """The entity of register ``obis``: a guarded total, or a plain register."""
    if description.state_class is SensorStateClass.TOTAL_INCREASING:
        return HanTotalSensor(coordinator, obis, description, channel)
    return HanRegisterSensor(coordinator, obis, description, channel)


class HanRegisterSensor(HanPortEntity, SensorEntity):
    """One register of the meter (or of a sub-meter)."""

    entity_description: HanSensorEntityDescription

    def __init__(
        self,
        coordinator: HanPortCoordinator,
        obis: str,
        description: HanSensorEntityDescription,
        channel: int,
    ) -> None:
        """Create the sensor for register ``obis``."""
        super().__init__(coordinator, obis, channel)
        self.entity_description = description
        self._obis = obis

    @property
    def native_value(self) -> StateType:
        """The register's last value, converted to the sensor's unit."""
        reading = self.coordinator.data.readings.get(self._obis)
        if reading is None or reading.value is None:
            return None
        if not self.entity_description.numeric:
            return str(reading.value)[:255]
        return self._number(reading)

    def _number(self, reading: Reading) -> float | None:
        value = reading.value
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return None
        if value is None:
            return None
        return to_native(value, reading.unit, self.entity_description, self.coordinator.scale)


class HanTotalSensor(HanRegisterSensor, RestoreSensor):
    """A total (energy, gas, water): never lower than what Home Assistant already has.

    The value survives restarts. A lower value, or a rise no household could cause, is held
    and counted; when the meter keeps sending such values, a repair issue lets the user
    accept the meter's value (a replaced meter, a changed scale factor).
    """

    def __init__(
        self,
        coordinator: HanPortCoordinator,
        obis: str,
        description: HanSensorEntityDescription,
        channel: int,
    ) -> None:
        """Create the sensor for the total ``obis``."""
        super().__init__(coordinator, obis, description, channel)
        self._seen: Reading | None = None
        self._issue = False
        # The highest plausible rise per hour, in the sensor's own unit.
        base = BASE_UNITS.get(description.native_unit_of_measurement or "", "Wh")
        max_per_hour = to_native(const.ENERGY_MAX_POWER, base, description, coordinator.scale)
        self._guard = TotalGuard(max_per_hour=abs(max_per_hour))

    async def async_added_to_hass(self) -> None:
        """Start from the value Home Assistant had before a restart or reload."""
        await super().async_added_to_hass()
        issue_id = self.coordinator.total_issue_id(self._obis)
        self._issue = ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id) is not None
        last = await self.async_get_last_sensor_data()
        state = await self.async_get_last_state()
        if (
            last is not None
            and state is not None
            and isinstance(last.native_value, int | float | Decimal)
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            self._guard.seed(float(last.native_value), state.last_updated)
        self._apply()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._apply()
        super()._handle_coordinator_update()

    @property
    def native_value(self) -> StateType:
        """The last value the guard let through."""
        return self._guard.value

    @callback
    def _apply(self) -> None:
        coordinator = self.coordinator
        forced = self._obis in coordinator.accept_lower
        reading = coordinator.data.readings.get(self._obis)
        if reading is None or (reading is self._seen and not forced):
            return
        self._seen = reading
        value = self._number(reading)
        if value is None:
            return
        coordinator.lower_taken(self._obis)
        now = dt_util.utcnow()
        if self._guard.check(value, now, force=forced) is Verdict.ACCEPTED:
            if self._issue:
                self._issue = False
                coordinator.total_follows(self._obis)
            return
        coordinator.total_dropped()
        if not self._issue and self._guard.stuck(
            now, readings=const.TOTAL_ISSUE_READINGS, after=const.TOTAL_ISSUE_AFTER
        ):
            self._issue = True
            unit = self.native_unit_of_measurement or ""
            coordinator.total_held(
                self._obis,
                self.entity_id,
                f"{self._guard.value} {unit}".strip(),
                f"{value} {unit}".strip(),
            )


class HanMeterSensor(HanPortEntity, SensorEntity):
    """A sensor computed from the meter's state: identity, clock, phase headroom."""

    entity_description: HanMeterSensorEntityDescription

    def __init__(
        self, coordinator: HanPortCoordinator, description: HanMeterSensorEntityDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> StateType | datetime:
        """The computed value."""
        return self.entity_description.value_fn(self.coordinator, self.coordinator.data)
