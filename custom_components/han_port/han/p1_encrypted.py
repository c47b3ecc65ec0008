"""Encrypted P1: the Polish Stoen envelope and Luxembourg/Austrian GCM-wrapped DSMR.

Two wire formats carry an AES-128-GCM encrypted DSMR text telegram:

* Polish (Stoen Operator; Elgama GAMA, Kaifa MA309M): an ASCII ident line, an empty line,
  then ``00`` (system title of length 0, no 0xDB tag) or ``DB 08 <system title>``, a BER
  length ``82 hi lo``, SC, frame counter (4), ciphertext, tag (12), and a ``!XXXX`` footer
  whose checksum matches nothing known and is not checked. The IV is 8 zero bytes ‖ FC
  unless the user configures a system title.
* Luxembourg Smarty / Austrian Sagemcom T210-D: ``DB 08 <system title> 82 hi lo 30 FC ct tag``
  with IV = system title ‖ FC and AAD = SC ‖ AK. The Luxembourg AK is a public constant.

The framers use the length field to find the end, since '!' and '/' occur in ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .crypto import SC_AUTH, SC_ENC, TAG_LEN, ctr_apply, gcm_open, gcm_open_either
from .framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus
from .model import AuthenticationError, MalformedError, NoKeyError, TruncatedError

if TYPE_CHECKING:
    from .model import Keys

__all__ = [
    "LU_AUTHENTICATION_KEY",
    "DsmrGcmFramer",
    "StoenFramer",
    "decrypt_dsmr_gcm",
    "decrypt_stoen",
]

#: Luxembourg Smarty P1 specification v1.1.3 §3.2.5: the AK every Smarty meter uses.
LU_AUTHENTICATION_KEY: Final = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
MAX_ENVELOPE: Final = 8 * 1024
_MAX_IDENT: Final = 96
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_ENVELOPE_TAGS: Final = frozenset((0x00, 0x08, 0xDB))
_NOTE_SWAPPED: Final = "keys_swapped"
_NOTE_UNVERIFIED: Final = "tag_not_verified"


@dataclass(frozen=True, slots=True)
class _Secured:
    """The secured part of an envelope: where SC sits, its length, the system title."""

    sc_pos: int  # index of the security control byte
    length: int  # bytes from SC through the tag
    system_title: bytes


_NEED: Final = "need"
_BAD: Final = "bad"


def _sc_plausible(sc: int) -> bool:
    """Check for a DLMS security control byte: suite 0-2, authenticate and/or encrypt."""
    return bool(sc & (SC_AUTH | SC_ENC)) and not sc & 0xC0 and (sc & 0x0F) <= 2


def _ber(buf: bytes, pos: int) -> tuple[int, int] | str:
    """BER length at ``pos`` -> (length, bytes used), _NEED or _BAD."""
    n = len(buf)
    if pos >= n:
        return _NEED
    first = buf[pos]
    if first < 0x80:
        return first, 1
    if first == 0x81:
        return (buf[pos + 1], 2) if pos + 1 < n else _NEED
    if first == 0x82:
        return ((buf[pos + 1] << 8) | buf[pos + 2], 3) if pos + 2 < n else _NEED
    return _BAD


def _secured(buf: bytes, pos: int, system_title: bytes) -> _Secured | str:
    """Length and SC of the secured part whose BER length starts at ``pos``."""
    ber = _ber(buf, pos)
    if isinstance(ber, str):
        return ber
    length, used = ber
    sc_pos = pos + used
    if length < 5 + 1 or length > MAX_ENVELOPE:
        return _BAD
    if sc_pos >= len(buf):
        return _NEED
    sc = buf[sc_pos]
    if not _sc_plausible(sc) or (sc & SC_AUTH and length < 5 + TAG_LEN + 1):
        return _BAD
    return _Secured(sc_pos, length, system_title)


def _after_blank_line(buf: bytes, nl: int) -> int | str:
    """Index after the empty line that follows the ident line ending at ``nl``."""
    n = len(buf)
    pos = nl + 1
    if pos >= n:
        return _NEED
    if buf[pos] == 0x0A:
        return pos + 1
    if buf[pos] != 0x0D:
        return _BAD
    if pos + 1 >= n:
        return _NEED
    return pos + 2 if buf[pos + 1] == 0x0A else _BAD


def _stoen_header(buf: bytes, start: int) -> _Secured | str:
    """Parse ``/ident CR LF CR LF (00 | 08 st | DB 08 st) BER-length SC`` from ``start``."""
    n = len(buf)
    nl = buf.find(b"\n", start + 1, start + _MAX_IDENT)
    if nl < 0:
        return _NEED if n - start < _MAX_IDENT else _BAD
    pos = _after_blank_line(buf, nl)
    if isinstance(pos, str):
        return pos
    if pos >= n:
        return _NEED
    tag = buf[pos]
    if tag not in _ENVELOPE_TAGS:
        return _BAD  # a plain text telegram: its first data line follows the empty line
    line_end = nl - 1 if buf[nl - 1] == 0x0D else nl
    if line_end - start < 4 or not all(0x20 <= b < 0x7F for b in buf[start + 1 : line_end]):
        return _BAD
    if tag == 0x00:
        return _secured(buf, pos + 1, b"")
    if tag == 0xDB:
        if pos + 1 >= n:
            return _NEED
        if buf[pos + 1] != 0x08:
            return _BAD
        pos += 1
    elif tag != 0x08:
        return _BAD
    if pos + 9 > n:
        return _NEED
    return _secured(buf, pos + 9, bytes(buf[pos + 1 : pos + 9]))


def _gcm_header(buf: bytes, start: int) -> _Secured | str:
    """Parse ``DB 08 <system title> BER-length SC`` from ``start``."""
    n = len(buf)
    if start + 1 >= n:
        return _NEED
    if buf[start + 1] != 0x08:
        return _BAD
    if start + 10 > n:
        return _NEED
    return _secured(buf, start + 10, bytes(buf[start + 2 : start + 10]))


def _truncated(header: _Secured) -> Scan:
    """The capture ends inside an envelope: reject its header, and look again after it."""
    return Scan(
        ScanStatus.REJECT,
        header.sc_pos,
        error=TruncatedError("encrypted P1 frame ends before its declared length"),
    )


class StoenFramer:
    """Polish encrypted P1: ident line, empty line, GCM blob, ``!XXXX`` (not checked)."""

    kind = FrameKind.P1_STOEN
    start_bytes = b"/"
    max_size = MAX_ENVELOPE + _MAX_IDENT + 32

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for an envelope that starts at ``buf[start]`` (a '/')."""
        header = _stoen_header(buf, start)
        if header == _NEED:
            return INVALID if final else NEED_MORE
        if not isinstance(header, _Secured):
            return INVALID
        n = len(buf)
        body_end = header.sc_pos + header.length
        if body_end > n:
            return _truncated(header) if final else NEED_MORE
        end = body_end
        if end < n and buf[end] == 0x21:  # '!' footer with a checksum nobody can verify
            end += 1
            while end < n and end < body_end + 5 and buf[end] in _HEX:
                end += 1
            while end < n and end < body_end + 7 and buf[end] in b"\r\n":
                end += 1
            if end - body_end < 7 and end == n and not final:
                return NEED_MORE
        elif end < n:
            # The declared length does not lead to the footer: bytes were lost or garbled.
            return INVALID
        elif not final:
            return NEED_MORE
        frame = Frame(FrameKind.P1_STOEN, bytes(buf[start:end]), end - start)
        return Scan(ScanStatus.FRAME, end, frame)


