"""Receiver framing: streams built from real frames, fed whole and one byte at a time."""

from __future__ import annotations

from binascii import crc_hqx
from typing import Any

import pytest

from han.crc import crc16_x25
from han.model import (
    ChecksumError,
    MalformedError,
    Message,
    Rejected,
    TruncatedError,
)
from han.wmbus import PROFILE_RECEIVERS, WmbusDecoder
from han.wmbus.link import add_format_a_crcs, add_format_b_crcs
from han.wmbus.receivers import (
    Amb8465Receiver,
    CulReceiver,
    Im871aReceiver,
    Item,
    RawReceiver,
    Received,
    Receiver,
    make_receiver,
)
from tests.common import vectors_by_id

VECTORS = vectors_by_id("wmbus")
GAMA = VECTORS["wmbusmeters-pr2038-elgama-gama350-30584551-mode5"]
GAMA_FRAME = bytes.fromhex(GAMA["bytes_hex"])
GAMA_KEY = bytes.fromhex(GAMA["keys"]["ek"])
PLAIN = bytes.fromhex(VECTORS["esphome375-elgama-gama350-31397268-plain"]["bytes_hex"])
AMIPLUS = bytes.fromhex(VECTORS["wmbusmeters-amiplus-5-00320787"]["bytes_hex"])
FRAMES = [GAMA_FRAME, PLAIN, AMIPLUS]


