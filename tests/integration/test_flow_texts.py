"""Profile names, activation guidance and key names come in Home Assistant's language (issue 12)."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import CONF_PROFILE, DOMAIN, ISSUE_SILENT
from custom_components.han_port.han.profiles import get_profile
from custom_components.han_port.repairs import MeterIssues

from .flow import DETECT, PORT, answer, found, progress, start

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]


async def test_the_keys_step_in_german(hass: HomeAssistant) -> None:
    hass.config.language = "de"
    result = await start(hass, PORT, "lu_smarty")
    assert result["step_id"] == "keys"
    placeholders = result["description_placeholders"]
    assert placeholders["profile"] == "Luxemburg — Smarty (verschlüsseltes P1)"
    assert placeholders["ek_name"] == "P1-Entschlüsselungsschlüssel"
    assert placeholders["ak_name"] == "AK"  # Luxembourg names one key only
    assert placeholders["activation"] == (
        "Frag deinen Netzbetreiber (Creos, ...) nach dem P1-Entschlüsselungsschlüssel des Zählers."
    )


async def test_the_profile_dropdown_is_translated(hass: HomeAssistant) -> None:
    result = await start(hass, PORT, "nl_dsmr")  # the meter step is done: fetch it again
    flow = hass.config_entries.flow._progress[result["flow_id"]]
    shown = flow._show_meter()
    config = shown["data_schema"].schema[CONF_PROFILE].config
    assert config["translation_key"] == "profile"
    # Where a language lacks a name, the frontend shows the library's English one.
    assert {"value": "nl_dsmr", "label": "Netherlands — DSMR P1"} in config["options"]
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_a_meter_without_maker_is_named_by_the_translated_profile(
    hass: HomeAssistant,
) -> None:
    hass.config.language = "nb"
    with patch(DETECT, side_effect=answer(found(), 0)):
        result = await start(hass, PORT)
        result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["meter"] == "Automatisk gjenkjenning 12345678"


async def test_a_language_without_translations_reads_english(hass: HomeAssistant) -> None:
    hass.config.language = "fr"
    result = await start(hass, PORT, "dk_kamstrup")
    placeholders = result["description_placeholders"]
    assert placeholders["ek_name"] == "GPK60 (encryption key)"
    assert placeholders["activation"].startswith("Ask your grid company")


async def test_repair_issues_say_how_to_activate_in_the_language(hass: HomeAssistant) -> None:
    hass.config.language = "pl"
    entry = MockConfigEntry(domain=DOMAIN, title="Licznik", data={CONF_PORT: "/dev/x"})
    entry.add_to_hass(hass)
    issues = MeterIssues(hass, entry, "/dev/x", silent_after=0.0, key_failure_limit=5)
    await issues.async_load(get_profile("pl_stoen_p1"))
    issues.check_silent(1.0, cannot_open=False)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_SILENT}_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["activation"].startswith(
        "Wyślij wniosek o aktywację HAN na adres operator@stoen.pl"
    )
