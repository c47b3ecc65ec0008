"""A-XDR decoding (dlms/axdr.py) through its public functions, one data type at a time."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest

from han.decoder import Decoder
from han.dlms.axdr import (
    MAX_DEPTH,
    MAX_ITEMS,
    TAG_ARRAY,
    TAG_STRUCTURE,
    TAG_UINT16,
    BitString,
    ScalerUnit,
    decode,
    decode_body,
    read_length,
)
from han.model import (
    ErrorCode,
    MalformedError,
    Message,
    Rejected,
    TruncatedError,
)

OBIS_1_8_0 = bytes.fromhex("0100010800ff")
DATE_TIME = bytes.fromhex("07e50c1f05173b3bff800000")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure protocol-library tests: no Home Assistant instance per test (keeps them fast)."""


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# (encoding, value): every tag the decoder knows, at its extremes.
SCALARS: list[tuple[str, Any]] = [
    ("00", None),
    ("03 00", False),
    ("03 01", True),
    ("03 ff", True),
    ("0f 7f", 127),
    ("0f 80", -128),
    ("0f ff", -1),
    ("10 7fff", 32767),
    ("10 8000", -32768),
    ("10 fffe", -2),
    ("05 7fffffff", 2**31 - 1),
    ("05 80000000", -(2**31)),
    ("05 ffffff85", -123),
    ("14 8000000000000000", -(2**63)),
    ("14 7fffffffffffffff", 2**63 - 1),
    ("14 ffffffffffffffff", -1),
    ("11 ff", 255),
    ("11 00", 0),
    ("12 ffff", 65535),
    ("12 0102", 258),
    ("06 ffffffff", 2**32 - 1),
    ("06 00000b3c", 2876),
    ("15 ffffffffffffffff", 2**64 - 1),
    ("15 0000000000000100", 256),
    ("16 1b", 27),
    ("16 ff", 255),
    ("0d 12", 0x12),  # bcd: the raw byte
    ("17 3f800000", 1.0),
    ("17 c0000000", -2.0),
    ("17 40490fdb", 3.1415927410125732),
    ("18 400921fb54442d18", math.pi),
    ("18 bff0000000000000", -1.0),
    ("09 00", b""),
    ("09 06 0100010800ff", OBIS_1_8_0),
    ("0a 05 48656c6c6f", "Hello"),
    ("0a 02 e9ff", "\u00e9\u00ff"),  # visible-string bytes are Latin-1
    ("0c 03 c3a941", "\u00e9A"),
    ("0c 02 ff41", "\ufffdA"),  # invalid UTF-8 is replaced, not an error
    ("04 00", BitString(0, b"")),
    ("04 0c abcd", BitString(12, b"\xab\xcd")),
    ("04 09 8080", BitString(9, b"\x80\x80")),
    ("04 08 a5", BitString(8, b"\xa5")),
    ("19 07e50c1f05173b3bff800000", DATE_TIME),
    ("1a 07e50c1f05", bytes.fromhex("07e50c1f05")),
    ("1b 173b3bff", bytes.fromhex("173b3bff")),
]

# Long (0x81/0x82/0x83/0x84) and non-minimal length forms.
LONG_LENGTHS: list[tuple[bytes, Any]] = [
    (h("09 81 80") + bytes(range(128)), bytes(range(128))),
    (h("09 82 0100") + bytes(256), bytes(256)),
    (h("0a 81 81") + b"a" * 129, "a" * 129),
    (h("0c 81 82") + "\u00e9".encode() * 65, "\u00e9" * 65),
    (h("09 83 000003 414243"), b"ABC"),
    (h("09 84 00000003 414243"), b"ABC"),
    (h("09 81 00"), b""),
    (h("04 81 10 beef"), BitString(16, b"\xbe\xef")),
    (h("01 81 03 110111021103"), [1, 2, 3]),
    (h("02 82 0002 0f01 0f02"), (1, 2)),
]

