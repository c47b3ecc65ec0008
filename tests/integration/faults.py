"""Helpers of the fault tests (test_faults, test_faults_lost): an entry on a port, a frame
writer, frames the reader must refuse."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from hanport_dev.simulator import build_hdlc, parse_hdlc
from tests.common import HDLC_NO, Pty

from .entries import set_up_entry

NO_ID = "6970631404129954"


async def setup(hass: HomeAssistant, port: str, unique_id: str, **data: Any) -> MockConfigEntry:
    return await set_up_entry(hass, {CONF_PORT: port, **data}, unique_id=unique_id)


class Writer:
    """Writes a sequence of frames to a PTY, ``interval`` apart, from the event loop."""

    def __init__(self, pty: Pty, frames: list[bytes], interval: float = 0.03) -> None:
        self.pty, self.frames, self.interval = pty, frames, interval
        self.sent = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        for frame in self.frames:
            await self.pty.write(frame)
            self.pty.drain()
            self.sent += 1
            await asyncio.sleep(self.interval)

    async def done(self) -> None:
        await self._task

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def hdlc_like_no(apdu: bytes) -> bytes:
    addresses, control, _info, _segmented = parse_hdlc(HDLC_NO)
    return build_hdlc(addresses, control, b"\xe6\xe7\x00" + apdu)


def corrupt(frame: bytes) -> bytes:
    damaged = bytearray(frame)
    damaged[60] ^= 0x01  # inside the information field: the frame check sequence fails
    return bytes(damaged)


#: A plain list of three numbers without OBIS codes: no known layout has that shape.
UNKNOWN_LAYOUT = hdlc_like_no(b"\x0f\x00\x00\x00\x01\x00\x02\x03" + b"\x06\x00\x00\x00\x01" * 3)
