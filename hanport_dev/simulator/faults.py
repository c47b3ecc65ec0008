"""What goes wrong on a simulated line: flipped bits, cut frames, silence, dropped clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong on the simulated line.

    ``bitflip`` and ``truncate`` are per-frame probabilities (one random bit flipped; the
    frame cut at a random byte). Every ``silence_every`` frames the meter says nothing for
    ``silence_for`` seconds; every ``disconnect_every`` frames TCP clients are dropped.
    """

    bitflip: float = 0.0
    truncate: float = 0.0
    silence_every: int = 0
    silence_for: float = 0.0
    disconnect_every: int = 0


def apply_faults(frame: bytes, faults: Faults, rng: random.Random) -> bytes:
    """The frame as the line delivers it: maybe one bit flipped, maybe cut short."""
    data = bytearray(frame)
    if faults.bitflip and rng.random() < faults.bitflip:
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    if faults.truncate and len(data) > 1 and rng.random() < faults.truncate:
        del data[rng.randrange(1, len(data)) :]
    return bytes(data)
