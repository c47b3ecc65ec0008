"""Encrypted P1: the Polish Stoen envelope and Luxembourg/Austrian GCM-wrapped DSMR.

Two wire formats carry AES-128-GCM encrypted P1 text:

* Polish (Stoen Operator; Elgama GAMA, Kaifa MA309M): an ASCII ident line, an empty line,
  then ``00`` (system title of length 0, no 0xDB tag) or ``DB 08 <system title>``, a BER
  length ``82 hi lo``, SC, frame counter (4), ciphertext, tag (12), and a ``!XXXX`` footer
  whose checksum matches nothing known and is not checked. The IV is 8 zero bytes ‖ FC
  unless the user configures a system title. The ciphertext holds the DATA LINES only: the
  ident line and the footer are sent in clear around it (the real captures' declared lengths
  leave no room for them: GAMA 150 ``00 82 02 06`` = 501 B of ciphertext for 499 B of data
  lines, Kaifa MA309M ``00 82 02 8F`` = 638 B for 637 B; ../shared/reference/dlms-encrypted.md
  §1 "Plaintext extent", AMS #1177 and #1067). The model comes from the clear ident line.
* Luxembourg Smarty / Austrian Sagemcom T210-D: ``DB 08 <system title> 82 hi lo 30 FC ct tag``
  with IV = system title ‖ FC and AAD = SC ‖ AK. The Luxembourg AK is a public constant. The
  plaintext is a whole telegram, ``/`` through ``!CRC``.

The framers use the length field to find the end, since '!' and '/' occur in ciphertext. Neither
format has a checksum of its own (``Frame.checked`` is False): the ``DB 08`` header also sits
inside every encrypted M-Bus/HDLC frame, so only a decoded frame proves the format.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, Final

from .crypto import (
    SC_AUTH,
    TAG_LEN,
    check_key,
    ctr_apply,
    gcm_open,
    gcm_open_either,
    plausible_sc,
)
from .framing import INVALID, NEED_MORE, Frame, FrameKind, Scan, ScanStatus
from .model import (
    AuthenticationError,
    MalformedError,
    NoKeyError,
    Security,
    TruncatedError,
    WrongKeyError,
)
from .p1 import ENVELOPE_START, HEX_DIGITS, MAX_IDENT

if TYPE_CHECKING:
    from .model import Keys

__all__ = [
    "LU_AUTHENTICATION_KEY",
    "Decrypted",
    "DsmrGcmFramer",
    "StoenFramer",
    "decrypt_dsmr_gcm",
    "decrypt_stoen",
]

#: Luxembourg Smarty P1 specification v1.1.3 §3.2.5: the AK every Smarty meter uses.
LU_AUTHENTICATION_KEY: Final = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
MAX_ENVELOPE: Final = 8 * 1024
_NOTE_SWAPPED: Final = "keys_swapped"
_NOTE_UNVERIFIED: Final = "tag_not_verified"
#: Tag lengths tried on a Polish envelope. DLMS suite 0 and every decoder of real Stoen frames
#: use 12 (AMS GcmParser, Kamilione/GAMA350-on-ESP8266 dsmr_stoen.cpp and try_decrypt.py), and
#: the real captures' lengths fit 12. The two public rebuilt envelopes
#: (pl-stoen-*-p1-rebuilt-envelope) carry a full 16-byte GCM tag instead: no real capture
#: shows one, but a verified tag proves it either way, so both are accepted.
_STOEN_TAG_LENS: Final = (TAG_LEN, 16)
#: Bytes an ident line holds (printable ASCII); CR and LF end it.
_NOT_IDENT: Final = re.compile(rb"[^\x20-\x7e\r]")
#: One OBIS data line ``A-B:C.D.E(...)...`` and a DSMR 2.2 continuation line ``(...)``.
_DATA_LINE: Final = re.compile(
    rb"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(?:[.*]\d{1,3})?(?:\([\x20-\x7e\xa0-\xff]*\))+"
)
_CONTINUATION: Final = re.compile(rb"(?:\([\x20-\x7e\xa0-\xff]*\))+")
#: A footer at the very end of a plaintext whose last line has no line end.
_TRAILING_FOOTER: Final = re.compile(rb"![0-9A-Fa-f]{0,4}[\r\n\x00]*\Z")


@dataclass(frozen=True, slots=True)
class _Secured:
    """The secured part of an envelope: where SC sits, its length, the system title."""

    sc_pos: int  # index of the security control byte
    length: int  # bytes from SC through the tag
    system_title: bytes


@dataclass(frozen=True, slots=True)
class Decrypted:
    """What an encrypted P1 frame held, and how it was protected.

    ``telegram`` is P1 text starting at its ``/`` ident line (for a Polish envelope: the clear
    ident line, an empty line and the decrypted data lines). ``verified``: a GCM tag verified,
    so the keys are proven right (with a public AK too); ``security.authenticated``: it
    verified with an AK the user configured.
    """

    telegram: bytes
    verified: bool
    security: Security
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Opened:
    plain: bytes
    notes: tuple[str, ...]
    verified: bool = False
    authenticated: bool = False


_NEED: Final = "need"
_BAD: Final = "bad"


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
    if not plausible_sc(sc, broadcast_ok=False) or (sc & SC_AUTH and length < 5 + TAG_LEN + 1):
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


def _ident_end(buf: bytes, start: int) -> int | str:
    """Index of the LF that ends the ident line at ``start``; _BAD at any other non-text byte."""
    n = len(buf)
    odd = _NOT_IDENT.search(buf, start + 1, min(n, start + MAX_IDENT))
    if odd is None:
        return _NEED if n - start < MAX_IDENT else _BAD
    return odd.start() if buf[odd.start()] == 0x0A else _BAD


def _stoen_header(buf: bytes, start: int) -> _Secured | str:
    """Parse ``/ident CR LF CR LF (00 | 08 st | DB 08 st) BER-length SC`` from ``start``."""
    n = len(buf)
    nl = _ident_end(buf, start)
    if isinstance(nl, str):
        return nl
    pos = _after_blank_line(buf, nl)
    if isinstance(pos, str):
        return pos
    if pos >= n:
        return _NEED
    tag = buf[pos]
    if tag not in ENVELOPE_START:
        return _BAD  # a plain text telegram: its first data line follows the empty line
    line_end = nl - 1 if buf[nl - 1] == 0x0D else nl
    if line_end - start < 4 or 0x0D in buf[start + 1 : line_end]:
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
    max_size = MAX_ENVELOPE + MAX_IDENT + 32

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
            while end < n and end < body_end + 5 and buf[end] in HEX_DIGITS:
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
        frame = Frame(FrameKind.P1_STOEN, bytes(buf[start:end]), end - start, checked=False)
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
        frame = Frame(FrameKind.DSMR_GCM, bytes(buf[start:end]), end - start, checked=False)
        return Scan(ScanStatus.FRAME, end, frame)


def _open(
    header: _Secured,
    payload: bytes,
    system_title: bytes,
    keys: Keys,
    default_ak: bytes | None,
    tag_lens: tuple[int, ...] = (TAG_LEN,),
) -> _Opened:
    """Decrypt the secured part; try swapped keys, other tag lengths and the fallbacks allowed.

    With an AK configured only a frame whose tag verifies with it is accepted: a frame
    without the authentication bit (tag stripped, a downgrade) is refused.
    """
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
    if ak and not sc & SC_AUTH:
        msg = f"an AK is configured, but the frame is not authenticated (security byte {sc:02X})"
        raise AuthenticationError(msg)
    if not sc & SC_AUTH:
        return _Opened(gcm_open(sc, system_title, fc, body, ek, None), ())
    if ak:
        failure: AuthenticationError | None = None
        for tag_len in tag_lens:
            try:
                plain, swapped = gcm_open_either(
                    sc, system_title, fc, body, ek, ak, tag_len=tag_len
                )
            except AuthenticationError as err:
                failure = err
                continue
            notes = (_NOTE_SWAPPED,) if swapped else ()
            return _Opened(plain, notes, verified=True, authenticated=True)
        assert failure is not None  # tag_lens is never empty
        raise failure
    if default_ak is not None:
        try:
            plain = gcm_open(sc, system_title, fc, body, ek, default_ak)
            return _Opened(plain, (), verified=True)
        except AuthenticationError:
            pass
    # No AK to check the tag with: decrypt only; the caller validates the plaintext.
    plain = ctr_apply(check_key(ek, "encryption key (EK)"), system_title + fc, body[:-TAG_LEN])
    return _Opened(plain, (_NOTE_UNVERIFIED,))


def _data_lines(plain: bytes) -> bytes:
    """The data lines of a decrypted Polish plaintext, without an ident line or footer.

    The meters put only the data lines into the ciphertext; a plaintext that starts with its
    own ``/`` ident line, or ends with a ``!`` footer, with or without a line end, is taken too.
    """
    text = plain.lstrip(b"\r\n\x00")
    if text[:1] == b"/":
        nl = text.find(b"\n")
        text = text[nl + 1 :].lstrip(b"\r\n") if nl >= 0 else b""
    footer = text.find(b"\n!")
    if footer >= 0:
        return text[: footer + 1]
    trailing = _TRAILING_FOOTER.search(text)
    if trailing is not None:
        text = text[: trailing.start()]
    return text.rstrip(b"\x00")


def _looks_like_data_lines(text: bytes) -> bool:
    """Tell whether every line is an OBIS data line ``A-B:C.D.E(...)`` (or a continuation)."""
    found = False
    for raw in text.split(b"\n"):
        line = raw.removesuffix(b"\r")
        if not line:
            continue
        if _DATA_LINE.fullmatch(line):
            found = True
        elif not (found and _CONTINUATION.fullmatch(line)):
            return False
    return found


def _stoen_text(opened: _Opened) -> bytes:
    """The data lines of an opened envelope; WrongKeyError when an unverified one is not text.

    Without an AK nothing proves the key: the plaintext must then be OBIS data lines. A
    verified tag proves the keys, so whatever the plaintext holds is the meter's (a parse
    failure later is ``malformed``, never "wrong key").
    """
    lines = _data_lines(opened.plain)
    if opened.verified or _looks_like_data_lines(lines):
        return lines
    if len(opened.plain) > 4:
        # A meter with a 16-byte tag: its last 4 bytes were decrypted as text.
        shorter = _data_lines(opened.plain[:-4])
        if _looks_like_data_lines(shorter):
            return shorter
    msg = "decrypted data is not P1 data lines (wrong encryption key?)"
    raise WrongKeyError(msg)


def decrypt_stoen(payload: bytes, keys: Keys) -> Decrypted:
    """Decrypt a Polish envelope frame into a P1 telegram (clear ident line + data lines).

    IV = configured system title, else the frame's, else 8 zero bytes; then the frame
    counter. Without an AK the tag cannot be checked and the data is only decrypted.
    """
    start = max(payload.find(b"/"), 0)
    header = _stoen_header(payload, start)
    if not isinstance(header, _Secured):
        msg = "not a Polish encrypted P1 envelope"
        raise MalformedError(msg)
    if header.sc_pos + header.length > len(payload):
        msg = "encrypted P1 envelope ends before its declared length"
        raise TruncatedError(msg)
    title = keys.system_title or header.system_title
    opened = _open(header, payload, title or bytes(8), keys, None, _STOEN_TAG_LENS)
    nl = payload.find(b"\n", start)
    ident = payload[start:nl].removesuffix(b"\r")
    counter = int.from_bytes(payload[header.sc_pos + 1 : header.sc_pos + 5], "big")
    # The Stoen frame counter is 0 in every capture: it cannot protect against replays. The
    # message still names its sender (the configured or framed title, if any): the replay
    # guard refuses a repeated counter only from a sender seen to change it (replay.py), so
    # a constant 0 never refuses a frame, and a counter that rises is guarded.
    security = Security(title.hex().upper() if title else None, counter, opened.authenticated)
    telegram = ident + b"\r\n\r\n" + _stoen_text(opened)
    return Decrypted(telegram, opened.verified, security, opened.notes)


def decrypt_dsmr_gcm(payload: bytes, keys: Keys, *, country: str | None = None) -> Decrypted:
    """Decrypt a Luxembourg/Austrian ``DB 08`` frame into its P1 telegram.

    With no AK configured the public Luxembourg AK is tried; if the tag still does not
    verify (some meters use another AK), the data is decrypted without the tag check and
    the caller must validate the telegram (its '/' start and its own CRC). A tag verified
    with the public AK proves the EK, not the sender: ``security.authenticated`` stays False.
    """
    del country  # the same rules hold for LU and AT; kept for symmetry with the session
    header = _gcm_header(payload, 0)
    if not isinstance(header, _Secured):
        msg = "not a general-glo-ciphering frame (DB 08 ...)"
        raise MalformedError(msg)
    if header.sc_pos + header.length > len(payload):
        msg = "encrypted DSMR frame ends before its declared length"
        raise TruncatedError(msg)
    opened = _open(header, payload, header.system_title, keys, LU_AUTHENTICATION_KEY)
    counter = int.from_bytes(payload[header.sc_pos + 1 : header.sc_pos + 5], "big")
    security = Security(header.system_title.hex().upper(), counter, opened.authenticated)
    telegram = opened.plain.lstrip(b"\r\n\x00")
    return Decrypted(telegram, opened.verified, security, opened.notes)
