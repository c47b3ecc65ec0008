"""Names a person recognises: makers by name, titles with a short id, sub-meters by medium."""

from __future__ import annotations

import pytest

from custom_components.han_port.han.model import MeterIdentity
from custom_components.han_port.han.profiles import get_profile
from custom_components.han_port.naming import (
    maker_name,
    meter_title,
    profile_model,
    short_id,
    submeter_maker,
    submeter_translation_key,
)


@pytest.mark.parametrize(
    ("code", "name"),
    [("ISk", "Iskraemeco"), ("KFM", "Kaifa"), ("LGF", "Landis+Gyr"), ("Lux", "Lux"), (None, None)],
)
def test_maker_name(code: str | None, name: str | None) -> None:
    assert maker_name(code) == name


def test_meter_without_id_register_gets_a_short_id() -> None:
    meter = MeterIdentity(manufacturer="Kamstrup", system_title="4B414D4501349083")
    assert short_id(meter) == "9083"
    assert meter_title(meter, get_profile("dk_kamstrup")) == "Kamstrup Omnipower 9083"
    # Auto-detect knows no model: maker and short id.
    assert meter_title(meter, get_profile("auto")) == "Kamstrup 9083"


def test_meter_with_id_register() -> None:
    meter = MeterIdentity(
        meter_id="K8EG004046395507", manufacturer="ISk", model="MT382-1000", system_title="x"
    )
    assert short_id(meter) is None
    assert meter_title(meter, get_profile("nl_dsmr")) == "Iskraemeco MT382-1000 K8EG004046395507"


def test_meter_without_any_identity() -> None:
    profile = get_profile("no_kaifa")
    assert meter_title(MeterIdentity(), profile, port="/dev/ttyUSB0") == (
        "Norway — Kaifa /dev/ttyUSB0"
    )
    assert meter_title(MeterIdentity(), profile) == "Norway — Kaifa"


def test_profile_model_only_for_one_meter_of_that_maker() -> None:
    assert profile_model(get_profile("dk_kamstrup"), "Kamstrup") == "Omnipower"
    assert profile_model(get_profile("dk_kamstrup"), "Kaifa") is None
    assert profile_model(get_profile("no_kaifa"), "Kaifa") is None  # two models
    assert profile_model(get_profile("dk_kamstrup"), None) is None


def test_submeters() -> None:
    assert submeter_maker("FLO1823701203350") == "FLO"  # Luxembourg gas meter, code as sent
    assert submeter_maker("KAM12345678") == "Kamstrup"
    assert submeter_maker("G0039001936990619") is None
    assert submeter_maker(None) is None
    assert submeter_translation_key(3, 1) == "gas_meter"
    assert submeter_translation_key("7", 2) == "water_meter_channel"
    assert submeter_translation_key(None, 1) == "submeter"


@pytest.mark.parametrize(
    ("device_type", "key"),
    [
        (12, "heat_meter"),
        (0x0D, "heat_meter"),  # heat/cooling: EN 13757-3 type 13 (was "Sub-meter")
        (0x15, "water_meter"),  # hot water (was "Sub-meter")
        (0x16, "water_meter"),  # cold water (was "Sub-meter")
        (6, "water_meter"),
        (0x0A, "submeter"),  # cooling: no device name of its own
        (2, "submeter"),
        ("x", "submeter"),
    ],
)
def test_submeter_media_follow_the_library(device_type: object, key: str) -> None:
    assert submeter_translation_key(device_type, 1) == key
