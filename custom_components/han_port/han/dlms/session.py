"""One meter's DLMS/COSEM conversation: reassembly, decryption and list decoding.

Frames arrive verified (HCS/FCS or M-Bus checksum). The session joins HDLC segments, M-Bus
transport segments and general-block-transfer blocks, strips the LLC header, opens
general-glo-ciphering with the configured keys and turns the data-notification into a
``Message``. A message is built from scratch for every notification and only returned
when complete, so a failure never leaves half of one applied.

Security policy. With an AK configured only frames whose GCM tag verifies with it are
accepted: a tag stripped (SC 0x20/0x21), no security (SC 0x00) or a plain notification is
refused as ``auth_failed`` (a downgraded frame; one flipped bit in a tag-less Danish frame
turned 63,075 kWh into 10,800,493 kWh). With ``require_encryption`` (the profile's meters
encrypt) a plain notification, SC 0x00 and authentication-only data nobody can verify are
refused the same way. Every ciphered message carries its ``Security`` (system title,
invocation counter, whether the tag was verified) for the replay guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..crypto import TAG_LEN, ctr_apply, gcm_open_either  # noqa: TID252
from ..framing import FrameKind  # noqa: TID252
from ..model import (  # noqa: TID252
    AuthenticationError,
    HanError,
    MalformedError,
    Message,
    NoKeyError,
    Security,
    TruncatedError,
    UnsupportedError,
    WrongKeyError,
    refuse_clear,
)
from .apdu import (
    LLC_HEADERS,
    TAG_DATA_NOTIFICATION,
    TAG_GBT,
    TAG_GLO_CIPHERING,
    Notification,
    parse_gbt,
    parse_glo,
    parse_notification,
    strip_llc,
)
from .builder import new_message, parse_datetime
from .lists import apply_body
from .plan import LayoutCache
from .scaling import ListContext, maker_from_title

if TYPE_CHECKING:
    from ..framing import Frame  # noqa: TID252
    from ..model import Keys  # noqa: TID252

#: Largest reassembled APDU accepted (real pushes stay under 2 KiB).
MAX_MESSAGE = 16 * 1024
#: Most pieces (HDLC segments, M-Bus frames, GBT blocks) one message may come in.
MAX_PIECES = 256
_KEY_LEN = 16
_SC_AUTH = 0x10
_SC_ENC = 0x20
_MBUS_LAST = 0x10
#: Abandoned messages remembered until ``abandoned()`` is asked (the decoder asks per frame).
MAX_ABANDONED = 16
_APDU_TAGS = frozenset((TAG_DATA_NOTIFICATION, TAG_GLO_CIPHERING, TAG_GBT))


def _starts_message(payload: bytes) -> bool:
    """Whether an HDLC information field begins a message: an LLC header, then an APDU tag.

    A later segment carries the APDU's middle, which starts with any byte; it passes for a
    beginning only when its first four bytes happen to be ``E6 E7 00`` or ``E6 E6 00`` and
    one of three tags (3 in 2**32 for random ciphertext). A first segment without the LLC
    header (not seen in any capture) is not recognised, and is appended as before.
    """
    return payload[:3] in LLC_HEADERS and len(payload) > 3 and payload[3] in _APDU_TAGS


class _Parts:
    """The pieces of one message being reassembled: bounded in bytes and in pieces."""

    __slots__ = ("length", "next", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.length = 0  # bytes of payload so far
        self.size = 0  # bytes on the wire so far
        self.next = 0  # the sequence number the next piece must have

    def __bool__(self) -> bool:
        return bool(self.parts)

    def clear(self) -> None:
        self.parts.clear()
        self.length = self.size = 0

    def add(self, data: bytes, size: int, what: str) -> None:
        """Add a piece; a message longer than MAX_MESSAGE (or of too many pieces) is dropped."""
        self.parts.append(data)
        self.length += len(data)
        self.size += size
        if self.length > MAX_MESSAGE or len(self.parts) > MAX_PIECES:
            self.clear()
            msg = f"{what} message too long"
            raise MalformedError(msg)

    def take(self) -> tuple[bytes, int]:
        """The joined message and its wire size; the buffer is empty again."""
        joined, size = b"".join(self.parts), self.size
        self.clear()
        return joined, size


class DlmsSession:
    """Decode the DLMS frames of one meter."""

    def __init__(
        self, keys: Keys, *, country: str | None = None, require_encryption: bool = False
    ) -> None:
        """Create a session; ``country`` picks maker scaling where bytes cannot.

        ``require_encryption`` refuses data in clear (the profile's meters encrypt).
        """
        self.keys = keys
        self.country = country
        self.require_encryption = require_encryption
        self._hdlc = _Parts()
        self._mbus = _Parts()
        self._gbt = _Parts()
        self._gbt.next = 1
        self._kind = FrameKind.APDU
        self._abandoned: list[tuple[FrameKind, int]] = []
        #: The body layouts this meter has sent (bounded; read with one ``struct`` call).
        self.layouts = LayoutCache()
        #: The last system title seen, and what ``_title_facts`` derived from it.
        self._last_title: bytes | None = None
        self._last_facts: tuple[str | None, str | None] = (None, None)

    def reset(self) -> None:
        """Forget partial messages (after a reconnect), without reporting them."""
        self._hdlc.clear()
        self._mbus.clear()
        self._gbt.clear()
        self._gbt.next = 1
        self._mbus.next = 0

    def abandoned(self) -> list[tuple[FrameKind, int]]:
        """Messages given up since the last call: (frame kind, bytes on the wire) each.

        A message is given up when the first part of another one arrives before its last
        part did (a lost HDLC segment, M-Bus segment or GBT block): the new one starts over,
        and the old one is reported here so the caller counts it (``truncated``).
        """
        found, self._abandoned = self._abandoned, []
        return found

    def _abandon(self, parts: _Parts) -> None:
        """Drop a message whose last part never came, and remember that it was dropped."""
        if parts:
            if len(self._abandoned) < MAX_ABANDONED:
                self._abandoned.append((self._kind, parts.size))
            parts.clear()

    # -- frames ---------------------------------------------------------------------
    def push_frame(self, frame: Frame) -> Message | None:
        """Add one verified frame; return a message once one is complete."""
        self._kind = frame.kind
        if frame.kind is FrameKind.HDLC:
            return self._push_hdlc(frame)
        if frame.kind is FrameKind.MBUS:
            return self._push_mbus(frame)
        if frame.kind is FrameKind.APDU:
            return self._apdu(frame.payload, frame.size)
        msg = f"not a DLMS frame ({frame.kind})"
        raise UnsupportedError(msg)

    def decode_apdu(self, data: bytes) -> Message | None:
        """Decode a bare APDU, with or without the LLC header."""
        self._kind = FrameKind.APDU
        return self._apdu(bytes(data), len(data))

    def _push_hdlc(self, frame: Frame) -> Message | None:
        parts = self._hdlc
        if parts and _starts_message(frame.payload):
            self._abandon(parts)  # its last segment was lost: this one starts over
        if frame.segmented:
            if not frame.payload:
                parts.clear()
                msg = "segmented HDLC frame without information field"
                raise MalformedError(msg)
            parts.add(frame.payload, frame.size, "segmented HDLC")
            return None
        if parts:
            parts.add(frame.payload, frame.size, "segmented HDLC")
            data, size = parts.take()
        else:
            data, size = frame.payload, frame.size
        if not data:
            return None  # a frame without information field carries nothing
        return self._apdu(data, size)

    def _push_mbus(self, frame: Frame) -> Message | None:
        ci = frame.control
        if ci > 0x1F:
            msg = f"M-Bus CI 0x{ci:02X} does not carry DLMS"
            raise UnsupportedError(msg)
        parts = self._mbus
        sequence = ci & 0x0F
        if sequence == 0:
            self._abandon(parts)
        elif sequence != parts.next or not parts:
            parts.clear()
            msg = "M-Bus segment out of sequence"
            raise MalformedError(msg)
        # The DLMS transport puts STSAP and DTSAP (2 bytes) in front of every segment.
        if len(frame.payload) < 2:
            msg = "M-Bus DLMS segment without transport header"
            raise TruncatedError(msg)
        parts.add(frame.payload[2:], frame.size, "segmented M-Bus")
        parts.next = sequence + 1
        if not ci & _MBUS_LAST:
            return None
        data, size = parts.take()
        return self._apdu(data, size)

    # -- APDUs ----------------------------------------------------------------------
    def _apdu(self, data: bytes, size: int) -> Message | None:
        data = strip_llc(data)
        if not data:
            msg = "empty APDU"
            raise TruncatedError(msg)
        tag = data[0]
        if tag == TAG_GBT:
            return self._gbt_block(data, size)
        if tag == TAG_DATA_NOTIFICATION:
            self._refuse_clear("a notification in clear")
            return self._notification(
                parse_notification(data, strict=False, layouts=self.layouts), size, None
            )
        if tag == TAG_GLO_CIPHERING:
            return self._ciphered(data, size)
        msg = f"APDU type 0x{tag:02X} is not a push this library decodes"
        raise UnsupportedError(msg)

    def _gbt_block(self, data: bytes, size: int) -> Message | None:
        block = parse_gbt(data)
        parts = self._gbt
        if block.number == 1:
            self._abandon(parts)
        elif block.number != parts.next or not parts:
            parts.clear()
            parts.next = 1
            msg = "general-block-transfer block out of sequence"
            raise MalformedError(msg)
        parts.add(block.data, size, "general-block-transfer")
        parts.next = block.number + 1
        if not block.last:
            return None
        joined, total = parts.take()
        parts.next = 1
        if strip_llc(joined)[:1] == bytes((TAG_GBT,)):
            msg = "nested general-block-transfer"
            raise MalformedError(msg)
        return self._apdu(joined, total)

    def _ciphered(self, data: bytes, size: int) -> Message:
        glo = parse_glo(data)
        sc = glo.security_control
        title = glo.system_title
        if sc & 0x80:
            msg = "compressed ciphered APDUs are not supported"
            raise UnsupportedError(msg)
        ek, ak = self.keys.ek, self.keys.ak
        for key, name in ((ek, "encryption key (EK)"), (ak, "authentication key (AK)")):
            if key and len(key) != _KEY_LEN and sc & (_SC_AUTH | _SC_ENC):
                msg = f"the {name} must be 16 bytes (32 hex characters)"
                raise WrongKeyError(msg)
        if sc & _SC_AUTH and len(glo.body) < TAG_LEN:
            msg = "secured APDU shorter than its authentication tag"
            raise TruncatedError(msg)
        counter = glo.frame_counter
        if not sc & (_SC_AUTH | _SC_ENC):
            self._refuse_clear("a ciphered APDU without security (SC 0x00)")
            message = self._deciphered(glo.body, size, title)
        elif sc & _SC_AUTH and not sc & _SC_ENC and not (ek and ak):
            # Authentication only, without both keys to check the tag: the data is in clear.
            if ak:
                msg = (
                    "the frame's tag cannot be checked without the encryption key (EK), "
                    "and an authentication key (AK) is configured"
                )
                raise AuthenticationError(msg)
            self._refuse_clear("authentication-only data whose tag cannot be checked")
            message = self._strict(glo.body[:-TAG_LEN], size, title, note="tag_not_verified")
        elif not ek:
            msg = "encrypted data, but no encryption key (EK) is configured"
            raise NoKeyError(msg)
        elif sc & _SC_AUTH and not ak:
            # No AK configured: decrypt without verifying the tag, then demand a clean parse.
            plain = ctr_apply(ek, self._iv(title, counter), glo.body[:-TAG_LEN])
            message = self._strict(plain, size, title, note="tag_not_verified")
        elif not sc & _SC_AUTH:
            if ak:
                msg = (
                    "the meter sends frames without an authentication tag (encryption "
                    "only), but an authentication key (AK) is configured: a downgraded "
                    "frame, or an AK the meter does not use"
                )
                raise AuthenticationError(msg)
            message = self._encryption_only(glo.body, counter, size, title)
        else:
            plain, swapped = gcm_open_either(
                sc, self._title(title), counter, glo.body, ek, ak or b""
            )
            message = self._deciphered(plain, size, title)
            if swapped:
                message.notes.append("keys_swapped")
            return self._secured(message, title, counter, authenticated=True)
        return self._secured(message, title, counter, authenticated=False)

    def _refuse_clear(self, what: str) -> None:
        """Refuse data nobody vouches for when an AK is configured or the profile encrypts."""
        refuse_clear(self.keys, what, require_encryption=self.require_encryption)

    def _title_facts(self, title: bytes) -> tuple[str | None, str | None]:
        """The maker a system title names, and the title in hex when it has 8 bytes.

        Remembered for the last title: a meter sends the same one in every frame.
        """
        if title != self._last_title:
            self._last_title = title
            text = title.hex().upper() if len(title) == 8 else None
            self._last_facts = (maker_from_title(title), text)
        return self._last_facts

    def _secured(
        self, message: Message, title: bytes, counter: bytes, *, authenticated: bool
    ) -> Message:
        """Record how the message was protected (for the replay guard and diagnostics)."""
        message.security = Security(
            system_title=self._title_facts(title)[1],
            counter=int.from_bytes(counter),
            authenticated=authenticated,
        )
        return message

    def _encryption_only(self, body: bytes, counter: bytes, size: int, title: bytes) -> Message:
        """No tag: the plaintext must parse completely (else the EK is wrong)."""
        plain = ctr_apply(self.keys.ek or b"", self._iv(title, counter), body)
        return self._strict(plain, size, title, note=None)

    def _deciphered(self, plain: bytes, size: int, title: bytes) -> Message:
        if not plain or plain[0] != TAG_DATA_NOTIFICATION:
            msg = "deciphered APDU is not a data-notification"
            raise UnsupportedError(msg)
        return self._notification(
            parse_notification(plain, strict=False, layouts=self.layouts), size, title
        )

    def _title(self, title: bytes) -> bytes:
        if len(title) == 8:
            return title
        if self.keys.system_title and len(self.keys.system_title) == 8:
            return self.keys.system_title
        return bytes(8)

    def _iv(self, title: bytes, counter: bytes) -> bytes:
        return self._title(title) + counter

    def _strict(self, plain: bytes, size: int, title: bytes, *, note: str | None) -> Message:
        """Accept a plaintext no tag vouches for only if it parses completely (else: wrong key).

        Only the strict A-XDR parse speaks about the key: with a wrong EK the plaintext is
        noise, which ends short, runs long or holds no valid tag. Once it parses exactly, the
        key is right, and what the list layer says (``unknown_layout`` for a shape no layout
        has, ``unsupported``) passes through unchanged: a user with the right key is never
        told to change it.
        """
        try:
            notification = parse_notification(plain, strict=True, layouts=self.layouts)
        except HanError:
            msg = "decrypted data does not parse: the encryption key (EK) is probably wrong"
            raise WrongKeyError(msg) from None
        message = self._notification(notification, size, title)
        if note:
            message.notes.append(note)
        return message

    def _notification(self, notification: Notification, size: int, title: bytes | None) -> Message:
        message = new_message(size)
        if notification.date_time is not None:
            message.timestamp = parse_datetime(notification.date_time)
        maker, title_text = (None, None) if title is None else self._title_facts(title)
        ctx = ListContext(maker, self.country)
        apply_body(message, notification.body, ctx)
        if title and title_text is not None and any(title):
            message.meter.system_title = title_text
        if message.meter.manufacturer is None:
            message.meter.manufacturer = ctx.maker
        return message
