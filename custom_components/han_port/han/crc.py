"""CRC-16 variants used by HAN ports, computed at C speed where the standard library allows.

* CRC-16/X.25 (HDLC HCS/FCS, IEC 62056-46): reflected poly 0x1021, init/xorout 0xFFFF. The
  standard library's ``binascii.crc_hqx`` is the non-reflected 0x1021 CRC; a reflected CRC
  equals the non-reflected one over bit-reversed bytes, bit-reversed. ``bytes.translate``
  reverses the bits in C, so the whole check stays out of the Python byte loop.
* CRC-16/ARC (P1 telegram footer): reflected poly 0x8005, init 0, no xorout; table driven.
* CRC-16/EN-13757 (wireless M-Bus blocks): poly 0x3D65, init 0, xorout 0xFFFF; table driven.
"""

from __future__ import annotations

from binascii import crc_hqx

_REVERSE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _reflect16(value: int) -> int:
    return (_REVERSE[value & 0xFF] << 8) | _REVERSE[value >> 8]


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 as HDLC transmits it (low byte first on the wire)."""
    return _reflect16(crc_hqx(bytes(data).translate(_REVERSE), 0xFFFF)) ^ 0xFFFF


def _table_reflected(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _table_normal(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_ARC = _table_reflected(0xA001)
_EN13757 = _table_normal(0x3D65)


def crc16_arc(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/ARC over ``data`` (the P1 footer checksum, '/' through '!')."""
    crc = 0
    table = _ARC
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_en13757(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/EN-13757 (wireless M-Bus DLL and ELL blocks)."""
    crc = 0
    table = _EN13757
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc ^ 0xFFFF


# CRC-16/ARC (init 0, no final XOR) is linear over GF(2): each CRC bit is the parity of the
# message bits selected by a mask that depends only on each bit's distance from the end.
# With the message as one big integer, the CRC is 16 AND + bit_count operations done in C,
# instead of a Python loop over every byte (crc16_arc above is the table-driven form).

_crc_masks: list[int] = []
_crc_mask_bytes = 0


def _crc_build_masks(nbytes: int) -> list[int]:
    """Masks for messages of up to ``nbytes`` bytes, read as big-endian integers."""
    contributions = []
    reg = 0xA001  # the register after one 1 bit, as seen by the bits that follow it
    for _ in range(nbytes * 8):
        contributions.append(reg)
        reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    # Integer bit 8*d + b (byte d from the end, bit b from the LSB) is fed to the register
    # with 8*d + 7 - b bits after it (reflected CRC: the LSB of each byte goes first).
    order = [contributions[8 * d + i] for d in range(nbytes - 1, -1, -1) for i in range(8)]
    return [int("".join("1" if c >> j & 1 else "0" for c in order), 2) for j in range(16)]


def crc16_arc_fast(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/ARC, same result as ``crc16_arc`` but computed with C big-integer ops."""
    global _crc_masks, _crc_mask_bytes
    size = len(data)
    if size > _crc_mask_bytes:
        nbytes = max(1024, 1 << (size - 1).bit_length())
        _crc_masks, _crc_mask_bytes = _crc_build_masks(nbytes), nbytes
    value = int.from_bytes(data, "big")
    crc = 0
    for bit, mask in enumerate(_crc_masks):
        crc |= ((value & mask).bit_count() & 1) << bit
    return crc
