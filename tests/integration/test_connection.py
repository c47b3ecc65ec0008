"""Key parsing, serial settings and detection edge cases (no Home Assistant needed)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from custom_components.han_port import connection, detect
from custom_components.han_port.connection import (
    InvalidKeyError,
    MeterConfig,
    close_port,
    is_pty,
    line_settings,
    open_port,
    parse_key,
    parse_meter_id,
    parse_system_title,
)
from custom_components.han_port.detect import Outcome, async_detect, listen_window
from custom_components.han_port.han.decoder import Decoder
from custom_components.han_port.han.framing import FrameKind
from custom_components.han_port.han.profiles import Parity, SerialSettings, get_profile
from custom_components.han_port.han.replay import ReplayGuard
from tests.common import HDLC_NO, WMBUS_GAMA_FRAME, WMBUS_GAMA_KEY, WMBUS_PLAIN, Pty

from .fake_port import fake_port

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


async def test_a_decoder_bug_ends_detection_and_closes_the_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow logs the bug and says "unreadable" (test_config_flow); the port is closed."""
    writers = fake_port(monkeypatch, [[HDLC_NO]])

    def broken(_self: Decoder, _data: bytes, *, final: bool = False) -> list[Any]:
        msg = "a decoder bug"
        raise IndexError(msg)

    monkeypatch.setattr(Decoder, "feed", broken)
    config = MeterConfig.from_data({"port": "/dev/x", "profile": "no_kaifa"})
    with pytest.raises(IndexError):
        await async_detect(config)
    assert writers[0].closed


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


def test_both_decoders_say_what_they_saw() -> None:
    """The read loop's decoders: setup commands and diagnostics without isinstance checks."""
    wired = MeterConfig.from_data({"port": "/dev/x", "profile": "no_kaifa"}).new_decoder()
    wired.feed(HDLC_NO)
    assert list(wired.setup_commands()) == []
    assert wired.diagnostics()["locked_format"] == "hdlc"
    assert wired.diagnostics()["stream"]["frames"] == 1
    config = MeterConfig.from_data(
        {"port": "/dev/x", "profile": "wmbus_oms", "receiver": "raw", "meter_id": "30584551"}
    )
    wireless = config.new_decoder()
    wireless.feed(WMBUS_PLAIN)
    assert list(wireless.setup_commands()) == []
    assert wireless.diagnostics() == {"heard": ["10101010"]}


# ---------------------------------------------------------------------- PTYs and formats


@pytest.mark.parametrize(
    "settings",
    [SerialSettings(2400, Parity.EVEN), SerialSettings(9600, Parity.EVEN, 7)],
    ids=str,
)
async def test_a_pty_reopens_at_any_line_setting(pty: Pty, settings: SerialSettings) -> None:
    """Issue 10 item 8: the second open of a PTY at 8E1 (or 7E1) failed with EINVAL.

    Linux keeps a PTY at 8N1 whatever is asked; glibc's tcsetattr reports EINVAL when the
    only change asked for (PARENB, CSIZE) did not stick, which is so from the second open on.
    """
    assert is_pty(pty.path)
    assert line_settings(pty.path, settings) == SerialSettings(settings.baudrate)
    for _ in range(3):
        reader, writer = await open_port(pty.path, settings)
        os.write(pty.master, b"ping")
        assert await asyncio.wait_for(reader.read(4), 2) == b"ping"
        await close_port(writer)


def test_line_settings_keep_real_ports_and_urls_as_asked(tmp_path: Path) -> None:
    even = SerialSettings(2400, Parity.EVEN)
    assert line_settings("socket://127.0.0.1:1", even) is even
    assert line_settings("/dev/does-not-exist", even) is even
    plain_file = tmp_path / "file"
    plain_file.write_bytes(b"")
    assert line_settings(str(plain_file), even) is even
    assert line_settings("/dev/null", even) is even  # a character device, but not a PTY
    assert not is_pty("socket://127.0.0.1:1")
    assert not is_pty("/dev/null")
    assert not is_pty("bad\0path")


def test_detected_format_narrows_the_framers_of_the_running_reader() -> None:
    data = {"port": "/dev/x", "profile": "auto", "format": "dlms"}
    assert MeterConfig.from_data(data).formats == get_profile("auto").formats  # flows
    running = MeterConfig.from_data(data, with_format=True)
    assert running.formats == (FrameKind.HDLC, FrameKind.MBUS)
    decoder = running.new_decoder()
    assert isinstance(decoder, Decoder)
    assert {framer.kind for framer in decoder.reader._framers} == {"hdlc", "mbus"}
    p1 = MeterConfig.from_data({**data, "format": "p1"}, with_format=True)
    assert p1.formats == (FrameKind.P1, FrameKind.P1_STOEN, FrameKind.DSMR_GCM)
    lu = MeterConfig.from_data({**data, "profile": "lu_smarty", "format": "p1"}, with_format=True)
    assert lu.formats == (FrameKind.DSMR_GCM, FrameKind.P1)
    # A format the profile cannot carry, or one nobody knows, leaves the profile's own.
    other = MeterConfig.from_data({**data, "profile": "nl_dsmr"}, with_format=True)
    assert other.formats == (FrameKind.P1,)
    odd = MeterConfig.from_data({**data, "format": "wmbus"}, with_format=True)
    assert odd.formats == get_profile("auto").formats


def test_profiles_that_encrypt_refuse_frames_in_clear() -> None:
    encrypting = {"dk_kamstrup", "at_mbus", "lu_smarty", "pl_stoen_p1"}
    for profile in ("auto", "nl_dsmr", "no_kaifa", "se_p1", *encrypting):
        config = MeterConfig.from_data({"port": "/dev/x", "profile": profile})
        assert config.require_encryption is (profile in encrypting), profile
        decoder = config.new_decoder()
        assert isinstance(decoder, Decoder)
        assert decoder.require_encryption is config.require_encryption


def test_a_shared_replay_guard_reaches_the_decoder() -> None:
    guard = ReplayGuard()
    decoder = MeterConfig.from_data({"port": "/dev/x", "profile": "dk_kamstrup"}).new_decoder(guard)
    assert isinstance(decoder, Decoder)
    assert decoder.replay is guard


def test_the_integration_uses_the_library_key_parser() -> None:
    from custom_components.han_port.han import keys

    assert connection.parse_key is keys.parse_key
    assert connection.parse_system_title is keys.parse_system_title
    assert connection.InvalidKeyError is keys.InvalidKeyError
