"""The capture a user can send us (issue 14 items 2 and 3), end to end.

A simulated meter pushes into a PTY, Home Assistant reads it, the diagnostics are downloaded as
a user downloads them, and ``scripts/han decode --file`` reads that file back: every simulated
meter's frames decode again to what Home Assistant decoded, and no configured key is in it.
When bytes arrive and nothing decodes, a repair issue asks for that capture.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
import random
from typing import Any

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    _get_diagnostics_for_config_entry,
)

from custom_components.han_port.const import (
    CONF_EK,
    CONF_METER_ID,
    CONF_PROFILE,
    CONF_RECEIVER,
    DOMAIN,
    ISSUE_NO_DECODE,
)
from custom_components.han_port.han.capture import FrameCapture
from custom_components.han_port.han.decoder import Decoder
from custom_components.han_port.han.model import Keys, Message
from hanport_dev import cli
from hanport_dev.simulator import SIMULATED_PROFILES, MeterSimulator
from tests.common import (
    HDLC_NO,
    WMBUS_GAMA_FRAME,
    WMBUS_GAMA_KEY,
    Meter,
    Pty,
    dk_frames,
    run_cli,
    wait_for,
)

from .entries import set_up_entry
from .timing import SetTimings

#: Pushes per meter: more than the capture keeps (20 frames), so that it has to drop some.
PUSHES = 12


async def _push(pty: Pty, frames: list[bytes]) -> None:
    """Each push once (an encrypted push repeated would be a replay), in odd-sized pieces."""
    rng = random.Random(len(frames))
    for frame in frames:
        pos = 0
        while pos < len(frame):
            size = rng.randint(40, 400)
            await pty.write(frame[pos : pos + size])
            pos += size
            await asyncio.sleep(0.002)
        pty.drain()


async def _entry(hass: HomeAssistant, data: dict[str, Any]) -> MockConfigEntry:
    return await set_up_entry(hass, data, unique_id="capture", settle=False)


async def _download(hass: HomeAssistant, hass_client: Any, entry: MockConfigEntry) -> Any:
    """The file a user gets from *Download diagnostics* (Home Assistant's envelope included)."""
    return await _get_diagnostics_for_config_entry(hass, hass_client, entry)


def _decode_file(path: Path, *args: str) -> list[dict[str, Any]]:
    status, text = run_cli(["decode", "--file", str(path), "--json", *args])
    lines = [json.loads(line) for line in text.splitlines()]
    assert status == 0, lines
    return lines


@pytest.mark.parametrize("name", SIMULATED_PROFILES)
async def test_diagnostics_decode_again_with_scripts_han(
    hass: HomeAssistant,
    hass_client: Any,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
    tmp_path: Path,
    name: str,
) -> None:
    timings(silence_intervals=1000)
    sim = MeterSimulator(name, seed=5)
    pushes = [sim.next_frame() for _ in range(PUSHES)]
    keys = sim.keys
    entry = await _entry(
        hass, {CONF_PORT: pty.path, CONF_PROFILE: sim.profile.id, **keys.entry_data()}
    )
    coordinator = entry.runtime_data
    await _push(pty, pushes)
    await wait_for(lambda: coordinator.counters.ok >= PUSHES, limit=5.0)
    await hass.async_block_till_done()

    download = await _download(hass, hass_client, entry)
    capture = download["data"]["capture"]
    assert capture["profile"] == sim.profile.id
    frames = FrameCapture(frames=1000)
    profile = sim.profile
    decoder = Decoder(
        Keys(keys.ek, keys.ak), country=profile.country, formats=profile.formats, capture=frames
    )
    # What Home Assistant decoded from the same pushes, by the library on its own.
    expected = [
        {obis: {"value": r.value, "unit": r.unit} for obis, r in m.readings.items()}
        for push in pushes
        for m in decoder.feed(push)
        if isinstance(m, Message)
    ]
    assert len(capture["frames"]) == min(20, len(frames.frames))
    # Each frame as received: a trailer that came with the next read (a P1 telegram's CR LF
    # after its CRC, an HDLC frame's closing flag) is not part of the frame (han.capture).
    for got, sent in zip(capture["frames"], frames.frames[-20:], strict=True):
        assert sent.wire.hex().startswith(got["hex"])
        assert len(got["hex"]) // 2 >= sent.size - 2
    assert capture["raw_hex"] == ""  # frames decoded: no raw bytes needed
    path = tmp_path / "config_entry-han_port.json"
    path.write_text(json.dumps(download), encoding="utf-8")

    # The keys are never in the file; the user gives them on the command line.
    key_args = [
        arg
        for name, key in (("--ek", keys.ek), ("--ak", keys.ak))
        if key
        for arg in (name, key.hex())
    ]
    decoded = [line for line in _decode_file(path, *key_args) if "readings" in line]

    assert decoded
    assert [line["readings"] for line in decoded] == expected[-len(decoded) :]
    # Every push whose frames are all among the last 20 decodes again.
    per_push = len(frames.frames) // PUSHES
    assert len(decoded) >= min(PUSHES, 20 // per_push)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "name", [n for n in SIMULATED_PROFILES if MeterSimulator(n).keys.ek is not None]
)
async def test_no_configured_key_is_in_the_capture(
    hass: HomeAssistant,
    hass_client: Any,
    pty: Pty,
    timings: SetTimings,
    name: str,
) -> None:
    timings(silence_intervals=1000)
    sim = MeterSimulator(name, seed=6)
    entry = await _entry(
        hass, {CONF_PORT: pty.path, CONF_PROFILE: sim.profile.id, **sim.keys.entry_data()}
    )
    # Good frames, and a bad one: a frame a wrong key was tried on is kept too.
    pushes = [sim.next_frame() for _ in range(4)]
    broken = bytearray(pushes[1])
    broken[-20] ^= 0xFF
    await _push(pty, [pushes[0], bytes(broken), *pushes[2:]])
    await wait_for(lambda: entry.runtime_data.counters.ok >= 3, limit=5.0)
    await hass.async_block_till_done()
    download = await _download(hass, hass_client, entry)
    capture = download["data"]["capture"]
    assert {frame["verdict"] for frame in capture["frames"]} >= {"ok"}
    text = json.dumps(capture)
    wire = b"".join(bytes.fromhex(f["hex"]) for f in capture["frames"]) + bytes.fromhex(
        capture["raw_hex"]
    )
    for key in (sim.keys.ek, sim.keys.ak):
        if key is None:
            continue
        for form in (key.hex(), key.hex().upper(), key.decode("latin-1")):
            assert form not in text
            assert form not in json.dumps(download)
        assert key not in wire
    assert await hass.config_entries.async_unload(entry.entry_id)


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_NO_DECODE}_{entry.entry_id}")


