"""The capture for a bug report (issue 14 item 2): frames as received, verdicts, bounds, secrets."""

from __future__ import annotations

import json
import random

from han.capture import (
    FRAMES,
    OK,
    REDACTED,
    VERDICT_PARTIAL,
    FrameCapture,
    frames_from_snapshot,
)
from han.decoder import Decoder
from han.model import Keys, Message
from han.profiles import get_profile
from hanport_dev.simulator import MeterSimulator
from tests.common import (
    DK_AK,
    DK_EK,
    DK_TITLE,
    HDLC_NO,
    P1_NL,
    dk_frames,
    vector,
    wire,
)

GH740 = wire(vector("nordic", "amsreader-landis-gyr-gh740"))


def capturing(keys: Keys | None = None, **kwargs: object) -> tuple[Decoder, FrameCapture]:
    capture = FrameCapture(**kwargs)  # type: ignore[arg-type]
    return Decoder(keys, capture=capture), capture


def feed_in_chunks(decoder: Decoder, data: bytes, seed: int = 1) -> list[object]:
    rng = random.Random(seed)
    out: list[object] = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, 300)
        out += decoder.feed(data[pos : pos + size])
        pos += size
    return out


def test_every_frame_is_kept_exactly_as_it_came_off_the_wire() -> None:
    sim = MeterSimulator("no_aidon", seed=2)
    pushed = [sim.next_frame() for _ in range(5)]
    decoder, capture = capturing()
    feed_in_chunks(decoder, b"garbage" + b"".join(pushed))
    assert [frame.wire for frame in capture.frames] == pushed
    assert all(isinstance(frame.result, Message) for frame in capture.frames)
    snapshot = capture.snapshot()
    assert [bytes.fromhex(f["hex"]) for f in snapshot["frames"]] == pushed
    assert {f["verdict"] for f in snapshot["frames"]} == {OK}
    assert snapshot["received_bytes"] == len(b"garbage") + sum(map(len, pushed))


def test_a_rejected_frame_keeps_the_bytes_its_framer_consumed_and_the_reason() -> None:
    broken = bytearray(P1_NL)
    broken[40] ^= 0x01  # inside a data line: the CRC no longer matches
    decoder, capture = capturing()
    decoder.feed(bytes(broken) + P1_NL)
    first, second = capture.snapshot()["frames"]
    assert bytes.fromhex(first["hex"]) == bytes(broken)
    assert first["verdict"] == "checksum"
    assert "CRC" in first["detail"]
    assert second["verdict"] == OK
    assert bytes.fromhex(second["hex"]) == P1_NL


def test_segments_are_partial_until_the_message_is_complete() -> None:
    decoder, capture = capturing()
    decoder.feed(GH740)
    verdicts = [f["verdict"] for f in capture.snapshot()["frames"]]
    assert verdicts == [VERDICT_PARTIAL, VERDICT_PARTIAL, OK]
    assert b"".join(frame.wire for frame in capture.frames) == GH740


def test_only_the_last_frames_are_kept_and_each_is_cut_to_its_cap() -> None:
    decoder, capture = capturing(frame_cap=100)
    sim = MeterSimulator("nl_dsmr", seed=1)
    for _ in range(FRAMES + 5):
        decoder.feed(sim.next_frame())
    snapshot = capture.snapshot()
    assert len(snapshot["frames"]) == FRAMES
    assert snapshot["limits"] == {
        "frames": FRAMES,
        "frame_bytes": 100,
        "total_bytes": 32 * 1024,
        "raw_bytes": 4096,
    }
    frame = snapshot["frames"][-1]
    assert frame["cut"] is True
    assert len(bytes.fromhex(frame["hex"])) == 100 < frame["size"]
    # A cut frame cannot be decoded again: it is left out of the replay.
    assert list(frames_from_snapshot(snapshot)) == []


