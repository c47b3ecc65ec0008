"""A meter whose frames are all refused: its port stays open, and silence is told apart.

Code review of the reader: (1) it reopened the port every ``silent_reopen_after`` while
refused frames kept coming. Bytes that keep arriving prove the link alive; reopening would
not bring a frame through and would throw away what the decoder learnt. The reopen is for a
stretch without a single byte. (2) A meter whose frames were refused and that then stops
sending altogether stayed unavailable for the refusal: it is silent.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest

from custom_components.han_port.const import CONF_AK, CONF_EK, CONF_PROFILE
from tests.common import HDLC_NO, LU_AK, LU_CORRUPT, LU_EK, Pty, lu_frames, wait_for

from .faults import NO_ID, UNKNOWN_LAYOUT, Writer, corrupt, setup
from .timing import SetTimings

REOPEN_AFTER = 0.4


@pytest.mark.parametrize(
    ("refused", "refusing"),
    [
        (corrupt(HDLC_NO), "checksum"),
        (UNKNOWN_LAYOUT, "unknown_layout"),
        (b"\x55\x00" * 40, "unreadable"),
    ],
    ids=["checksum", "unknown_layout", "unreadable"],
)
async def test_a_meter_whose_frames_are_all_refused_keeps_its_port_open(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, refused: bytes, refusing: str
) -> None:
    """Refused frames for many reopen periods: no reopen; once they stop, the reopen comes."""
    timings(silent_reopen_after=REOPEN_AFTER, no_decode_issue_after=100, backoff_start=30.0)
    entry = await setup(hass, pty.path, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    coordinator = entry.runtime_data
    reader = coordinator.reader
    writer = Writer(pty, [HDLC_NO, *[refused] * 1000], interval=0.02)
    await wait_for(lambda: coordinator.counters.ok == 1)
    await wait_for(lambda: reader.state == "refusing")
    assert reader.refusing == refusing
    link, reconnects = reader.link, coordinator.counters.reconnects
    # Four reopen periods of refused frames (a condition on the loop's clock, with the
    # writer checked to be still sending: the absence of a reopen is what is tested).
    until = hass.loop.time() + 4 * REOPEN_AFTER
    await wait_for(lambda: hass.loop.time() >= until, limit=10.0)
    assert writer.sent < 1001
    assert coordinator.counters.reconnects == reconnects
    assert reader.link is link  # the same connection, its decoder with what it learnt
    assert reader.connected
    assert reader.state == "refusing"
    await writer.stop()
    # Nothing at all arrives any more: the connection may have died without a word.
    await wait_for(lambda: coordinator.counters.reconnects == reconnects + 1, limit=10.0)
    assert reader.link is not link
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_frames_refused_for_their_keys_then_nothing_is_silence(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused for the keys (auth_failed), then the meter stops: silent, not stuck at the keys."""
    timings(silence_intervals=0.1, auth_failure_limit=10_000)  # 1 s for a 10 s meter
    entry = await setup(
        hass, pty.path, "lu", **{CONF_PROFILE: "lu_smarty", CONF_EK: LU_EK, CONF_AK: LU_AK}
    )
    coordinator = entry.runtime_data
    await pty.write(lu_frames(1)[0])
    await wait_for(lambda: coordinator.counters.ok == 1)
    writer = Writer(pty, [LU_CORRUPT] * 400)
    await wait_for(lambda: coordinator.lost_reason == "auth_failed")
    await writer.stop()
    await wait_for(lambda: coordinator.lost_reason == "silent")
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_key == "silent"
    assert coordinator.reader.state == "silent"
    assert coordinator.reader.refusing is None
    assert coordinator.counters.silent_periods == 1
    assert "the port is open, but the meter sends nothing" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("first", "then", "taken", "reason"),
    [
        ("refused", "silent", True, "silent"),
        ("unreadable", "silent", True, "silent"),
        ("replayed", "silent", True, "silent"),
        ("auth_failed", "silent", True, "silent"),
        ("silent", "refused", True, "refused"),
        ("silent", "silent", False, "silent"),
        ("refused", "unreadable", False, "refused"),
        ("port_error", "silent", False, "port_error"),
        ("cannot_open_port", "refused", False, "cannot_open_port"),
    ],
)
async def test_which_reasons_a_lost_meter_moves_between(
    hass: HomeAssistant,
    pty: Pty,
    caplog: pytest.LogCaptureFixture,
    first: str,
    then: str,
    taken: bool,
    reason: str,
) -> None:
    """Once per outage, except between silence and refusals (each way), each logged once."""
    entry = await setup(hass, pty.path, NO_ID, **{CONF_PROFILE: "no_kaifa"})
    coordinator = entry.runtime_data
    await coordinator.reader.async_stop()  # the test drives the coordinator alone
    assert coordinator.set_lost(first, detail="checksum")
    caplog.clear()
    assert coordinator.set_lost(then, detail="checksum") is taken
    assert coordinator.lost_reason == reason
    assert ("is unavailable" in caplog.text) is taken
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_key == reason
    assert await hass.config_entries.async_unload(entry.entry_id)
