"""Pytest plugin: the tests with voluptuous replaced by probatio, as in Home Assistant 2026.11.

HA 2026.11 no longer ships voluptuous; it installs probatio's compatibility shim as
``voluptuous`` before anything else is imported. HA 2026.11 itself needs Python 3.14, so we
check the part of that change our code touches (every schema of the config, options and repair
flows) on HA 2025.4 with the same shim: ``scripts/test`` runs the Home Assistant tests again
with ``-p tests.probatio_shim``.
"""

from __future__ import annotations

import sys

from probatio.compat import install_as_voluptuous
import pytest

if "homeassistant" in sys.modules:  # pragma: no cover - a wrong plugin order
    msg = "tests.probatio_shim must load before Home Assistant is imported"
    raise RuntimeError(msg)
install_as_voluptuous()


def pytest_configure(config: pytest.Config) -> None:
    """Fail at once unless Home Assistant really validates with probatio."""
    import homeassistant.helpers.config_validation as cv
    import voluptuous

    if not voluptuous.__name__.startswith("probatio"):
        msg = f"voluptuous is {voluptuous.__name__}, not probatio's shim"
        raise pytest.UsageError(msg)
    if not type(cv.PLATFORM_SCHEMA).__module__.startswith("probatio"):
        msg = "Home Assistant imported the real voluptuous before the shim"
        raise pytest.UsageError(msg)
