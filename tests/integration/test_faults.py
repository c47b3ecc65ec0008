"""The fault suite of issue 10: every reproduction, replayed against the real coordinator.

Each test runs Home Assistant with the integration reading a pseudo-terminal or a TCP
"meter" and checks what a user would see: the reader stays alive, entities come back,
no wrong value is published, energy never goes backwards, the event loop keeps up.

The reproductions of items 2 and 3 are fixed in the protocol library (the stream reader's
format lock and the P1 framer), and checked here end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import logging
import os
import re
import socket
import struct
import sys
import time
from typing import Any

from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.setup import async_setup_component
import pytest

from custom_components.han_port.const import (
    CONF_AK,
    CONF_EK,
    CONF_FORMAT,
    CONF_METER_ID,
    CONF_PROFILE,
    CONF_RECEIVER,
    DOMAIN,
    ISSUE_COUNTER_RESET,
    ISSUE_NO_DECODE,
    ISSUE_SILENT,
)
from custom_components.han_port.diagnostics import async_get_config_entry_diagnostics
from custom_components.han_port.repairs import async_create_fix_flow
from custom_components.han_port.replay_store import store_key
from hanport_dev.simulator import MeterSimulator, with_crc
from tests.common import (
    AT_EK,
    AT_FRAME,
    DK_AK,
    DK_COUNTER,
    DK_EK,
    DK_PLAIN,
    DK_TITLE,
    HDLC_NO,
    LU_AK,
    LU_CORRUPT,
    LU_EK,
    P1_NL,
    WMBUS_GAMA_FRAME,
    WMBUS_GAMA_KEY,
    WMBUS_PLAIN,
    Pty,
    TcpMeter,
    dk_frame,
    lu_frames,
    vector,
    wait_for,
    wire,
)

from .faults import NO_ID, UNKNOWN_LAYOUT, Writer, corrupt, hdlc_like_no, setup
from .timing import SetTimings

NL_ID = "K8EG004046395507"
DK_ID = DK_TITLE.hex().upper()
DK_KEYS = {CONF_EK: DK_EK, CONF_AK: DK_AK}
KAMSTRUP_SLASH = wire(vector("nordic", "amsreader-kamstrup-em001-2"))  # a '/' in its data


# -- helpers --------------------------------------------------------------------------
def entity(hass: HomeAssistant, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)


def value(hass: HomeAssistant, unique_id: str) -> str | None:
    entity_id = entity(hass, unique_id)
    state = hass.states.get(entity_id) if entity_id else None
    return state.state if state else None


class States:
    """Every state the integration's sensors were given, by entity id."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.seen: dict[str, list[str]] = {}
        self._unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, self._on)

    @callback
    def _on(self, event: Event) -> None:
        state = event.data["new_state"]
        if state is not None and state.entity_id.startswith("sensor.meter"):
            self.seen.setdefault(state.entity_id, []).append(state.state)

    def of(self, hass: HomeAssistant, unique_id: str) -> list[str]:
        entity_id = entity(hass, unique_id)
        return self.seen.get(entity_id or "", [])

    def energy_never_backwards(self, hass: HomeAssistant) -> None:
        registry = er.async_get(hass)
        for entity_id, states in self.seen.items():
            entry = registry.async_get(entity_id)
            attributes = hass.states.get(entity_id)
            if entry is None or attributes is None:
                continue
            if attributes.attributes.get("state_class") != "total_increasing":
                continue
            numbers = [float(s) for s in states if s not in (STATE_UNAVAILABLE, "unknown")]
            assert numbers == sorted(numbers), entity_id

    def close(self) -> None:
        self._unsub()


@pytest.fixture(autouse=True)
def timing(timings: SetTimings) -> None:
    """Silence after half a push interval (0.5 s for a 1 s DSMR meter): no gap trips it."""
    timings(silence_intervals=0.5)


@pytest.fixture
def states(hass: HomeAssistant) -> Iterator[States]:
    recorder = States(hass)
    yield recorder
    recorder.close()


