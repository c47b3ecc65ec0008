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

from .data import as_number
from .entity import HanPortEntity
from .sensor_capacity import capacity_sensors
from .sensor_descriptions import (
    ABSTRACT,
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
    registers = 0  # readings looked at: they only ever grow, new ones come last

    @callback
    def _add_new() -> None:
        nonlocal registers
        data = coordinator.data
        new: list[SensorEntity] = []
        if len(data.readings) != registers:
            for obis in list(data.readings)[registers:]:
                description, channel = describe(obis, data)
                if description is None:
                    continue
                known.add(obis)
                new.append(register_sensor(coordinator, obis, description, channel))
            registers = len(data.readings)
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
        """The register's last value, converted to the sensor's unit.

        A numeric sensor shows only numbers: text is unknown, never converted (the
        coordinator counts and logs it, ``published``).
        """
        reading = self.coordinator.data.readings.get(self._obis)
        if reading is None or reading.value is None:
            return None
        if not self.entity_description.numeric:
            return str(reading.value)[:255]
        value = as_number(reading.value)
        if value is None:
            return None
        return to_native(value, reading.unit, self.entity_description, self.coordinator.scale)


class HanTotalSensor(HanRegisterSensor, RestoreSensor):
    """A total (energy, gas, water): never lower than what Home Assistant already has.

    The coordinator guards the total (``published``): this sensor shows the guarded value and
    writes nothing back. When it is added, it hands over the value Home Assistant showed before
    a restart or reload (its restored state), the floor the guard starts from.
    """

    async def async_added_to_hass(self) -> None:
        """Hand the value Home Assistant had before a restart or reload to the guard."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        state = await self.async_get_last_state()
        if (
            last is not None
            and state is not None
            and isinstance(last.native_value, int | float | Decimal)
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            self.coordinator.restore_total(self._obis, float(last.native_value), state.last_updated)

    @property
    def native_value(self) -> StateType:
        """The guarded value: never lower than before."""
        return self.coordinator.data.totals.get(self._obis)


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