async def test_bytes_that_never_decode_raise_an_issue_that_asks_for_the_capture(
    hass: HomeAssistant,
    hass_client: Any,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
    tmp_path: Path,
) -> None:
    timings(silence_intervals=1000, no_decode_issue_after=0.4)
    noise = bytes(random.Random(3).randrange(256) for _ in range(600))
    noise = noise.translate(bytes.maketrans(b"~/h\x0f\xdb", b"-----"))  # no frame starts
    meter = Meter([noise], interval=0.02)
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await _entry(hass, {CONF_PORT: pty.path, CONF_PROFILE: "ee_elektrilevi"})
    await wait_for(lambda: _issue(hass, entry) is not None, limit=5.0)
    issue = _issue(hass, entry)
    assert issue is not None
    placeholders = issue.translation_placeholders or {}
    assert placeholders["formats"] == (
        "P1 text, GCM envelope (P1 or DLMS), DLMS in HDLC, DLMS in M-Bus, bare DLMS APDU"
    )
    assert placeholders["settings"] == "115200 8N1"
    assert int(placeholders["bytes"]) >= 600
    assert placeholders["minutes"] == "0"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable

    # The capture the issue asks for: no frame framed, so the raw bytes are there.
    download = await _download(hass, hass_client, entry)
    capture = download["data"]["capture"]
    assert capture["frames"] == []
    raw = bytes.fromhex(capture["raw_hex"])
    assert 600 <= len(raw) <= capture["limits"]["raw_bytes"]
    assert raw in noise * 8
    path = tmp_path / "diagnostics.json"
    path.write_text(json.dumps(download), encoding="utf-8")
    out = io.StringIO()
    assert cli.main(["decode", "--file", str(path)], out) == 1
    assert "Nothing decoded" in out.getvalue()

    # A frame that decodes ends it (this meter now speaks DLMS in HDLC).
    meter.frames = [HDLC_NO]
    await wait_for(lambda: _issue(hass, entry) is None, limit=5.0)
    assert entry.runtime_data.no_decode.bytes == 0


