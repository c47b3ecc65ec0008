"""What the "Meter found" step says: the meter by name, the format in words, the registers.

Registers are listed as the sensors will show them: their entity names, values converted to
the sensors' units (kWh, W, V, A) and rounded to the sensors' display precision. Entity names
are translated in Home Assistant's language, as the entities themselves will be; so are the
few sentences that appear only sometimes (serial settings, key notes), which live in the
``selector.confirm`` section of the translations because a form's description cannot hold
optional lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass

from .connection import is_network_port
from .const import CONF_EK, DOMAIN
from .coordinator import MeterData
from .naming import submeter_translation_key
from .sensor_descriptions import describe, to_native
from .texts import Texts, async_get_texts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from .detect import Detection
    from .han.model import Message
    from .sensor_descriptions import HanSensorEntityDescription

#: Registers listed by name; the rest are counted.
SHOWN_REGISTERS = 24
_FORMATS = {"p1": "format_p1", "dlms": "format_dlms", "wmbus": "format_wmbus"}


def _number(value: float, precision: int | None) -> str:
    if precision is None:
        return f"{value:g}" if isinstance(value, float) else str(value)
    return f"{value:.{precision}f}"


def _shown_value(message: Message, obis: str, description: HanSensorEntityDescription) -> str:
    """The value and unit the sensor will show for register ``obis``."""
    reading = message.readings[obis]
    value = reading.value
    if not description.numeric or isinstance(value, str) or value is None:
        return str(value if value is not None else "-")[:40]
    converted = to_native(value, reading.unit, description, 1.0)
    unit = description.native_unit_of_measurement
    text = _number(converted, description.suggested_display_precision)
    return f"{text} {unit}" if unit else text


def _name(
    texts: Texts, message: Message, description: HanSensorEntityDescription, channel: int
) -> str:
    """The sensor's name; a sub-meter's total goes by its device's name ("Gas meter")."""
    if channel:
        kind = message.readings.get(f"0-{channel}:24.1.0")
        key = submeter_translation_key(kind.value if kind else None, channel)
        return texts.get(f"component.{DOMAIN}.device.{key}.name", channel=str(channel))
    placeholders = dict(description.translation_placeholders or {})
    return texts.get(
        f"component.{DOMAIN}.entity.sensor.{description.translation_key}.name", **placeholders
    )


def _rank(description: HanSensorEntityDescription, channel: int) -> int:
    """Power first, then totals (energy, gas, water, heat), then everything else."""
    if description.device_class is SensorDeviceClass.POWER and not channel:
        return 0 if description.translation_placeholders is None else 2
    if description.state_class is SensorStateClass.TOTAL_INCREASING and (
        channel or description.device_class is SensorDeviceClass.ENERGY
    ):
        return 1
    return 2


def register_lines(message: Message, texts: Texts) -> tuple[list[str], int]:
    """Markdown list lines for the registers that get an enabled entity, and how many more.

    Registers whose entity is disabled by default are counted, not listed.
    """
    data = MeterData(readings=message.readings)
    enabled: list[tuple[int, str]] = []
    hidden = 0
    for obis in message.readings:
        description, channel = describe(obis, data)
        if description is None:
            continue
        if description.entity_registry_enabled_default is False:
            hidden += 1
            continue
        line = (
            f"- {_name(texts, message, description, channel)}: "
            f"{_shown_value(message, obis, description)}"
        )
        enabled.append((_rank(description, channel), line))
    enabled.sort(key=lambda item: item[0])
    return [line for _rank_, line in enabled], hidden


async def async_confirm_placeholders(
    hass: HomeAssistant, detection: Detection, data: Mapping[str, object], title: str
) -> dict[str, str]:
    """Placeholders of the confirm step: meter, format, notes, registers, count."""
    texts = await async_get_texts(hass, "entity", "device", "selector")
    message = detection.message
    assert message is not None
    fmt = texts.line(_FORMATS.get(message.format, "format_other"), format=message.format)
    security = message.security
    if security is not None:
        fmt += ", " + texts.line("authenticated" if security.authenticated else "encrypted")
    elif not data.get(CONF_EK):
        fmt += ", " + texts.line("plain")
    # else: decoded with keys, but this decoder does not say how the frame was protected.
    notes: list[str] = []
    if detection.settings is not None and not is_network_port(str(data.get("port", ""))):
        notes.append(texts.line("serial", settings=str(detection.settings)))
    if "keys_swapped" in message.notes:
        notes.append(texts.line("keys_swapped"))
    if "tag_not_verified" in message.notes:
        notes.append(texts.line("tag_not_verified"))
    lines, hidden = register_lines(message, texts)
    shown = lines[:SHOWN_REGISTERS]
    more = len(lines) - len(shown) + hidden
    if more:
        shown.append("- " + texts.line("more", count=str(more)))
    return {
        "meter": title,
        "format": fmt,
        "notes": "".join(f"- {note}\n" for note in notes),
        "registers": "\n".join(shown),
        "count": str(len(lines) + hidden),
    }
