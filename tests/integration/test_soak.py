"""The long soak of issue 10 (``scripts/soak``): skipped unless HAN_SOAK_MINUTES is set.

The real coordinator reads a simulated meter over TCP for N minutes while another process
pushes frames at a high rate through a faulty line (flipped bits, cut frames, garbage,
dropped connections). At the end it prints what a reviewer needs: frames sent, messages
decoded, rejects by reason, state writes, RSS at start and end, the worst event-loop lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
import random
import resource
import socket
import sys
import time
from typing import Any

from homeassistant.const import CONF_PORT, EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from hanport_dev.simulator import Faults, MeterSimulator, apply_faults

from .timing import SetTimings

MINUTES = float(os.environ.get("HAN_SOAK_MINUTES", "0") or 0)
PROFILE = os.environ.get("HAN_SOAK_PROFILE", "no_kaifa")
RATE = int(os.environ.get("HAN_SOAK_RATE", "2000"))
#: A line that flips a bit in 2 % of the frames, cuts 1 %, and adds garbage now and then.
FAULTS = Faults(bitflip=0.02, truncate=0.01)

pytestmark = pytest.mark.skipif(MINUTES <= 0, reason="a soak runs only from scripts/soak")

# The meter's end: accept a connection, push the pool of frames at RATE per second; drop
# the connection every DROP_EVERY seconds (the integration must reconnect).
_METER = """
import os, socket, sys, time
fd, seconds, rate, drop_every = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), 60.0
frames = sys.stdin.buffer.read().split(b"\\0SPLIT\\0")
server = socket.socket(fileno=fd)
sent = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    conn, _ = server.accept()
    dropped_at = time.monotonic() + drop_every
    tick = time.monotonic()
    try:
        while time.monotonic() < min(deadline, dropped_at):
            batch = frames[sent % len(frames) : sent % len(frames) + max(1, rate // 100)]
            conn.sendall(b"".join(batch))
            sent += len(batch)
            tick += len(batch) / rate
            pause = tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    except OSError:
        pass
    conn.close()
print(sent)
"""


def rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


class Lag:
    """Worst lateness of a 10 ms timer: wall clock, and CPU time the loop spent elsewhere."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.busy = 0.0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(0.01)
            self.wall = max(self.wall, loop.time() - start - 0.01)
            self.busy = max(self.busy, time.thread_time() - cpu - 0.01)


def frame_pool(count: int) -> list[bytes]:
    """Frames of the simulated meter, as a faulty line delivers them."""
    meter = MeterSimulator(PROFILE, seed=1)
    rng = random.Random(2)  # line noise, not cryptography
    pool = []
    for n in range(count):
        frame = apply_faults(meter.next_frame(), FAULTS, rng)
        if n % 97 == 0:
            frame += rng.randbytes(rng.randrange(1, 200))  # garbage between frames
        pool.append(frame)
    return pool


@pytest.mark.usefixtures("socket_enabled")
async def test_soak(hass: HomeAssistant, timings: SetTimings) -> None:
    timings(backoff_start=1.0, backoff_max=60.0, silence_intervals=3)
    writes = 0

    @callback
    def count(_event: Event) -> None:
        nonlocal writes
        writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="soak",
            title="Meter",
            data={CONF_PORT: f"socket://127.0.0.1:{port}", CONF_PROFILE: PROFILE},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data
        seconds = MINUTES * 60
        meter = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _METER,
            str(server.fileno()),
            str(seconds),
            str(RATE),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(server.fileno(),),
        )
        assert meter.stdin is not None
        meter.stdin.write(b"\0SPLIT\0".join(frame_pool(5000)))
        await meter.stdin.drain()
        meter.stdin.close()
        await asyncio.sleep(2)
        lag = Lag()
        rss_start = rss_mb()
        started = time.monotonic()
        report: dict[str, Any] = {}
        while time.monotonic() - started < seconds:
            await asyncio.sleep(min(60, seconds))
            counters = coordinator.counters
            sys.stdout.write(
                f"\n[{(time.monotonic() - started) / 60:5.1f} min] messages {counters.ok}, "
                f"rejected {sum(counters.rejected.values())}, RSS {rss_mb():.1f} MB, "
                f"lag {lag.busy * 1000:.0f}/{lag.wall * 1000:.0f} ms"
            )
        out, _ = await meter.communicate()
        lag.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lag.task
        counters = coordinator.counters
        report = {
            "minutes": MINUTES,
            "profile": PROFILE,
            "frames_sent": int(out.decode().strip() or 0),
            "messages": counters.ok,
            "rejected": dict(sorted(counters.rejected.items())),
            "reconnects": counters.reconnects,
            "open_failures": counters.open_failures,
            "silent_periods": counters.silent_periods,
            "publish_errors": counters.publish_errors,
            "reader_restarts": counters.reader_restarts,
            "state_writes": writes,
            "rss_start_mb": round(rss_start, 1),
            "rss_end_mb": round(rss_mb(), 1),
            "max_loop_lag_busy_ms": round(lag.busy * 1000, 1),
            "max_loop_lag_wall_ms": round(lag.wall * 1000, 1),
            "reader_alive": not coordinator.reader._task.done(),
        }
        assert await hass.config_entries.async_unload(entry.entry_id)
    sys.stdout.write("\nSOAK " + " ".join(f"{k}={v}" for k, v in report.items()) + "\n")
    assert report["reader_alive"]
    assert report["messages"] > 0