SEQUENCES: list[tuple[str, Any]] = [
    ("01 00", []),
    ("02 00", ()),
    ("01 03 1101 1102 1103", [1, 2, 3]),
    ("02 02 0ffd 161e", ScalerUnit(-3, 30)),
    ("02 02 0f02 1621", ScalerUnit(2, 33)),
    ("02 02 0f80 16ff", ScalerUnit(-128, 255)),
    ("02 02 161e 0ffd", (30, -3)),  # order matters: {enum, int8} is a plain structure
    ("02 02 0ffd 111e", (-3, 30)),  # unsigned, not an enum
    ("02 03 0ffd 161e 00", (-3, 30, None)),
    ("01 02 0ffd 161e", [-3, 30]),  # an array is never a scaler-unit
    (
        "02 03 09 06 0100010800ff 06 00000b3c 02 02 0f00 161b",
        (OBIS_1_8_0, 2876, ScalerUnit(0, 27)),
    ),
    (
        "01 02 02 02 0a 01 41 12 0001 02 02 0a 01 42 12 0002",
        [("A", 1), ("B", 2)],
    ),
    (
        "02 04 0c 02 c3a9 03 01 17 3f800000 19 07e50c1f05173b3bff800000",
        ("\u00e9", True, 1.0, DATE_TIME),
    ),
    ("02 02 04 0c abcd 1a 07e50c1f05", (BitString(12, b"\xab\xcd"), bytes.fromhex("07e50c1f05"))),
    ("01 02 01 00 02 00", [[], ()]),
]

# Compact arrays (tag 0x13): type description, contents length, untagged values.
COMPACT: list[tuple[str, Any]] = [
    ("13 11 00", []),
    ("13 11 03 010203", [1, 2, 3]),
    ("13 12 04 0001 fffe", [1, 65534]),
    ("13 10 04 0001 fffe", [1, -2]),
    ("13 05 04 ffffff85", [-123]),
    ("13 17 08 3f800000 c0000000", [1.0, -2.0]),
    ("13 03 03 00 01 00", [False, True, False]),
    ("13 02 02 11 12 06 01 0002 03 0004", [(1, 2), (3, 4)]),
    ("13 01 0002 11 04 01020304", [[1, 2], [3, 4]]),
    ("13 09 06 02 4142 02 4344", [b"AB", b"CD"]),
    ("13 0a 04 01 41 01 42", ["A", "B"]),
    ("13 02 02 09 0f 08 06 0100010800ff fd", [(OBIS_1_8_0, -3)]),
    ("13 02 02 01 0002 11 0f 06 0102 ff 0304 05", [([1, 2], -1), ([3, 4], 5)]),
]

VALID = (
    [(h(text), value) for text, value in SCALARS]
    + LONG_LENGTHS
    + [(h(text), value) for text, value in SEQUENCES]
    + [(h(text), value) for text, value in COMPACT]
)


def _id(case: tuple[bytes, Any]) -> str:
    return case[0][:12].hex()


@pytest.mark.parametrize("case", VALID, ids=_id)
def test_value(case: tuple[bytes, Any]) -> None:
    data, value = case
    assert decode(data) == (value, len(data))
    # At an offset, stopping at its own end.
    assert decode(b"\xaa\xbb" + data + b"\xcc", 2) == (value, len(data) + 2)
    # The sequence loop decodes common tags inline: it must agree with ``decode``.
    assert decode(b"\x01\x01" + data) == ([value], len(data) + 2)
    assert decode(b"\x02\x01" + data) == ((value,), len(data) + 2)
    two = b"\x01\x02" + data + b"\x11\x07"
    assert decode(two) == ([value, 7], len(two))


@pytest.mark.parametrize("case", VALID, ids=_id)
def test_every_truncation_is_truncated_error(case: tuple[bytes, Any]) -> None:
    data, _ = case
    for cut in range(len(data)):
        with pytest.raises(TruncatedError) as err:
            decode(data[:cut])
        assert err.value.code is ErrorCode.TRUNCATED
        # The same cut as the only element of a structure, and after a complete first
        # element of an array.
        with pytest.raises(TruncatedError):
            decode(b"\x02\x01" + data[:cut])
        with pytest.raises(TruncatedError):
            decode(b"\x01\x02\x11\x07" + data[:cut])


def test_decode_body_takes_the_tag_separately() -> None:
    assert decode_body(TAG_UINT16, b"\x01\x02", 0) == (258, 2)
    assert decode_body(0x09, b"\xff\x02AB", 1) == (b"AB", 4)
    assert decode_body(TAG_STRUCTURE, h("02 0ffd 161e"), 0) == (ScalerUnit(-3, 30), 5)
    assert decode_body(0x00, b"", 0) == (None, 0)


@pytest.mark.parametrize(
    ("data", "pos", "expected"),
    [
        (b"\x05", 0, (5, 1)),
        (b"\x7f", 0, (127, 1)),
        (b"\x81\x80", 0, (128, 2)),
        (b"\x81\x00", 0, (0, 2)),
        (b"\x82\x01\x00", 0, (256, 3)),
        (b"\x82\xff\xff", 0, (65535, 3)),
        (b"\x83\x01\x00\x00", 0, (65536, 4)),
        (b"\x84\x00\x00\x01\x00", 0, (256, 5)),
        (b"\x84\xff\xff\xff\xff", 0, (2**32 - 1, 5)),
        (b"\xff\x10", 1, (16, 2)),
        (b"\x00\x00\x82\x12\x34\x99", 2, (0x1234, 5)),
    ],
)
def test_read_length(data: bytes, pos: int, expected: tuple[int, int]) -> None:
    assert read_length(data, pos) == expected


