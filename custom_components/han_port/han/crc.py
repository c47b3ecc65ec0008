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
