"""Turn P1 frames into messages: plain telegrams, Polish envelopes, Luxembourg/Austrian GCM.

A message that came out of an envelope carries ``Message.security`` (system title, frame
counter, and whether a tag verified with the user's AK). Once a tag has verified, the keys are
proven right: a plaintext that does not parse is ``malformed``, never "wrong key".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .framing import FrameKind
from .model import ChecksumError, MalformedError, UnsupportedError, WrongKeyError
from .p1 import TelegramParser, verify_footer
from .p1_encrypted import decrypt_dsmr_gcm, decrypt_stoen

if TYPE_CHECKING:
    from .framing import Frame
    from .model import Keys, Message
    from .p1_encrypted import Decrypted

__all__ = ["P1Session"]


class P1Session:
    """Turn P1 frames (plain, Polish envelope, DSMR GCM) into messages."""

    def __init__(self, keys: Keys, *, country: str | None = None) -> None:
        """Keep the user's keys and country profile; start this meter's telegram parser."""
        self.keys = keys
        self.country = country
        self.parser = TelegramParser(country)

    def push_frame(self, frame: Frame) -> Message:
        """Decode one frame; raise a HanError subclass when it cannot be decoded."""
        if frame.kind is FrameKind.P1:
            message = self.parser.parse(frame.payload)
            message.size = frame.size
            return message
        if frame.kind is FrameKind.P1_STOEN:
            decrypted = decrypt_stoen(frame.payload, self.keys)
        elif frame.kind is FrameKind.DSMR_GCM:
            decrypted = decrypt_dsmr_gcm(frame.payload, self.keys, country=self.country)
            self._check_dsmr_telegram(decrypted)
        else:
            msg = f"not a P1 frame: {frame.kind}"
            raise UnsupportedError(msg)
        message = self.parser.parse(decrypted.telegram)
        message.notes.extend(decrypted.notes)
        message.size = frame.size
        message.security = decrypted.security
        return message

    @staticmethod
    def _check_dsmr_telegram(decrypted: Decrypted) -> None:
        """A Luxembourg/Austrian plaintext is a whole telegram with its own CRC: check both."""
        text = decrypted.telegram
        if text[:1] != b"/" or b"\n!" not in text:
            if decrypted.verified:
                msg = "decrypted data (tag verified) is not a P1 telegram"
                raise MalformedError(msg)
            msg = "decrypted data is not a P1 telegram (wrong encryption key?)"
            raise WrongKeyError(msg)
        crc = verify_footer(text)
        if crc is False:
            msg = "CRC of the decrypted P1 telegram does not match"
            raise ChecksumError(msg)
        if crc is None and not decrypted.verified:
            # Neither the tag (no AK) nor a CRC vouches for the plaintext: a damaged frame
            # decrypts to a telegram with damaged lines (found by fuzzing a Smarty frame:
            # a line lost, the footer's CRC turned into "G0F6"). Every real capture's
            # plaintext carries its CRC.
            msg = "the decrypted P1 telegram has no CRC and its tag was not verified"
            raise ChecksumError(msg)
