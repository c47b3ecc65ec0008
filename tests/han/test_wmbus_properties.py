"""Property tests: mutated frames never raise and never give readings when a check fails."""

from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from han.model import Message, Rejected
from han.wmbus import WmbusDecoder, decode_vector_bytes
from han.wmbus.link import add_format_a_crcs
from han.wmbus.receivers import make_receiver
from hanport_dev.bench.wmbus import gama350_frame
from tests.common import vectors_by_id

VECTORS = vectors_by_id("wmbus")
KEY = os.urandom(16)
GAMA = gama350_frame(KEY, "30584551")
GAMA_CRC = add_format_a_crcs(GAMA)
MODE7 = VECTORS["oms-example-profileB-mode7-with-dll-crc"]
MODE7_FRAME = bytes.fromhex(MODE7["bytes_hex"])
MODE7_KEY = bytes.fromhex(MODE7["keys"]["ek"])
CTR = VECTORS["wmbusmeters-multical21-c1-ell-ctr"]
CTR_FRAME = bytes.fromhex(CTR["bytes_hex"])
CTR_KEY = bytes.fromhex(CTR["keys"]["ek"])
ALL_FRAMES = [bytes.fromhex(v["bytes_hex"]) for v in VECTORS.values()]
SETTINGS = settings(max_examples=150, deadline=None)


def _mutate(frame: bytes, index: int, delta: int) -> bytes:
    data = bytearray(frame)
    data[index % len(data)] ^= delta
    return bytes(data)


@SETTINGS
@given(st.binary(max_size=300), st.one_of(st.none(), st.binary(min_size=16, max_size=16)))
def test_random_bytes_never_raise(data: bytes, key: bytes | None) -> None:
    result = decode_vector_bytes(data, key, None)
    assert isinstance(result, Message | Rejected)


@SETTINGS
@given(st.sampled_from(ALL_FRAMES), st.integers(0, 400), st.integers(1, 255), st.booleans())
def test_mutated_vectors_never_raise(frame: bytes, index: int, delta: int, keyed: bool) -> None:
    result = decode_vector_bytes(_mutate(frame, index, delta), KEY if keyed else None, None)
    assert isinstance(result, Message | Rejected)


@SETTINGS
@given(st.integers(0, len(GAMA_CRC) - 1), st.integers(1, 255))
def test_crc_protected_frame_rejects_every_byte_error(index: int, delta: int) -> None:
    result = decode_vector_bytes(_mutate(GAMA_CRC, index, delta), KEY, None)
    assert isinstance(result, Rejected)


@SETTINGS
@given(st.integers(0, 17), st.integers(1, 255))
def test_mode5_first_block_errors_fail_the_check_bytes(index: int, delta: int) -> None:
    # The check bytes see the M-field (IV bytes 0-1) and the whole first cipher block.
    # Mode 5 has no MAC: id, version, type and ACC only feed IV bytes 2-15, so a change
    # there goes unnoticed by any decoder (the key lookup by id is what guards it).
    position = (2, 3)[index] if index < 2 else 15 + index - 2
    result = decode_vector_bytes(_mutate(GAMA, position, delta), KEY, None)
    assert isinstance(result, Rejected)


@SETTINGS
@given(st.integers(0, 200), st.integers(1, 255))
def test_mode7_mac_covers_counter_and_payload(index: int, delta: int) -> None:
    # Strip the DLL CRCs first so that the MAC, not the CRC, is what catches the change.
    from han.wmbus.link import strip_crcs

    plain, _ = strip_crcs(MODE7_FRAME)
    start = plain.index(bytes.fromhex("900F002C25"))  # AFL: counter, MAC, then TPL to the end
    position = start + 4 + index % (len(plain) - start - 4)
    result = decode_vector_bytes(_mutate(plain, position, delta), MODE7_KEY, None)
    assert isinstance(result, Rejected)


@SETTINGS
@given(st.integers(0, 200), st.integers(1, 255))
def test_ell_ctr_payload_crc_catches_errors(index: int, delta: int) -> None:
    start = 13  # session number onwards: IV input, encrypted CRC and payload
    position = start + index % (len(CTR_FRAME) - start)
    result = decode_vector_bytes(_mutate(CTR_FRAME, position, delta), CTR_KEY, None)
    assert isinstance(result, Rejected)


@SETTINGS
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=20),
    # Noise that cannot look like a frame start (L < 10): without CRCs a binary stream
    # has no way to tell a frame from garbage that happens to look like one.
    st.lists(st.integers(0, 9), max_size=40).map(bytes),
)
def test_raw_stream_chunking_does_not_matter(cuts: list[int], noise: bytes) -> None:
    # CRC-free frames first: once the source has sent DLL CRCs, a frame failing them is damage.
    stream = noise + GAMA + noise + GAMA + GAMA_CRC
    whole = WmbusDecoder({"30584551": KEY}).feed(stream, final=True)
    decoder = WmbusDecoder({"30584551": KEY})
    pieces = []
    pos = 0
    for cut in cuts * 20:
        pieces.append(stream[pos : pos + cut])
        pos += cut
    pieces.append(stream[pos:])
    chunked = []
    for piece in pieces:
        chunked += decoder.feed(piece)
    chunked += decoder.feed(b"", final=True)

    def summary(items: list[Message | Rejected]) -> list[object]:
        return [sorted(i.readings) if isinstance(i, Message) else (i.code, i.size) for i in items]

    assert summary(chunked) == summary(whole)
    assert sum(isinstance(i, Message) for i in whole) >= 3


@SETTINGS
@given(st.sampled_from(["raw", "rtlwmbus", "im871a", "amb8465", "cul"]), st.binary(max_size=600))
def test_receivers_never_raise_on_garbage(name: str, data: bytes) -> None:
    receiver = make_receiver(name)
    receiver.feed(data)
    receiver.feed(data, final=True)
