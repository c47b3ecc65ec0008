"""Fixtures of the Home Assistant tests: every test here gets a Home Assistant with HAN Port."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from functools import partial

import pytest

from custom_components import han_port
from custom_components.han_port import detect, flow_detect
from custom_components.han_port.const import Timings
from custom_components.han_port.coordinator import HanPortCoordinator

from .timing import FAST, SetTimings


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/han_port in every test."""


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection windows in tenths of a second."""
    monkeypatch.setattr(detect, "LISTEN_MIN", 0.4)
    monkeypatch.setattr(detect, "LISTEN_MAX", 0.4)


@pytest.fixture(autouse=True)
def timings(monkeypatch: pytest.MonkeyPatch) -> SetTimings:
    """The coordinators set up in a test read with ``FAST`` timings.

    ``timings(field=value, ...)`` changes some for the rest of the test (from what they
    are) and returns the timings now in use.
    """
    current = FAST

    def use(**changes: float) -> Timings:
        nonlocal current
        current = replace(current, **changes)
        monkeypatch.setattr(
            han_port, "HanPortCoordinator", partial(HanPortCoordinator, timings=current)
        )
        return current

    use()
    return use


@pytest.fixture
def fast_renotify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tell the dialog again after milliseconds, not seconds (tests that use it ask by name)."""
    monkeypatch.setattr(flow_detect, "RENOTIFY_DELAYS", (0.01, 0.02, 0.04))


@pytest.fixture
def no_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """No serial ports on this machine (the flow's port list is empty)."""
    monkeypatch.setattr("serial.tools.list_ports.comports", list)


@pytest.fixture
async def stop_tasks() -> AsyncGenerator[list]:
    """Things with an async ``stop`` to call at the end of a test."""
    stoppable: list = []
    yield stoppable
    for item in stoppable:
        await item.stop()
