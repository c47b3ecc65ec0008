"""Translations: every language has every string, with the same placeholders."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.han_port.detect import Outcome
from custom_components.han_port.han.profiles import PROFILES, KeyNeed
from custom_components.han_port.sensor import (
    ABSTRACT,
    ELECTRICITY,
    GAS,
    HEADROOM,
    HEAT,
    METER_SENSORS,
    WATER,
)

ROOT = Path(__file__).parents[2] / "custom_components/han_port"
STRINGS = json.loads((ROOT / "strings.json").read_text())
LANGUAGES = ["pl", "et", "nb", "sv", "da", "nl", "de"]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def flatten(node: Any, path: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{path}.{key}" if path else key))
        return out
    return {path: node}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_is_complete(language: str) -> None:
    english = flatten(STRINGS)
    translated = flatten(json.loads((ROOT / f"translations/{language}.json").read_text()))
    assert set(translated) == set(english)
    for key, text in english.items():
        assert sorted(PLACEHOLDER.findall(translated[key])) == sorted(PLACEHOLDER.findall(text)), (
            key
        )
        assert translated[key].strip(), key


def test_no_references() -> None:
    assert "[%key:" not in json.dumps(STRINGS)


def test_every_entity_and_error_has_a_string() -> None:
    sensors = STRINGS["entity"]["sensor"]
    descriptions = [
        *ELECTRICITY.values(),
        *ABSTRACT.values(),
        GAS,
        WATER,
        HEAT,
        *METER_SENSORS,
        *HEADROOM,
    ]
    for description in descriptions:
        assert description.translation_key in sensors, description.key
    assert "register" in sensors
    errors = STRINGS["config"]["error"]
    for outcome in Outcome:
        if outcome is not Outcome.FOUND:
            assert outcome.value in errors
    icons = json.loads((ROOT / "icons.json").read_text())
    assert set(icons["entity"]["sensor"]) <= set(sensors)
    for key in (
        "cannot_open_port",
        "no_data",
        "port_error",
        "port_closed",
        "silent",
        "auth_failed",
    ):
        assert key in STRINGS["exceptions"]


def test_every_step_with_fields_describes_them() -> None:
    for flow in ("config", "options"):
        for step_id, step in STRINGS[flow]["step"].items():
            if "data" in step:
                assert set(step["data_description"]) == set(step["data"]), step_id


def test_every_profile_has_its_texts() -> None:
    """Names, activation guidance and key names live in the translations (issue 12)."""
    selector = STRINGS["selector"]
    names = selector["profile"]["options"]
    activation = selector["activation"]["options"]
    key_names = selector["key_name"]["options"]
    ids = {profile.id for profile in PROFILES}
    assert set(names) == set(activation) == ids
    for profile in PROFILES:
        assert names[profile.id] == profile.name  # the CLI prints the same English name
        assert activation[profile.id]
        if profile.keys in (KeyNeed.EK_AK, KeyNeed.EK, KeyNeed.WMBUS):
            assert f"{profile.id}_ek" in key_names, profile.id
    assert "2 months" in activation["pl_stoen_p1"]
    for key in key_names:
        assert key in ("ek", "ak") or key.rsplit("_", 1)[0] in ids, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_profile_texts_are_translated(language: str) -> None:
    """Not English copies: each language gives the guidance and the names in its own words."""
    english = STRINGS["selector"]
    translated = json.loads((ROOT / f"translations/{language}.json").read_text())["selector"]

    def unchanged(section: str) -> list[str]:
        options = translated[section]["options"]
        return [key for key, text in english[section]["options"].items() if options[key] == text]

    assert unchanged("activation") == []
    # A name such as "Luxembourg — Smarty (...)" may read the same in a neighbour language.
    assert len(unchanged("profile")) <= 3, unchanged("profile")
