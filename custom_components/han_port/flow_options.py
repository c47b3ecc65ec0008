"""The options flow: tuning that does not change which meter is read, and the capacity tariff.

init (update rate, CT scale, main fuse, capacity rule) -> capacity_steps (Norwegian rules:
price steps in kW and the step to stay in) or capacity_sweden (the configurable Swedish rule:
how many peaks, working days 07-19 only, one per day). Which rules the dropdown offers depends
on the profile's country (``capacity_rules.choices``); a profile of a country without a
capacity tariff gets no dropdown. Only the options of the chosen rule are stored; with the
tariff off, none are.
"""

from __future__ import annotations

from typing import Any, Literal

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from .capacity_rules import (
    CONF_CAPACITY,
    CONF_CAPACITY_DISTINCT,
    CONF_CAPACITY_PEAKS,
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_TARGET,
    CONF_CAPACITY_WEEKDAYS,
    OFF,
    SE_CUSTOM,
    StepsError,
    choices,
    format_steps,
    has_steps,
    parse_steps,
    preset,
)
from .connection import entry_profile
from .const import (
    CONF_FUSE,
    CONF_MIN_INTERVAL,
    CONF_SCALE,
    DEFAULT_FUSE,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_SCALE,
)
from .han.capacity.rules import MAX_PEAKS, MAX_STEPS

#: What each rule stores besides its name.
_RULE_OPTIONS = (
    CONF_CAPACITY_STEPS,
    CONF_CAPACITY_TARGET,
    CONF_CAPACITY_PEAKS,
    CONF_CAPACITY_WEEKDAYS,
    CONF_CAPACITY_DISTINCT,
)


def _number(
    low: float, high: float, step: float | Literal["any"] = 1, unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


class HanPortOptionsFlow(OptionsFlow):
    """Tuning that does not change which meter is read, and the capacity tariff."""

    def __init__(self) -> None:
        """Start with the entry's options (read in the first step)."""
        self._options: dict[str, Any] = {}

    def _rules(self) -> tuple[str, ...]:
        return choices(entry_profile(self.config_entry.data).country)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Update rate limit, CT scale factor, main fuse size and the capacity rule."""
        current = dict(self.config_entry.options)
        if user_input is not None:
            choice = user_input.get(CONF_CAPACITY, OFF)
            self._options = {k: v for k, v in current.items() if k in _RULE_OPTIONS}
            if current.get(CONF_CAPACITY) != choice:
                self._options = {}  # another rule: its options start from its preset
            self._options.update(user_input)
            if choice != OFF and has_steps(choice):
                return await self.async_step_capacity_steps()
            if choice == SE_CUSTOM:
                return await self.async_step_capacity_sweden()
            return self._save()
        fields: dict[Any, Any] = {
            vol.Required(CONF_MIN_INTERVAL, default=DEFAULT_MIN_INTERVAL): _number(0, 3600, 1, "s"),
            vol.Required(CONF_SCALE, default=DEFAULT_SCALE): _number(0.001, 100000, "any"),
            vol.Required(CONF_FUSE, default=DEFAULT_FUSE): _number(0, 1000, 1, "A"),
        }
        rules = self._rules()
        if rules:
            fields[vol.Required(CONF_CAPACITY, default=OFF)] = SelectSelector(
                SelectSelectorConfig(
                    options=[OFF, *rules],
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_CAPACITY,
                )
            )
        suggested = {**current, CONF_CAPACITY: current.get(CONF_CAPACITY, OFF)}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
        )

    async def async_step_capacity_steps(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Norwegian rule: the grid company's price steps and the step to stay in."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                steps = parse_steps(str(user_input.get(CONF_CAPACITY_STEPS, "")))
            except StepsError as err:
                errors[CONF_CAPACITY_STEPS] = err.code
            else:
                target = int(user_input.get(CONF_CAPACITY_TARGET, 0))
                if target > len(steps) + 1:
                    errors[CONF_CAPACITY_TARGET] = "target_step_range"
                else:
                    self._options[CONF_CAPACITY_STEPS] = format_steps(steps)
                    self._options[CONF_CAPACITY_TARGET] = target
                    return self._save()
        rule = preset(self._options[CONF_CAPACITY])
        schema = vol.Schema(
            {
                vol.Required(CONF_CAPACITY_STEPS): TextSelector(),
                vol.Required(CONF_CAPACITY_TARGET, default=0): _number(0, MAX_STEPS + 1),
            }
        )
        suggested = {
            CONF_CAPACITY_STEPS: format_steps(rule.steps),
            CONF_CAPACITY_TARGET: 0,
            **{k: v for k, v in self._options.items() if k in _RULE_OPTIONS},
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="capacity_steps",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def async_step_capacity_sweden(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The configurable Swedish rule: N highest hours, working days 07-19, one per day."""
        if user_input is not None:
            self._options[CONF_CAPACITY_PEAKS] = int(user_input[CONF_CAPACITY_PEAKS])
            self._options[CONF_CAPACITY_WEEKDAYS] = bool(user_input[CONF_CAPACITY_WEEKDAYS])
            self._options[CONF_CAPACITY_DISTINCT] = bool(user_input[CONF_CAPACITY_DISTINCT])
            return self._save()
        rule = preset(SE_CUSTOM)
        schema = vol.Schema(
            {
                vol.Required(CONF_CAPACITY_PEAKS): _number(1, MAX_PEAKS),
                vol.Required(CONF_CAPACITY_WEEKDAYS): BooleanSelector(),
                vol.Required(CONF_CAPACITY_DISTINCT): BooleanSelector(),
            }
        )
        suggested = {
            CONF_CAPACITY_PEAKS: rule.peaks,
            CONF_CAPACITY_WEEKDAYS: rule.weekdays_only,
            CONF_CAPACITY_DISTINCT: rule.distinct_days,
            **{k: v for k, v in self._options.items() if k in _RULE_OPTIONS},
        }
        return self.async_show_form(
            step_id="capacity_sweden",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
        )

    def _save(self) -> ConfigFlowResult:
        """Store the tuning and only the options of the chosen rule (none when off)."""
        options = self._options
        choice = options.get(CONF_CAPACITY, OFF)
        if choice == OFF:
            keep: tuple[str, ...] = ()
        elif has_steps(choice):
            keep = (CONF_CAPACITY, CONF_CAPACITY_STEPS, CONF_CAPACITY_TARGET)
        elif choice == SE_CUSTOM:
            keep = (CONF_CAPACITY, CONF_CAPACITY_PEAKS, CONF_CAPACITY_WEEKDAYS)
            keep += (CONF_CAPACITY_DISTINCT,)
        else:
            keep = (CONF_CAPACITY,)
        data = {
            k: v
            for k, v in options.items()
            if k in keep or (k != CONF_CAPACITY and k not in _RULE_OPTIONS)
        }
        return self.async_create_entry(data=data)
