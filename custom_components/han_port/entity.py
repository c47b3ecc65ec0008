"""Base entity: one device per meter, M-Bus sub-meters as devices behind it."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import HanPortCoordinator
from .device import meter_device_info
from .han.obis import DEVICE_TYPE, SUBMETER_IDS, readable_id, submeter_code
from .naming import submeter_maker, submeter_translation_key


def submeter_device_info(coordinator: HanPortCoordinator, channel: int) -> DeviceInfo:
    """An M-Bus sub-meter on channel ``channel``, behind the meter, named by its medium.

    "Gas meter", "Water meter", "Heat meter" (with the channel from channel 2 on, where a
    second one may exist); the maker when its id starts with a manufacturer code.
    """
    readings = coordinator.data.readings
    kind = readings.get(submeter_code(channel, DEVICE_TYPE))
    first, second = (submeter_code(channel, cde) for cde in SUBMETER_IDS)
    serial = readings.get(first) or readings.get(second)
    info = DeviceInfo(
        identifiers={(DOMAIN, f"{coordinator.meter_key}_mbus{channel}")},
        via_device=(DOMAIN, coordinator.meter_key),
        translation_key=submeter_translation_key(kind.value if kind else None, channel),
        translation_placeholders={"channel": str(channel)},
    )
    if serial is not None and serial.value:
        serial_number = readable_id(str(serial.value))
        info["serial_number"] = serial_number
        maker = submeter_maker(serial_number)
        if maker:
            info["manufacturer"] = maker
    return info


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
