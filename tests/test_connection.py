"""Key parsing, serial settings and detection edge cases (no Home Assistant needed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.han_port import detect
from custom_components.han_port.connection import (
    InvalidKeyError,
    MeterConfig,
    open_port,
    parse_key,
    parse_meter_id,
    parse_system_title,
)
from custom_components.han_port.detect import Outcome, async_detect, listen_window
from custom_components.han_port.diagnostics import _decoder_info
from custom_components.han_port.han.profiles import SerialSettings

from .common import HDLC_NO, WMBUS_GAMA_FRAME, WMBUS_GAMA_KEY, WMBUS_PLAIN

KEY = "000102030405060708090a0b0c0d0e0f"


@pytest.mark.parametrize(
    "text",
    [
        KEY,
        KEY.upper(),
        f"0x{KEY}",
        " ".join(KEY[i : i + 2] for i in range(0, 32, 2)),
        ":".join(KEY[i : i + 2] for i in range(0, 32, 2)),
    ],
)
def test_parse_key_hex_forms(text: str) -> None:
    assert parse_key(text) == bytes.fromhex(KEY)


def test_parse_key_ascii_form() -> None:
    assert parse_key("9CoQ7w5LMFoLS3gJ") == b"9CoQ7w5LMFoLS3gJ"


@pytest.mark.parametrize("text", ["", "00", KEY[:-1] + "g", KEY + "00", "ąąąąąąąąąąąąąąąą"])
def test_parse_key_rejects(text: str) -> None:
    with pytest.raises(InvalidKeyError) as err:
        parse_key(text)
    assert text not in str(err.value) or not text


def test_system_title_and_meter_id() -> None:
    assert parse_system_title("45 47 4D 12 34 56 78 9A") == bytes.fromhex("45474d123456789a")
    with pytest.raises(InvalidKeyError):
        parse_system_title("4547")
    assert parse_meter_id(" 30584551 ") == "30584551"
    with pytest.raises(InvalidKeyError):
        parse_meter_id("3058455x")


def test_candidate_settings() -> None:
    wired = MeterConfig.from_data({"port": "/dev/ttyUSB0", "profile": "no_aidon"})
    assert [str(s) for s in wired.candidate_settings()] == ["2400 8E1", "2400 8N1"]
    network = MeterConfig.from_data({"port": "socket://h:1", "profile": "no_aidon"})
    assert [str(s) for s in network.candidate_settings()] == ["2400 8E1"]
    fixed = MeterConfig.from_data(
        {"port": "/dev/x", "profile": "no_aidon", "baudrate": 9600, "parity": "N", "bytesize": 7}
    )
    assert [str(s) for s in fixed.candidate_settings()] == ["9600 7N1"]
    cul = MeterConfig.from_data({"port": "/dev/x", "profile": "wmbus_oms", "receiver": "cul"})
    assert [str(s) for s in cul.candidate_settings()] == ["38400 8N1"]
    raw = MeterConfig.from_data({"port": "/dev/x", "profile": "wmbus_oms", "receiver": "raw"})
    assert len(raw.candidate_settings()) == 3
    unknown = MeterConfig.from_data({"port": "/dev/x", "profile": "gone"})
    assert unknown.profile.id == "auto"
    assert "Keys(ek=unset" in repr(unknown.keys)


@pytest.mark.parametrize("url", ["bogus://x", "socket://"])
async def test_open_port_bad_url_is_oserror(url: str) -> None:
    with pytest.raises(OSError):
        await open_port(url, SerialSettings(9600))


def test_listen_window_bounds() -> None:
    assert listen_window(1) == detect.LISTEN_MIN
    assert listen_window(100) == detect.LISTEN_MAX


# ---------------------------------------------------------------------- detection with fakes


class FakeReader:
    """Serves chunks; an exception in the list is raised instead."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = list(chunks)

    async def read(self, _size: int) -> bytes:
        if not self.chunks:
            await asyncio.sleep(10)
        chunk = self.chunks.pop(0)
        if isinstance(chunk, Exception):
            raise chunk
        return chunk


class FakeWriter:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


def fake_port(monkeypatch: pytest.MonkeyPatch, per_setting: list[list[Any]]) -> list[FakeWriter]:
    writers: list[FakeWriter] = []

    async def _open(_port: str, _settings: SerialSettings) -> tuple[FakeReader, FakeWriter]:
        writer = FakeWriter()
        writers.append(writer)
        return FakeReader(per_setting[len(writers) - 1]), writer

    monkeypatch.setattr(detect, "open_port", _open)
    return writers


async def test_detect_tries_next_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_port(monkeypatch, [[bytes(range(256)) * 40], [HDLC_NO]])
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "no_kaifa"})
    detection = await async_detect(config)
    assert detection.outcome is Outcome.FOUND
    assert str(detection.settings) == "2400 8N1"
    assert detection.tried == ["2400 8E1", "2400 8N1"]


async def test_detect_port_fails_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_port(monkeypatch, [[OSError("gone")]])
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "nl_dsmr"})
    assert (await async_detect(config)).outcome is Outcome.CANNOT_CONNECT


async def test_detect_end_of_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The far end accepts, then closes without a byte: it refused (not "nothing received")."""
    fake_port(monkeypatch, [[b""]])
    config = MeterConfig.from_data({"port": "socket://h:1", "profile": "nl_dsmr"})
    assert (await async_detect(config)).outcome is Outcome.CANNOT_CONNECT


async def test_detect_wireless_ignores_other_meters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The neighbour's plain meter is heard and listed, but is not ours."""
    fake_port(monkeypatch, [[WMBUS_PLAIN, WMBUS_GAMA_FRAME]])
    config = MeterConfig.from_data(
        {
            "port": "/dev/x",
            "profile": "wmbus_oms",
            "receiver": "raw",
            "encryption_key": WMBUS_GAMA_KEY,
        }
    )
    detection = await async_detect(config)
    assert detection.outcome is Outcome.PICK_METER
    assert detection.heard == ["10101010", "30584551"]
    assert detection.tried == ["57600 8N1"]


async def test_detect_starts_cul_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    writers = fake_port(monkeypatch, [[]])
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "wmbus_oms", "receiver": "cul"})
    assert (await async_detect(config)).outcome is Outcome.NOTHING
    assert writers[0].written  # switched to T1 reception first


def test_diagnostics_without_decoder() -> None:
    assert _decoder_info(None) == {}
