"""Fixtures every test directory may use; nothing here imports Home Assistant.

``tests/han`` (the protocol library) and ``tests/dev`` (simulator, command line) run without
Home Assistant: ``scripts/test`` runs them without its pytest plugin (``-p no:homeassistant``)
and ``tests/dev/test_layout.py`` checks that nothing they import imports it. Home Assistant's
fixtures are in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.common import Pty


@pytest.fixture
def pty() -> Generator[Pty]:
    """A pseudo-terminal a reader can open like a serial port."""
    terminal = Pty()
    yield terminal
    terminal.close()
