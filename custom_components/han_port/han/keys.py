"""Parsing the keys users paste: the one parser, for the integration's forms and the CLI.

A key is 32 hex digits, or the 16-character ASCII form some operators print instead. Which
form a text is cannot be ambiguous: once separators (spaces, tabs, colons, dashes) and a
``0x`` prefix are removed, the hex form has ``2 * length`` hex digits, so a 32-character
text of hex digits is hex; the ASCII form is exactly ``length`` printable characters, so a
16-character text is ASCII (16 characters can never hold 32 hex digits). Hex is tried first.

System titles are 8 bytes and always written in hex (16 digits).
Errors never repeat the text: it may be a key.
"""

from __future__ import annotations

import re
import string

from .model import MalformedError

_HEX = frozenset(string.hexdigits)
_SEPARATORS = re.compile(r"[\s:\-]")
KEY_LENGTH = 16
SYSTEM_TITLE_LENGTH = 8


class InvalidKeyError(MalformedError, ValueError):
    """A key or system title that does not have the right form."""


def _hex(text: str, length: int) -> bytes | None:
    compact = _SEPARATORS.sub("", text.strip())
    if compact[:2].lower() == "0x":
        compact = compact[2:]
    if len(compact) == 2 * length and set(compact) <= _HEX:
        return bytes.fromhex(compact)
    return None


def parse_key(text: str, *, length: int = KEY_LENGTH) -> bytes:
    """The key's bytes from hex (separators and a 0x prefix allowed) or its ASCII form."""
    key = _hex(text, length)
    if key is not None:
        return key
    raw = text.strip()
    if len(raw) == length and raw.isascii() and raw.isprintable():
        return raw.encode("ascii")
    msg = f"a key must be {2 * length} hexadecimal characters (or {length} ASCII characters)"
    raise InvalidKeyError(msg)


def parse_system_title(text: str) -> bytes:
    """An 8-byte DLMS system title from 16 hex digits (separators allowed)."""
    title = _hex(text, SYSTEM_TITLE_LENGTH)
    if title is None:
        msg = f"a system title must be {2 * SYSTEM_TITLE_LENGTH} hexadecimal characters"
        raise InvalidKeyError(msg)
    return title
