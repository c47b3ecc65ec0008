"""The one key parser (``han.keys``): the forms, the CLI and the tests all use it."""

from __future__ import annotations

import pytest

from han.keys import (
    InvalidKeyError,
    parse_key,
    parse_system_title,
)
from han.model import MalformedError

KEY = "000102030405060708090a0b0c0d0e0f"


@pytest.mark.parametrize(
    "text",
    [
        KEY,
        f"0X{KEY.upper()}",
        "\t".join(KEY[i : i + 2] for i in range(0, 32, 2)),  # copied from a table
        "-".join(KEY[i : i + 4] for i in range(0, 32, 4)),
        f"  {KEY}\n",
    ],
)
def test_hex_forms(text: str) -> None:
    assert parse_key(text) == bytes.fromhex(KEY)


def test_sixteen_characters_are_ascii_even_when_they_are_hex_digits() -> None:
    # 16 characters can never be 32 hex digits: the ASCII form, whatever its letters.
    assert parse_key("0011223344556677") == b"0011223344556677"
    assert parse_key("9CoQ7w5LMFoLS3gJ") == b"9CoQ7w5LMFoLS3gJ"


def test_thirty_two_hex_digits_are_hex() -> None:
    # 32 characters are never the ASCII form of a 16-byte key.
    assert parse_key("30313233343536373839414243444546") == b"0123456789ABCDEF"


@pytest.mark.parametrize(
    "text", ["", "0011", KEY[:-1] + "g", KEY + "00", "ąąąąąąąąąąąąąąąą", "abc\x01defghijklmno"]
)
def test_rejects_without_echo(text: str) -> None:
    with pytest.raises(InvalidKeyError) as err:
        parse_key(text)
    assert isinstance(err.value, MalformedError)
    assert isinstance(err.value, ValueError)
    assert not text or text not in str(err.value)


def test_system_titles_are_hex_only() -> None:
    assert parse_system_title("4B 41 4D 45 01 34 90 83") == bytes.fromhex("4b414d4501349083")
    assert parse_system_title("0x4b414d4501349083") == bytes.fromhex("4b414d4501349083")
    for text in ("KAMEabcd", "4B414D45", "4B414D450134908300"):
        with pytest.raises(InvalidKeyError) as err:
            parse_system_title(text)
        assert text not in str(err.value)
