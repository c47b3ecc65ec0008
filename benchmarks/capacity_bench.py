"""CPU per frame with a capacity rule on, against the decoder alone (issue 13: within 10 %).

Frames: one hour of Belgian (Fluvius) P1 telegrams at one a second, made from the real
telegram dp_fluvius_v171_alt with its clock, energy registers, powers and 1.4.0 changing every
second and the CRC recomputed, so the decoder's line cache hits only the lines a real meter
repeats. "decoder" decodes each frame; "rule" is what the rule adds on every frame: read the import
register and net power from the decoded readings, feed the tracker (Flanders rule) and build
its status, as the integration will. Both are timed on their own (best of alternating rounds:
a busy 2-core box changes speed), and once together in one loop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import sys
import time
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import FIXTURES, load_ours

if TYPE_CHECKING:
    from collections.abc import Callable

FRAMES = 3600
ROUNDS = 15


def telegrams(crc: Callable[[bytes], int]) -> list[bytes]:
    """An hour of telegrams at 1 s, from the real Fluvius telegram."""
    lines = (FIXTURES / "dsmr.jsonl").read_text(encoding="utf-8").splitlines()
    base = next(v for v in map(json.loads, lines) if v["id"] == "dp_fluvius_v171_alt")
    text: str = base["telegram"]
    body = text[: text.rindex("!") + 1]
    start = datetime(2023, 11, 2, 11, 0, tzinfo=UTC)
    out = []
    t1, t2 = 301_548, 270_014
    for k in range(FRAMES):
        power = 300 + (k * 37) % 2500
        t2 += 1 if k % 3 == 0 else 0
        stamp = (start + timedelta(seconds=k, hours=1)).strftime("%y%m%d%H%M%S") + "W"
        frame = (
            body.replace("0-0:1.0.0(231102121548W)", f"0-0:1.0.0({stamp})")
            .replace("1-0:1.8.1(000301.548*kWh)", f"1-0:1.8.1({t1 / 1000:010.3f}*kWh)")
            .replace("1-0:1.8.2(000270.014*kWh)", f"1-0:1.8.2({t2 / 1000:010.3f}*kWh)")
            .replace("1-0:1.7.0(00.338*kW)", f"1-0:1.7.0({power / 1000:06.3f}*kW)")
            .replace("1-0:21.7.0(00.047*kW)", f"1-0:21.7.0({power / 3000:06.3f}*kW)")
            .replace("1-0:1.4.0(00.052*kW)", f"1-0:1.4.0({(k % 900) / 1000:06.3f}*kW)")
        )
        raw = frame.encode("latin-1")
        out.append(raw + f"{crc(raw[raw.index(b'/') :]):04X}\r\n".encode())
    return out


def main() -> int:
    """Print µs per frame with and without the rule, and the overhead."""
    load_ours()
    decoder_mod: Any = __import__("han.decoder", fromlist=["Decoder"])
    capacity: Any = __import__("han.capacity", fromlist=["CapacityTracker"])
    crc_mod: Any = __import__("han.crc", fromlist=["crc16_arc"])
    frames = telegrams(crc_mod.crc16_arc)

    def decode_only() -> None:
        decoder = decoder_mod.Decoder(country="BE")
        for raw in frames:
            decoder.feed(raw)

    decoder = decoder_mod.Decoder(country="BE")
    messages = [m for raw in frames for m in decoder.feed(raw)]
    assert len(messages) == FRAMES
    statuses: list[Any] = []

    def rule_only() -> None:
        """What the rule adds per frame: read the registers, feed, build the status."""
        tracker = capacity.CapacityTracker(capacity.FLANDERS, "Europe/Brussels")
        register = capacity.ImportRegister()
        net_power = capacity.net_power_w
        status = None
        for message in messages:
            readings = message.readings
            tracker.feed(
                message.timestamp.timestamp(), register.energy_wh(readings), net_power(readings)
            )
            status = tracker.status()
        statuses.append(status)

    def rule_on() -> None:
        decoder = decoder_mod.Decoder(country="BE")
        tracker = capacity.CapacityTracker(capacity.FLANDERS, "Europe/Brussels")
        register = capacity.ImportRegister()
        net_power = capacity.net_power_w
        for raw in frames:
            for message in decoder.feed(raw):
                readings = message.readings
                tracker.feed(
                    message.timestamp.timestamp(),
                    register.energy_wh(readings),
                    net_power(readings),
                )
                tracker.status()

    best = {"decoder": float("inf"), "rule": float("inf"), "decoder + rule": float("inf")}
    runs = (("decoder", decode_only), ("rule", rule_only), ("decoder + rule", rule_on))
    for _ in range(ROUNDS):
        for name, run in runs:
            start = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - start) / FRAMES * 1e6)
    assert statuses[-1].peaks, "the tracker saw no interval"
    ratio = best["rule"] / best["decoder"]
    print(f"frames                {FRAMES} Fluvius telegrams, 1 s apart (best of {ROUNDS})")
    print(f"decoder               {best['decoder']:7.2f} µs/frame")
    print(f"rule (read, feed, status) {best['rule']:5.2f} µs/frame")
    print(f"decoder + rule        {best['decoder + rule']:7.2f} µs/frame (one loop, noisier)")
    print(f"rule / decoder        {ratio:7.1%}  (issue 13 asks for at most 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
