"""Translated sentences the flows and repair issues fill into their texts, in HA's language.

A form's description cannot choose between sentences, and a placeholder is inserted as it is:
what depends on the meter profile (its name, how a customer gets the HAN port switched on,
what the operator calls its keys) and the optional lines of the "Meter found" step live in
the ``selector`` section of the translations, as options of selectors (``profile`` is the
profile dropdown itself; ``activation``, ``key_name`` and ``confirm`` are never shown as
selectors) and are read here. The library's profiles keep only an English name, for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from .han.profiles import Profile

#: Selector translation keys of the profile-dependent sentences.
PROFILE = "profile"
ACTIVATION = "activation"
KEY_NAME = "key_name"


class Texts:
    """Translated strings of one language, with ``{placeholder}`` filling."""

    def __init__(self, strings: Mapping[str, str]) -> None:
        """Wrap strings as ``async_get_translations`` returns them (flat, full keys)."""
        self._strings = strings

    def get(self, key: str, **values: str) -> str:
        """The string ``key`` (the key itself when missing), placeholders filled."""
        text = self._strings.get(key, key)
        for name, value in values.items():
            text = text.replace(f"{{{name}}}", value)
        return text

    def option(self, selector: str, option: str, **values: str) -> str | None:
        """Option ``option`` of the selector ``selector``; None when there is none."""
        key = f"component.{DOMAIN}.selector.{selector}.options.{option}"
        return self.get(key, **values) if key in self._strings else None

    def line(self, option: str, **values: str) -> str:
        """A line of the "Meter found" step."""
        return self.option("confirm", option, **values) or option

    def profile_name(self, profile: Profile) -> str:
        """The profile's name as the dropdown shows it."""
        return self.option(PROFILE, profile.id) or profile.name

    def activation(self, profile: Profile) -> str:
        """How to get the profile's HAN port switched on, and where the keys come from."""
        return self.option(ACTIVATION, profile.id) or ""

    def key_name(self, profile: Profile, key: str) -> str:
        """What the profile's operator calls key ``key`` ("ek" or "ak")."""
        return (
            self.option(KEY_NAME, f"{profile.id}_{key}")
            or self.option(KEY_NAME, key)
            or key.upper()
        )


async def async_get_texts(hass: HomeAssistant, *categories: str) -> Texts:
    """The integration's strings of these categories in Home Assistant's language.

    Home Assistant falls back to English for a string a language lacks.
    """
    strings: dict[str, str] = {}
    for category in categories or ("selector",):
        strings.update(await async_get_translations(hass, hass.config.language, category, [DOMAIN]))
    return Texts(strings)
