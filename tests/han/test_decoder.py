"""Decoder.decode_capture: which path a capture takes, on real vectors."""

from __future__ import annotations

from han.decoder import Decoder
from han.model import (
    ErrorCode,
    Message,
    Rejected,
)
from han.stream import StreamReader
from tests.common import keys_of, vector as _vector


def _decode(vector: dict) -> list[Message | Rejected]:
    decoder = Decoder(keys_of(vector), country=vector["country"])
    return decoder.decode_capture(bytes.fromhex(vector["bytes_hex"]))


def test_encrypted_dsmr_capture_takes_the_framed_path() -> None:
    vector = _vector("dsmr.jsonl", "esl_encrypted_packet_sagemcom")
    results = _decode(vector)
    assert isinstance(results[0], Message)
    assert results[0].format == "p1"
    for obis in vector["expected"]:
        if not obis.endswith(":1.0.0"):
            assert obis in results[0].readings


def test_glo_ciphered_apdu_with_bad_tag_is_an_auth_error() -> None:
    results = _decode(_vector("dlms.jsonl", "dk-kamstrup-omnipower-apdu-bad-tag"))
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.AUTH_FAILED]


def test_lone_block_transfer_block_is_incomplete() -> None:
    results = Decoder().decode_capture(bytes.fromhex("e00000010000020f00"))
    assert len(results) == 1
    assert isinstance(results[0], Rejected)
    assert results[0].code in {ErrorCode.TRUNCATED, ErrorCode.MALFORMED}


class _NeverEnds:
    """A framer that always wants more bytes: the buffer bound must still hold."""

    kind = "p1"
    start_bytes = b"/"
    max_size = 1 << 20

    def scan(self, buf: bytes, start: int, *, final: bool = False):  # noqa: ARG002
        from han.framing import NEED_MORE

        return NEED_MORE


def test_buffer_is_bounded_even_when_a_candidate_never_ends() -> None:
    reader = StreamReader([_NeverEnds()], max_buffer=1024)
    for _ in range(50):
        assert reader.feed(b"/" + bytes(200)) == []
        assert len(reader._buf) <= 1024
    assert reader.stats.overflows > 0