def _summary(items: list[Item]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for item in items:
        if isinstance(item, Received):
            out.append(("frame", item.frame, item.rssi, item.crcs))
        else:
            out.append(("rejected", type(item.error).__name__, item.size))
    return out


def _both_ways(factory: type[Receiver] | str, stream: bytes) -> list[tuple[object, ...]]:
    whole = make_receiver(factory) if isinstance(factory, str) else factory()
    bytewise = make_receiver(factory) if isinstance(factory, str) else factory()
    at_once = _summary(whole.feed(stream, final=True))
    one_by_one: list[Item] = []
    for i in range(len(stream)):
        one_by_one += bytewise.feed(stream[i : i + 1])
    one_by_one += bytewise.feed(b"", final=True)
    assert _summary(one_by_one) == at_once
    return at_once


def _frames(summary: list[tuple[object, ...]]) -> list[object]:
    return [entry[1] for entry in summary if entry[0] == "frame"]


def test_profile_names() -> None:
    assert PROFILE_RECEIVERS == ("raw", "rtlwmbus", "im871a", "amb8465", "cul")
    with pytest.raises(ValueError, match="unknown receiver"):
        make_receiver("nope")


def test_raw_binary_with_and_without_crcs() -> None:
    with_crc = add_format_a_crcs(AMIPLUS)
    stream = b"\x00\xff" + GAMA_FRAME + b"\x13\x37garbage" + with_crc + PLAIN + b"\x00"
    summary = _both_ways("raw", stream)
    assert _frames(summary) == [GAMA_FRAME, with_crc, PLAIN]


def test_raw_binary_truncated_at_the_end() -> None:
    summary = _both_ways("raw", GAMA_FRAME + PLAIN[:50])
    assert _frames(summary) == [GAMA_FRAME]
    assert summary[-1][:2] == ("rejected", "TruncatedError")


def test_raw_hex_lines() -> None:
    lines = [GAMA_FRAME.hex().upper(), add_format_b_crcs(AMIPLUS).hex(), "0x" + PLAIN.hex()]
    stream = ("\r\n".join(lines) + "\n" + "not hex at all\n").encode()
    summary = _both_ways("raw", stream)
    assert _frames(summary) == [GAMA_FRAME, add_format_b_crcs(AMIPLUS), PLAIN]


def _rtl_line(frame: bytes, ok: str = "1;1") -> bytes:
    return f"T1;{ok};2019-04-03 19:00:42.000;97;148;88888888;0x{frame.hex()}\n".encode()


def test_rtlwmbus_lines() -> None:
    stream = (
        b"rtl_wmbus: starting\n"
        + _rtl_line(GAMA_FRAME)
        + _rtl_line(PLAIN, "0;0")
        + _rtl_line(AMIPLUS).replace(b"T1;", b"C1;")
    )
    summary = _both_ways("rtlwmbus", stream)
    assert summary == [
        ("frame", GAMA_FRAME, 97, False),
        ("rejected", "ChecksumError", len(PLAIN)),
        ("frame", AMIPLUS, 97, False),
    ]


def test_overlong_lines_are_dropped() -> None:
    stream = b"T1;1;1;" + b"A" * 5000 + b"\n" + _rtl_line(GAMA_FRAME)
    summary = _both_ways("rtlwmbus", stream)
    assert summary[0][:2] == ("rejected", "MalformedError")
    assert summary[1:] == [("frame", GAMA_FRAME, 97, False)]


def _hci(frame: bytes, *, crc: str = "x25", rssi: int = 0x39) -> bytes:
    body = bytes((0xC2, 0x03, len(frame) - 1)) + frame[1:] + bytes((rssi,))
    value = crc16_x25(body) if crc == "x25" else crc_hqx(body, 0xFFFF) ^ 0xFFFF
    if crc == "bad":
        value ^= 0x0101
    return b"\xa5" + body + value.to_bytes(2, "little")


def test_im871a_hci() -> None:
    set_config_rsp = bytes.fromhex("A5010401 00")
    stream = b"\x00\x11" + set_config_rsp + _hci(GAMA_FRAME) + _hci(PLAIN, crc="ccitt")
    stream += _hci(AMIPLUS, crc="bad") + _hci(AMIPLUS)
    summary = _both_ways(Im871aReceiver, stream)
    assert _frames(summary) == [GAMA_FRAME, PLAIN, AMIPLUS]
    assert ("rejected", "ChecksumError", len(_hci(AMIPLUS))) in summary
    assert summary[0][2] == -94  # 0x39 = 57 -> -100 + 0.5 * 12


def test_im871a_setup_commands() -> None:
    assert Im871aReceiver().setup_commands() == [bytes.fromhex("A501030600020330 0100")]
    assert Im871aReceiver("C1+T1").setup_commands()[0][6] == 0x0A


def _amber(frame: bytes, *, rssi: int | None = 0xC8, corrupt: bool = False) -> bytes:
    body = bytes((0xFF, 0x83, len(frame) - 1)) + frame[1:]
    if rssi is not None:
        body += bytes((rssi,))
    checksum = 0
    for byte in body:
        checksum ^= byte
    return body + bytes((checksum ^ (1 if corrupt else 0),))


def test_amb8465_command_mode() -> None:
    confirm = bytes.fromhex("FF840100") + bytes((0xFF ^ 0x84 ^ 0x01 ^ 0x00,))
    stream = confirm + _amber(GAMA_FRAME) + b"\x01\x02" + _amber(PLAIN, rssi=None)
    stream += _amber(AMIPLUS, corrupt=True) + _amber(AMIPLUS, rssi=0x10)
    summary = _both_ways(Amb8465Receiver, stream)
    assert _frames(summary) == [GAMA_FRAME, PLAIN, AMIPLUS]
    assert summary[0][2] == -102  # 0xC8 = -56 -> -28 - 74
    assert summary[1][2] is None
    assert summary[-1][2] == -66
    assert any(entry[:2] == ("rejected", "ChecksumError") for entry in summary)


def test_amb8465_setup_commands() -> None:
    assert Amb8465Receiver().setup_commands() == [bytes.fromhex("FF040108F2")]


def test_cul_lines() -> None:
    a_crc = add_format_a_crcs(GAMA_FRAME).hex().upper()
    b_crc = add_format_b_crcs(AMIPLUS).hex().upper()
    broken = bytearray(add_format_a_crcs(PLAIN))
    broken[30] ^= 0x40
    stream = (
        f"TMODE\r\nb{a_crc}80C8\r\nbY{b_crc}\r\nb{broken.hex()}80C8\r\nb{a_crc[:-5]}\r\n"
    ).encode()
    summary = _both_ways(CulReceiver, stream)
    assert summary[0] == ("frame", GAMA_FRAME, -102, False)
    assert summary[1] == ("frame", AMIPLUS, None, False)
    assert summary[2][:2] == ("rejected", "ChecksumError")
    assert summary[3][:2] == ("rejected", "TruncatedError")
    assert CulReceiver().setup_commands() == [b"brt\r\n", b"X21\r\n"]


@pytest.mark.parametrize("receiver", PROFILE_RECEIVERS)
def test_decoder_over_each_receiver(receiver: str) -> None:
    streams = {
        "raw": GAMA_FRAME + PLAIN,
        "rtlwmbus": _rtl_line(GAMA_FRAME) + _rtl_line(PLAIN),
        "im871a": _hci(GAMA_FRAME) + _hci(PLAIN),
        "amb8465": _amber(GAMA_FRAME) + _amber(PLAIN),
        "cul": b"b"
        + add_format_a_crcs(GAMA_FRAME).hex().encode()
        + b"80C8\r\n"
        + b"b"
        + add_format_a_crcs(PLAIN).hex().encode()
        + b"80C8\r\n",
    }
    decoder = WmbusDecoder({"30584551": GAMA_KEY}, meter_ids={"30584551"}, receiver=receiver)
    results = decoder.feed(streams[receiver], final=True)
    assert len(results) == 1
    message = results[0]
    assert isinstance(message, Message)
    assert message.readings["1-0:1.8.0"].value == 15948218
    assert set(decoder.heard) == {"30584551", "31397268"}
    assert decoder.heard["30584551"].configured
    assert not decoder.heard["31397268"].configured


def test_rejected_items_pass_through_the_decoder() -> None:
    decoder = WmbusDecoder(receiver="rtlwmbus")
    results = decoder.feed(_rtl_line(PLAIN, "0;0"))
    assert len(results) == 1
    assert isinstance(results[0], Rejected)
    assert isinstance(results[0].error, ChecksumError)
    assert not isinstance(results[0].error, MalformedError | TruncatedError)


def test_raw_hex_garbage_is_not_rescanned_at_every_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by fuzzing: 64 KiB of hex digits took seconds, one line scan per byte."""
    calls = 0
    original = RawReceiver._hex_line

    def counting(self: RawReceiver, *args: Any, **kwargs: Any) -> tuple[str, int]:
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RawReceiver, "_hex_line", counting)
    receiver = RawReceiver()
    receiver.feed(b"0" * 65536)
    receiver.feed(b"", final=True)
    assert calls <= 4


def test_line_receivers_refuse_bad_hex_and_short_telegrams() -> None:
    rtl = _rtl_line(GAMA_FRAME).replace(b";97;", b";-;")  # an RSSI field that is no number
    stream = b"T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0xZZ11\n" + rtl
    summary = _both_ways("rtlwmbus", stream)
    assert summary[0][:2] == ("rejected", "MalformedError")
    assert summary[1:] == [("frame", GAMA_FRAME, None, False)]
    a_crc = add_format_a_crcs(GAMA_FRAME).hex().upper()
    cul = f"bZZ{a_crc[2:]}\r\nb{a_crc[:-4]}\r\n".encode()
    assert [entry[:2] for entry in _both_ways(CulReceiver, cul)] == [
        ("rejected", "MalformedError"),
        ("rejected", "TruncatedError"),
    ]


def test_sticks_report_a_stream_that_ends_inside_a_frame() -> None:
    for factory, frame in ((Im871aReceiver, _hci(GAMA_FRAME)), (Amb8465Receiver, _amber(PLAIN))):
        summary = _both_ways(factory, frame[:-3])
        assert [entry[:2] for entry in summary] == [("rejected", "TruncatedError")]
    # An HCI header whose message id is unknown is skipped byte by byte, not decoded.
    assert _both_ways(Im871aReceiver, b"\xa5\x02\x7f\x00" + _hci(PLAIN)) == [
        ("frame", PLAIN, -94, False)
    ]


def test_receivers_forget_their_buffers_on_reset() -> None:
    raw = RawReceiver()
    assert raw.feed(GAMA_FRAME[:20]) == []
    raw.reset()
    assert _frames(_summary(raw.feed(PLAIN, final=True))) == [PLAIN]
    assert raw.setup_commands() == []
    cul = CulReceiver()
    line = f"b{add_format_a_crcs(PLAIN).hex()}\r\n".encode()
    assert cul.feed(line[:30]) == []
    cul.reset()
    assert _frames(_summary(cul.feed(line, final=True))) == [PLAIN]