async def test_the_issue_is_removed_with_the_entry(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, timings: SetTimings
) -> None:
    timings(silence_intervals=1000, no_decode_issue_after=0.2)
    meter = Meter([b"\x00\x01\x02" * 100], interval=0.02)
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await _entry(hass, {CONF_PORT: pty.path, CONF_PROFILE: "nl_dsmr"})
    await wait_for(lambda: _issue(hass, entry) is not None, limit=5.0)
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert _issue(hass, entry) is None


async def test_a_silent_line_raises_no_such_issue(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    """No bytes at all is silence (another issue's business), not unreadable data."""
    timings(silence_intervals=1000, no_decode_issue_after=0.1)
    entry = await _entry(hass, {CONF_PORT: pty.path, CONF_PROFILE: "nl_dsmr"})
    watch = entry.runtime_data.no_decode
    await pty.write(b"\x00" * 10)
    await wait_for(lambda: watch.bytes == 10, limit=5.0)  # read: a run of 10 bytes began
    # A gap longer than the delay (1.5 x, on the watch's own clock) ...
    gap_ends = hass.loop.time() + 0.15
    await wait_for(lambda: hass.loop.time() >= gap_ends, limit=5.0)
    await pty.write(b"\x00" * 7)
    # ... so these 7 bytes start a new run (the same run would count 17).
    await wait_for(lambda: watch.bytes != 10, limit=5.0)
    await hass.async_block_till_done()
    assert watch.bytes == 7
    assert _issue(hass, entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_wireless_receiver_keeps_no_capture(
    hass: HomeAssistant,
    hass_client: Any,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
) -> None:
    """Neighbours' meters are heard all the time: no frame capture, no "nothing decodes"."""
    timings(silence_intervals=1000, no_decode_issue_after=0.1)
    meter = Meter([WMBUS_GAMA_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await _entry(
        hass,
        {
            CONF_PORT: pty.path,
            CONF_PROFILE: "pl_stoen_wmbus",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "12345678",  # not the meter heard: nothing decodes
            CONF_EK: WMBUS_GAMA_KEY.lower(),
        },
    )
    reader = entry.runtime_data.reader
    await wait_for(
        lambda: reader.decoder is not None and reader.decoder.diagnostics()["heard"], limit=5.0
    )
    # Frames keep coming, for longer than the no-decode delay (3 more, 0.05 s apart).
    heard_at = meter.sent
    await wait_for(lambda: meter.sent >= heard_at + 3, limit=5.0)
    await hass.async_block_till_done()
    download = await _download(hass, hass_client, entry)
    assert download["data"]["capture"] == {}
    assert download["data"]["decoder"]["meters_heard"] == 1
    assert _issue(hass, entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_frames_refused_for_their_keys_are_no_reason_to_ask_for_a_capture(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, timings: SetTimings
) -> None:
    """An encrypted meter without keys: the decryption issue says what to do, not this one."""
    timings(silence_intervals=1000, no_decode_issue_after=0.2, auth_failure_limit=1000)
    meter = Meter(dk_frames(40), interval=0.02)
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await _entry(hass, {CONF_PORT: pty.path, CONF_PROFILE: "ee_elektrilevi"})
    await wait_for(lambda: entry.runtime_data.counters.auth >= 20, limit=5.0)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None
    assert entry.runtime_data.no_decode.bytes == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
