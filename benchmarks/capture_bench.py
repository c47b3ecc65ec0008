"""What the capture for bug reports (issue 14) costs per frame: the decoder with and without it.

Frames: 400 pushes of simulated meters of four families (P1 text, plain HDLC, encrypted HDLC,
a general-block-transfer push in three HDLC frames), fed one push per read as a port delivers
them. "off" decodes with a decoder that has no capture; "on" with a ``FrameCapture`` (it keeps
every frame's bytes by reference and its verdict). Best of alternating rounds (a busy 2-core box
changes speed), a fresh decoder per round.

    .venv/bin/python benchmarks/capture_bench.py
"""

from __future__ import annotations

from pathlib import Path
import sys
import time
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import load_ours

FRAMES = 400
ROUNDS = 15
METERS = ("nl_dsmr", "no_aidon", "dk_kamstrup", "ee_elektrilevi_dlms")


def _time(make: Any, frames: list[bytes]) -> float:
    decoder = make()
    start = time.perf_counter()
    for frame in frames:
        decoder.feed(frame)
    return time.perf_counter() - start


def main() -> int:
    """Print µs per push with and without the capture, and the difference."""
    load_ours()
    from han.capture import FrameCapture  # noqa: PLC0415 - after the path is set
    from han.decoder import Decoder  # noqa: PLC0415
    from han.model import Keys  # noqa: PLC0415
    from hanport_dev.simulator import MeterSimulator  # noqa: PLC0415

    print(f"{'meter':24} {'off µs':>8} {'on µs':>8} {'+µs/push':>9} {'+%':>6}")
    for name in METERS:
        sim = MeterSimulator(name, seed=1, start=1_750_000_000.0)
        frames = [sim.next_frame() for _ in range(FRAMES)]
        keys = Keys(sim.keys.ek, sim.keys.ak)
        country = sim.profile.country
        best_off = best_on = float("inf")
        for _ in range(ROUNDS):
            best_off = min(best_off, _time(lambda k=keys, c=country: Decoder(k, country=c), frames))
            best_on = min(
                best_on,
                _time(
                    lambda k=keys, c=country: Decoder(k, country=c, capture=FrameCapture()), frames
                ),
            )
        off, on = best_off / FRAMES * 1e6, best_on / FRAMES * 1e6
        print(f"{name:24} {off:8.1f} {on:8.1f} {on - off:9.2f} {100 * (on - off) / off:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
