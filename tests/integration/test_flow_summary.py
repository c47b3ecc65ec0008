"""The "Meter found" text: format and protection in words, notes only when they apply."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from custom_components.han_port.detect import Detection, Outcome
from custom_components.han_port.flow_summary import _number, async_confirm_placeholders
from custom_components.han_port.han.model import Message, MeterIdentity, Security
from custom_components.han_port.han.profiles import SerialSettings

pytestmark = pytest.mark.flows


def _detection(*notes: str, security: Security | None = None, fmt: str = "dlms") -> Detection:
    message = Message(fmt, meter=MeterIdentity(meter_id="1"), notes=list(notes), security=security)
    message.add("1-0:1.7.0", 1500, "W")
    message.add("1-0:1.8.0", 1234567, "Wh")
    message.add("1-0:32.7.0", 231.46, "V")
    return Detection(Outcome.FOUND, message=message, settings=SerialSettings(2400))


@pytest.mark.parametrize(
    ("security", "data", "words"),
    [
        (Security("4B414D4501349083", 7, authenticated=True), {}, ", encrypted and authenticated"),
        (Security(None, 7, authenticated=False), {}, ", encrypted (AES-GCM)"),
        (None, {}, ", not encrypted"),
        (None, {"encryption_key": "00"}, ""),
    ],
)
async def test_format_in_words(
    hass: HomeAssistant, security: Security | None, data: dict, words: str
) -> None:
    placeholders = await async_confirm_placeholders(
        hass, _detection(security=security), {"port": "/dev/ttyUSB0", **data}, "Meter 1"
    )
    assert placeholders["format"].startswith("DLMS/COSEM push messages" + words)
    assert placeholders["registers"].splitlines() == [
        "- Power import: 1500 W",
        "- Energy import: 1234.567 kWh",
        "- Voltage L1: 231.5 V",
    ]


async def test_notes_only_when_they_apply(hass: HomeAssistant) -> None:
    detection = _detection("keys_swapped", "tag_not_verified", fmt="wmbus2")
    placeholders = await async_confirm_placeholders(
        hass, detection, {"port": "/dev/ttyUSB0"}, "Meter 1"
    )
    notes = placeholders["notes"].splitlines()
    assert notes[0] == "- Serial settings: 2400 8N1"
    assert "wrong way round" in notes[1]
    assert "authentication tag cannot be checked" in notes[2]
    assert placeholders["format"].startswith("wmbus2")
    placeholders = await async_confirm_placeholders(
        hass, _detection(), {"port": "socket://127.0.0.1:2000"}, "Meter 1"
    )
    assert placeholders["notes"] == ""


def test_number_without_precision() -> None:
    assert _number(2.5, None) == "2.5"
    assert _number(3, None) == "3"
    assert _number(3.14159, 2) == "3.14"
