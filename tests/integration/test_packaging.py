"""manifest.json and hacs.json: what hassfest and HACS check."""

from __future__ import annotations

import json
from pathlib import Path
import re

from awesomeversion import AwesomeVersion

ROOT = Path(__file__).parents[2]
MANIFEST = json.loads((ROOT / "custom_components/han_port/manifest.json").read_text())
HACS = json.loads((ROOT / "hacs.json").read_text())


def test_manifest_key_order() -> None:
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_required_keys() -> None:
    assert MANIFEST["domain"] == "han_port"
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["dependencies"] == ["usb"]
    assert MANIFEST["iot_class"] == "local_push"
    assert MANIFEST["integration_type"] in {"device", "hub"}
    assert MANIFEST["documentation"].startswith("https://")
    assert MANIFEST["issue_tracker"].startswith("https://")
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["loggers"]
    assert "quality_scale" not in MANIFEST
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])


def test_requirements_are_ranges_that_admit_ha_pins() -> None:
    """Ranges, never pins, and the serialx range admits HA 2026.11's pin (1.15.1)."""
    requirements = MANIFEST["requirements"]
    assert requirements
    for requirement in requirements:
        assert "==" not in requirement, requirement
        assert ">=" in requirement, requirement
    serialx = next(r for r in requirements if r.startswith("serialx"))
    low = AwesomeVersion(re.search(r">=([\d.]+)", serialx).group(1))
    assert low <= AwesomeVersion("1.15.1")
    high = re.search(r"<([\d.]+)", serialx)
    assert high is None or AwesomeVersion(high.group(1)) > AwesomeVersion("1.15.1")
    # Nothing Home Assistant ships itself.
    assert not any(r.startswith(("cryptography", "voluptuous", "pyserial")) for r in requirements)


def test_hacs_json() -> None:
    assert HACS["name"] == MANIFEST["name"]
    assert AwesomeVersion(HACS["homeassistant"]) <= AwesomeVersion("2025.4.4")
    assert {"PL", "EE", "NO", "SE", "DK", "NL", "BE", "LU", "AT"} <= set(HACS["country"])


def test_translations_match_strings() -> None:
    strings = json.loads((ROOT / "custom_components/han_port/strings.json").read_text())
    english = json.loads((ROOT / "custom_components/han_port/translations/en.json").read_text())
    assert english == strings
