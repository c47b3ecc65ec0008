"""Typed results of the protocol library: readings, meter identity, messages and errors.

Everything the decoders produce is one of these types. Units are normalised to
W, var, VA, Wh, varh, VAh, V, A, Hz, m³, GJ (and a few more listed in ``UNITS``), so a
consumer never has to know whether a meter spoke kWh or Wh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

type Value = float | int | str | None


class ErrorCode(StrEnum):
    """Short, stable codes for why a frame was rejected."""

    CHECKSUM = "checksum"
    TRUNCATED = "truncated"
    NO_KEY = "no_key"
    AUTH_FAILED = "auth_failed"
    WRONG_KEY = "wrong_key"
    CHECK_BYTES = "check_bytes"
    UNSUPPORTED = "unsupported"
    MALFORMED = "malformed"
    #: A positional DLMS list whose shape matches no layout known for its maker/list id.
    UNKNOWN_LAYOUT = "unknown_layout"
    #: Every check passed, but a value cannot be real (NaN, 2347 V, 1e12 W).
    IMPLAUSIBLE = "implausible"
    #: An authenticated frame whose invocation counter did not rise.
    REPLAYED = "replayed"


#: Rejections that say the keys are missing or wrong (not that a frame was damaged): the
#: decoder holds them back on an unproven line, the integration asks for the keys again.
KEY_ERRORS = frozenset({ErrorCode.NO_KEY, ErrorCode.WRONG_KEY, ErrorCode.AUTH_FAILED})


class HanError(Exception):
    """Base class of every decoding error. ``code`` says which kind it is."""

    code: ErrorCode = ErrorCode.MALFORMED


class ChecksumError(HanError):
    """A CRC, FCS, HCS or M-Bus checksum did not match."""

    code = ErrorCode.CHECKSUM


class TruncatedError(HanError):
    """The frame or APDU ended before its declared length."""

    code = ErrorCode.TRUNCATED


class NoKeyError(HanError):
    """The data is encrypted and no key is configured."""

    code = ErrorCode.NO_KEY


class AuthenticationError(HanError):
    """The GCM tag (or MAC) did not verify: wrong authentication or encryption key."""

    code = ErrorCode.AUTH_FAILED


class WrongKeyError(HanError):
    """Encryption-only data decrypted to something that does not parse: wrong key."""

    code = ErrorCode.WRONG_KEY


class CheckBytesError(HanError):
    """Decrypted, but the check bytes are not 2F2F (a known meter quirk, not a wrong key)."""

    code = ErrorCode.CHECK_BYTES


class UnsupportedError(HanError):
    """Well-formed data in a variant this library does not handle."""

    code = ErrorCode.UNSUPPORTED


class MalformedError(HanError):
    """Bytes that do not follow the format they claim to be."""

    code = ErrorCode.MALFORMED


class UnknownLayoutError(HanError):
    """A list without OBIS codes whose shape matches no known layout: refused, never guessed.

    The message names the element count and types so a user can report the layout.
    """

    code = ErrorCode.UNKNOWN_LAYOUT


class ImplausibleError(HanError):
    """A value no meter can send (non-finite, out of physical range); names the register."""

    code = ErrorCode.IMPLAUSIBLE


class ReplayedError(HanError):
    """An authenticated frame repeated, or its invocation counter went back."""

    code = ErrorCode.REPLAYED


@dataclass(frozen=True, slots=True)
class Security:
    """How a message was protected on the wire (for replay protection and diagnostics).

    ``system_title`` is the sender's 16 hex digits (None when the envelope has none, as in
    the Polish Stoen P1 envelope); ``counter`` the invocation (frame) counter;
    ``authenticated`` whether a GCM tag was verified with a configured AK.
    """

    system_title: str | None
    counter: int
    authenticated: bool


@dataclass(frozen=True, slots=True)
class Keys:
    """Keys a user configured. Never logged, printed or put in an exception."""

    ek: bytes | None = None
    ak: bytes | None = None
    system_title: bytes | None = None

    def __repr__(self) -> str:
        """Say which keys are set, never their bytes."""
        parts = [
            f"{name}={'set' if getattr(self, name) else 'unset'}"
            for name in ("ek", "ak", "system_title")
        ]
        return f"Keys({', '.join(parts)})"

    __str__ = __repr__


def refuse_clear(keys: Keys, what: str, *, require_encryption: bool) -> None:
    """Refuse data nobody vouches for when an AK is configured or the profile encrypts.

    The one rule for every format: a P1 telegram in clear, a plain DLMS notification, and
    DLMS data whose tag cannot be checked (``what`` names which) raise ``auth_failed``.
    """
    if keys.ak:
        msg = f"{what}, but an authentication key (AK) is configured"
        raise AuthenticationError(msg)
    if require_encryption:
        msg = f"{what}, but this meter's profile encrypts its data"
        raise AuthenticationError(msg)


@dataclass(frozen=True, slots=True)
class Reading:
    """One register: OBIS code ``A-B:C.D.E``, value, normalised unit (None for text)."""

    obis: str
    value: Value
    unit: str | None = None
    #: When the meter captured the value, for registers that carry their own time (a P1
    #: line "(time)(value)": this month's demand peak 1-0:1.6.0, an M-Bus sub-meter reading);
    #: None otherwise, or when the time is invalid. Not part of the value.
    captured: datetime | None = field(default=None, compare=False)


@dataclass(slots=True)
class MeterIdentity:
    """Who sent the frame, as far as the frame says."""

    meter_id: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    list_id: str | None = None
    #: DLMS system title (16 hex digits): unique per meter, also when no id register is sent.
    system_title: str | None = None


@dataclass(slots=True)
class Message:
    """One decoded push: every reading of one telegram or notification."""

    format: str
    readings: dict[str, Reading] = field(default_factory=dict)
    meter: MeterIdentity = field(default_factory=MeterIdentity)
    timestamp: datetime | None = None
    #: Things worth telling the user, e.g. "keys_swapped".
    notes: list[str] = field(default_factory=list)
    #: Bytes the message took on the wire (frame sizes, for diagnostics).
    size: int = 0
    #: Set when the message came out of a ciphered envelope (DLMS or encrypted P1).
    security: Security | None = None

    def add(self, obis: str, value: Value, unit: str | None = None) -> None:
        """Add or replace one reading."""
        self.readings[obis] = Reading(obis, value, unit)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame that was dropped, and why. Never carries payload bytes."""

    format: str
    error: HanError
    size: int = 0

    @property
    def code(self) -> ErrorCode:
        """The error's short code."""
        return self.error.code


type Result = Message | Rejected
