"""The options flow's capacity tariff: which rules a profile offers, the steps, Sweden's rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.capacity_rules import (
    CONF_CAPACITY,
    CONF_CAPACITY_DISTINCT,
    CONF_CAPACITY_PEAKS,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_TARGET,
    CONF_CAPACITY_WEEKDAYS,
    choices,
    preset,
    rule_from_options,
    step_target,
)
from custom_components.han_port.const import (
    CONF_FUSE,
    CONF_MIN_INTERVAL,
    CONF_PROFILE,
    CONF_SCALE,
    DOMAIN,
)
from custom_components.han_port.han.capacity import (
    FLANDERS,
    NORWAY,
    NORWAY_BKK,
    NORWAY_LEDE,
    SWEDEN_WEEKDAY_DAYTIME,
)
from custom_components.han_port.sensor_capacity import descriptions
from tests.common import Pty

from .capacity_frames import BRUSSELS, fluvius_telegram, local
from .flow import suggested
from .test_capacity import Feeder, setup

pytestmark = pytest.mark.flows

TUNING = {CONF_MIN_INTERVAL: 0, CONF_SCALE: 1, CONF_FUSE: 25}


async def options_form(hass: HomeAssistant, profile: str | None, **options: Any) -> Any:
    data = {CONF_PORT: "/dev/x"}
    if profile is not None:
        data[CONF_PROFILE] = profile
    entry = MockConfigEntry(domain=DOMAIN, data=data, options=options)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    return entry, result


def rules_offered(result: dict[str, Any]) -> list[str] | None:
    field = result["data_schema"].schema.get(CONF_CAPACITY)
    return None if field is None else list(field.config["options"])


@pytest.mark.parametrize(
    ("profile", "offered"),
    [
        ("no_kaifa", ["off", "no_kapasitetsledd", "no_bkk", "no_lede", "no_other"]),
        ("be_fluvius", ["off", "be_capaciteitstarief"]),
        ("se_p1", ["off", "se_weekday_daytime", "se_ellevio", "se_custom"]),
        ("nl_dsmr", None),  # no capacity tariff in the Netherlands: no dropdown
        ("pl_stoen_p1", None),
    ],
)
async def test_rules_offered_by_country(
    hass: HomeAssistant, profile: str, offered: list[str] | None
) -> None:
    _entry, result = await options_form(hass, profile)
    assert rules_offered(result) == offered
    if offered:
        assert suggested(result)[CONF_CAPACITY] == "off"  # off by default


async def test_auto_detect_offers_every_rule(hass: HomeAssistant) -> None:
    _entry, result = await options_form(hass, None)
    offered = rules_offered(result)
    assert offered is not None
    assert offered[0] == "off"
    assert {"no_lede", "be_capaciteitstarief", "se_custom"} <= set(offered)


async def test_off_stores_no_capacity_options(hass: HomeAssistant) -> None:
    entry, result = await options_form(
        hass,
        "no_kaifa",
        **TUNING,
        **{CONF_CAPACITY: "no_bkk", CONF_CAPACITY_STEPS: "2, 5", CONF_CAPACITY_TARGET: 2},
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "off"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == TUNING
    assert rule_from_options(entry.options) is None


async def test_flanders_has_nothing_more_to_set(hass: HomeAssistant) -> None:
    entry, result = await options_form(hass, "be_fluvius")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "be_capaciteitstarief"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**TUNING, CONF_CAPACITY: "be_capaciteitstarief"}
    assert rule_from_options(entry.options) == FLANDERS


async def test_swedish_preset(hass: HomeAssistant) -> None:
    entry, result = await options_form(hass, "se_p1")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "se_weekday_daytime"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert rule_from_options(entry.options) == SWEDEN_WEEKDAY_DAYTIME


async def test_norwegian_preset_steps_shown_and_kept(hass: HomeAssistant) -> None:
    entry, result = await options_form(hass, "no_kaifa")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "no_kapasitetsledd"}
    )
    assert result["step_id"] == "capacity_steps"
    shown = suggested(result)
    assert shown[CONF_CAPACITY_STEPS] == "2, 5, 10, 15, 20, 25, 50, 75, 100"
    assert shown[CONF_CAPACITY_TARGET] == 0
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CAPACITY_STEPS: shown[CONF_CAPACITY_STEPS], CONF_CAPACITY_TARGET: 0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **TUNING,
        CONF_CAPACITY: "no_kapasitetsledd",
        CONF_CAPACITY_STEPS: "2, 5, 10, 15, 20, 25, 50, 75, 100",
        CONF_CAPACITY_TARGET: 0,
    }
    rule = rule_from_options(entry.options)
    assert rule == NORWAY  # the preset's steps: its prices stay
    assert rule is not None
    assert step_target(entry.options, rule) is None  # 0: the month's current step


async def test_edited_steps_drop_the_presets_prices(hass: HomeAssistant) -> None:
    entry, result = await options_form(hass, "no_kamstrup")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "no_bkk"}
    )
    assert suggested(result)[CONF_CAPACITY_STEPS] == "2, 5, 10, 15, 20, 25"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CAPACITY_STEPS: "2.5; 5 10,15", CONF_CAPACITY_TARGET: 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_CAPACITY_STEPS] == "2.5, 5, 10, 15"  # stored as shown
    rule = rule_from_options(entry.options)
    assert rule is not None
    assert rule.steps == (2500.0, 5000.0, 10000.0, 15000.0)
    assert rule.step_prices == ()
    assert rule.key == NORWAY_BKK.key
    assert step_target(entry.options, rule) == 3


@pytest.mark.parametrize(
    ("typed", "field", "error"),
    [
        ({CONF_CAPACITY_STEPS: "two, five"}, CONF_CAPACITY_STEPS, "steps_format"),
        ({CONF_CAPACITY_STEPS: "  "}, CONF_CAPACITY_STEPS, "steps_format"),
        ({CONF_CAPACITY_STEPS: "inf"}, CONF_CAPACITY_STEPS, "steps_format"),
        ({CONF_CAPACITY_STEPS: ", ".join(["1"] * 31)}, CONF_CAPACITY_STEPS, "steps_format"),
        ({CONF_CAPACITY_STEPS: "5, 2"}, CONF_CAPACITY_STEPS, "steps_order"),
        ({CONF_CAPACITY_STEPS: "0, 2"}, CONF_CAPACITY_STEPS, "steps_order"),
        ({CONF_CAPACITY_STEPS: "2, 2"}, CONF_CAPACITY_STEPS, "steps_order"),
        ({CONF_CAPACITY_STEPS: "2, 5", CONF_CAPACITY_TARGET: 4}, CONF_CAPACITY_TARGET, None),
    ],
)
async def test_steps_errors_keep_what_was_typed(
    hass: HomeAssistant, typed: dict[str, Any], field: str, error: str | None
) -> None:
    entry, result = await options_form(hass, "no_aidon")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "no_lede"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CAPACITY_TARGET: 0, **typed}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "capacity_steps"
    assert result["errors"] == {field: error or "target_step_range"}
    assert suggested(result)[CONF_CAPACITY_STEPS] == typed[CONF_CAPACITY_STEPS]
    # Corrected, the flow ends; step 3 of "2, 5" is the open-ended top step.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CAPACITY_STEPS: "2, 5", CONF_CAPACITY_TARGET: 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    rule = rule_from_options(entry.options)
    assert rule is not None
    assert (rule.key, rule.peaks, rule.steps) == (NORWAY_LEDE.key, 1, (2000.0, 5000.0))


async def test_same_rule_again_shows_its_stored_steps(hass: HomeAssistant) -> None:
    stored = {CONF_CAPACITY: "no_other", CONF_CAPACITY_STEPS: "3, 6", CONF_CAPACITY_TARGET: 2}
    entry, result = await options_form(hass, "no_kaifa", **TUNING, **stored)
    assert suggested(result)[CONF_CAPACITY] == "no_other"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "no_other", CONF_FUSE: 32}
    )
    shown = suggested(result)
    assert (shown[CONF_CAPACITY_STEPS], shown[CONF_CAPACITY_TARGET]) == ("3, 6", 2)
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    assert entry.options == {**TUNING, **stored, CONF_FUSE: 32}
    # Another Norwegian rule starts from its own preset's steps.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "no_kapasitetsledd"}
    )
    assert suggested(result)[CONF_CAPACITY_STEPS] == "2, 5, 10, 15, 20, 25, 50, 75, 100"


async def test_swedish_rule_of_your_own(hass: HomeAssistant) -> None:
    entry, result = await options_form(hass, "se_p1")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "se_custom"}
    )
    assert result["step_id"] == "capacity_sweden"
    assert suggested(result) == {
        CONF_CAPACITY_PEAKS: 3,
        CONF_CAPACITY_WEEKDAYS: True,
        CONF_CAPACITY_DISTINCT: False,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CAPACITY_PEAKS: 2.0, CONF_CAPACITY_WEEKDAYS: False, CONF_CAPACITY_DISTINCT: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **TUNING,
        CONF_CAPACITY: "se_custom",
        CONF_CAPACITY_PEAKS: 2,
        CONF_CAPACITY_WEEKDAYS: False,
        CONF_CAPACITY_DISTINCT: True,
    }
    rule = rule_from_options(entry.options)
    assert rule is not None
    assert (rule.peaks, rule.distinct_days, rule.weekdays_only) == (2, True, False)
    assert (rule.hours, rule.holidays) == (None, None)
    # The form comes back with what was stored.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TUNING, CONF_CAPACITY: "se_custom"}
    )
    assert suggested(result)[CONF_CAPACITY_PEAKS] == 2
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CAPACITY_PEAKS: 3, CONF_CAPACITY_WEEKDAYS: True, CONF_CAPACITY_DISTINCT: False},
    )
    rule = rule_from_options(entry.options)
    assert rule is not None
    assert (rule.weekdays_only, rule.hours, rule.holidays) == (True, (7, 19), "SE")


def test_broken_options_fall_back_to_the_preset(caplog: pytest.LogCaptureFixture) -> None:
    assert rule_from_options({CONF_CAPACITY: "xx_unknown"}) is None
    assert "Unknown capacity rule" in caplog.text
    broken = {CONF_CAPACITY: "no_bkk", CONF_CAPACITY_STEPS: "5, 2"}
    assert rule_from_options(broken) == NORWAY_BKK
    assert "cannot be used" in caplog.text
    rule = rule_from_options({CONF_CAPACITY: "se_custom", CONF_CAPACITY_PEAKS: 99})
    assert rule is not None
    assert rule.peaks == 3  # the preset's
    assert step_target({CONF_CAPACITY_TARGET: "2"}, NORWAY) is None
    assert step_target({CONF_CAPACITY_TARGET: 40}, NORWAY) == 10  # clamped to the top step
    assert step_target({CONF_CAPACITY_TARGET: 2}, FLANDERS) is None  # no steps


def test_every_capacity_text_exists() -> None:
    """Sensor names and icons of every rule's sensors, the dropdown's options, the errors."""
    root = Path(__file__).parents[2] / "custom_components/han_port"
    strings = json.loads((root / "strings.json").read_text(encoding="utf-8"))
    icons = json.loads((root / "icons.json").read_text(encoding="utf-8"))["entity"]["sensor"]
    sensors = strings["entity"]["sensor"]
    offered = choices(None)
    assert set(strings["selector"][CONF_CAPACITY]["options"]) == {"off", *offered}
    for choice in offered:
        for description in descriptions(preset(choice)):
            assert description.translation_key in sensors, description.key
            assert description.translation_key in icons, description.key
    assert "{rank}" in sensors["capacity_peak"]["name"]
    errors = strings["options"]["error"]
    assert {"steps_format", "steps_order", "target_step_range"} <= set(errors)


async def test_sensors_of_a_former_rule_leave_the_entity_registry(
    hass: HomeAssistant, pty: Pty
) -> None:
    """Another rule (or none): its sensors are removed, not left orphaned; others stay."""
    registry = er.async_get(hass)

    def keys() -> set[str]:
        return {
            e.unique_id.removeprefix("fluvius_")
            for e in registry.entities.values()
            if e.unique_id.startswith("fluvius_capacity")
        }

    entry = await setup(hass, pty, {CONF_CAPACITY: "no_kapasitetsledd"})
    t = local(BRUSSELS, 2025, 3, 3, 18, 0)
    await Feeder(hass, entry).push([fluvius_telegram(t, 301_548, 270_014, 500)], [t])
    others = {
        e.entity_id
        for e in registry.entities.values()
        if not e.unique_id.startswith("fluvius_capacity")
    }
    assert others
    assert {"capacity_peak_3", "capacity_step", "capacity_step_budget"} <= keys()
    hass.config_entries.async_update_entry(entry, options={CONF_CAPACITY: "be_capaciteitstarief"})
    await hass.async_block_till_done()
    assert keys() == {
        "capacity_average",
        "capacity_projected",
        "capacity_peak_1",
        "capacity_peak_start",
        "capacity_month",
        "capacity_budget",
        "capacity_billed",
    }
    hass.config_entries.async_update_entry(entry, options={})
    await hass.async_block_till_done()
    assert keys() == set()
    assert others <= {e.entity_id for e in registry.entities.values()}


def test_one_definition_of_the_swedish_working_hours() -> None:
    from custom_components.han_port import capacity_rules
    from custom_components.han_port.han.capacity import SE_HOURS

    assert SE_HOURS == (7, 19)
    assert SWEDEN_WEEKDAY_DAYTIME.hours is SE_HOURS
    assert capacity_rules.preset(capacity_rules.SE_CUSTOM).hours is SE_HOURS