def obis_notification(*pairs: tuple[str, bytes]) -> bytes:
    """A plain data-notification: a structure of (OBIS code, A-XDR value) pairs."""
    body = b"".join(b"\x09\x06" + bytes.fromhex(code) + data for code, data in pairs)
    return b"\x0f\x00\x00\x00\x01\x00" + bytes((0x02, 2 * len(pairs))) + body


def p1_with(register: str, text: str) -> bytes:
    """The Dutch telegram with one register's value replaced, and a valid CRC."""
    body = P1_NL[: P1_NL.index(b"!") + 1].decode("latin-1")
    body = re.sub(rf"{re.escape(register)}\([^)]*\)", f"{register}({text})", body)
    raw = body.encode("latin-1")
    return with_crc(raw)


# -- item 1: one frame must never stop the reader -------------------------------------
NAN_POWER = hdlc_like_no(
    obis_notification(("0100010700ff", b"\x18" + struct.pack(">d", float("nan"))))
)
INF_POWER = hdlc_like_no(
    obis_notification(("0100010700ff", b"\x17" + struct.pack(">f", float("inf"))))
)


async def test_non_finite_numbers_are_refused_and_the_reader_goes_on(
    hass: HomeAssistant, pty: Pty, states: States
) -> None:
    entry = await setup(hass, pty.path, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    writer = Writer(pty, [HDLC_NO, NAN_POWER, INF_POWER, HDLC_NO, NAN_POWER, HDLC_NO])
    await writer.done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok >= 3)
    assert coordinator.counters.rejected.get("implausible") == 3
    assert value(hass, f"{NO_ID}_1-0:1.7.0") == "546"
    assert set(states.of(hass, f"{NO_ID}_1-0:1.7.0")) == {"546"}
    assert coordinator.data.readings["1-0:1.7.0"].value == 546
    assert coordinator.last_update_success
    assert not coordinator.reader._task.done()


async def test_a_400_digit_p1_value_is_refused_and_the_reader_goes_on(
    hass: HomeAssistant, pty: Pty, states: States
) -> None:
    huge = p1_with("1-0:1.8.1", "9" * 400 + "*kWh")
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    writer = Writer(pty, [P1_NL, huge, P1_NL, huge, P1_NL])
    await writer.done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok >= 3)
    assert coordinator.counters.rejected.get("implausible") == 2
    assert set(states.of(hass, f"{NL_ID}_1-0:1.8.1")) - {"unknown"} == {"4.426"}
    states.energy_never_backwards(hass)


