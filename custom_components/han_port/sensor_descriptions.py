"""How each register is shown: its sensor's name, device class, unit and precision.

What a code means (quantity, phase, direction, tariff, sub-meter medium) is the library's
answer (``han.obis``); this module only maps those meanings onto Home Assistant's sensor
vocabulary, and decides which rarely wanted registers start disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
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
from homeassistant.util import dt as dt_util

from .data import MeterData, as_number
from .han.obis import (
    DEVICE_TYPE,
    SUBMETER_READING,
    ObisInfo,
    Quantity,
    catalogue,
    register,
    submeter_code,
    submeter_quantity,
)
from .han.units import DISPLAY_UNITS

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.helpers.typing import StateType

    from .coordinator import HanPortCoordinator

# Units HA 2025.4 has no constant for (reactive and apparent energy get no device class).
KVARH: Final = "kvarh"
KVAH: Final = "kVAh"
#: A sensor's unit -> the library unit it is converted from (for the guard's rise limit).
BASE_UNITS: Final = {shown: base for base, (shown, _factor) in DISPLAY_UNITS.items()}
PHASES: Final = (1, 2, 3)


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


_POWER: Final = HanSensorEntityDescription(
    key="",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    suggested_display_precision=0,
    scaled=True,
)
_ENERGY: Final = HanSensorEntityDescription(
    key="",
    device_class=SensorDeviceClass.ENERGY,
    state_class=SensorStateClass.TOTAL_INCREASING,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    suggested_display_precision=3,
    scaled=True,
)
_TEXT: Final = HanSensorEntityDescription(
    key="", entity_category=EntityCategory.DIAGNOSTIC, numeric=False
)
#: Each quantity's sensor: device class, state class, unit, display precision, CT-scaled.
_QUANTITIES: Final[dict[Quantity, HanSensorEntityDescription]] = {
    Quantity.ACTIVE_POWER: _POWER,
    Quantity.REACTIVE_POWER: replace(
        _POWER,
        device_class=SensorDeviceClass.REACTIVE_POWER,
        native_unit_of_measurement=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    ),
    Quantity.APPARENT_POWER: replace(
        _POWER,
        device_class=SensorDeviceClass.APPARENT_POWER,
        native_unit_of_measurement=UnitOfApparentPower.VOLT_AMPERE,
    ),
    Quantity.ACTIVE_ENERGY: _ENERGY,
    # Reactive and apparent energy: no device class exists in HA 2025.4.
    Quantity.REACTIVE_ENERGY: replace(_ENERGY, device_class=None, native_unit_of_measurement=KVARH),
    Quantity.APPARENT_ENERGY: replace(_ENERGY, device_class=None, native_unit_of_measurement=KVAH),
    Quantity.VOLTAGE: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
    ),
    Quantity.CURRENT: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        scaled=True,
    ),
    Quantity.POWER_FACTOR: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.POWER_FACTOR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
    ),
    Quantity.FREQUENCY: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=2,
    ),
    Quantity.COUNT: HanSensorEntityDescription(
        key="",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    Quantity.TEXT: _TEXT,
}
#: Thresholds (fuse, limiter): settings of the meter, not measurements.
_LIMITS: Final[dict[Quantity, HanSensorEntityDescription]] = {
    Quantity.CURRENT: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    Quantity.ACTIVE_POWER: HanSensorEntityDescription(
        key="",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
}
#: Registers disabled by default: rare, noisy or diagnostic (by ``ObisInfo.key``) ...
_OFF: Final = frozenset(
    {
        "energy_absolute",
        "apparent_energy_import",
        "apparent_energy_export",
        "current_neutral",
        "dsmr_version",
        "text_message",
        "breaker_state",
        "power_failures",
        "long_power_failures",
        "power_limit",
        "voltage_sags",
        "voltage_swells",
        "current_limit",
    }
)
#: ... and per phase or per tariff, where the sum over phases and tariffs is what most want.
_OFF_PER_PHASE: Final = frozenset(
    {
        "reactive_power_import",
        "reactive_power_export",
        "apparent_power_import",
        "apparent_power_export",
        "power_factor",
        "energy_import",
        "energy_export",
    }
)
_OFF_PER_TARIFF: Final = frozenset({"reactive_energy_import", "reactive_energy_export"})


def register_description(info: ObisInfo) -> HanSensorEntityDescription | None:
    """The sensor of a register the library knows; None for one that gets no sensor."""
    template = (_LIMITS if info.limit else _QUANTITIES).get(info.quantity)
    if template is None or info.identity:
        return None
    name = info.key
    key, translation_key, placeholders = name, name, None
    enabled = name not in _OFF
    if info.phase is not None:
        key, translation_key = f"{name}_l{info.phase}", f"{name}_phase"
        placeholders = {"phase": f"L{info.phase}"}
        enabled = enabled and name not in _OFF_PER_PHASE
    elif info.tariff is not None:
        key, translation_key = f"{name}_tariff_{info.tariff}", f"{name}_tariff"
        placeholders = {"tariff": str(info.tariff)}
        enabled = enabled and name not in _OFF_PER_TARIFF
    return replace(
        template,
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        entity_registry_enabled_default=enabled,
    )


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


GAS: Final = _submeter_total("gas", SensorDeviceClass.GAS, UnitOfVolume.CUBIC_METERS)
WATER: Final = _submeter_total("water", SensorDeviceClass.WATER, UnitOfVolume.CUBIC_METERS)
HEAT: Final = _submeter_total("heat", SensorDeviceClass.ENERGY, UnitOfEnergy.GIGA_JOULE)
#: A heat meter that counts in Wh (shown in kWh, like electricity).
HEAT_ENERGY: Final = _submeter_total("heat", SensorDeviceClass.ENERGY, UnitOfEnergy.KILO_WATT_HOUR)
_SUBMETER_TOTALS: Final = {Quantity.GAS: GAS, Quantity.WATER: WATER, Quantity.HEAT: HEAT}


def describe(obis: str, data: MeterData) -> tuple[HanSensorEntityDescription | None, int]:
    """The description for a register and its M-Bus channel (0: the meter itself).

    None for a register that has no entity of its own (identity, sub-meter ids, logs).
    """
    known = register(obis)
    if known is None:
        return _generic(obis, data), 0
    code, info = known
    if code.channel:
        if info is None or info.key != SUBMETER_READING:
            return None, code.channel
        unit = data.readings[obis].unit
        device_type = data.readings.get(submeter_code(code.channel, DEVICE_TYPE))
        quantity = submeter_quantity(unit, device_type.value if device_type else None)
        if quantity is Quantity.HEAT and unit == "Wh":
            return HEAT_ENERGY, code.channel
        return _SUBMETER_TOTALS[quantity], code.channel
    if (info is not None and info.identity) or code.log:
        return None, 0
    description = register_description(info) if info is not None else None
    return description or _generic(obis, data), 0


def _generic(obis: str, data: MeterData) -> HanSensorEntityDescription:
    """An entity for a register the library does not know, off by default."""
    reading = data.readings[obis]
    numeric = as_number(reading.value) is not None
    return HanSensorEntityDescription(
        key=obis,
        translation_key="register",
        translation_placeholders={"obis": obis},
        state_class=SensorStateClass.MEASUREMENT if numeric else None,
        native_unit_of_measurement=reading.unit if numeric else None,
        entity_registry_enabled_default=False,
        numeric=numeric,
    )


def to_native(
    value: float, unit: str | None, description: HanSensorEntityDescription, scale: float
) -> float:
    """A library value in the sensor's unit (Wh -> kWh, % -> ratio), times the CT scale."""
    factor = 1.0
    converted = DISPLAY_UNITS.get(unit or "")
    if converted is not None and converted[0] == description.native_unit_of_measurement:
        factor = converted[1]
    elif unit == "%" and description.device_class is SensorDeviceClass.POWER_FACTOR:
        factor = 0.01
    if description.scaled:
        factor *= scale
    if factor == 1.0:
        return value
    return round(value * factor, 9)


# -- Sensors computed from the meter's state --------------------------------------------


def _timestamp(_coordinator: HanPortCoordinator, data: MeterData) -> datetime | None:
    stamp = data.timestamp
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=dt_util.get_default_time_zone())
    return stamp


METER_SENSORS: Final[tuple[HanMeterSensorEntityDescription, ...]] = (
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
    """The current on ``phase`` (A=1, any channel), CT-scaled; None without a number."""
    code = data.current_code(phase)
    value = as_number(data.readings[code].value) if code is not None else None
    return None if value is None else float(value) * coordinator.scale


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


HEADROOM: Final = tuple(_headroom(phase) for phase in PHASES)


def _named() -> dict[str, HanSensorEntityDescription]:
    """The sensor of every register the library names, by code."""
    return {
        code: description
        for code, info in catalogue().items()
        if (description := register_description(info)) is not None
    }


#: Named sensors of the electricity registers (A=1, any channel), by ``C.D.E`` ...
ELECTRICITY: Final = {
    code.partition(":")[2]: d for code, d in _named().items() if code.startswith("1-")
}
#: ... and of the meter's abstract registers (A=0, B=0), by code.
ABSTRACT: Final = {code: d for code, d in _named().items() if code.startswith("0-0:")}
