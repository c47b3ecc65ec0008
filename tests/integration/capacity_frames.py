"""Frames for the capacity tests: real telegrams and lists with the clock and registers set.

Belgium: the real Fluvius telegram ``dp_fluvius_v171_alt`` (tests/fixtures/dsmr.jsonl) with its
clock (0-0:1.0.0, local time with S/W), import registers (1.8.1 day, 1.8.2 night), power, and
optionally 1.4.0 and 1.6.0 rewritten, the CRC recomputed. Norway: the real Kaifa MA304H3E
lists (list 2 every few seconds, list 3 with the energy registers on the hour), values and
COSEM clocks rewritten by the simulator's own template code, the clock naive local time as the
meter sends it (deviation "not specified").

Generated days: 30-s steps of household load with a few heavy loads (EV, oven), integer-Wh
registers, a power cut (no frames, no energy), a communication gap across an interval boundary
and one inside an interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.han_port.han.decoder import Decoder
from custom_components.han_port.han.model import Message
from hanport_dev.simulator import build_hdlc
from hanport_dev.simulator.dlms import render_apdu
from hanport_dev.simulator.frames import LLC
from hanport_dev.simulator.nordic import kaifa
from hanport_dev.simulator.p1 import telegram
from tests.common import vector

BRUSSELS = ZoneInfo("Europe/Brussels")
OSLO = ZoneInfo("Europe/Oslo")
STEP = 30
FLUVIUS = vector("dsmr", "dp_fluvius_v171_alt")["telegram"]


def local(zone: ZoneInfo, *when: int) -> int:
    """POSIX seconds of a local wall-clock time."""
    return int(datetime(*when, tzinfo=zone).timestamp())  # type: ignore[misc]


def p1_stamp(t: float, zone: ZoneInfo = BRUSSELS) -> str:
    """A DSMR time: local YYMMDDhhmmss and S (summer) or W (winter)."""
    when = datetime.fromtimestamp(t, zone)
    return when.strftime("%y%m%d%H%M%S") + ("S" if when.dst() else "W")


def fluvius_telegram(
    t: float,
    t1_wh: int,
    t2_wh: int,
    power_w: int,
    *,
    demand_w: float | None = None,
    peak: tuple[float, float] | None = None,
    template: str = FLUVIUS,
) -> bytes:
    """The Fluvius telegram at ``t`` with these registers (Wh), power (W), 1.4.0, 1.6.0."""
    body = template[: template.rindex("!")]
    lines = body.split("\r\n")
    while lines and not lines[-1]:
        lines.pop()
    new = {
        "0-0:1.0.0": f"0-0:1.0.0({p1_stamp(t)})",
        "1-0:1.8.1": f"1-0:1.8.1({t1_wh / 1000:010.3f}*kWh)",
        "1-0:1.8.2": f"1-0:1.8.2({t2_wh / 1000:010.3f}*kWh)",
        "1-0:1.7.0": f"1-0:1.7.0({power_w / 1000:06.3f}*kW)",
        "1-0:2.7.0": "1-0:2.7.0(00.000*kW)",
    }
    if demand_w is not None:
        new["1-0:1.4.0"] = f"1-0:1.4.0({demand_w / 1000:06.3f}*kW)"
    if peak is not None:
        new["1-0:1.6.0"] = f"1-0:1.6.0({p1_stamp(peak[0])})({peak[1] / 1000:06.3f}*kW)"
    out = [new.get(line.partition("(")[0], line) for line in lines]
    return telegram(out)


@dataclass
class Days:
    """Generated frames: times (POSIX s), the two import registers (Wh), net power (W)."""

    times: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    power: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """The import register the tracker reads (the sum of the tariff registers)."""
        return self.t1 + self.t2

    def select(self, keep: np.ndarray) -> Days:
        """The frames where ``keep`` is true."""
        return Days(self.times[keep], self.t1[keep], self.t2[keep], self.power[keep])


def generate(
    zone: ZoneInfo,
    start: tuple[int, ...],
    end: tuple[int, ...],
    *,
    seed: int,
    cut: tuple[tuple[int, ...], tuple[int, ...]],
    gaps: list[tuple[tuple[int, ...], tuple[int, ...]]],
    heavy: int = 14,
) -> Days:
    """Days of load in 30-s steps from ``start`` to ``end`` (local times, both included)."""
    times = np.arange(local(zone, *start), local(zone, *end) + 1, STEP)
    n = len(times)
    rng = np.random.default_rng(seed)
    power = rng.integers(250, 900, n)
    for _ in range(heavy):
        at = int(rng.integers(0, n - 240))
        power[at : at + int(rng.integers(20, 240))] += int(rng.integers(1500, 9000))
    dark = (times >= local(zone, *cut[0])) & (times < local(zone, *cut[1]))
    power[dark] = 0  # a power cut: nothing imported, the meter sends nothing
    hours = np.array([datetime.fromtimestamp(int(t), zone).hour for t in times])
    night = (hours >= 22) | (hours < 7)
    work = power * STEP  # W·s in the step that starts at each frame
    w1 = np.concatenate(([0], np.cumsum(np.where(night, 0, work)[:-1])))
    w2 = np.concatenate(([0], np.cumsum(np.where(night, work, 0)[:-1])))
    t1 = 301_548 + w1 // 3600
    t2 = 270_014 + w2 // 3600
    keep = ~dark
    for first, last in gaps:  # no frames, the energy flows on
        keep &= (times < local(zone, *first)) | (times >= local(zone, *last))
    return Days(times, t1, t2, power).select(keep)


# Norway (Kaifa) ---------------------------------------------------------------------------

_KAIFA = kaifa()


class _Values:
    """What the simulator's template code reads: the time and the values to write."""

    def __init__(self, t: float, power_w: float, energy_wh: float | None) -> None:
        self.time = t
        self._values = {(1, 7, 0): power_w, (2, 7, 0): 0.0}
        if energy_wh is not None:
            self._values[1, 8, 0] = energy_wh

    def value(self, cde: tuple[int, int, int]) -> float | None:
        return self._values.get(cde)


def _cosem_clock(t: float, zone: ZoneInfo, tail: bytes) -> bytes:
    when = datetime.fromtimestamp(t, zone)
    head = when.year.to_bytes(2) + bytes(
        (when.month, when.day, when.isoweekday(), when.hour, when.minute, when.second)
    )
    return head + tail


def kaifa_frame(t: float, power_w: float, energy_wh: float | None = None) -> bytes:
    """A Kaifa push at ``t``: list 3 (with the energy registers) when ``energy_wh`` is given."""
    template = _KAIFA.lists[0 if energy_wh is None else 1]
    apdu = bytearray(render_apdu(template, _Values(t, power_w, energy_wh)))
    for offset in template.clocks:  # naive local time, as the meter sends it
        tail = template.apdu[offset + 8 : offset + 12]
        apdu[offset : offset + 12] = _cosem_clock(t, OSLO, tail)
    return build_hdlc(_KAIFA.addresses, _KAIFA.control, LLC + bytes(apdu))


def decode(frames: list[bytes], country: str) -> list[Message]:
    """The messages of frames, as the reader's decoder gives them."""
    decoder = Decoder(country=country)
    out: list[Message] = []
    for frame in frames:
        for result in decoder.feed(frame):
            assert isinstance(result, Message), result
            out.append(result)
    return out


def state_of(hass: Any, entity_id: str) -> str:
    """An entity's state ("unknown", "unavailable" or the value)."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return str(current.state)