async def test_a_failing_listener_is_logged_once_and_the_others_still_update(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    coordinator = entry.runtime_data

    def broken() -> None:
        msg = "a listener bug"
        raise ZeroDivisionError(msg)

    coordinator.async_add_listener(broken)
    writer = Writer(pty, [P1_NL, p1_with("1-0:1.7.0", "00.300*kW"), P1_NL], interval=0.3)
    await writer.done()
    await wait_for(lambda: coordinator.counters.ok >= 3)
    await wait_for(lambda: value(hass, f"{NL_ID}_1-0:1.7.0") == "244")
    assert coordinator.counters.publish_errors >= 3
    failures = [r for r in caplog.records if "updating the entities failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert not coordinator.reader._task.done()


async def test_a_failure_while_handling_a_message_is_logged_once(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    coordinator = entry.runtime_data
    original = coordinator._accept
    calls = 0

    def flaky(message: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls <= 2:
            msg = "a bug while merging"
            raise KeyError(msg)
        return original(message)

    monkeypatch.setattr(coordinator, "_accept", flaky)
    writer = Writer(pty, [P1_NL] * 4)
    await writer.done()
    await wait_for(lambda: coordinator.counters.ok >= 1)
    assert coordinator.counters.publish_errors == 2
    assert caplog.text.count("handling a decoded message failed") == 1
    assert value(hass, f"{NL_ID}_1-0:1.7.0") == "244"


async def test_a_reader_task_that_ends_is_restarted(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    writer = Writer(pty, [P1_NL] * 2)
    await writer.done()
    coordinator = entry.runtime_data
    power = f"{NL_ID}_1-0:1.7.0"
    await wait_for(lambda: value(hass, power) == "244")
    # Something ends the task from outside the loop's reach (here: a stray cancellation).
    original = coordinator.reader._async_read
    ended = False

    async def ends(*args: Any) -> str:
        nonlocal ended
        if not ended:
            ended = True
            raise asyncio.CancelledError
        return await original(*args)

    monkeypatch.setattr(coordinator.reader, "_async_read", ends)
    coordinator.reader._task.cancel()  # the reader reopens the port; the patched read ends it
    await wait_for(lambda: value(hass, power) == STATE_UNAVAILABLE)
    assert "stopped unexpectedly" in caplog.text
    writer = Writer(pty, [P1_NL] * 10, interval=0.05)
    await wait_for(lambda: value(hass, power) == "244")
    await writer.stop()
    assert coordinator.counters.reader_restarts >= 1
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert coordinator.reader._task is None


# -- item 4: with an AK only authenticated frames count ------------------------------
def downgraded(counter: int) -> bytes:
    """The Danish frame with the tag stripped (SC 0x20) and one bit of 1-1:1.7.0 flipped."""
    power_at = DK_PLAIN.index(bytes.fromhex("0101010700ff")) + 6 + 1 + 2  # 06 00 00 04 3B
    forged = bytearray(DK_PLAIN)
    forged[power_at] ^= 0x01  # 1083 W -> 1339 W: plausible, and wrong
    return dk_frame(counter, sc=0x20, plain=bytes(forged))


async def test_downgraded_and_clear_frames_are_refused_with_an_ak(
    hass: HomeAssistant, pty: Pty, states: States
) -> None:
    clear = dk_frame(DK_COUNTER + 3, sc=0x00)
    frames = [
        dk_frame(DK_COUNTER),
        downgraded(DK_COUNTER + 1),
        dk_frame(DK_COUNTER + 2),
        clear,
        downgraded(DK_COUNTER + 4),
        dk_frame(DK_COUNTER + 5),
    ]
    entry = await setup(hass, pty.path, DK_ID, **{CONF_PROFILE: "dk_kamstrup", **DK_KEYS})
    writer = Writer(pty, frames)
    await writer.done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok == 3)
    assert coordinator.counters.rejected == {"auth_failed": 3}
    assert set(states.of(hass, f"{DK_ID}_1-1:1.7.0")) == {"1083"}
    assert value(hass, f"{DK_ID}_1-1:1.8.0") == "63074.98"
    states.energy_never_backwards(hass)


# -- item 5: replay protection --------------------------------------------------------
async def test_a_replayed_frame_is_refused(hass: HomeAssistant, pty: Pty, states: States) -> None:
    frames = [dk_frame(DK_COUNTER), downgraded(DK_COUNTER + 9)]  # warm up, then:
    frames += [dk_frame(DK_COUNTER + 1), dk_frame(DK_COUNTER), dk_frame(DK_COUNTER + 2)]
    entry = await setup(hass, pty.path, DK_ID, **{CONF_PROFILE: "dk_kamstrup", **DK_KEYS})
    writer = Writer(pty, frames)
    await writer.done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok == 3)
    assert coordinator.counters.rejected == {"auth_failed": 1, "replayed": 1}
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_COUNTER_RESET}_{entry.entry_id}")
        is None
    )


@pytest.mark.flows
async def test_the_last_counter_survives_a_restart_and_a_reset_needs_the_user(
    hass: HomeAssistant, pty: Pty, hass_storage: dict[str, Any]
) -> None:
    entry = await setup(hass, pty.path, DK_ID, **{CONF_PROFILE: "dk_kamstrup", **DK_KEYS})
    writer = Writer(pty, [dk_frame(DK_COUNTER + n) for n in range(3)])
    await writer.done()
    await wait_for(lambda: entry.runtime_data.counters.ok == 3)
    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[store_key(entry.entry_id)]["data"]["counters"]
    assert stored == {DK_ID: DK_COUNTER + 2}

    # After the restart the meter's counter is lower: recorded frames, or a new meter.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    writer = Writer(pty, [dk_frame(DK_COUNTER + n) for n in range(-2, 3)], interval=0.05)
    coordinator = entry.runtime_data
    issue_id = f"{ISSUE_COUNTER_RESET}_{entry.entry_id}"
    issues = ir.async_get(hass)
    await wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id) is not None)
    await writer.done()
    # The last frame was written; wait until it was read too (not a fixed time).
    await wait_for(lambda: sum(coordinator.counters.rejected.values()) >= 5)
    assert coordinator.counters.ok == 0
    assert coordinator.counters.rejected == {"replayed": 5}
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue.is_fixable
    assert issue.translation_key == ISSUE_COUNTER_RESET
    assert DK_ID not in str(issue.translation_placeholders)
    assert value(hass, f"{DK_ID}_1-1:1.7.0") == STATE_UNAVAILABLE

    # The user confirms the meter was replaced: its counter is the new start.
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    flow = await async_create_fix_flow(hass, issue_id, issue.data)
    flow.hass, flow.handler, flow.issue_id = hass, DOMAIN, issue_id
    assert (await flow.async_step_init())["step_id"] == "confirm"
    assert (await flow.async_step_confirm({}))["type"] == "create_entry"
    assert hass_storage[store_key(entry.entry_id)]["data"]["counters"] == {}
    writer = Writer(pty, [dk_frame(DK_COUNTER + n) for n in range(3)])
    await writer.done()
    await wait_for(lambda: coordinator.counters.ok == 3)
    assert value(hass, f"{DK_ID}_1-1:1.7.0") == "1083"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(entry.entry_id) not in hass_storage


