"""The EV charging blueprint: valid for Home Assistant's blueprint schema, and what it does.

The file is loaded the way Home Assistant loads it (``blueprints/automation/han_port/``, the
automation integration's blueprint schema, its inputs substituted and the automation
validated), then driven with sensor states: the charger's current follows the budget and the
phase headroom, pauses below the minimum and resumes with the hysteresis.
"""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import Blueprint
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service
import yaml

pytestmark = pytest.mark.flows

BLUEPRINT = Path(__file__).parents[2] / "blueprints/automation/han_port/ev_charging_budget.yaml"
BUDGET = "sensor.meter_capacity_power_budget"
HEADROOM = ["sensor.meter_l1_headroom", "sensor.meter_l2_headroom", "sensor.meter_l3_headroom"]
CURRENT = "number.charger_current"
POWER = "sensor.charger_power"
SWITCH = "switch.charger"


def test_blueprint_is_valid_for_home_assistant() -> None:
    blueprint = Blueprint(
        load_yaml_dict(str(BLUEPRINT)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "budget",
        "headroom",
        "charger_current",
        "charger_power",
        "pause_switch",
        "phases",
        "voltage",
        "min_current",
        "max_current",
        "hysteresis",
    }
    assert blueprint.metadata["homeassistant"]["min_version"] == "2024.10.0"


class Charger:
    """Home Assistant with the blueprint's automation, and the calls it makes."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.values: list[ServiceCall] = async_mock_service(hass, "number", "set_value")
        self.off: list[ServiceCall] = async_mock_service(hass, "switch", "turn_off")
        self.on: list[ServiceCall] = async_mock_service(hass, "switch", "turn_on")

    def set(self, entity_id: str, state: Any, unit: str | None = None, **attrs: Any) -> None:
        if unit is not None:
            attrs["unit_of_measurement"] = unit
        self.hass.states.async_set(entity_id, str(state), attrs)

    async def run(self, **states: Any) -> list[float]:
        """Set sensor states (budget=..., headroom=(...), current=..., power=...), then run."""
        self.values.clear()
        self.off.clear()
        self.on.clear()
        if "current" in states:
            self.set(CURRENT, states["current"], "A", min=0, max=32)
        if "power" in states:
            self.set(POWER, states["power"], "W")
        if "switch" in states:
            self.set(SWITCH, states["switch"])
        for entity_id, value in zip(HEADROOM, states.get("headroom", ()), strict=False):
            self.set(entity_id, value, "A")
        budget_attrs = {"counts": states["counts"]} if "counts" in states else {}
        self.set(BUDGET, states.get("budget", "unknown"), states.get("unit", "W"), **budget_attrs)
        await self.hass.services.async_call(
            "automation", "trigger", {"entity_id": "automation.ev"}, blocking=True
        )
        await self.hass.async_block_till_done()
        return [call.data["value"] for call in self.values]


async def charger(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **inputs: Any
) -> Charger:
    folder = tmp_path / "blueprints/automation/han_port"
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINT, folder / BLUEPRINT.name)
    monkeypatch.setattr(hass.config, "config_dir", str(tmp_path))
    fake = Charger(hass)
    fake.set(BUDGET, "unknown", "W")
    fake.set(CURRENT, 16, "A", min=0, max=32)
    fake.set(POWER, "unknown", "W")
    config = {
        "automation": {
            "id": "ev",
            "alias": "EV",
            "use_blueprint": {
                "path": "han_port/ev_charging_budget.yaml",
                "input": {"budget": BUDGET, "charger_current": CURRENT, **inputs},
            },
        }
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    assert hass.states.get("automation.ev") is not None  # the blueprint was valid
    # Its triggers work: a new budget runs it (16 A drawn, 3 A per phase too much: 13 A).
    fake.set(BUDGET, -690 * inputs.get("phases", 3), "W")
    await hass.async_block_till_done()
    assert [call.data["value"] for call in fake.values] == [13]
    # From here on each check sets every state first, then runs it once.
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "automation.ev"}, blocking=True
    )
    return fake


async def test_three_phase_charger_follows_budget_and_headroom(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = await charger(
        hass, tmp_path, monkeypatch, headroom=HEADROOM, charger_power=POWER, pause_switch=SWITCH
    )
    # Charging 10 A on 3 phases (6.9 kW); 1380 W more fits the budget: 12 A. Fuse: plenty.
    assert await ev.run(budget=1380, current=10, power=6900, headroom=(20, 20, 20)) == [12.0]
    # The budget is short by 2 kW: 7.1 A -> 7 A, at once.
    assert await ev.run(budget=-2000, current=10, power=6900, headroom=(20, 20, 20)) == [7.0]
    # The budget has room, but L2 has only 1.5 A left: 10 + 1.5 -> 11 A.
    assert await ev.run(budget=9000, current=10, power=6900, headroom=(20, 1.5, 20)) == [11.0]
    # A little more room (0.6 A): below the 1 A hysteresis, nothing is sent.
    assert await ev.run(budget=414, current=10, power=6900, headroom=(20, 20, 20)) == []
    # Outside the rule's hours the budget is unknown and does not count: the fuse and the
    # maximum limit.
    run = {"current": 10, "power": 6900}
    assert await ev.run(budget="unknown", counts=False, headroom=(9, 9, 9), **run) == [16.0]
    assert await ev.run(budget="unknown", counts=False, headroom=(3, 4, 5), **run) == [13.0]
    # A budget unavailable or unknown for another reason never raises the current: held...
    assert await ev.run(budget="unavailable", headroom=(9, 9, 9), **run) == []
    assert await ev.run(budget="unknown", headroom=(9, 9, 9), **run) == []
    assert await ev.run(budget="unknown", counts=True, headroom=(9, 9, 9), **run) == []
    assert await ev.run(budget="unavailable", counts=False, headroom=(9, 9, 9), **run) == []
    # ... and lowered when the fuse needs it.
    assert await ev.run(budget="unavailable", headroom=(9, -2, 9), **run) == [8.0]
    # The budget in kW (a display unit chosen in Home Assistant) is read as kW.
    kw = {"budget": 1.38, "unit": "kW", "headroom": (20, 20, 20)}
    assert await ev.run(**kw, **run) == [12.0]


async def test_pause_below_the_minimum_and_resume_with_hysteresis(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = await charger(hass, tmp_path, monkeypatch, charger_power=POWER, pause_switch=SWITCH)
    # 6 A on 3 phases is 4140 W; the budget says 3 kW less: 1.7 A < 6 A -> pause.
    assert await ev.run(budget=-3000, current=6, power=4140, switch="on") == []
    assert [call.data["entity_id"] for call in ev.off] == [[SWITCH]]
    # Paused: nothing drawn. 4140 W fits 6 A exactly, not 6 A + 1 A hysteresis: stay paused.
    assert await ev.run(budget=4140, current=6, power=0, switch="off") == []
    assert ev.on == []
    # 4830 W fits 7 A: resume at 7 A.
    assert await ev.run(budget=4830, current=6, power=0, switch="off") == [7.0]
    assert [call.data["entity_id"] for call in ev.on] == [[SWITCH]]
    # Already paused and still no room: nothing to do.
    assert await ev.run(budget=-500, current=6, power=0, switch="off") == []
    assert ev.off == []
    # Paused with plenty of fuse but no budget known: stays paused (never resumes blind).
    for budget in ("unavailable", "unknown"):
        assert await ev.run(budget=budget, current=16, power=0, switch="off") == []
        assert ev.on == []
    # Not counting (outside the rule's hours): resumes.
    assert await ev.run(budget="unknown", counts=False, current=16, power=0, switch="off") == [16.0]
    assert [call.data["entity_id"] for call in ev.on] == [[SWITCH]]


async def test_single_phase_charger_without_power_sensor_or_switch(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = await charger(hass, tmp_path, monkeypatch, phases=1, headroom=HEADROOM[:1])
    # 16 A on one phase is assumed drawn (3680 W); 460 W more: 18 A, capped at 16 A: no change.
    assert await ev.run(budget=460, current=16, headroom=(10,)) == []
    # 2300 W too much: (3680 - 2300) / 230 = 6 A.
    assert await ev.run(budget=-2300, current=16, headroom=(10,)) == [6.0]
    # Less than 6 A fits: the lowest current the number takes (0 pauses many chargers).
    assert await ev.run(budget=-700, current=6, headroom=(10,)) == [0.0]
    # At 0 A nothing is drawn; 1610 W fits 7 A >= 6 A + 1 A: charging again.
    assert await ev.run(budget=1610, current=0, headroom=(10,)) == [7.0]
    # Paused by the current (0 A) and the budget unavailable: stays at 0 A.
    assert await ev.run(budget="unavailable", current=0, headroom=(10,)) == []


def readme_automation() -> dict[str, Any]:
    """The example automation of the README's EV charging section."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### EV charging within the budget") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```\n", 10)]
    return yaml.safe_load(block)["automation"][0]  # type: ignore[no-any-return]


async def test_readme_example_does_what_the_blueprint_does(hass: HomeAssistant) -> None:
    config = {**readme_automation(), "id": "readme"}
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()
    entity_id = "automation.ev_charger_within_the_capacity_budget_and_the_main_fuse"
    assert hass.states.get(entity_id) is not None  # a valid automation
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": entity_id}, blocking=True
    )
    values = async_mock_service(hass, "number", "set_value")
    off = async_mock_service(hass, "switch", "turn_off")
    on = async_mock_service(hass, "switch", "turn_on")
    headroom = [f"sensor.han_port_current_headroom_l{phase}" for phase in (1, 2, 3)]

    async def run(
        budget: Any,
        current: float,
        power: float,
        left: tuple[float, ...],
        switch: str,
        counts: bool | None = None,
    ):
        for calls in (values, off, on):
            calls.clear()
        hass.states.async_set("number.ev_charger_current", str(current))
        hass.states.async_set("sensor.ev_charger_power", str(power))
        hass.states.async_set("switch.ev_charger", switch)
        for sensor, value in zip(headroom, left, strict=True):
            hass.states.async_set(sensor, str(value))
        attrs = {} if counts is None else {"counts": counts}
        hass.states.async_set("sensor.han_port_capacity_power_budget", str(budget), attrs)
        await hass.services.async_call(
            "automation", "trigger", {"entity_id": entity_id}, blocking=True
        )
        await hass.async_block_till_done()
        return [call.data["value"] for call in values], len(off), len(on)

    # The same cases as the blueprint's three-phase test, with the same answers.
    assert await run(1380, 10, 6900, (20, 20, 20), "on") == ([12], 0, 0)
    assert await run(-2000, 10, 6900, (20, 20, 20), "on") == ([7], 0, 0)
    assert await run(9000, 10, 6900, (20, 1.5, 20), "on") == ([11], 0, 0)
    assert await run(414, 10, 6900, (20, 20, 20), "on") == ([], 0, 0)
    assert await run("unknown", 10, 6900, (9, 9, 9), "on", counts=False) == ([16], 0, 0)
    assert await run("unknown", 10, 6900, (9, 9, 9), "on") == ([], 0, 0)  # held
    assert await run("unavailable", 10, 6900, (9, -2, 9), "on") == ([8], 0, 0)  # fuse: lower
    assert await run("unavailable", 6, 0, (20, 20, 20), "off") == ([], 0, 0)  # stays paused
    assert await run(-3000, 6, 4140, (20, 20, 20), "on") == ([], 1, 0)  # pause
    assert await run(4140, 6, 0, (20, 20, 20), "off") == ([], 0, 0)  # not 6 A + 1 A yet
    assert await run(4830, 6, 0, (20, 20, 20), "off") == ([7], 0, 1)  # resume at 7 A
