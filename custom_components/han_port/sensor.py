"""Sensors: one per register the meter sends, plus identity and phase headroom.

Entities are created for what the meter actually sends. A register that first appears in
a later message (an hourly list, a sub-meter plugged in) gets its entity then.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
import re
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfVolume,
)
from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from . import const
from .const import DOMAIN
from .entity import HanPortEntity
from .guard import TotalGuard, Verdict

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .coordinator import HanPortConfigEntry, HanPortCoordinator, MeterData
    from .han.model import Reading

PARALLEL_UPDATES = 0

# Units HA 2025.4 has no constant for (reactive and apparent energy get no device class).
KVARH = "kvarh"
KVAH = "kVAh"

#: A sensor's unit -> the library unit it is converted from (for the guard's rise limit).
_BASE_UNIT: dict[str, str] = {UnitOfEnergy.KILO_WATT_HOUR: "Wh", KVARH: "varh", KVAH: "VAh"}
#: The library's normalised unit -> (unit the sensor shows, factor).
_CONVERT: dict[str | None, tuple[str, float]] = {
    "Wh": (UnitOfEnergy.KILO_WATT_HOUR, 0.001),
    "varh": (KVARH, 0.001),
    "VAh": (KVAH, 0.001),
}
_OBIS = re.compile(r"^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$")
_PHASES = ((1, 20), (2, 40), (3, 60))
#: Registers shown as identity sensors or device info instead of their own entity.
_IDENTITY = frozenset(
    {
        "0-0:1.0.0",
        "0-0:96.1.0",
        "0-0:96.1.1",
        "0-0:96.1.7",
        "0-0:42.0.0",
        "0-0:96.1.4",
    }
)


@dataclass(frozen=True, kw_only=True)
class HanSensorEntityDescription(SensorEntityDescription):
    """A register's sensor. ``scaled``: multiplied by the CT scale factor option."""

    scaled: bool = False
    numeric: bool = True


@dataclass(frozen=True, kw_only=True)
class HanMeterSensorEntityDescription(SensorEntityDescription):
    """A sensor computed from the whole meter state (identity, clock, headroom)."""

    value_fn: Callable[[HanPortCoordinator, MeterData], StateType | datetime]
    exists_fn: Callable[[HanPortCoordinator, MeterData], bool]


#: Kinds of register: device class, state class, unit, display precision, CT-scaled.
_KINDS: dict[str, dict[str, Any]] = {
    "power": {
        "device_class": SensorDeviceClass.POWER,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfPower.WATT,
        "suggested_display_precision": 0,
        "scaled": True,
    },
    "reactive": {
        "device_class": SensorDeviceClass.REACTIVE_POWER,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        "suggested_display_precision": 0,
        "scaled": True,
    },
    "apparent": {
        "device_class": SensorDeviceClass.APPARENT_POWER,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfApparentPower.VOLT_AMPERE,
        "suggested_display_precision": 0,
        "scaled": True,
    },
    "energy": {
        "device_class": SensorDeviceClass.ENERGY,
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "native_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
        "suggested_display_precision": 3,
        "scaled": True,
    },
    # Reactive and apparent energy: no device class exists in HA 2025.4.
    "reactive_energy": {
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "native_unit_of_measurement": KVARH,
        "suggested_display_precision": 3,
        "scaled": True,
    },
    "apparent_energy": {
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "native_unit_of_measurement": KVAH,
        "suggested_display_precision": 3,
        "scaled": True,
    },
    "voltage": {
        "device_class": SensorDeviceClass.VOLTAGE,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfElectricPotential.VOLT,
        "suggested_display_precision": 1,
    },
    "current": {
        "device_class": SensorDeviceClass.CURRENT,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
        "suggested_display_precision": 2,
        "scaled": True,
    },
    "current_limit": {
        "device_class": SensorDeviceClass.CURRENT,
        "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
        "entity_category": EntityCategory.DIAGNOSTIC,
    },
    "power_factor": {
        "device_class": SensorDeviceClass.POWER_FACTOR,
        "state_class": SensorStateClass.MEASUREMENT,
        "suggested_display_precision": 3,
    },
    "frequency": {
        "device_class": SensorDeviceClass.FREQUENCY,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfFrequency.HERTZ,
        "suggested_display_precision": 2,
    },
    "count": {
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "entity_category": EntityCategory.DIAGNOSTIC,
    },
    "text": {"entity_category": EntityCategory.DIAGNOSTIC, "numeric": False},
    "power_limit": {
        "device_class": SensorDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.WATT,
        "entity_category": EntityCategory.DIAGNOSTIC,
    },
}


def _d(
    kind: str,
    name: str,
    *,
    phase: int | None = None,
    tariff: int | None = None,
    enabled: bool = True,
) -> HanSensorEntityDescription:
    """A description; per-phase and per-tariff registers share one translated name."""
    key, translation_key, placeholders = name, name, None
    if phase is not None:
        key, translation_key = f"{name}_l{phase}", f"{name}_phase"
        placeholders = {"phase": f"L{phase}"}
    elif tariff is not None:
        key, translation_key = f"{name}_tariff_{tariff}", f"{name}_tariff"
        placeholders = {"tariff": str(tariff)}
    return HanSensorEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        entity_registry_enabled_default=enabled,
        **_KINDS[kind],
    )