class DsmrGcmFramer:
    """Luxembourg Smarty / Austrian encrypted DSMR: ``DB 08 st 82 hi lo SC FC ct tag``."""

    kind = FrameKind.DSMR_GCM
    start_bytes = b"\xdb"
    max_size = MAX_ENVELOPE + 16

    def scan(self, buf: bytes, start: int, *, final: bool = False) -> Scan:
        """Look for a general-glo-ciphering frame that starts at ``buf[start]`` (0xDB)."""
        header = _gcm_header(buf, start)
        if header == _NEED:
            return INVALID if final else NEED_MORE
        if not isinstance(header, _Secured):
            return INVALID
        end = header.sc_pos + header.length
        if end > len(buf):
            return _truncated(header) if final else NEED_MORE
        frame = Frame(FrameKind.DSMR_GCM, bytes(buf[start:end]), end - start)
        return Scan(ScanStatus.FRAME, end, frame)


def _key16(key: bytes, what: str) -> bytes:
    if len(key) != 16:
        msg = f"the {what} must be 16 bytes (32 hex characters)"
        raise MalformedError(msg)
    return key


def _open(
    header: _Secured, payload: bytes, system_title: bytes, keys: Keys, default_ak: bytes | None
) -> tuple[bytes, list[str]]:
    """Decrypt the secured part; try swapped keys and the unverified fallback as allowed."""
    sc_pos = header.sc_pos
    sc = payload[sc_pos]
    fc = payload[sc_pos + 1 : sc_pos + 5]
    body = payload[sc_pos + 5 : sc_pos + header.length]
    ek, ak = keys.ek, keys.ak
    if not ek:
        msg = "encrypted P1 data, but no encryption key (EK) is configured"
        raise NoKeyError(msg)
    if len(system_title) != 8:
        msg = "system title must be 8 bytes (16 hex characters)"
        raise MalformedError(msg)
    if not sc & SC_AUTH:
        return gcm_open(sc, system_title, fc, body, ek, ak), []
    if ak:
        plain, swapped = gcm_open_either(sc, system_title, fc, body, ek, ak)
        return plain, [_NOTE_SWAPPED] if swapped else []
    if default_ak is not None:
        try:
            return gcm_open(sc, system_title, fc, body, ek, default_ak), []
        except AuthenticationError:
            pass
    # No AK to check the tag with: decrypt only; the caller validates the plaintext.
    plain = ctr_apply(_key16(ek, "encryption key (EK)"), system_title + fc, body[:-TAG_LEN])
    return plain, [_NOTE_UNVERIFIED]