# -- refused is not silent (review of issue 10) ------------------------------------------
@pytest.mark.parametrize(
    ("refused", "reason", "code", "logged"),
    [
        (corrupt(HDLC_NO), "refused", "checksum", "every one fails its checksum"),
        (NAN_POWER, "refused", "implausible", "refused as implausible"),
        (UNKNOWN_LAYOUT, "refused", "unknown_layout", "refused as unknown_layout"),
        (b"\x55\x00" * 40, "unreadable", "unreadable", "no frame can be found in it"),
    ],
    ids=["checksum", "implausible", "unknown_layout", "unreadable"],
)
async def test_frames_that_keep_coming_refused_are_not_silence(
    hass: HomeAssistant,
    pty: Pty,
    caplog: pytest.LogCaptureFixture,
    timings: SetTimings,
    refused: bytes,
    reason: str,
    code: str,
    logged: str,
) -> None:
    """Frames keep arriving and all are refused: unavailable for why they are refused.

    Not "the port is open, but the meter sends nothing". The no-decode repair issue (a
    capture, please) is the issue for it; the meter-silent issue is not raised.
    """
    timings(no_decode_issue_after=0.3, silent_issue_after=0.0)
    entry = await setup(hass, pty.path, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    coordinator = entry.runtime_data
    power = f"{NO_ID}_1-0:1.7.0"
    issues = ir.async_get(hass)
    no_decode = f"{ISSUE_NO_DECODE}_{entry.entry_id}"
    writer = Writer(pty, [HDLC_NO, *[refused] * 400])
    await wait_for(lambda: value(hass, power) == "546")
    await wait_for(lambda: value(hass, power) == STATE_UNAVAILABLE)
    assert coordinator.lost_reason == reason
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_key == reason
    assert coordinator.reader.state == "refusing"
    assert coordinator.reader.refusing == code
    assert logged in caplog.text
    assert "sends nothing" not in caplog.text
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["reader"] == "refusing"
    assert diagnostics["refusing"] == code
    assert diagnostics["unavailable_reason"] == reason
    if reason == "refused":
        assert error.translation_placeholders == {"port": pty.path, "reason": code}
        assert diagnostics["refused_since_last_message"][code] >= 1
    await wait_for(lambda: issues.async_get_issue(DOMAIN, no_decode) is not None)
    await writer.stop()
    # The meter stops for real: now it is silent (not stuck at the refusal), and the
    # no-decode issue says enough: the meter-silent issue is not raised.
    await wait_for(lambda: coordinator.reader.state == "silent")
    assert coordinator.lost_reason == "silent"
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_key == "silent"
    assert coordinator.counters.silent_periods == 1
    assert "the port is open, but the meter sends nothing" in caplog.text
    assert issues.async_get_issue(DOMAIN, f"{ISSUE_SILENT}_{entry.entry_id}") is None
    await pty.write(HDLC_NO)
    await wait_for(lambda: value(hass, power) == "546")
    assert coordinator.reader.state == "receiving"
    assert coordinator.reader.refusing is None
    assert coordinator.lost_reason is None
    assert issues.async_get_issue(DOMAIN, no_decode) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_meter_taken_for_silent_that_sends_refused_frames_says_so(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    """Silent first (a stalled meter), then frames that are all refused: the reason moves on."""
    entry = await setup(hass, pty.path, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    coordinator = entry.runtime_data
    await pty.write(HDLC_NO)
    await wait_for(lambda: coordinator.counters.ok == 1)
    await wait_for(lambda: coordinator.lost_reason == "silent")
    writer = Writer(pty, [NAN_POWER] * 400)
    await wait_for(lambda: coordinator.lost_reason == "refused")
    await writer.stop()
    assert "the port is open, but the meter sends nothing" in caplog.text
    assert "refused as implausible" in caplog.text
    assert coordinator.counters.silent_periods == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_frames_refused_for_their_keys_say_so(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture, timings: SetTimings
) -> None:
    """Frames whose tag fails, too few yet to ask for the keys again: unavailable for them."""
    timings(silence_intervals=0.1, auth_failure_limit=10_000)  # 1 s for a 10 s meter
    entry = await setup(
        hass, pty.path, "lu", **{CONF_PROFILE: "lu_smarty", CONF_EK: LU_EK, CONF_AK: LU_AK}
    )
    coordinator = entry.runtime_data
    await pty.write(lu_frames(1)[0])
    await wait_for(lambda: coordinator.counters.ok == 1)
    writer = Writer(pty, [LU_CORRUPT] * 400)
    await wait_for(lambda: coordinator.lost)
    await writer.stop()
    assert coordinator.lost_reason == "auth_failed"
    assert coordinator.reader.refusing == "auth_failed"
    assert "cannot be decrypted with the configured keys" in caplog.text
    assert "sends nothing" not in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_wireless_receiver_hearing_only_other_meters_is_silent(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    """A receiver hears every meter around: what it gets of others says nothing of ours."""
    timings(silence_intervals=0.05)  # 0.5 s for a 10 s meter
    entry = await setup(
        hass,
        pty.path,
        "30584551",
        **{
            CONF_PROFILE: "pl_stoen_wmbus",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "30584551",
            CONF_EK: WMBUS_GAMA_KEY,
        },
    )
    coordinator = entry.runtime_data
    await pty.write(WMBUS_GAMA_FRAME)
    await wait_for(lambda: coordinator.counters.ok == 1)
    writer = Writer(pty, [WMBUS_PLAIN] * 400)
    await wait_for(lambda: coordinator.lost)
    await writer.stop()
    assert coordinator.lost_reason == "silent"
    assert coordinator.reader.refusing is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_replays_while_the_reset_issue_is_open_are_not_silence(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture, timings: SetTimings
) -> None:
    """After a restart with the counter-reset issue open, replayed frames say why."""
    timings(silence_intervals=0.05)  # 0.5 s for the Danish meter's 10 s
    entry = await setup(hass, pty.path, DK_ID, **{CONF_PROFILE: "dk_kamstrup", **DK_KEYS})
    issue_id = f"{ISSUE_COUNTER_RESET}_{entry.entry_id}"
    issues = ir.async_get(hass)
    writer = Writer(pty, [dk_frame(DK_COUNTER + n) for n in (3, 4, 0, 1, 2)])
    await writer.done()
    await wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id) is not None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    caplog.clear()
    writer = Writer(pty, [dk_frame(DK_COUNTER + n % 3) for n in range(200)])
    await wait_for(lambda: coordinator.lost)
    await wait_for(lambda: coordinator.reader.state == "refusing")
    await writer.stop()
    assert coordinator.lost_reason == "replayed"
    assert coordinator.reader.refusing == "replayed"
    assert coordinator.counters.ok == 0
    assert "the meter's counter went back (see Repairs)" in caplog.text
    assert "sends nothing" not in caplog.text
    assert "keep carrying a counter" not in caplog.text  # the open issue is not raised again
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


# -- item 6: no event-loop stalls ------------------------------------------------------
class LagProbe:
    """How late the event loop runs a 10 ms timer, and how much of that was work on the loop.

    ``worst`` is wall-clock lateness: on a shared machine it includes the time the OS ran
    other processes. ``worst_busy`` is the CPU time the loop's thread spent on other
    callbacks while the timer waited: the stall this process caused itself.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_busy = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start, busy = loop.time(), time.thread_time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - start - 0.01)
            self.worst_busy = max(self.worst_busy, time.thread_time() - busy - 0.01)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


_FLOOD = """
import os, sys, time
fd, seconds, data = int(sys.argv[1]), float(sys.argv[2]), sys.stdin.buffer.read()
view, deadline = memoryview(data), time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        view = view[os.write(fd, view[:4096]):] or memoryview(data)
    except BlockingIOError:
        time.sleep(0.0005)
"""


async def flood(fd: int, frames: list[bytes], seconds: float) -> None:
    """Write frames to a PTY or socket as fast as it takes them, from another process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _FLOOD,
        str(fd),
        str(seconds),
        stdin=asyncio.subprocess.PIPE,
        pass_fds=(fd,),
    )
    await process.communicate(b"".join(frames))


@contextlib.asynccontextmanager
async def meter_line(transport: str, pty: Pty) -> AsyncIterator[tuple[str, Callable[[], int]]]:
    """A port for the integration (a PTY, or a TCP server) and a way to the meter's end."""
    if transport == "pty":
        yield pty.path, lambda: pty.master
        return
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)  # noqa: FBT003 - the socket API
        accepted: list[socket.socket] = []

        def meter_end() -> int:
            return accepted[0].fileno() if accepted else -1

        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        accept = loop.create_task(loop.sock_accept(server))
        accept.add_done_callback(lambda task: accepted.append(task.result()[0]))
        try:
            yield url, meter_end
        finally:
            for conn in accepted:
                conn.close()
            accept.cancel()


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize(
    ("transport", "profile", "unique_id"),
    [("tcp", "no_kaifa", NO_ID), ("tcp", "nl_dsmr", NL_ID), ("pty", "no_kaifa", NO_ID)],
)
async def test_a_flood_does_not_stall_the_loop(
    hass: HomeAssistant,
    pty: Pty,
    states: States,
    timings: SetTimings,
    transport: str,
    profile: str,
    unique_id: str,
) -> None:
    timings(silence_intervals=1000)
    simulator = MeterSimulator(profile, seed=7)
    frames = [simulator.next_frame() for _ in range(40)]
    unique_id = simulator.meter_id or unique_id
    async with meter_line(transport, pty) as (port, meter_end):
        entry = await setup(hass, port, unique_id, **{CONF_PROFILE: profile})
        coordinator = entry.runtime_data
        # Entities are created by the first message (a one-off cost of Home Assistant's).
        await wait_for(lambda: meter_end() >= 0)
        os.write(meter_end(), frames[-1])
        await wait_for(lambda: value(hass, f"{unique_id}_1-0:1.7.0") not in (None, "unknown"))
        await hass.async_block_till_done()
        probe = LagProbe()
        started = asyncio.get_running_loop().time()
        await flood(meter_end(), frames, 2.0)
        await asyncio.sleep(0.3)
        await probe.stop()
        elapsed = asyncio.get_running_loop().time() - started
        assert await hass.config_entries.async_unload(entry.entry_id)
    power = states.of(hass, f"{unique_id}_1-0:1.7.0")
    assert coordinator.counters.ok > 100, coordinator.counters
    # The gate is the CPU time this process spent on other callbacks while the timer waited.
    # Wall-clock lateness also counts the time the OS ran other processes (2 shared cores):
    # generous, it only catches a loop that hangs (a blocking read, a sleep on the loop).
    assert probe.worst_busy <= 0.1, (probe.worst_busy, probe.worst)
    assert probe.worst <= 5.0, (probe.worst_busy, probe.worst)
    # At most one write per PUBLISH_MIN_INTERVAL (plus the last one, when data stops).
    assert 2 <= len(power) - 1 <= elapsed / coordinator.timings.publish_min_interval + 2
    states.energy_never_backwards(hass)


async def test_no_debug_line_per_frame(
    hass: HomeAssistant, pty: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.han_port")
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    writer = Writer(pty, [P1_NL] * 5)
    await writer.done()
    await wait_for(lambda: entry.runtime_data.counters.ok == 5)
    ours = [r for r in caplog.records if r.name.startswith("custom_components.han_port")]
    assert not [r for r in ours if "Manually updated" in r.getMessage()]
    assert len(ours) <= 2, [r.getMessage() for r in ours]


# -- item 7: an open but silent port stays open; the back-off resets --------------------
async def test_a_stalled_meter_keeps_the_port_open(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, caplog: pytest.LogCaptureFixture
) -> None:
    timings(backoff_start=0.3, backoff_max=1.0)
    entry = await setup(hass, pty.path, NL_ID, **{CONF_PROFILE: "nl_dsmr"})
    writer = Writer(pty, [P1_NL] * 3, interval=0.1)
    coordinator = entry.runtime_data
    power = f"{NL_ID}_1-0:1.7.0"
    await writer.done()
    await wait_for(lambda: value(hass, power) == "244")
    # The meter stalls for a few silence periods (0.5 x 1 s each).
    await wait_for(lambda: value(hass, power) == STATE_UNAVAILABLE)
    await asyncio.sleep(1.2)
    assert coordinator.reader.state == "silent"
    assert coordinator.reader.connected
    assert "the port is open, but the meter sends nothing" in caplog.text
    # It resumes: the very first frame is read (the port never closed), at once: on the open
    # port, without a reconnect or a back-off wait (what "at once" means; no wall-clock
    # limit, which a loaded machine can exceed).
    ok = coordinator.counters.ok
    await pty.write(p1_with("1-0:1.7.0", "00.321*kW"))
    await wait_for(lambda: value(hass, power) == "321")
    assert coordinator.counters.ok == ok + 1
    assert coordinator.counters.reconnects == 0
    assert coordinator.counters.open_failures == 0
    assert coordinator.reader.connected
    assert coordinator.reader.backoff == coordinator.timings.backoff_start


@pytest.mark.usefixtures("socket_enabled")
async def test_a_port_that_cannot_open_is_told_apart(
    hass: HomeAssistant, timings: SetTimings, caplog: pytest.LogCaptureFixture
) -> None:
    timings(silent_issue_after=0.0)
    server = TcpMeter([HDLC_NO])
    await server.start()
    entry = await setup(hass, server.url, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    coordinator = entry.runtime_data
    power = f"{NO_ID}_1-0:1.7.0"
    await wait_for(lambda: value(hass, power) == "546")
    port = server.port
    await server.stop()
    await wait_for(lambda: coordinator.reader.state == "cannot_open")
    await wait_for(lambda: coordinator.counters.open_failures >= 3)
    issues = ir.async_get(hass)
    await wait_for(lambda: issues.async_get_issue(DOMAIN, f"port_unavailable_{entry.entry_id}"))
    assert coordinator.reader.backoff > coordinator.timings.backoff_start
    await server.start(port)
    await wait_for(lambda: value(hass, power) == "546")
    assert coordinator.reader.backoff == coordinator.timings.backoff_start
    assert issues.async_get_issue(DOMAIN, f"port_unavailable_{entry.entry_id}") is None
    await server.stop()
    assert await hass.config_entries.async_unload(entry.entry_id)


# -- item 8: reopening a PTY at 8E1 -------------------------------------------------------
@pytest.mark.parametrize("profile", ["no_kaifa", "at_mbus"])
async def test_reload_on_a_pty_at_8e1(hass: HomeAssistant, pty: Pty, profile: str) -> None:
    data: dict[str, Any] = {CONF_PROFILE: profile}
    frame = HDLC_NO
    if profile == "at_mbus":
        data[CONF_EK], frame = AT_EK, AT_FRAME
    entry = await setup(hass, pty.path, "meter", **data)
    for _ in range(2):
        reloaded = await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        # Seen once under a loaded full run (reload False, not reproduced in 60 runs since):
        # the state and reason say which half failed next time.
        assert reloaded, (entry.state, entry.reason)
        assert entry.state is ConfigEntryState.LOADED
    writer = Writer(pty, [frame] * 3)
    await writer.done()
    await wait_for(lambda: entry.runtime_data.counters.ok >= 1)


# -- item 3 (integration part): the detected format is applied -------------------------
async def test_detected_format_keeps_a_slash_from_starving_hdlc(
    hass: HomeAssistant, pty: Pty
) -> None:
    entry = await setup(hass, pty.path, "kamstrup", **{CONF_PROFILE: "auto", CONF_FORMAT: "dlms"})
    writer = Writer(pty, [KAMSTRUP_SLASH[100:], *[KAMSTRUP_SLASH] * 5])
    await writer.done()
    await wait_for(lambda: entry.runtime_data.counters.ok == 5)


async def test_detected_format_keeps_dlms_inner_header_from_passing_for_p1(
    hass: HomeAssistant, pty: Pty
) -> None:
    entry = await setup(
        hass, pty.path, "at", **{CONF_PROFILE: "at_mbus", CONF_EK: AT_EK, CONF_FORMAT: "dlms"}
    )
    writer = Writer(pty, [AT_FRAME[1:], *[AT_FRAME] * 4])
    await writer.done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok == 4)
    assert "wrong_key" not in coordinator.counters.rejected


# -- items 2 and 3: fixed in the library (format lock, P1 framer) -------------------------
async def test_item2_dlms_inner_header_does_not_lock_the_reader(
    hass: HomeAssistant, pty: Pty
) -> None:
    """An Austrian M-Bus meter, right key, no detected format stored: every frame decodes."""
    entry = await setup(hass, pty.path, "at", **{CONF_PROFILE: "at_mbus", CONF_EK: AT_EK})
    writer = Writer(pty, [AT_FRAME[1:], *[AT_FRAME] * 6])
    await writer.done()
    coordinator = entry.runtime_data
    # Every whole frame decodes (the cut one before them says nothing): wait for all six.
    await wait_for(lambda: coordinator.counters.ok == 6)
    assert "wrong_key" not in coordinator.counters.rejected


async def test_item3_slash_in_binary_data_does_not_starve_hdlc_in_auto(
    hass: HomeAssistant, pty: Pty
) -> None:
    """A Norwegian Kamstrup stream joined mid-frame, auto profile, no detected format."""
    entry = await setup(hass, pty.path, "kamstrup", **{CONF_PROFILE: "auto"})
    writer = Writer(pty, [KAMSTRUP_SLASH[100:], *[KAMSTRUP_SLASH] * 6])
    await writer.done()
    await wait_for(lambda: entry.runtime_data.counters.ok == 6)  # every whole frame
