"""Detection ends as soon as the answer is certain; a port that refuses is cannot_connect."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from custom_components.han_port import connection, detect
from custom_components.han_port.connection import MeterConfig
from custom_components.han_port.detect import Outcome, async_detect
from custom_components.han_port.han.profiles import SerialSettings
from tests.common import DK_AK, DK_EK, DK_FRAME, HDLC_NO

from .fake_port import fake_port

WINDOW = 5.0


@pytest.fixture
def long_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real listening window, so that ending early shows."""
    monkeypatch.setattr(detect, "LISTEN_MIN", WINDOW)
    monkeypatch.setattr(detect, "LISTEN_MAX", WINDOW)


@pytest.mark.usefixtures("long_window")
async def test_correct_keys_end_at_the_first_authenticated_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Danish Kamstrup sends no id register: its first good frame is proof enough."""
    fake_port(monkeypatch, [[DK_FRAME]])  # then silence
    config = MeterConfig.from_data(
        {
            "port": "/dev/x",
            "profile": "dk_kamstrup",
            "encryption_key": DK_EK,
            "authentication_key": DK_AK,
        }
    )
    detection = await asyncio.wait_for(async_detect(config), WINDOW / 2)
    assert detection.outcome is Outcome.FOUND
    assert detection.message is not None
    assert detection.message.meter.meter_id is None
    assert detection.listened < 1


@pytest.mark.usefixtures("long_window")
async def test_nothing_received_reports_the_time_listened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect, "LISTEN_MIN", 0.2)
    monkeypatch.setattr(detect, "LISTEN_MAX", 0.2)
    fake_port(monkeypatch, [[]])
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "nl_dsmr"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.NOTHING
    assert 0.15 < detection.listened < 1
    assert detection.tried == ["115200 8N1"]


async def test_plain_frames_with_an_id_end_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_port(monkeypatch, [[HDLC_NO]])
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "no_kaifa"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.FOUND
    assert detection.listened < 0.3


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(111, "refused"), TimeoutError(), OSError(113, "No route to host")],
    ids=["refused", "timed-out", "unreachable"],
)
async def test_refused_or_unreachable_is_cannot_connect(
    monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    async def _open(_port: str, _settings: SerialSettings) -> Any:
        raise error

    monkeypatch.setattr(connection, "open_port", _open)
    config = MeterConfig.from_data({"port": "socket://meter.invalid:2000", "profile": "auto"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.CANNOT_CONNECT
    assert detection.tried == ["115200 8N1"]


async def test_far_end_closing_at_once_is_cannot_connect(socket_enabled: None) -> None:
    """A bridge that accepts and hangs up (its serial side is busy or missing)."""

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = MeterConfig.from_data({"port": f"socket://127.0.0.1:{port}", "profile": "auto"})
        detection = await async_detect(config)
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    assert detection.outcome is Outcome.CANNOT_CONNECT


async def test_refused_port_is_cannot_connect(socket_enabled: None) -> None:
    config = MeterConfig.from_data({"port": "socket://127.0.0.1:1", "profile": "auto"})
    assert (await async_detect(config)).outcome is Outcome.CANNOT_CONNECT