def decrypt_stoen(payload: bytes, keys: Keys) -> tuple[bytes, list[str]]:
    """Decrypt a Polish envelope frame -> (plaintext telegram, notes).

    IV = configured system title, else the frame's, else 8 zero bytes; then the frame
    counter. Without an AK the tag cannot be checked and the data is only decrypted.
    """
    start = payload.find(b"/")
    header = _stoen_header(payload, max(start, 0))
    if not isinstance(header, _Secured):
        msg = "not a Polish encrypted P1 envelope"
        raise MalformedError(msg)
    if header.sc_pos + header.length > len(payload):
        msg = "encrypted P1 envelope ends before its declared length"
        raise TruncatedError(msg)
    system_title = keys.system_title or header.system_title or bytes(8)
    return _open(header, payload, system_title, keys, None)


def decrypt_dsmr_gcm(
    payload: bytes, keys: Keys, *, country: str | None = None
) -> tuple[bytes, list[str]]:
    """Decrypt a Luxembourg/Austrian ``DB 08`` frame -> (plaintext telegram, notes).

    With no AK configured the public Luxembourg AK is tried; if the tag still does not
    verify (some meters use another AK), the data is decrypted without the tag check and
    the caller must validate the telegram (its '/' start and its own CRC).
    """
    del country  # the same rules hold for LU and AT; kept for symmetry with the session
    header = _gcm_header(payload, 0)
    if not isinstance(header, _Secured):
        msg = "not a general-glo-ciphering frame (DB 08 ...)"
        raise MalformedError(msg)
    if header.sc_pos + header.length > len(payload):
        msg = "encrypted DSMR frame ends before its declared length"
        raise TruncatedError(msg)
    return _open(header, payload, header.system_title, keys, LU_AUTHENTICATION_KEY)
