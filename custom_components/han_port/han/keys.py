"""Parsing the keys users paste: 32 hex characters, or the 16-character ASCII form."""

from __future__ import annotations

import string

from .model import MalformedError

_HEX = frozenset(string.hexdigits)


def parse_key(text: str, *, length: int = 16) -> bytes:
    """Return the key's bytes from hex (spaces, colons and a 0x prefix allowed) or ASCII.

    Some operators print the AES key as 16 ASCII characters instead of 32 hex digits; both
    forms are accepted. The error message never repeats the key.
    """
    cleaned = text.strip().replace(" ", "").replace(":", "").replace("-", "")
    cleaned = cleaned.removeprefix("0x").removeprefix("0X")
    if len(cleaned) == 2 * length and set(cleaned) <= _HEX:
        return bytes.fromhex(cleaned)
    raw = text.strip()
    if len(raw) == length and raw.isascii() and raw.isprintable():
        return raw.encode("ascii")
    msg = f"a key must be {2 * length} hexadecimal characters (or {length} ASCII characters)"
    raise MalformedError(msg)
