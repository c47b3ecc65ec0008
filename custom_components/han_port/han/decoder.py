"""Bytes in, messages out: the one entry point the integration and the CLI use for wired ports.

``Decoder`` wires the stream reader to every wired format's framer and hands each frame to
its session (P1 text, encrypted P1 envelopes, DLMS/COSEM). Wireless M-Bus has its own
entry point in ``wmbus``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from . import plausibility
from .dlms import LOST, DlmsSession, HdlcFramer, MbusFramer, looks_like_apdu, starts_midway
from .dlms.builder import DLMS_FORMAT
from .dlms.raw import RawApduFramer, plausible_title
from .framing import Frame, FrameKind
from .model import (
    KEY_ERRORS,
    HanError,
    Keys,
    MalformedError,
    Message,
    Rejected,
    Result,
    TruncatedError,
    WrongKeyError,
    refuse_clear,
)
from .p1 import P1Framer
from .p1_encrypted import DsmrGcmFramer, StoenFramer
from .p1_session import P1Session
from .replay import ReplayGuard
from .stream import StreamReader

if TYPE_CHECKING:
    from .capture import FrameCapture
    from .framing import Framer

_DLMS = (FrameKind.HDLC, FrameKind.MBUS)
#: The wired framers, in the order the stream reader tries them. A bare APDU's (``dlms.raw``)
#: only when ``formats`` names it: it carries no checksum.
_FRAMERS: tuple[type[Framer], ...] = (StoenFramer, P1Framer, DsmrGcmFramer, HdlcFramer, MbusFramer)
#: The formats a decoder given no ``formats`` reads (the single list; the integration's
#: repair issue and capture name them).
DEFAULT_FORMATS: tuple[FrameKind, ...] = tuple(framer.kind for framer in _FRAMERS)
_ABANDONED = "a DLMS message whose last segment never came (the next message began)"
_UNCONFIRMED = "a frame without a checksum whose keys failed, and the next did not: noise"


class Decoder:
    """Decode a wired HAN stream.

    ``country`` is the user's profile choice (ISO code such as "NO", "SE"); it decides
    maker-specific scaling where the bytes alone cannot (Kamstrup NO vs SE lists).

    Security: with an AK configured, or with ``require_encryption`` (the profile's meters
    encrypt), a plain P1 telegram is refused (``auth_failed``), and the DLMS session refuses
    unauthenticated or clear DLMS data the same way (one rule: ``model.refuse_clear``).
    Authenticated messages pass the
    ``replay`` guard (one per decoder unless the caller shares one across reconnects): a
    counter that does not rise is refused (``replayed``).

    What the decoder learns to go fast is its own and bounded: the P1 lines its meter
    repeats (``P1Session.parser``) and the DLMS body layouts and their programs
    (``DlmsSession.layouts``). Two decoders (two meters) never share them.

    Bare APDUs (``FrameKind.APDU``, ``dlms.raw``) are read only when ``formats`` names them:
    they carry no checksum. Such a decoder also reads a glo-ciphered envelope whose plaintext
    is not a P1 telegram as a DLMS APDU, and never lets a bare APDU lock the stream.

    ``capture`` (``capture.FrameCapture``) records every frame as received and its verdict.
    """

    def __init__(
        self,
        keys: Keys | None = None,
        *,
        country: str | None = None,
        formats: tuple[FrameKind, ...] | None = None,
        require_encryption: bool = False,
        replay: ReplayGuard | None = None,
        capture: FrameCapture | None = None,
    ) -> None:
        """Create a decoder; ``formats`` limits which framers are tried (default: all but APDU)."""
        self.keys = keys or Keys()
        self.country = country
        self.require_encryption = require_encryption
        self.replay = replay if replay is not None else ReplayGuard()
        self._p1 = P1Session(self.keys, country=country)
        self._dlms = DlmsSession(self.keys, country=country, require_encryption=require_encryption)
        framers: list[Framer] = [framer() for framer in _FRAMERS]
        self._raw_apdu = formats is not None and FrameKind.APDU in formats
        if self._raw_apdu:
            framers.append(RawApduFramer())
        if formats is not None:
            framers = [f for f in framers if f.kind in formats]
        self.reader = StreamReader(framers)
        self.capture = capture
        self.reader.keep_wire = capture is not None
        self._held: Rejected | None = None
        self._open: Frame | None = None

    def feed(self, data: bytes, *, final: bool = False) -> list[Result]:
        """Add bytes from the port; return every message or rejection they complete.

        Each decoded frame's outcome goes back to the stream reader (``verdict``): a format
        without a checksum of its own wins the format lock only by decoding. A key error on
        such a frame, from a format not proven on this line, is held back until the next
        result: if another format decodes right after it, it was the ``DB 08`` header inside
        an encrypted M-Bus/HDLC frame, not a frame, and is dropped (``stats.unconfirmed``).
        """
        out: list[Result] = []
        reader = self.reader
        capture = self.capture
        if capture is not None:
            capture.add_raw(data)
        items = reader.results(data, final=final)
        try:
            for item in items:
                if isinstance(item, Rejected):
                    if capture is not None:
                        capture.add(item.format, reader.last_wire, item)
                    self._release(out, item)
                    continue
                if self._open is None and starts_midway(item):
                    result: Result | None = Rejected(item.kind, TruncatedError(LOST), item.size)
                else:
                    result = self.decode_frame(item)
                    self._report_abandoned(out)
                # A DLMS frame that leaves its message open (a first segment or GBT block).
                self._open = (
                    item if result is None and item.payload and item.kind in _DLMS else None
                )
                if capture is not None:
                    capture.add(item.kind, reader.last_wire, result)
                if result is None:
                    continue
                proven = reader.locked_kind == item.kind
                if self._may_lock(item, result):
                    reader.verdict(item.kind, good=isinstance(result, Message))
                if (
                    isinstance(result, Rejected)
                    and result.code in KEY_ERRORS
                    and not item.checked
                    and not proven
                ):
                    self._release(out, None)
                    self._held = result
                    continue
                self._release(out, result, item.kind)
        finally:
            items.close()  # a frame that raised is not scanned again on the next feed
        if final:
            if self._open is not None:
                msg = "the data ends before the last segment of a DLMS message"
                self._release(out, Rejected(self._open.kind, TruncatedError(msg), self._open.size))
                self._open = None
            self._release(out, None)
        return out

    def _report_abandoned(self, out: list[Result]) -> None:
        """Count the messages whose last part never came (a new one started over)."""
        for kind, size in self._dlms.abandoned():
            self._release(out, Rejected(kind, TruncatedError(_ABANDONED), size))

    def setup_commands(self) -> list[bytes]:
        """Bytes to write once after opening the port: a wired meter needs none."""
        return []

    def diagnostics(self) -> dict[str, Any]:
        """The format the stream locked on and the reader's counters (never payload bytes)."""
        return {"locked_format": self.reader.locked_kind, "stream": asdict(self.reader.stats)}

    def _release(self, out: list[Result], result: Result | None, kind: str = "") -> None:
        """Emit the held key error, then ``result``.

        The held error is dropped instead when ``result`` decoded from another ``kind`` of frame.
        A decoder that reads bare APDUs (no checksum: noise can pass for one) refuses it as
        ``malformed`` unless ``result`` is None (another key error, or the data's end): a meter
        whose keys fail fails every push, noise once.
        """
        held = self._held
        if held is not None:
            self._held = None
            if isinstance(result, Message) and kind != held.format:
                self.reader.stats.unconfirmed += 1
            elif self._raw_apdu and result is not None:
                self.reader.stats.unconfirmed += 1
                out.append(Rejected(held.format, MalformedError(_UNCONFIRMED), held.size))
            else:
                out.append(held)
        if result is not None:
            out.append(result)

    def decode_frame(self, frame: Frame) -> Result | None:
        """Decode one verified frame; None while a segmented message is incomplete."""
        try:
            if frame.kind is FrameKind.P1:
                # A telegram in clear proves nothing when the meter authenticates or encrypts.
                refuse_clear(
                    self.keys, "a P1 telegram in clear", require_encryption=self.require_encryption
                )
            if frame.kind is FrameKind.DSMR_GCM and self._raw_apdu:
                message: Message | None = self._p1_or_apdu(frame)
            elif frame.kind in (FrameKind.P1, FrameKind.P1_STOEN, FrameKind.DSMR_GCM):
                message = self._p1.push_frame(frame)
            else:
                message = self._dlms.push_frame(frame)
            if message is not None:
                self._accept(message)
        except HanError as err:
            return Rejected(frame.kind, err, frame.size)
        return message

    def _accept(self, message: Message) -> None:
        """The last gate of every decoded message; raise a HanError to refuse it."""
        plausibility.check(message)  # a frame with an impossible value is refused
        self.replay.check(message.security)  # only accepted frames move the counter

    @staticmethod
    def _may_lock(frame: Frame, result: Result) -> bool:
        """Whether the frame's verdict counts for the stream's format lock.

        Not for a bare APDU, nor for an envelope read as a DLMS APDU: neither carries a
        checksum, and both may be the inside of an HDLC frame whose start was missed.
        """
        if frame.kind is FrameKind.APDU:
            return False
        return not (
            frame.kind is FrameKind.DSMR_GCM
            and isinstance(result, Message)
            and result.format == DLMS_FORMAT
        )

    def _p1_or_apdu(self, frame: Frame) -> Message | None:
        """A glo-ciphered envelope: a P1 telegram (Luxembourg style) or a DLMS APDU inside.

        Only when the P1 reading decrypts to something that is not a telegram (``wrong_key``
        without a verified tag, ``malformed`` with one) is the envelope read as an APDU.
        Its system title must be a meter's, as a bare APDU's (``dlms.raw``): this decoder
        reads frames without a checksum, and noise must not pass for a frame whose keys fail.
        """
        if not plausible_title(frame.payload[2:10]):
            msg = "an envelope whose system title is no meter's (no FLAG id): noise, not a frame"
            raise MalformedError(msg)
        try:
            return self._p1.push_frame(frame)
        except (WrongKeyError, MalformedError):
            return self._dlms.decode_apdu(frame.payload)

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
            # Both failed. "Decrypted, but not a P1 telegram" (wrong_key without a verified
            # tag, malformed with one) means the plaintext may be a DLMS APDU: then the DLMS
            # layer's verdict is the one that explains it.
            not_p1 = any(
                isinstance(r, Rejected) and isinstance(r.error, (WrongKeyError, MalformedError))
                for r in framed
            )
            return fallback if not_p1 or not framed else framed
        if looks_like_apdu(data):
            return self._decode_apdu(data)
        return self.feed(data, final=True)

    def _decode_apdu(self, data: bytes) -> list[Result]:
        result: Result
        try:
            message = self._dlms.decode_apdu(data)
            if message is None:
                result = Rejected(FrameKind.APDU, TruncatedError("incomplete APDU"), len(data))
            else:
                self._accept(message)
                result = message
        except HanError as err:
            result = Rejected(FrameKind.APDU, err, len(data))
        out: list[Result] = []
        self._report_abandoned(out)
        out.append(result)
        return out
