"""Which capacity rule an entry uses: the options the flow stores, as a library rule.

The options flow offers the rules of the meter profile's country (all of them for a profile
without one, such as auto-detect), off by default:

- Norway: Elvia's, BKK's and Lede's presets and "other grid company" (the usual rule, three
  highest hours on three days, without prices); the price steps are editable for every one of
  them (kW bounds, comma-separated) and so is the step the step budget keeps to.
- Belgium: Flanders' capaciteitstarief (nothing to set).
- Sweden: Sala-Heby's preset, Ellevio's (as users describe it; see the library) and a
  configurable rule: the mean of the N highest hours, optionally only on working days 07-19
  (Swedish public holidays excluded), optionally one per day.

The rule is evaluated in its country's time zone, not Home Assistant's: the grid bills by its
own clock whatever zone the Home Assistant host is set to.
"""

from __future__ import annotations

from dataclasses import replace
import math
from typing import TYPE_CHECKING, Any, Final

from .const import LOGGER
from .han.capacity import (
    FLANDERS,
    NORWAY,
    NORWAY_BKK,
    NORWAY_LEDE,
    PRESETS,
    SE_HOURS,
    SWEDEN_ELLEVIO,
    SWEDEN_WEEKDAY_DAYTIME,
    CapacityRule,
)
from .han.capacity.rules import MAX_STEPS, ascending

if TYPE_CHECKING:
    from collections.abc import Mapping

# Options.
CONF_CAPACITY: Final = "capacity_rule"
CONF_CAPACITY_STEPS: Final = "capacity_steps"
CONF_CAPACITY_TARGET: Final = "capacity_target_step"
CONF_CAPACITY_PEAKS: Final = "capacity_peaks"
CONF_CAPACITY_WEEKDAYS: Final = "capacity_weekdays"
CONF_CAPACITY_DISTINCT: Final = "capacity_distinct_days"

OFF: Final = "off"
NO_OTHER: Final = "no_other"
SE_CUSTOM: Final = "se_custom"
#: Form errors of the price steps.
FORMAT: Final = "steps_format"
ORDER: Final = "steps_order"

#: The rules each country's profiles may choose, in the order the dropdown lists them.
CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "NO": (NORWAY.key, NORWAY_BKK.key, NORWAY_LEDE.key, NO_OTHER),
    "BE": (FLANDERS.key,),
    "SE": (SWEDEN_WEEKDAY_DAYTIME.key, SWEDEN_ELLEVIO.key, SE_CUSTOM),
}
#: The time zone each country's grid bills in.
ZONES: Final = {"NO": "Europe/Oslo", "BE": "Europe/Brussels", "SE": "Europe/Stockholm"}


class StepsError(ValueError):
    """Price steps that cannot be read; ``code`` is the form error."""

    def __init__(self, code: str) -> None:
        """Refuse the steps with the form error ``code``."""
        super().__init__(code)
        self.code = code


def choices(country: str | None) -> tuple[str, ...]:
    """The rules a profile of ``country`` may choose (every rule when the country is unknown)."""
    if country is None:
        return tuple(choice for options in CHOICES.values() for choice in options)
    return CHOICES.get(country, ())


def country_of(choice: str) -> str:
    """The country of a rule choice (KeyError for one that is not a choice)."""
    return next(country for country, options in CHOICES.items() if choice in options)


def has_steps(choice: str) -> bool:
    """Whether a choice has editable price steps (the Norwegian ones)."""
    return country_of(choice) == "NO"


def preset(choice: str) -> CapacityRule:
    """The rule a choice starts from."""
    if choice == NO_OTHER:
        return replace(NORWAY, key=NO_OTHER, step_prices=(), source="")
    if choice == SE_CUSTOM:  # starts as Sala-Heby's rule, the user edits the rest
        return replace(SWEDEN_WEEKDAY_DAYTIME, key=SE_CUSTOM, source="")
    return PRESETS[choice]


def format_steps(steps: tuple[float, ...]) -> str:
    """Step bounds (W) as the form shows them: kW, comma-separated ("2, 5, 10")."""
    return ", ".join(f"{bound / 1000:g}" for bound in steps)


def parse_steps(text: str) -> tuple[float, ...]:
    """Step bounds typed in kW (commas, semicolons or spaces between) -> W, ascending.

    Raises ``StepsError`` with "steps_format" (not numbers, none, or more than 30) or
    "steps_order" (not positive and strictly ascending).
    """
    parts = text.replace(";", ",").replace(",", " ").split()
    try:
        bounds = tuple(round(float(part) * 1000, 3) for part in parts)
    except ValueError:
        bounds = ()
    if not bounds or len(bounds) > MAX_STEPS or not all(math.isfinite(b) for b in bounds):
        raise StepsError(FORMAT)
    if not ascending(bounds):
        raise StepsError(ORDER)
    return bounds


def rule_from_options(options: Mapping[str, Any]) -> CapacityRule | None:
    """The entry's rule; None when the capacity tariff is off.

    Options a hand edit broke give the choice's preset (and a warning), never no rule.
    """
    choice = options.get(CONF_CAPACITY, OFF)
    if choice == OFF:
        return None
    try:
        rule = preset(choice)
    except KeyError:
        LOGGER.warning("Unknown capacity rule %r in the options: capacity tariff off", choice)
        return None
    try:
        return _configured(rule, choice, options)
    except (ValueError, TypeError):
        LOGGER.warning("Capacity options %s cannot be used: %s as preset", dict(options), choice)
        return rule


def _configured(rule: CapacityRule, choice: str, options: Mapping[str, Any]) -> CapacityRule:
    if has_steps(choice) and CONF_CAPACITY_STEPS in options:
        steps = parse_steps(str(options[CONF_CAPACITY_STEPS]))
        if steps != rule.steps:  # the preset's prices belong to the preset's steps
            rule = replace(rule, steps=steps, step_prices=())
    if choice == SE_CUSTOM:
        weekdays = bool(options.get(CONF_CAPACITY_WEEKDAYS, True))
        rule = replace(
            rule,
            peaks=int(options.get(CONF_CAPACITY_PEAKS, rule.peaks)),
            distinct_days=bool(options.get(CONF_CAPACITY_DISTINCT, rule.distinct_days)),
            weekdays_only=weekdays,
            hours=SE_HOURS if weekdays else None,
            holidays="SE" if weekdays else None,
        )
    return rule


def step_target(options: Mapping[str, Any], rule: CapacityRule) -> int | None:
    """The 1-based step the step budget keeps to; None: the month's current step."""
    target = options.get(CONF_CAPACITY_TARGET, 0)
    if not rule.steps or not isinstance(target, int | float) or target < 1:
        return None
    return min(int(target), len(rule.steps) + 1)


def zone(rule: CapacityRule) -> str:
    """The time zone of the grid whose rule this is."""
    return ZONES[country_of(rule.key)]
