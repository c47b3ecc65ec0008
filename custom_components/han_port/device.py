"""The meter's own device in the device registry, as the entities and the coordinator set it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.device_registry import DeviceInfo

from .connection import entry_profile
from .const import DOMAIN
from .naming import maker_and_model

if TYPE_CHECKING:
    from .coordinator import HanPortCoordinator


def meter_device_info(coordinator: HanPortCoordinator) -> DeviceInfo:
    """The meter's own device: maker and model by name, as far as frames and profile tell."""
    meter = coordinator.data.meter
    info = DeviceInfo(
        identifiers={(DOMAIN, coordinator.meter_key)},
        name=coordinator.config_entry.title,
    )
    maker, model = maker_and_model(meter, entry_profile(coordinator.config_entry.data))
    if maker:
        info["manufacturer"] = maker
    if model:
        info["model"] = model
    if meter.meter_id:
        info["serial_number"] = meter.meter_id
    return info
