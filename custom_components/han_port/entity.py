"""Base entity: one device per meter, M-Bus sub-meters as devices behind it."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import HanPortCoordinator

#: M-Bus device types (EN 13757-3) -> the sub-meter device's translation key.
SUBMETER_KINDS = {"3": "gas_meter", "4": "heat_meter", "6": "water_meter", "7": "water_meter"}


def meter_device_info(coordinator: HanPortCoordinator) -> DeviceInfo:
    """The meter's own device."""
    meter = coordinator.data.meter
    info = DeviceInfo(
        identifiers={(DOMAIN, coordinator.meter_key)},
        name=coordinator.config_entry.title,
    )
    if meter.manufacturer:
        info["manufacturer"] = meter.manufacturer
    if meter.model:
        info["model"] = meter.model
    if meter.meter_id:
        info["serial_number"] = meter.meter_id
    return info


def submeter_device_info(coordinator: HanPortCoordinator, channel: int) -> DeviceInfo:
    """An M-Bus sub-meter (gas, water, heat) on channel ``channel``, behind the meter."""
    readings = coordinator.data.readings
    kind = readings.get(f"0-{channel}:24.1.0")
    serial = readings.get(f"0-{channel}:96.1.0") or readings.get(f"0-{channel}:96.1.1")
    info = DeviceInfo(
        identifiers={(DOMAIN, f"{coordinator.meter_key}_mbus{channel}")},
        via_device=(DOMAIN, coordinator.meter_key),
        translation_key=SUBMETER_KINDS.get(str(kind.value) if kind else "", "submeter"),
        translation_placeholders={"channel": str(channel)},
    )
    if serial is not None and serial.value:
        info["serial_number"] = readable_id(str(serial.value))
    return info


def readable_id(value: str) -> str:
    """A DSMR equipment id is hex-encoded ASCII ("4730..." -> "G0..."); decode it if so."""
    if len(value) % 2 == 0 and all(ch in "0123456789abcdefABCDEF" for ch in value):
        try:
            text = bytes.fromhex(value).decode("ascii")
        except UnicodeDecodeError:
            return value
        if text.isprintable():
            return text
    return value


class HanPortEntity(CoordinatorEntity[HanPortCoordinator]):
    """An entity of one meter (or one of its sub-meters)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: HanPortCoordinator, key: str, channel: int = 0) -> None:
        """Create the entity ``key`` (an OBIS code or a derived name)."""
        super().__init__(coordinator)
        self._attr_unique_id = f"{coordinator.meter_key}_{key}"
        self._attr_device_info = (
            submeter_device_info(coordinator, channel)
            if channel
            else meter_device_info(coordinator)
        )
