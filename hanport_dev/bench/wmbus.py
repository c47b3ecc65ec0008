"""Micro-benchmark: decrypt and decode one GAMA 350 frame (mode 5, 11 blocks, 191 bytes)."""

from __future__ import annotations

import os
import time

from han.wmbus.link import id_to_bytes
from han.wmbus.security import cbc_encrypt, mode5_iv
from han.wmbus.telegram import decode_telegram

#: Decrypted GAMA 350 payload as its owner posted it (esphome-components issue 375):
#: 2F2F, date-time, fabrication number, energy totals and tariffs, powers, voltages.
_GAMA350_PLAIN = bytes.fromhex(
    "2F2F066D5D2AD24235800C78687239310E038247500400008E10038247500400008E2003000000000000"
    "8E30030000000000008E8010030000000000000E833C0000000000008E10833C0000000000008E20833C"
    "0000000000008E30833C0000000000008E8010833C0000000000000B2B1709000BAB3C0000000BFB1400"
    "00000BFB943C5104000AFDC9FC0138020AFDC9FC0238020AFDC9FC0339020BABC8FC100000072F2F2F2F"
    "2F2F2F2F2F2F2F2F"
)
_HEADER = bytes.fromhex("BE44ED14") + id_to_bytes("31397268") + bytes.fromhex("01027ADD00B005")


def gama350_frame(key: bytes, meter_id: str = "31397268", acc: int = 0xDD) -> bytes:
    """A GAMA 350 frame for ``meter_id`` encrypted with ``key`` like the meter does."""
    header = bytearray(_HEADER)
    header[4:8] = id_to_bytes(meter_id)
    header[11] = acc
    iv = mode5_iv(bytes(header[2:4]), bytes(header[4:10]), acc)
    return bytes(header) + cbc_encrypt(key, iv, _GAMA350_PLAIN)


def bench_gama350(n: int) -> float:
    """Microseconds per GAMA 350 frame (AES-CBC decrypt, 2F2F check, records, OBIS keys)."""
    key = os.urandom(16)
    frame = gama350_frame(key)

    def lookup(_meter_id: str) -> bytes:
        return key

    decode_telegram(frame, lookup)  # warm-up
    start = time.perf_counter()
    for _ in range(n):
        decode_telegram(frame, lookup)
    return (time.perf_counter() - start) / n * 1e6
