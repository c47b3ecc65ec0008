"""The protocol library's tests: bytes in, readings out, no Home Assistant.

Nothing here imports Home Assistant or the integration (``custom_components.han_port``): the
library is imported as the top-level package ``han``, shared helpers come from ``tests.common``.
``scripts/test`` runs this directory without Home Assistant's pytest plugin, and
``tests/dev/test_layout.py`` fails such a run if Home Assistant was imported. A test that needs
Home Assistant belongs in ``tests/integration``; this hook refuses one that asks for ``hass`` here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a library test that asks for Home Assistant (the ``hass`` fixture)."""
    for item in items:
        if item.path.is_relative_to(HERE) and "hass" in getattr(item, "fixturenames", ()):
            msg = f"{item.nodeid}: library tests run without Home Assistant (tests/integration)"
            raise pytest.UsageError(msg)