def _electricity_table() -> dict[str, HanSensorEntityDescription]:
    """Electricity registers (A=1), keyed by ``C.D.E`` so any channel B matches."""
    table = {
        "1.7.0": _d("power", "power_import"),
        "2.7.0": _d("power", "power_export"),
        "1.4.0": _d("power", "average_demand_import"),
        "1.6.0": _d("power", "peak_demand_import"),
        "3.7.0": _d("reactive", "reactive_power_import"),
        "4.7.0": _d("reactive", "reactive_power_export"),
        "9.7.0": _d("apparent", "apparent_power_import"),
        "10.7.0": _d("apparent", "apparent_power_export"),
        "13.7.0": _d("power_factor", "power_factor"),
        "14.7.0": _d("frequency", "frequency"),
        "1.8.0": _d("energy", "energy_import"),
        "2.8.0": _d("energy", "energy_export"),
        "15.8.0": _d("energy", "energy_absolute", enabled=False),
        "3.8.0": _d("reactive_energy", "reactive_energy_import"),
        "4.8.0": _d("reactive_energy", "reactive_energy_export"),
        "9.8.0": _d("apparent_energy", "apparent_energy_import", enabled=False),
        "10.8.0": _d("apparent_energy", "apparent_energy_export", enabled=False),
        "91.7.0": _d("current", "current_neutral", enabled=False),
        "0.2.8": _d("text", "dsmr_version", enabled=False),
    }
    for tariff in range(1, 5):
        table[f"1.8.{tariff}"] = _d("energy", "energy_import", tariff=tariff)
        table[f"2.8.{tariff}"] = _d("energy", "energy_export", tariff=tariff)
        for c, name in ((3, "reactive_energy_import"), (4, "reactive_energy_export")):
            table[f"{c}.8.{tariff}"] = _d("reactive_energy", name, tariff=tariff, enabled=False)
    for phase, base in _PHASES:
        for offset, kind, name, enabled in (
            (1, "power", "power_import", True),
            (2, "power", "power_export", True),
            (3, "reactive", "reactive_power_import", False),
            (4, "reactive", "reactive_power_export", False),
            (9, "apparent", "apparent_power_import", False),
            (10, "apparent", "apparent_power_export", False),
            (11, "current", "current", True),
            (12, "voltage", "voltage", True),
            (13, "power_factor", "power_factor", False),
        ):
            table[f"{base + offset}.7.0"] = _d(kind, name, phase=phase, enabled=enabled)
        table[f"{base + 1}.8.0"] = _d("energy", "energy_import", phase=phase, enabled=False)
        table[f"{base + 2}.8.0"] = _d("energy", "energy_export", phase=phase, enabled=False)
        table[f"{base + 12}.32.0"] = _d("count", "voltage_sags", phase=phase, enabled=False)
        table[f"{base + 12}.36.0"] = _d("count", "voltage_swells", phase=phase, enabled=False)
        table[f"{base + 11}.4.0"] = _d("current_limit", "current_limit", phase=phase, enabled=False)
    return table


ELECTRICITY = _electricity_table()

#: Abstract registers (A=0, channel 0).
ABSTRACT: dict[str, HanSensorEntityDescription] = {
    "0-0:96.14.0": _d("text", "active_tariff"),
    "0-0:96.13.0": _d("text", "text_message", enabled=False),
    "0-0:96.3.10": _d("text", "breaker_state", enabled=False),
    "0-0:96.7.21": _d("count", "power_failures", enabled=False),
    "0-0:96.7.9": _d("count", "long_power_failures", enabled=False),
    "0-0:17.0.0": _d("power_limit", "power_limit", enabled=False),
}


def _submeter_total(
    key: str, device_class: SensorDeviceClass, unit: str
) -> HanSensorEntityDescription:
    """The total of an M-Bus sub-meter (gas, water, heat)."""
    return HanSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=unit,
        suggested_display_precision=3,
    )


GAS = _submeter_total("gas", SensorDeviceClass.GAS, UnitOfVolume.CUBIC_METERS)
WATER = _submeter_total("water", SensorDeviceClass.WATER, UnitOfVolume.CUBIC_METERS)
HEAT = _submeter_total("heat", SensorDeviceClass.ENERGY, UnitOfEnergy.GIGA_JOULE)
#: A heat meter that counts in Wh (shown in kWh, like electricity).
HEAT_ENERGY = _submeter_total("heat", SensorDeviceClass.ENERGY, UnitOfEnergy.KILO_WATT_HOUR)


def _timestamp(_coordinator: HanPortCoordinator, data: MeterData) -> datetime | None:
    stamp = data.timestamp
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=dt_util.get_default_time_zone())
    return stamp


