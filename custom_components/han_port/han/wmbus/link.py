"""Wireless M-Bus data link layer (EN 13757-4): L, C, M, A fields and the DLL CRC blocks.

A frame handed to this module starts at the L-field. Receivers deliver it in one of three
shapes, all accepted here:

* without CRCs (what iM871A, Amber and rtl_wmbus deliver; L counts every byte after L);
* frame format A with CRCs: a 10-byte first block, then 16-byte blocks, each followed by a
  big-endian CRC-16/EN-13757; L does not count the CRCs;
* frame format B with CRCs: one CRC after the first 126 bytes (or at the end when shorter)
  and a second one at the end of longer frames; L counts the CRCs.

CRCs are verified and stripped; the result is always the CRC-free frame with L recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..crc import crc16_en13757  # noqa: TID252
from ..model import ChecksumError, MalformedError, TruncatedError  # noqa: TID252

#: Bytes of the first block (L C M M A A A A V T) and of every following format-A block.
FIRST_BLOCK = 10
BLOCK = 16
#: Format B: bytes covered by the first CRC when the frame is long enough for two.
FORMAT_B_FIRST = 126
#: Smallest CRC-free frame that has a CI-field: L C M M A A A A V T CI.
MIN_FRAME = 11

#: C-fields a meter (or a radio converter answering) sends.
C_FIELDS: frozenset[int] = frozenset(
    {
        0x44,  # SND_NR: spontaneous, no reply expected (every push meter)
        0x46,  # SND_IR: installation request
        0x47,  # ACC_NR: access demand, no data
        0x48,  # ACC_DMD
        0x08,  # RSP_UD (OMS radio adapter example)
        0x18,
        0x28,
        0x38,
    }
)

#: Device type (medium) byte -> name. EN 13757-7 table; "radio converter" types carry the
#: real meter's identity in a long TPL header.
DEVICE_TYPES: dict[int, str] = {
    0x00: "other",
    0x01: "oil",
    0x02: "electricity",
    0x03: "gas",
    0x04: "heat",
    0x05: "steam",
    0x06: "warm water",
    0x07: "water",
    0x08: "heat cost allocator",
    0x09: "compressed air",
    0x0A: "cooling (outlet)",
    0x0B: "cooling (inlet)",
    0x0C: "heat (inlet)",
    0x0D: "heat / cooling",
    0x0E: "bus / system component",
    0x0F: "unknown medium",
    0x15: "hot water",
    0x16: "cold water",
    0x17: "dual water",
    0x18: "pressure",
    0x19: "A/D converter",
    0x1A: "smoke detector",
    0x1B: "room sensor",
    0x1C: "gas detector",
    0x25: "customer unit",
    0x31: "communication controller",
    0x32: "unidirectional repeater",
    0x33: "bidirectional repeater",
    0x36: "radio converter (system side)",
    0x37: "radio converter (meter side)",
}


def decode_manufacturer(value: int) -> str:
    """Three-letter FLAG code from the 16-bit M-field (``0x14ED`` -> ``EGM``)."""
    return "".join(chr(((value >> shift) & 0x1F) + 64) for shift in (10, 5, 0))


def encode_manufacturer(code: str) -> int:
    """Inverse of :func:`decode_manufacturer` (``EGM`` -> ``0x14ED``)."""
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        msg = "a manufacturer code is three capital letters"
        raise ValueError(msg)
    return ((ord(code[0]) - 64) << 10) | ((ord(code[1]) - 64) << 5) | (ord(code[2]) - 64)


def plausible_manufacturer(value: int) -> bool:
    """True when every 5-bit letter of the M-field is A..Z (and bit 15 is clear)."""
    if value & 0x8000:
        return False
    return all(1 <= (value >> shift) & 0x1F <= 26 for shift in (10, 5, 0))


def id_to_str(id_bytes: bytes) -> str:
    """Meter id as printed: the 4 little-endian A-field bytes reversed, in hex.

    For the usual BCD ids this is the 8-digit number on the meter's label; ids with hex
    digits (some gas meters) come out in lower case, as wmbusmeters prints them.
    """
    return id_bytes[::-1].hex()


def id_to_bytes(meter_id: str) -> bytes:
    """Inverse of :func:`id_to_str` (``"30584551"`` -> ``45 51 58 30``)."""
    text = meter_id.strip()
    if len(text) != 8:
        msg = "a wM-Bus meter id has 8 digits"
        raise ValueError(msg)
    return bytes.fromhex(text)[::-1]


@dataclass(frozen=True, slots=True)
class LinkHeader:
    """The DLL fields of one frame."""

    length: int  # L of the CRC-free frame
    c_field: int
    m_field: int
    m_bytes: bytes  # as transmitted (2 bytes, little-endian)
    a_field: bytes  # 6 bytes: id (4, LE), version, device type
    manufacturer: str
    meter_id: str
    version: int
    device_type: int

    @property
    def id_bytes(self) -> bytes:
        """The 4 id bytes as transmitted."""
        return self.a_field[:4]

    @property
    def medium(self) -> str:
        """Human name of the device type."""
        return DEVICE_TYPES.get(self.device_type, f"type 0x{self.device_type:02X}")


def format_a_length(length: int) -> int:
    """Bytes on air of a format-A frame whose CRC-free L-field is ``length``."""
    rest = length + 1 - FIRST_BLOCK
    blocks = 1 + (rest + BLOCK - 1) // BLOCK if rest > 0 else 1
    return length + 1 + 2 * blocks


def _crc_ok(block: bytes, crc: bytes) -> bool:
    return crc16_en13757(block) == int.from_bytes(crc, "big")


def strip_format_a(frame: bytes) -> bytes:
    """Verify and remove format-A block CRCs; raise ChecksumError/TruncatedError."""
    if len(frame) < FIRST_BLOCK + 2:
        msg = "frame shorter than its first block"
        raise TruncatedError(msg)
    length = frame[0]
    expected = format_a_length(length)
    if len(frame) < expected:
        msg = f"format A frame has {len(frame)} bytes, L-field needs {expected}"
        raise TruncatedError(msg)
    if len(frame) > expected:
        msg = f"format A frame has {len(frame) - expected} bytes after its last block"
        raise MalformedError(msg)
    out = bytearray()
    pos = 0
    size = FIRST_BLOCK
    while pos < len(frame):
        block = frame[pos : pos + size]
        crc = frame[pos + size : pos + size + 2]
        if not _crc_ok(block, crc):
            msg = f"DLL block CRC mismatch (format A, block at byte {pos})"
            raise ChecksumError(msg)
        out += block
        pos += size + 2
        size = min(BLOCK, len(frame) - pos - 2)
    return bytes(out)


def strip_format_b(frame: bytes) -> bytes:
    """Verify and remove format-B CRCs; raise ChecksumError/TruncatedError."""
    length = frame[0] if frame else 0
    if length < 12:
        msg = "format B frame too short for its CRC"
        raise TruncatedError(msg)
    if len(frame) != length + 1:
        msg = f"format B frame has {len(frame)} bytes, L-field says {length + 1}"
        raise TruncatedError(msg) if len(frame) < length + 1 else MalformedError(msg)
    if len(frame) <= FORMAT_B_FIRST + 2:
        body, crc = frame[:-2], frame[-2:]
        if not _crc_ok(body, crc):
            msg = "DLL CRC mismatch (format B)"
            raise ChecksumError(msg)
        out = bytearray(body)
    else:
        first, crc1 = frame[:FORMAT_B_FIRST], frame[FORMAT_B_FIRST : FORMAT_B_FIRST + 2]
        second, crc2 = frame[FORMAT_B_FIRST + 2 : -2], frame[-2:]
        if not _crc_ok(first, crc1) or not _crc_ok(second, crc2):
            msg = "DLL CRC mismatch (format B)"
            raise ChecksumError(msg)
        out = bytearray(first + second)
    out[0] = len(out) - 1
    return bytes(out)


def strip_crcs(frame: bytes, *, crcs: bool | None = None) -> tuple[bytes, str | None]:
    """Return the CRC-free frame and which CRC format it carried ("A", "B" or None).

    ``crcs`` None detects: a frame whose size matches format A is checked as format A; a
    frame of exactly L+1 bytes whose trailing format-B CRC verifies is format B (a random
    match has odds of 1 in 65536); anything else of L+1 bytes is taken as CRC-free.
    ``crcs`` False skips detection (the receiver already stripped them); True says the frame
    carries them (the same receiver delivered CRCs before), so a failing one is an error.
    """
    if not frame:
        msg = "empty frame"
        raise TruncatedError(msg)
    length = frame[0]
    if crcs is False:
        if len(frame) != length + 1:
            msg = f"frame has {len(frame)} bytes, L-field says {length + 1}"
            raise TruncatedError(msg) if len(frame) < length + 1 else MalformedError(msg)
        return frame, None
    if len(frame) == format_a_length(length):
        return strip_format_a(frame), "A"
    if len(frame) == length + 1:
        if crcs or length >= 12:
            try:
                return strip_format_b(frame), "B"
            except ChecksumError:
                if crcs:
                    raise
        return frame, None
    if len(frame) < length + 1:
        msg = f"frame has {len(frame)} bytes, L-field says {length + 1}"
        raise TruncatedError(msg)
    msg = f"frame of {len(frame)} bytes matches neither L-field {length} nor its CRC layout"
    raise MalformedError(msg)


def parse_link(frame: bytes, *, crcs: bool | None = None) -> tuple[LinkHeader, bytes, str | None]:
    """Parse the DLL: header, the bytes from the CI-field on, and the CRC format found."""
    plain, crc_format = strip_crcs(frame, crcs=crcs)
    if len(plain) < MIN_FRAME:
        msg = "frame ends before its CI-field"
        raise TruncatedError(msg)
    c_field = plain[1]
    if c_field not in C_FIELDS:
        msg = f"C-field 0x{c_field:02X} is not one a meter sends"
        raise MalformedError(msg)
    m_bytes = plain[2:4]
    m_field = int.from_bytes(m_bytes, "little")
    a_field = plain[4:10]
    header = LinkHeader(
        length=len(plain) - 1,
        c_field=c_field,
        m_field=m_field,
        m_bytes=m_bytes,
        a_field=a_field,
        manufacturer=decode_manufacturer(m_field),
        meter_id=id_to_str(a_field[:4]),
        version=a_field[4],
        device_type=a_field[5],
    )
    return header, plain[10:], crc_format


def add_format_a_crcs(plain: bytes) -> bytes:
    """Insert format-A CRCs into a CRC-free frame (for simulators and tests)."""
    out = bytearray()
    pos = 0
    size = FIRST_BLOCK
    while pos < len(plain):
        block = plain[pos : pos + size]
        out += block + crc16_en13757(block).to_bytes(2, "big")
        pos += size
        size = BLOCK
    return bytes(out)


def add_format_b_crcs(plain: bytes) -> bytes:
    """Insert format-B CRCs into a CRC-free frame (for simulators and tests)."""
    body = bytearray(plain)
    total = len(body) + 2 if len(body) + 2 <= FORMAT_B_FIRST + 2 else len(body) + 4
    body[0] = total - 1
    if total <= FORMAT_B_FIRST + 2:
        return bytes(body) + crc16_en13757(body).to_bytes(2, "big")
    first, second = bytes(body[:FORMAT_B_FIRST]), bytes(body[FORMAT_B_FIRST:])
    return (
        first
        + crc16_en13757(first).to_bytes(2, "big")
        + second
        + crc16_en13757(second).to_bytes(2, "big")
    )
