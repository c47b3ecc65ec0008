"""Fixtures of the Home Assistant tests: every test here gets a Home Assistant with HAN Port."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from custom_components.han_port import const, detect


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/han_port in every test."""


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection windows, back-off and silence in tens of milliseconds (2-core CI)."""
    monkeypatch.setattr(detect, "LISTEN_MIN", 0.4)
    monkeypatch.setattr(detect, "LISTEN_MAX", 0.4)
    monkeypatch.setattr(const, "BACKOFF_START", 0.02)
    monkeypatch.setattr(const, "BACKOFF_MAX", 0.08)
    # Silence after SILENCE_INTERVALS x profile interval: 0.05 x 10 s = 0.5 s for "auto".
    monkeypatch.setattr(const, "SILENCE_INTERVALS", 0.05)


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
