"""Bytes in, messages out: the one entry point the integration and the CLI use for wired ports.

``Decoder`` wires the stream reader to every wired format's framer and hands each frame to
its session (P1 text, encrypted P1 envelopes, DLMS/COSEM). Wireless M-Bus has its own
entry point in ``wmbus``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dlms import DlmsSession, HdlcFramer, MbusFramer, looks_like_apdu
from .framing import Frame, FrameKind
from .model import (
    AuthenticationError,
    HanError,
    Keys,
    Message,
    Rejected,
    Result,
    TruncatedError,
    WrongKeyError,
)
from .p1 import P1Framer, P1Session
from .p1_encrypted import DsmrGcmFramer, StoenFramer
from .replay import ReplayGuard
from .stream import StreamReader

if TYPE_CHECKING:
    from .framing import Framer


class Decoder:
    """Decode a wired HAN stream.

    ``country`` is the user's profile choice (ISO code such as "NO", "SE"); it decides
    maker-specific scaling where the bytes alone cannot (Kamstrup NO vs SE lists).

    Security: with an AK configured, or with ``require_encryption`` (the profile's meters
    encrypt), a plain P1 telegram is refused (``auth_failed``), and the DLMS session refuses
    unauthenticated or clear DLMS data the same way. Authenticated messages pass the
    ``replay`` guard (one per decoder unless the caller shares one across reconnects): a
    counter that does not rise is refused (``replayed``).
    """

    def __init__(
        self,
        keys: Keys | None = None,
        *,
        country: str | None = None,
        formats: tuple[FrameKind, ...] | None = None,
        require_encryption: bool = False,
        replay: ReplayGuard | None = None,
    ) -> None:
        """Create a decoder; ``formats`` limits which framers are tried (default: all)."""
        self.keys = keys or Keys()
        self.country = country
        self.require_encryption = require_encryption
        self.replay = replay if replay is not None else ReplayGuard()
        self._p1 = P1Session(self.keys, country=country)
        self._dlms = DlmsSession(self.keys, country=country, require_encryption=require_encryption)
        framers: list[Framer] = [
            StoenFramer(),
            P1Framer(),
            DsmrGcmFramer(),
            HdlcFramer(),
            MbusFramer(),
        ]
        if formats is not None:
            framers = [f for f in framers if f.kind in formats]
        self.reader = StreamReader(framers)

    def feed(self, data: bytes, *, final: bool = False) -> list[Result]:
        """Add bytes from the port; return every message or rejection they complete."""
        out: list[Result] = []
        for item in self.reader.feed(data, final=final):
            if isinstance(item, Rejected):
                out.append(item)
                continue
            result = self.decode_frame(item)
            if result is not None:
                out.append(result)
        return out

    def decode_frame(self, frame: Frame) -> Result | None:
        """Decode one verified frame; None while a segmented message is incomplete."""
        try:
            if frame.kind is FrameKind.P1:
                self._refuse_clear_p1()
            if frame.kind in (FrameKind.P1, FrameKind.P1_STOEN, FrameKind.DSMR_GCM):
                message: Message | None = self._p1.push_frame(frame)
            else:
                message = self._dlms.push_frame(frame)
            if message is not None:
                self.replay.check(message.security)
        except HanError as err:
            return Rejected(frame.kind, err, frame.size)
        return message

    def _refuse_clear_p1(self) -> None:
        """A telegram in clear proves nothing when the meter authenticates or encrypts."""
        if self.keys.ak:
            msg = "a P1 telegram in clear, but an authentication key (AK) is configured"
            raise AuthenticationError(msg)
        if self.require_encryption:
            msg = "a P1 telegram in clear, but this meter's profile encrypts its data"
            raise AuthenticationError(msg)

    def decode_capture(self, data: bytes) -> list[Result]:
        """Decode a complete capture (a file, a hex dump, a vector).

        Framed data goes through the stream reader; a bare APDU (what MQTT bridges
        forward, with or without the LLC header) goes straight to the DLMS layer.
        """
        if data.startswith(b"\xdb\x08"):
            # Encrypted DSMR (Luxembourg, Austria) and a bare glo-ciphered APDU share the
            # same first bytes: the framed path decides when it finds a whole frame.
            framed = self.feed(data, final=True)
            if any(isinstance(result, Message) for result in framed):
                return framed
            fallback = self._decode_apdu(data)
            if isinstance(fallback[0], Message):
                return fallback
            # Both failed. "Decrypted, but not a P1 telegram" means the plaintext may be a
            # DLMS APDU: then the DLMS layer's verdict is the one that explains it.
            p1_wrong_key = any(
                isinstance(r, Rejected) and isinstance(r.error, WrongKeyError) for r in framed
            )
            return fallback if p1_wrong_key or not framed else framed
        if looks_like_apdu(data):
            return self._decode_apdu(data)
        return self.feed(data, final=True)

    def _decode_apdu(self, data: bytes) -> list[Result]:
        try:
            message = self._dlms.decode_apdu(data)
            if message is not None:
                self.replay.check(message.security)
        except HanError as err:
            return [Rejected(FrameKind.APDU, err, len(data))]
        if message is None:
            return [Rejected(FrameKind.APDU, TruncatedError("incomplete APDU"), len(data))]
        return [message]
