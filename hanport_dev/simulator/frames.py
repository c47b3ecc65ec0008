"""What a meter puts around its data: HDLC and wired M-Bus frames, general-glo-ciphering.

Encoders only: the protocol library decodes and has no need for them. Checksums, AES-GCM and
every check of a frame come from the library (``han.crc``, ``han.crypto``, ``han.dlms``).
"""

from __future__ import annotations

from typing import Final

from han.crc import crc16_x25
from han.crypto import gcm_seal
from han.dlms.apdu import LLC_HEADERS, TAG_GLO_CIPHERING
from han.dlms.hdlc import FLAG, HdlcFramer

#: The LLC header in front of an APDU in an HDLC frame (``E6 E7 00``).
LLC: Final = LLC_HEADERS[0]
#: User data per wired M-Bus long frame, after C, A, CI and the two STSAP/DTSAP bytes.
_MBUS_CHUNK: Final = 245


def ber_length(length: int) -> bytes:
    """A BER/A-XDR length field (``han.dlms.axdr.read_length`` reads it)."""
    if length < 0x80:
        return bytes((length,))
    if length < 0x100:
        return bytes((0x81, length))
    return bytes((0x82,)) + length.to_bytes(2)


def parse_hdlc(frame: bytes) -> tuple[bytes, int, bytes, bool]:
    """HDLC frame -> (addresses, control, information field, segmented), by the library's framer.

    ValueError unless ``frame`` is exactly one HDLC frame whose HCS and FCS verify.
    """
    scan = HdlcFramer().scan(frame, 0, final=True)
    found = scan.frame
    if found is None or scan.end != len(frame) - 1 or frame[-1] != FLAG:
        msg = f"not one valid HDLC frame: {scan.error or 'no frame at the start'}"
        raise ValueError(msg)
    return found.address, found.control, found.payload, found.segmented


def build_hdlc(addresses: bytes, control: int, info: bytes, *, segmented: bool = False) -> bytes:
    """An HDLC frame (type 3 format) with HCS and FCS (CRC-16/X.25)."""
    length = 2 + len(addresses) + 1 + 2 + len(info) + 2
    if length > 0x7FF:
        msg = "information field too long for one HDLC frame"
        raise ValueError(msg)
    head = (0xA000 | (0x0800 if segmented else 0) | length).to_bytes(2) + addresses
    head += bytes((control,))
    head += crc16_x25(head).to_bytes(2, "little")
    body = head + info
    return bytes((FLAG,)) + body + crc16_x25(body).to_bytes(2, "little") + bytes((FLAG,))


def build_mbus(c: int, a: int, payload: bytes) -> bytes:
    """Wired M-Bus long frames (EN 13757-2) carrying ``payload``, as Austrian meters split it.

    Each frame is ``68 L L 68 C A CI 01 67 data CS 16``; CI counts the segments and has
    bit 0x10 set on the last one.
    """
    out = bytearray()
    chunks = [payload[i : i + _MBUS_CHUNK] for i in range(0, len(payload), _MBUS_CHUNK)]
    for index, chunk in enumerate(chunks):
        ci = (index & 0x0F) | (0x10 if index == len(chunks) - 1 else 0)
        user = bytes((c, a, ci, 0x01, 0x67)) + chunk
        out += bytes((0x68, len(user), len(user), 0x68)) + user
        out += bytes((sum(user) & 0xFF, 0x16))
    return bytes(out)


def glo_ciphering(
    security: int, system_title: bytes, counter: int, plain: bytes, ek: bytes, ak: bytes
) -> bytes:
    """general-glo-ciphering APDU ``DB 08 <system title> <len> SC FC ciphertext [tag]``."""
    fc = counter.to_bytes(4)
    sealed = gcm_seal(security, system_title, fc, plain, ek, ak)
    secured = bytes((security,)) + fc + sealed
    head = bytes((TAG_GLO_CIPHERING, len(system_title))) + system_title
    return head + ber_length(len(secured)) + secured
