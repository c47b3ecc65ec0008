"""The stream reader's mechanics: resync, chunking, bounded memory, format lock.

A minimal framer (``AA len payload sum``) stands in for the real formats so that each rule of
the reader is tested on its own; the format modules' tests run real frames through it.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from han.framing import (
    INVALID,
    NEED_MORE,
    Frame,
    FrameKind,
    Scan,
    ScanStatus,
)
from han.model import ChecksumError, Rejected
from han.stream import UNLOCK_AFTER_BAD, StreamReader


class SumFramer:
    """``start len payload checksum 55``: checksum = sum(payload) & 0xFF.

    Like the real formats, a frame whose closing byte is not where its length says is not a
    frame at all (INVALID: resync), and only a well-delimited one can be REJECTed.
    """

    max_size = 64

    def __init__(
        self, start: int = 0xAA, kind: FrameKind = FrameKind.MBUS, *, checked: bool = True
    ) -> None:
        self.start_bytes = bytes((start,))
        self.kind = kind
        self.checked = checked  # False: stands in for a format without a checksum of its own

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        if len(buf) - start < 2:
            return INVALID if final else NEED_MORE
        length = buf[start + 1]
        if length > 60:
            return INVALID
        end = start + 4 + length
        if len(buf) < end:
            return INVALID if final else NEED_MORE
        if buf[end - 1] != 0x55:
            return INVALID
        payload = buf[start + 2 : end - 2]
        if sum(payload) & 0xFF != buf[end - 2]:
            return Scan(ScanStatus.REJECT, end, error=ChecksumError("sum"))
        frame = Frame(self.kind, payload, end - start, checked=self.checked)
        return Scan(ScanStatus.FRAME, end, frame)


def frame(payload: bytes, start: int = 0xAA) -> bytes:
    return bytes((start, len(payload))) + payload + bytes((sum(payload) & 0xFF, 0x55))


def payloads(results: list[Frame | Rejected]) -> list[bytes | str]:
    return [r.payload if isinstance(r, Frame) else f"rejected:{r.code}" for r in results]


def test_frames_between_garbage() -> None:
    reader = StreamReader([SumFramer()])
    stream = b"\x00\x01" + frame(b"one") + b"noise" + frame(b"two") + b"\xff"
    assert payloads(reader.feed(stream)) == [b"one", b"two"]
    assert reader.stats.frames == 2
    assert reader.stats.skipped_bytes >= 7


def test_one_byte_at_a_time_equals_all_at_once() -> None:
    stream = b"zz" + frame(b"alpha") + frame(b"beta") + b"\xaa\x02" + frame(b"gamma")
    whole = payloads(StreamReader([SumFramer()]).feed(stream))
    reader = StreamReader([SumFramer()])
    bytewise: list[Frame | Rejected] = []
    for byte in stream:
        bytewise += reader.feed(bytes((byte,)))
    assert payloads(bytewise) == whole
    assert b"gamma" in whole


def test_bad_checksum_is_rejected_and_next_frame_survives() -> None:
    bad = bytearray(frame(b"broken"))
    bad[3] ^= 0x40
    reader = StreamReader([SumFramer()])
    assert payloads(reader.feed(bytes(bad) + frame(b"good"))) == ["rejected:checksum", b"good"]
    assert reader.stats.rejected == 1


def test_truncated_frame_does_not_swallow_the_next() -> None:
    """A half frame whose length runs into the next frame: resync finds the next one."""
    half = frame(b"0123456789")[:5]
    reader = StreamReader([SumFramer()])
    results = reader.feed(half + frame(b"next") + frame(b"after"))
    assert payloads(results) == [b"next", b"after"]


def test_garbage_flood_is_bounded() -> None:
    reader = StreamReader([SumFramer()], max_buffer=256)
    for _ in range(200):
        reader.feed(b"\xaa\x3b" + b"\x00" * 50)  # would-be frames that never close
        assert len(reader._buf) <= 256
    assert reader.stats.overflows > 0 or reader.stats.skipped_bytes > 0
    # A would-be frame may still be pending; within one max frame size the meter's next
    # frames are found again.
    found = [p for _ in range(12) for p in payloads(reader.feed(frame(b"ok")))]
    assert found
    assert set(found) == {b"ok"}


def test_lock_and_unlock() -> None:
    first = SumFramer(0xAA, FrameKind.MBUS)
    second = SumFramer(0xBB, FrameKind.HDLC)
    reader = StreamReader([first, second])
    assert payloads(reader.feed(frame(b"a"))) == [b"a"]
    assert reader.locked_kind == FrameKind.MBUS
    # While locked, the other format's frames are ignored ...
    assert payloads(reader.feed(frame(b"b", 0xBB))) == []
    # ... until the locked format has been silent for a long stretch: the line changed.
    for _ in range(60):
        reader.feed(frame(b"c", 0xBB))
    results = reader.feed(frame(b"d", 0xBB))
    assert reader.locked_kind == FrameKind.HDLC
    assert payloads(results) == [b"d"]
    reader.reset()
    assert reader.locked_kind is None


def test_final_flushes_and_counts_leftovers() -> None:
    reader = StreamReader([SumFramer()])
    assert reader.feed(frame(b"x")[:-1]) == []
    assert reader.feed(b"", final=True) == []
    assert reader._buf == bytearray()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=20))
def test_random_chunks_never_raise_and_only_yield_checked_frames(chunks: list[bytes]) -> None:
    reader = StreamReader([SumFramer()], max_buffer=512)
    for chunk in chunks:
        for result in reader.feed(chunk):
            if isinstance(result, Frame):
                assert sum(result.payload) & 0xFF is not None
                assert len(result.payload) <= 60
        assert len(reader._buf) <= 512


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=1, max_value=17))
def test_chunking_never_changes_frames(noise: bytes, size: int) -> None:
    stream = noise.replace(b"\xaa", b"") + frame(b"payload") + frame(b"second")
    whole = payloads(StreamReader([SumFramer()]).feed(stream))
    reader = StreamReader([SumFramer()])
    chunked: list[Frame | Rejected] = []
    for i in range(0, len(stream), size):
        chunked += reader.feed(stream[i : i + size])
    assert payloads(chunked) == whole == [b"payload", b"second"]


# --------------------------------------------------------------------------------------
# The lock and the decoder's verdicts (issue 10 item 2)
# --------------------------------------------------------------------------------------


def test_a_frame_without_its_own_checksum_locks_only_after_a_good_verdict() -> None:
    unchecked = SumFramer(0xDB, FrameKind.DSMR_GCM, checked=False)
    checked = SumFramer(0xAA, FrameKind.MBUS)
    reader = StreamReader([unchecked, checked])
    assert payloads(reader.feed(frame(b"x", 0xDB))) == [b"x"]
    assert reader.locked_kind is None  # a structure alone proves nothing
    reader.verdict(FrameKind.DSMR_GCM, good=False)
    assert reader.locked_kind is None
    # Not locked, so the other format is still read (and, checked, locks at once).
    assert payloads(reader.feed(frame(b"y", 0xDB) + frame(b"m"))) == [b"y", b"m"]
    assert reader.locked_kind == FrameKind.MBUS
    reader.reset()
    reader.feed(frame(b"z", 0xDB))
    reader.verdict(FrameKind.DSMR_GCM, good=True)
    assert reader.locked_kind == FrameKind.DSMR_GCM
    assert payloads(reader.feed(frame(b"m") + frame(b"w", 0xDB))) == [b"w"]


def test_the_lock_yields_after_bad_outcomes_in_a_row() -> None:
    first = SumFramer(0xAA, FrameKind.MBUS)
    second = SumFramer(0xBB, FrameKind.HDLC)
    reader = StreamReader([first, second])
    reader.feed(frame(b"a"))
    assert reader.locked_kind == FrameKind.MBUS
    for _ in range(UNLOCK_AFTER_BAD - 1):
        reader.verdict(FrameKind.MBUS, good=False)
    reader.verdict(FrameKind.HDLC, good=False)  # another format's word does not count
    reader.verdict(FrameKind.HDLC, good=True)  # nor does it take the lock
    assert reader.locked_kind == FrameKind.MBUS
    reader.verdict(FrameKind.MBUS, good=True)  # a good message starts the count again
    for _ in range(UNLOCK_AFTER_BAD - 1):
        reader.verdict(FrameKind.MBUS, good=False)
    assert reader.locked_kind == FrameKind.MBUS
    reader.verdict(FrameKind.MBUS, good=False)
    assert reader.locked_kind is None
    assert payloads(reader.feed(frame(b"b", 0xBB))) == [b"b"]
    assert reader.locked_kind == FrameKind.HDLC


def test_rejected_frames_of_the_locked_format_count_as_bad() -> None:
    first = SumFramer(0xAA, FrameKind.MBUS)
    second = SumFramer(0xBB, FrameKind.HDLC)
    reader = StreamReader([first, second])
    reader.feed(frame(b"a"))
    bad = bytearray(frame(b"broken"))
    bad[3] ^= 0x40
    out = reader.feed(bytes(bad) * UNLOCK_AFTER_BAD + frame(b"b", 0xBB))
    assert payloads(out) == ["rejected:checksum"] * UNLOCK_AFTER_BAD + [b"b"]
    assert reader.locked_kind == FrameKind.HDLC


def test_a_verdict_between_results_applies_to_the_rest_of_the_bytes() -> None:
    unchecked = SumFramer(0xDB, FrameKind.DSMR_GCM, checked=False)
    checked = SumFramer(0xAA, FrameKind.MBUS)
    reader = StreamReader([unchecked, checked])
    seen = []
    for item in reader.results(frame(b"x", 0xDB) + frame(b"m") + frame(b"y", 0xDB)):
        assert isinstance(item, Frame)
        seen.append(item.payload)
        if item.kind == FrameKind.DSMR_GCM:
            reader.verdict(item.kind, good=True)
    assert seen == [b"x", b"y"]  # locked by the first verdict: the M-Bus frame is ignored


def test_no_lock_when_locking_is_off() -> None:
    reader = StreamReader([SumFramer(0xDB, FrameKind.DSMR_GCM, checked=False)], lock=False)
    reader.feed(frame(b"x", 0xDB))
    reader.verdict(FrameKind.DSMR_GCM, good=True)
    assert reader.locked_kind is None


def test_a_consumer_that_stops_early_never_sees_the_same_frame_again() -> None:
    reader = StreamReader([SumFramer()])
    results = reader.results(frame(b"one") + frame(b"two"))
    first = next(results)
    assert isinstance(first, Frame)
    assert first.payload == b"one"
    results.close()  # the consumer failed on "one"
    assert payloads(reader.feed(b"")) == [b"two"]
    assert payloads(reader.feed(b"", final=True)) == []