@pytest.mark.parametrize(
    ("data", "pos"),
    [(b"", 0), (b"\x05", 1), (b"\x81", 0), (b"\x82\x01", 0), (b"\x84\x00\x00\x00", 0)],
)
def test_read_length_truncated(data: bytes, pos: int) -> None:
    with pytest.raises(TruncatedError):
        read_length(data, pos)


@pytest.mark.parametrize("first", [0x80, 0x85, 0x88, 0xFF])
def test_read_length_unsupported_forms(first: int) -> None:
    data = bytes((first,)) + bytes(8)
    with pytest.raises(MalformedError) as err:
        read_length(data, 0)
    assert err.value.code is ErrorCode.MALFORMED


@pytest.mark.parametrize(
    "text",
    [
        "09 80 00",  # indefinite length
        "0a 85 0000000001 41",  # five length bytes
        "01 80",
        "02 88 00",
        "04 80",
        "01 01 09 80",  # inside a sequence (inline string path)
        "01 01 0a 85 00",
        "13 02 80",  # compact-array structure description
        "13 11 80",  # compact-array contents length
    ],
)
def test_bad_length_encoding_is_malformed(text: str) -> None:
    with pytest.raises(MalformedError):
        decode(h(text))


@pytest.mark.parametrize("tag", [0x07, 0x08, 0x0B, 0x0E, 0x1C, 0x20, 0x7F, 0xFF])
def test_unknown_tag_is_malformed(tag: int) -> None:
    for data in (bytes((tag, 0, 0)), b"\x01\x01" + bytes((tag, 0)), h("13") + bytes((tag, 1, 0))):
        with pytest.raises(MalformedError) as err:
            decode(data)
        assert err.value.code is ErrorCode.MALFORMED
        assert f"0x{tag:02X}" in str(err.value)


def test_scaler_unit_needs_both_tags_in_place() -> None:
    # {int8, enum} needs four bytes: with the enum value missing it is a truncation.
    with pytest.raises(TruncatedError):
        decode(h("02 02 0f fd 16"))
    assert decode(h("02 02 0f fd 16 1e 11")) == (ScalerUnit(-3, 30), 6)


def test_count_larger_than_remaining_bytes_is_truncated() -> None:
    with pytest.raises(TruncatedError):
        decode(h("01 05 00 00"))
    with pytest.raises(TruncatedError):
        decode(h("02 82 0100") + bytes(255))
    assert decode(h("02 82 0100") + bytes(256)) == ((None,) * 256, 260)


def test_item_limit() -> None:
    at_limit = b"\x01\x82" + MAX_ITEMS.to_bytes(2) + bytes(MAX_ITEMS)
    assert decode(at_limit) == ([None] * MAX_ITEMS, len(at_limit))
    over = b"\x01\x82" + (MAX_ITEMS + 1).to_bytes(2) + bytes(MAX_ITEMS + 1)
    with pytest.raises(TruncatedError):
        decode(over)
    over_desc = h("13 02 82") + (MAX_ITEMS + 1).to_bytes(2) + b"\x11" * (MAX_ITEMS + 1) + b"\x00"
    with pytest.raises(TruncatedError):
        decode(over_desc)


@pytest.mark.parametrize("tag", [TAG_ARRAY, TAG_STRUCTURE])
def test_nesting_limit(tag: int) -> None:
    def nested(levels: int) -> bytes:
        return bytes((tag, 1)) * levels + b"\x11\x2a"

    value, end = decode(nested(MAX_DEPTH))
    assert end == 2 * MAX_DEPTH + 2
    for _ in range(MAX_DEPTH):
        assert len(value) == 1
        value = value[0]
    assert value == 42
    with pytest.raises(MalformedError):
        decode(nested(MAX_DEPTH + 1))
    with pytest.raises(MalformedError):
        decode_body(tag, b"\x00", 0, MAX_DEPTH)
    assert decode_body(tag, b"\x00", 0, MAX_DEPTH - 1) == ([] if tag == TAG_ARRAY else (), 1)


