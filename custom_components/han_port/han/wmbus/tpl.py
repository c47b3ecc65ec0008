"""Transport layer (EN 13757-7): CI 7A short header, 72 long header, 78 none; compact variants.

The short header carries ACC, STS and the configuration word (security mode, number of
encrypted blocks, mode-7 configuration extension). The long header adds the meter's own id,
manufacturer, version and device type before those: radio converters send their own
address in the DLL and the meter's in the TPL, and the TPL address is the one the IV and the
key derivation use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import TruncatedError  # noqa: TID252
from .link import decode_manufacturer, id_to_str

#: CI -> (header kind, compact frame).
TPL_CIS: dict[int, tuple[str, bool]] = {
    0x78: ("none", False),
    0x7A: ("short", False),
    0x72: ("long", False),
    0x79: ("none", True),
    0x7B: ("short", True),
    0x73: ("long", True),
}

MODE_NONE = 0
MODE_AES_CBC_IV = 5
MODE_AES_CBC_NO_IV = 7


@dataclass(frozen=True, slots=True)
class TplHeader:
    """One transport layer header."""

    ci: int
    kind: str  # "none", "short" or "long"
    compact: bool
    id_bytes: bytes | None = None
    m_bytes: bytes | None = None
    version: int | None = None
    device_type: int | None = None
    acc: int = 0
    status: int = 0
    config: int = 0
    config_ext: int | None = None

    @property
    def mode(self) -> int:
        """Security mode (bits 8-12 of the configuration word)."""
        return (self.config >> 8) & 0x1F

    @property
    def blocks(self) -> int:
        """Encrypted 16-byte blocks (modes 5 and 7)."""
        return (self.config >> 4) & 0x0F

    @property
    def kdf(self) -> int:
        """Key derivation selection of mode 7 (configuration extension bits 4-5)."""
        return ((self.config_ext or 0) >> 4) & 0x03

    @property
    def meter_id(self) -> str | None:
        """The long header's meter id, as printed."""
        return id_to_str(self.id_bytes) if self.id_bytes is not None else None

    @property
    def manufacturer(self) -> str | None:
        """The long header's manufacturer code."""
        if self.m_bytes is None:
            return None
        return decode_manufacturer(int.from_bytes(self.m_bytes, "little"))

    @property
    def a_field(self) -> bytes | None:
        """The long header's id, version and type as the 6-byte A-field of the IV."""
        if self.id_bytes is None or self.version is None or self.device_type is None:
            return None
        return self.id_bytes + bytes((self.version, self.device_type))


def parse_tpl(data: bytes) -> tuple[TplHeader, bytes]:
    """Split the TPL header off ``data`` (which starts with a CI from ``TPL_CIS``)."""
    ci = data[0]
    kind, compact = TPL_CIS[ci]
    if kind == "none":
        return TplHeader(ci, kind, compact), data[1:]
    pos = 1
    id_bytes = m_bytes = None
    version = device_type = None
    if kind == "long":
        if len(data) < pos + 8:
            msg = "frame ends inside its long TPL header"
            raise TruncatedError(msg)
        id_bytes = data[pos : pos + 4]
        m_bytes = data[pos + 4 : pos + 6]
        version = data[pos + 6]
        device_type = data[pos + 7]
        pos += 8
    if len(data) < pos + 4:
        msg = "frame ends inside its TPL header"
        raise TruncatedError(msg)
    acc, status = data[pos], data[pos + 1]
    config = int.from_bytes(data[pos + 2 : pos + 4], "little")
    pos += 4
    config_ext = None
    if (config >> 8) & 0x1F == MODE_AES_CBC_NO_IV:
        if len(data) < pos + 1:
            msg = "frame ends before the TPL configuration extension"
            raise TruncatedError(msg)
        config_ext = data[pos]
        pos += 1
    header = TplHeader(
        ci, kind, compact, id_bytes, m_bytes, version, device_type, acc, status, config, config_ext
    )
    return header, data[pos:]