def test_the_total_cap_leaves_out_the_oldest_frames() -> None:
    decoder, capture = capturing()
    for _ in range(10):
        decoder.feed(HDLC_NO)
    snapshot = capture.snapshot(total_cap=3 * len(HDLC_NO) + 1)
    assert snapshot["omitted"] == 7
    assert len(snapshot["frames"]) == 3
    assert sum(len(f["hex"]) // 2 for f in snapshot["frames"]) <= 3 * len(HDLC_NO) + 1


def test_when_nothing_frames_the_last_raw_bytes_are_kept() -> None:
    decoder, capture = capturing(raw_cap=1000)
    noise = bytes(random.Random(5).randrange(256) for _ in range(5000)).replace(b"~", b"-")
    noise = noise.replace(b"/", b"-").replace(b"h", b"-").replace(b"\xdb", b"-")
    feed_in_chunks(decoder, noise)
    snapshot = capture.snapshot()
    assert snapshot["frames"] == []
    assert bytes.fromhex(snapshot["raw_hex"]) == noise[-1000:]
    assert list(frames_from_snapshot(snapshot)) == [("raw", noise[-1000:])]
    assert snapshot["received_bytes"] == 5000


def test_raw_bytes_are_left_out_once_a_frame_decoded() -> None:
    decoder, capture = capturing()
    decoder.feed(b"\x00" * 50 + HDLC_NO)
    assert capture.snapshot()["raw_hex"] == ""
    capture.clear()
    assert capture.snapshot()["frames"] == []
    assert capture.snapshot()["received_bytes"] == 0


def test_the_decoded_part_names_no_meter() -> None:
    decoder, capture = capturing()
    decoder.feed(HDLC_NO)
    decoded = capture.snapshot()["frames"][0]["decoded"]
    assert decoded["meter_id"] == REDACTED
    assert decoded["format"] == "dlms"
    assert decoded["registers"] > 5
    assert decoded["manufacturer"] == "Kaifa"
    meter_id = "6970631404129954"
    assert meter_id not in json.dumps(decoded)
    # The plain frame's own bytes carry it (the README says so).
    assert meter_id.encode().hex() in capture.snapshot()["frames"][0]["hex"]


def test_an_encrypted_capture_holds_no_key_and_no_decoded_system_title() -> None:
    keys = Keys(bytes.fromhex(DK_EK), bytes.fromhex(DK_AK))
    decoder, capture = capturing(keys)
    decoder.feed(b"".join(dk_frames(3)) + b"\x7e\x00junk")
    snapshot = capture.snapshot()
    assert [f["verdict"] for f in snapshot["frames"]] == [OK] * 3
    decoded = snapshot["frames"][0]["decoded"]
    assert decoded["system_title"] == REDACTED
    assert decoded["security"] == {
        "system_title": REDACTED,
        "counter": decoded["security"]["counter"],
        "authenticated": True,
    }
    dumped = json.dumps(snapshot).lower()
    for key in (DK_EK, DK_AK):
        assert key.lower() not in dumped
        assert bytes.fromhex(key).decode("latin-1").lower() not in dumped
    title = DK_TITLE.hex()
    assert title not in json.dumps([f["decoded"] for f in snapshot["frames"]]).lower()
    assert title in snapshot["frames"][0]["hex"]  # in clear in the envelope


def test_a_snapshot_decodes_again_to_the_same_readings() -> None:
    sim = MeterSimulator("ee_elektrilevi_dlms", seed=4)
    decoder, capture = capturing()
    first = [r for _ in range(4) for r in decoder.feed(sim.next_frame())]
    snapshot = json.loads(json.dumps(capture.snapshot()))
    again = Decoder(formats=get_profile("ee_elektrilevi").formats)
    second = [r for _, data in frames_from_snapshot(snapshot) for r in again.feed(data)]
    assert [m.readings for m in first if isinstance(m, Message)] == [
        m.readings for m in second if isinstance(m, Message)
    ]
    assert len(second) == 4


def test_without_a_capture_the_reader_keeps_no_bytes() -> None:
    decoder = Decoder()
    decoder.feed(HDLC_NO)
    assert decoder.reader.keep_wire is False
    assert decoder.reader.last_wire == b""


def test_a_rejected_hdlc_frame_keeps_its_closing_flag() -> None:
    """The flag the framer leaves for the next frame is the rejected frame's own last byte."""
    broken = bytearray(HDLC_NO)
    broken[-10] ^= 0x01  # the FCS no longer matches
    decoder, capture = capturing()
    decoder.feed(bytes(broken) + HDLC_NO)
    first, second = capture.frames
    assert first.result is not None
    assert first.result.code.value == "checksum"  # type: ignore[union-attr]
    assert first.wire == bytes(broken)
    assert second.wire == HDLC_NO