def test_compact_array_type_description_depth_limit() -> None:
    # Arrays of arrays in the type description: 15 levels plus the element type fit.
    deep = h("13") + h("01 0001") * (MAX_DEPTH - 1) + h("11 01 05")
    value, end = decode(deep)
    assert end == len(deep)
    assert len(value) == 1
    value = value[0]
    for _ in range(MAX_DEPTH - 1):
        assert len(value) == 1
        value = value[0]
    assert value == 5
    too_deep = h("13") + h("01 0001") * MAX_DEPTH + h("11 01 05")
    with pytest.raises(MalformedError):
        decode(too_deep)
    with pytest.raises(MalformedError):
        decode(h("13") + h("02 01") * MAX_DEPTH + h("11 01 05"))


@pytest.mark.parametrize(
    "text",
    [
        "13",  # no type description
        "13 01 00",  # array description without its two-byte count
        "13 01 0002",  # array description without its element type
        "13 02 02 11",  # structure description missing a member
        "13 11",  # no contents length
        "13 11 05 0102",  # contents shorter than announced
        "13 12 03 0001 00",  # contents not a whole number of elements
        "13 02 02 11 12 04 01 0002 03",  # second structure cut inside
        "13 01 0003 11 04 01020304",  # array of three, contents hold one and a third
    ],
)
def test_compact_array_truncations(text: str) -> None:
    with pytest.raises(TruncatedError):
        decode(h(text))


def test_compact_array_inside_a_structure() -> None:
    data = h("02 02 13 11 02 0102 0f ff")
    assert decode(data) == (([1, 2], -1), len(data))


def test_value_types() -> None:
    """Plain Python types come out: ints are ints, not bools, strings are str."""
    assert type(decode(h("11 01"))[0]) is int
    assert type(decode(h("03 01"))[0]) is bool
    assert type(decode(h("0a 01 41"))[0]) is str
    assert type(decode(h("09 01 41"))[0]) is bytes
    assert type(decode(h("01 01 0a 01 41"))[0][0]) is str
    assert type(decode(h("17 3f800000"))[0]) is float


@pytest.mark.parametrize(
    "hex_value",
    [
        "13000100",  # compact array of null, one content byte
        "1302000100",  # of empty structures
        "13010000000100",  # of empty arrays
    ],
)
def test_compact_array_of_zero_width_elements_is_rejected_not_looped(hex_value: str) -> None:
    with pytest.raises(MalformedError):
        decode(bytes.fromhex(hex_value), 0)


def test_compact_array_of_zero_width_elements_through_the_decoder() -> None:
    results = Decoder().decode_capture(bytes.fromhex("0f000000010013000100"))
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.MALFORMED]


def test_compact_array_with_more_values_than_the_bound() -> None:
    # A structure of 255 nulls and one uint8 per byte: 4096 bytes would make a million values.
    desc = b"\x02\x81\xff" + b"\x00" * 254 + b"\x11"
    data = b"\x13" + desc + b"\x82\x10\x00" + bytes(4096)
    with pytest.raises(MalformedError):
        decode(data, 0)


def test_compact_array_of_empty_contents_is_empty() -> None:
    assert decode(bytes.fromhex("130000"), 0) == ([], 3)


@pytest.mark.timeout(60)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            # Type tags and small counts/lengths, so that nested and compact shapes turn up.
            st.sampled_from([bytes((tag,)) for tag in (0, 1, 2, 3, 6, 9, 10, 17, 18, 19, 22)]),
            st.binary(max_size=3),
        ),
        max_size=24,
    )
)
@example([b"\x13", b"\x00", b"\x01", b"\x00"])  # compact array of nulls: once an endless loop
@example([b"\x13\x02\x00", b"\x01\x00"])
def test_any_notification_body_is_decoded_or_rejected(tokens: list[bytes]) -> None:
    """Whatever follows a data-notification header: a result, never a hang or a crash."""
    body = b"".join(tokens)
    for result in Decoder().decode_capture(b"\x0f\x00\x00\x00\x01\x00" + body):
        assert isinstance(result, Message | Rejected)


def test_compact_array_whose_one_element_holds_billions_of_nulls() -> None:
    # Found by fuzzing: the element is wider than the contents, so the count guard saw 0
    # elements, and decoding the one element built 65535 x 65535 nulls.
    data = bytes.fromhex("13010002020201ffff01ffff00110100")
    with pytest.raises(MalformedError):
        decode(data, 0)
    hdlc = bytes.fromhex("7ea0220321130364e6e7000f000000010013010002020201ffff01ffff0011010035be7e")
    results = Decoder().decode_capture(hdlc)
    assert [r.code for r in results if isinstance(r, Rejected)] == [ErrorCode.MALFORMED]
