"""CPU per frame through the integration, with Flanders' rule on and off (issue 13: within 10 %).

Two Belgian meters set up alike, one with the capacity tariff on, pushing every second (as
Fluvius' do) or every 10 s (as Swedish P1 and Kamstrup meters do). Each frame goes the whole
per-frame path a real meter's frame goes: decoded, handed to the coordinator as one read
(``take``), accepted, and published to every entity (a Fluvius meter pushes once a second,
slower than the publish limit, so every frame is published). Frames alternate between the two
entries (a busy 2-core box changes speed: both see the same load); the CPU time per frame of
each entry is taken per round of ``FRAMES`` frames (coverage tracing paused), and the least of
the ``ROUNDS`` rounds is its cost (the other rounds were slowed down by something else on the
machine, or include the first frames' one-off work).

Measured on the project's 2-core machine (least of 5 rounds of 120 frames, eight runs): 1-s
meter 0.8-3.6 % more, 10-s meter 3.7-9.3 % more (the live sensors' once-a-minute update is
spread over fewer frames). Asserted: the claim, ``MAX_RATIO``, over up to ``MORE_BATCHES`` more
batches of rounds when a busy machine pushed the first batch over it.

``HAN_CAPACITY_CPU_FRAMES`` sets the frames per round (default 120); the figures are printed
with ``-s``.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
import time

import coverage
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.capacity_rules import CONF_CAPACITY
from custom_components.han_port.connection import Chunk
from custom_components.han_port.const import CONF_PROFILE, DOMAIN
from custom_components.han_port.han.decoder import Decoder
from tests.common import Pty

from .capacity_frames import BRUSSELS, fluvius_telegram, local
from .timing import SetTimings

FRAMES = int(os.environ.get("HAN_CAPACITY_CPU_FRAMES", "120"))
ROUNDS = 5
#: The claim (issue 13): at most 10 % more CPU per frame with a rule on, for both meters.
MAX_RATIO = 1.10
#: A shared 2-core machine only ever adds time. When the least of ``ROUNDS`` rounds is over
#: the claim (the 10-s meter measures 4-9 %, close to it), up to this many more batches of
#: rounds are measured on fresh frames and the least of all rounds is the cost: a real
#: regression stays over the claim in every round, a busy moment does not.
MORE_BATCHES = 3


@pytest.mark.quiet  # scripts/test runs it alone, after the rest
@pytest.mark.parametrize("step", [1, 10], ids=["1-s meter", "10-s meter"])
async def test_cpu_per_frame_with_a_rule(
    hass: HomeAssistant, pty: Pty, timings: SetTimings, step: int
) -> None:
    timings(silence_intervals=1000, publish_min_interval=0)
    other = Pty()
    entries = {}
    try:
        for name, port, options in (
            ("off", pty.path, {}),
            ("on", other.path, {CONF_CAPACITY: "be_capaciteitstarief"}),
        ):
            entry = MockConfigEntry(
                domain=DOMAIN,
                unique_id=name,
                title=name,
                data={CONF_PORT: port, CONF_PROFILE: "be_fluvius"},
                options=options,
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            entries[name] = entry
        await hass.async_block_till_done()
        start = local(BRUSSELS, 2025, 3, 3, 18, 0)
        total = FRAMES * ROUNDS * (1 + MORE_BATCHES)
        frames = [
            fluvius_telegram(
                start + step * k,
                301_548 + (k * 7) // 10,
                270_014,
                300 + (k * 37) % 2500,
            )
            for k in range(total)
        ]
        on = entries["on"].runtime_data.capacity
        assert on is not None
        clock = iter([start + step * k + 0.3 for k in range(total)])
        on.clock = lambda: next(clock)
        decoders = {name: Decoder(country="BE") for name in entries}
        # CPU per frame of each entry in each round; the least of the rounds is the cost
        # (the other rounds were slowed down by something else on the machine).
        rounds: dict[str, list[float]] = {"off": [], "on": []}
        batch = FRAMES * ROUNDS
        fed = 0
        # Measured as Home Assistant runs: without asyncio's debug mode, which the test
        # harness turns on (it records a stack for every callback scheduled: ~25 % of a frame).
        debug = hass.loop.get_debug()
        hass.loop.set_debug(False)
        try:
            for first in range(0, total, batch):
                with untraced():
                    await measure(hass, entries, decoders, frames[first : first + batch], rounds)
                fed += batch
                best = {name: min(costs) for name, costs in rounds.items()}
                ratio = best["on"] / best["off"]
                if ratio < MAX_RATIO:
                    break
        finally:
            hass.loop.set_debug(debug)
        assert on.frames == fed  # every frame fed the tracker
        print(  # noqa: T201 - the figures for the report
            f"\n{step}-s meter, per frame (least of {len(rounds['on'])} rounds of {FRAMES}): "
            f"without a rule "
            f"{best['off'] * 1e6:.0f} µs, with Flanders' rule {best['on'] * 1e6:.0f} µs, "
            f"ratio {ratio:.3f}"
        )
        assert ratio < MAX_RATIO
    finally:
        for entry in entries.values():
            await hass.config_entries.async_unload(entry.entry_id)
        other.close()


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """Coverage measurement paused (a tracer makes every line of Python cost more: the rule's
    lines too, so under coverage the ratio says more about the tracer than about the rule)."""
    cov = coverage.Coverage.current()
    if cov is not None:
        cov.stop()
    try:
        yield
    finally:
        if cov is not None:
            cov.start()


async def measure(
    hass: HomeAssistant,
    entries: dict[str, MockConfigEntry],
    decoders: dict[str, Decoder],
    frames: list[bytes],
    rounds: dict[str, list[float]],
) -> None:
    """The CPU per frame of each entry, one figure per round of ``FRAMES`` frames."""
    for first in range(0, len(frames), FRAMES):
        spent = {"off": 0.0, "on": 0.0}
        for k in range(first, first + FRAMES):
            # Frame by frame, alternating which entry goes first: both see the same load.
            order = ("off", "on") if k % 2 else ("on", "off")
            for name in order:
                coordinator = entries[name].runtime_data
                began = time.process_time()
                coordinator.take(Chunk(len(frames[k]), decoders[name].feed(frames[k])))
                await hass.async_block_till_done()
                spent[name] += time.process_time() - began
        for name, total in spent.items():
            rounds[name].append(total / FRAMES)