METER_SENSORS: tuple[HanMeterSensorEntityDescription, ...] = (
    HanMeterSensorEntityDescription(
        key="meter_id",
        translation_key="meter_id",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda _c, data: data.meter.meter_id,
        exists_fn=lambda _c, data: data.meter.meter_id is not None,
    ),
    HanMeterSensorEntityDescription(
        key="model",
        translation_key="model",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda _c, data: data.meter.model,
        exists_fn=lambda _c, data: data.meter.model is not None,
    ),
    HanMeterSensorEntityDescription(
        key="list_id",
        translation_key="list_id",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda _c, data: data.meter.list_id,
        exists_fn=lambda _c, data: data.meter.list_id is not None,
    ),
    HanMeterSensorEntityDescription(
        key="meter_clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_timestamp,
        exists_fn=lambda _c, data: data.timestamp is not None,
    ),
)


def _phase_current(coordinator: HanPortCoordinator, data: MeterData, phase: int) -> float | None:
    code = f"{20 * phase + 11}.7.0"
    for obis, reading in data.readings.items():
        match = _OBIS.match(obis)
        if match and match.group(1) == "1" and obis.split(":", 1)[1] == code:
            if isinstance(reading.value, int | float):
                return float(reading.value) * coordinator.scale
            return None
    return None


def _headroom(phase: int) -> HanMeterSensorEntityDescription:
    def value(coordinator: HanPortCoordinator, data: MeterData) -> float | None:
        current = _phase_current(coordinator, data, phase)
        if current is None:
            return None
        return round(coordinator.fuse - current, 2)

    return HanMeterSensorEntityDescription(
        key=f"headroom_l{phase}",
        translation_key="headroom_phase",
        translation_placeholders={"phase": f"L{phase}"},
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=value,
        exists_fn=lambda c, data: c.fuse > 0 and _phase_current(c, data, phase) is not None,
    )


HEADROOM = tuple(_headroom(phase) for phase, _base in _PHASES)


def describe(obis: str, data: MeterData) -> tuple[HanSensorEntityDescription | None, int]:
    """The description for a register and its M-Bus channel (0: the meter itself).

    None for a register that has no entity of its own (identity, sub-meter ids).
    """
    match = _OBIS.match(obis)
    if match is None:
        return _generic(obis, data), 0
    medium, channel = int(match.group(1)), int(match.group(2))
    cde = obis.split(":", 1)[1]
    if medium == 0 and channel > 0:
        if not (cde.startswith("24.2.") or cde == "24.3.0"):
            return None, channel
        reading = data.readings[obis]
        kind = data.readings.get(f"0-{channel}:24.1.0")
        if reading.unit == "GJ":
            return HEAT, channel
        if reading.unit == "Wh":
            return HEAT_ENERGY, channel
        if kind is not None and str(kind.value) in {"6", "7"}:
            return WATER, channel
        return GAS, channel
    if obis in _IDENTITY or (medium == 1 and cde.startswith(("0.0.", "0.2.1"))):
        return None, 0
    if match.group(4) in {"97", "98"}:  # event logs and profiles: not a state
        return None, 0
    if medium == 0:
        return ABSTRACT.get(obis) or _generic(obis, data), 0
    return ELECTRICITY.get(cde) or _generic(obis, data), 0


def _generic(obis: str, data: MeterData) -> HanSensorEntityDescription:
    """An entity for a register the table does not know, off by default."""
    reading = data.readings[obis]
    numeric = isinstance(reading.value, int | float) and not isinstance(reading.value, bool)
    return HanSensorEntityDescription(
        key=obis,
        translation_key="register",
        translation_placeholders={"obis": obis},
        state_class=SensorStateClass.MEASUREMENT if numeric else None,
        native_unit_of_measurement=reading.unit if numeric else None,
        entity_registry_enabled_default=False,
        numeric=numeric,
    )


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
            sensor_type = (
                HanTotalSensor
                if description.state_class is SensorStateClass.TOTAL_INCREASING
                else HanRegisterSensor
            )
            new.append(sensor_type(coordinator, obis, description, channel))
        for meter_description in (*METER_SENSORS, *HEADROOM):
            if meter_description.key in known:
                continue
            if meter_description.exists_fn(coordinator, data):
                known.add(meter_description.key)
                new.append(HanMeterSensor(coordinator, meter_description))
        if new:
            async_add_entities(new)

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


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
        return _convert(value, reading.unit, self.entity_description, self.coordinator.scale)


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
        base = _BASE_UNIT.get(description.native_unit_of_measurement or "", "Wh")
        max_per_hour = _convert(const.ENERGY_MAX_POWER, base, description, coordinator.scale)
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


def _convert(
    value: float, unit: str | None, description: HanSensorEntityDescription, scale: float
) -> float:
    factor = 1.0
    converted = _CONVERT.get(unit)
    if converted is not None and converted[0] == description.native_unit_of_measurement:
        factor = converted[1]
    elif unit == "%" and description.device_class is SensorDeviceClass.POWER_FACTOR:
        factor = 0.01
    if description.scaled:
        factor *= scale
    if factor == 1.0:
        return value
    return round(value * factor, 9)


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
