"""Fixtures every test directory may use, and the check that keeps two of them Home Assistant free.

``tests/han`` (the protocol library) and ``tests/dev`` (simulator, command line) import no Home
Assistant: ``scripts/test`` runs them without its pytest plugin (``-p no:homeassistant``), and a
run without the plugin fails if anything it collected or ran imported Home Assistant (or the
integration, which imports it). Home Assistant's fixtures are in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Generator
import sys

import pytest

from tests.common import Pty


@pytest.fixture
def pty() -> Generator[Pty]:
    """A pseudo-terminal a reader can open like a serial port."""
    terminal = Pty()
    yield terminal
    terminal.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Without Home Assistant's plugin, fail the run if anything imported Home Assistant."""
    del exitstatus
    if session.config.pluginmanager.has_plugin("homeassistant") or (
        "homeassistant" not in sys.modules
    ):
        return
    integration = sorted(name for name in sys.modules if name.startswith("custom_components."))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            "Home Assistant was imported in a run without its plugin (tests/han and tests/dev "
            f"must not import it); integration modules loaded: {integration or 'none'}",
            red=True,
        )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
