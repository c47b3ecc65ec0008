"""Formats side by side in one stream: the format lock and what one format's framer may take.

Regressions of issue 10 items 2 and 3, with real frames fed from every start offset (a reader
starts listening in the middle of a frame as often as not):

* the ``DB 08`` header inside every encrypted M-Bus/HDLC frame framed as encrypted DSMR, locked
  the reader onto that format and turned every Austrian frame into "wrong key";
* a ``/`` inside binary DLMS data made the P1 framer swallow the next HDLC frame's header up to
  its address byte 0x21 (a ``!``), and a stray ``/`` held DLMS frames back until 8 KB arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from han.decoder import Decoder
from han.framing import FrameKind
from han.model import (
    ErrorCode,
    Keys,
    Message,
    Rejected,
    Result,
    Security,
)
from han.replay import ReplayGuard
from tests.common import HDLC_NO, LU_AK, LU_CORRUPT, LU_EK, LU_FRAME, vectors_by_id, wire

VECTORS = vectors_by_id("dlms", "nordic")
KEY_CODES = {ErrorCode.NO_KEY, ErrorCode.WRONG_KEY, ErrorCode.AUTH_FAILED}
AUSTRIA = ["at-netznoe-kaifa-ma309-mbus-sc20", "at-tinetz-kaifa-example-mbus-sc21"]
#: Norwegian Kamstrup HDLC captures that decode (nordic.jsonl); their address is 2B 21 ('!').
KAMSTRUP_NO = [
    wire(v)
    for v in VECTORS.values()
    if v["transport"] == "hdlc" and v["country"] == "NO" and "kamstrup" in v["id"] and v["expected"]
]
#: The one among them whose data holds a '/' (0x2F).
KAMSTRUP_SLASH = next(frame for frame in KAMSTRUP_NO if b"/" in frame)


class AnyCounter(ReplayGuard):
    """These tests play one recorded frame again and again to exercise framing; the replay
    guard, which refuses exactly that on a live line, has its own tests (test_replay.py)."""

    def check(self, security: Security | None) -> bool:
        del security
        return False


def feed(decoder: Decoder, data: bytes, chunk: int | None) -> list[Result]:
    """Feed like a port does: all at once or in chunks, never with ``final``."""
    if chunk is None:
        return decoder.feed(data)
    out: list[Result] = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
    return out


def count(results: Iterable[Result]) -> tuple[int, list[ErrorCode]]:
    results = list(results)
    good = sum(isinstance(r, Message) for r in results)
    return good, [r.code for r in results if isinstance(r, Rejected)]


def austrian(vector_id: str) -> tuple[bytes, Keys]:
    vector: dict[str, Any] = VECTORS[vector_id]
    return wire(vector), Keys(ek=bytes.fromhex(vector["keys"]["ek"]))


# --------------------------------------------------------------------------------------
# Issue 10 item 2: a false "encrypted P1" frame inside DLMS must not lock the reader
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector_id", AUSTRIA)
def test_austrian_m_bus_stream_decodes_from_every_start_offset(vector_id: str) -> None:
    """Started before the DB 08 inside the first frame: once 0 of 11, "wrong key" 12 times."""
    frame, keys = austrian(vector_id)
    assert frame.find(b"\xdb\x08") == 9
    for offset in range(len(frame)):
        decoder = Decoder(keys)
        good, errors = count(decoder.feed(frame[offset:] + frame * 11))
        assert good == (12 if offset == 0 else 11), offset
        assert not KEY_CODES & set(errors), (offset, errors)
        assert decoder.reader.locked_kind == FrameKind.MBUS
        # The false frames were dropped, and counted.
        assert decoder.reader.stats.unconfirmed == (1 if 0 < offset <= 9 else 0)


@pytest.mark.parametrize("vector_id", AUSTRIA)
@pytest.mark.parametrize("chunk", [1, 64])
def test_austrian_m_bus_stream_in_chunks(vector_id: str, chunk: int) -> None:
    frame, keys = austrian(vector_id)
    for offset in (1, 5, 9, 10, 200):
        decoder = Decoder(keys)
        good, errors = count(feed(decoder, frame[offset:] + frame * 11, chunk))
        assert good == 11
        assert not KEY_CODES & set(errors)


@pytest.mark.parametrize(
    "vector_id", ["dk-kamstrup-omnipower-hdlc-sc30", "lg-e450-hdlc-gbt-sc30-a"]
)
def test_encrypted_hdlc_stream_decodes_from_every_start_offset(vector_id: str) -> None:
    """The same false frame inside HDLC: a Danish Kamstrup frame (once 0 of 10, "wrong key"
    from 11 offsets) and Landis+Gyr E450 GBT blocks (once 0 of 10, auth_failed from 19)."""
    vector: dict[str, Any] = VECTORS[vector_id]
    data = wire(vector)
    keys = Keys(ek=bytes.fromhex(vector["keys"]["ek"]), ak=bytes.fromhex(vector["keys"]["ak"]))
    for offset in range(len(data)):
        good, errors = count(Decoder(keys, replay=AnyCounter()).feed(data[offset:] + data * 10))
        assert good == (11 if offset == 0 else 10), offset
        assert not KEY_CODES & set(errors), (offset, errors)


def test_an_unchecked_format_wins_the_lock_only_by_decoding() -> None:
    decoder = Decoder(Keys(ek=bytes.fromhex(LU_EK), ak=bytes.fromhex(LU_AK)))
    assert count(decoder.feed(LU_CORRUPT)) == (0, [])  # held: maybe not a frame at all
    assert decoder.reader.locked_kind is None
    assert count(decoder.feed(LU_FRAME)) == (1, [ErrorCode.AUTH_FAILED])
    assert decoder.reader.locked_kind == FrameKind.DSMR_GCM
    # Locked and proven: a key error now counts at once.
    assert count(decoder.feed(LU_CORRUPT)) == (0, [ErrorCode.AUTH_FAILED])


def test_a_lock_yields_when_the_locked_format_stops_producing_good_messages() -> None:
    # EK only (the tag checks with Luxembourg's public AK): with an AK of their own, the user
    # would have the plain HDLC meter below refused as unauthenticated.
    decoder = Decoder(Keys(ek=bytes.fromhex(LU_EK)), replay=AnyCounter())
    assert count(decoder.feed(LU_FRAME * 2)) == (2, [])
    assert decoder.reader.locked_kind == FrameKind.DSMR_GCM
    # The line changes: broken encrypted frames, then a plain HDLC meter.
    results = decoder.feed(LU_CORRUPT * 3 + HDLC_NO)
    assert count(results) == (1, [ErrorCode.CHECKSUM] * 3)  # tag unchecked: the CRC fails
    assert isinstance(results[-1], Message)
    assert results[-1].format != "p1"
    assert decoder.reader.locked_kind == FrameKind.HDLC


def test_a_wrong_key_is_still_reported_for_a_format_that_never_decodes() -> None:
    decoder = Decoder(Keys(ek=bytes(16), ak=bytes.fromhex(LU_AK)))
    first = decoder.feed(LU_FRAME)
    assert first == []  # held until the next result shows it was a frame
    assert count(decoder.feed(LU_FRAME)) == (0, [ErrorCode.AUTH_FAILED])
    assert count(decoder.feed(b"", final=True)) == (0, [ErrorCode.AUTH_FAILED])


# --------------------------------------------------------------------------------------
# Issue 10 item 3: a '/' in binary data must not starve DLMS streams
# --------------------------------------------------------------------------------------


def test_kamstrup_capture_decodes_from_every_start_offset() -> None:
    """Once 0 of 29 frames from 225 of 228 offsets: the P1 framer ate each next header."""
    frame = KAMSTRUP_SLASH
    assert frame[4:5] == b"!"
    for offset in range(len(frame)):
        good, _ = count(Decoder(country="NO").feed(frame[offset:] + frame * 29))
        assert good == (30 if offset == 0 else 29), offset


def test_every_kamstrup_frame_decodes_after_a_cut_frame_with_a_slash() -> None:
    stream = b"".join(KAMSTRUP_NO)
    assert len(KAMSTRUP_NO) == 17
    for offset in range(1, len(KAMSTRUP_SLASH)):
        for chunk in (None, 64) if offset % 16 == 1 else (None,):
            decoder = Decoder(country="NO")
            good, _ = count(feed(decoder, KAMSTRUP_SLASH[offset:] + stream, chunk))
            assert good == 17, (offset, chunk)


def test_a_stray_slash_does_not_hold_dlms_frames_back() -> None:
    """The HDLC frame after a lone '/' comes out at once, not after 8 KB."""
    for junk in (b"/", b"/EG", b"/KFM5KAIFA", b"/ABC5 X\r\n"):
        results = Decoder().feed(junk + HDLC_NO)
        assert count(results) == (1, [])


def test_a_frame_the_decoder_fails_on_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception while decoding one frame must not stop the reader."""
    decoder = Decoder()
    real = decoder.decode_frame
    calls: list[int] = []

    def flaky(frame: Any) -> Result | None:
        calls.append(frame.size)
        if len(calls) == 1:
            msg = "bug"
            raise RuntimeError(msg)
        return real(frame)

    monkeypatch.setattr(decoder, "decode_frame", flaky)
    with pytest.raises(RuntimeError):
        decoder.feed(HDLC_NO * 2)
    assert count(decoder.feed(b"")) == (1, [])
    assert len(calls) == 2
