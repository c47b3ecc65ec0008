"""Polish Stoen P1 ports: a P1 telegram's data lines sealed with AES-GCM.

The sealed data lines sit between a clear ident line and a clear footer. The template's data
lines are a real plaintext (AMS #1067); the envelope follows the real captures
(``../shared/reference/dlms-encrypted.md`` section 1).
"""

from __future__ import annotations

from typing import Final

from han.crypto import SC_AUTH, SC_ENC, gcm_seal

from .p1 import parse_p1, with_crc
from .spec import DEMO_AK, DEMO_EK, DemoKeys, Spec

#: the data lines of fixture pl-stoen-kaifa-ma309m-p1-rebuilt-envelope (real plaintext, AMS
#: #1067), under the clear ident line the meter sends before its envelope
_P1_PL: Final = (
    "/KFM5KAIFA-METER",
    "",
    "0-0:1.0.0(251125105643W)",
    "0-0:96.1.0(3330303537373735)",
    "1-0:1.8.0(000336.420*kWh)",
    "1-0:1.8.1(000336.420*kWh)",
    "1-0:1.8.2(000000.000*kWh)",
    "1-0:1.8.3(000000.000*kWh)",
    "1-0:1.8.4(000000.000*kWh)",
    "1-0:2.8.0(000000.000*kWh)",
    "1-0:2.8.1(000000.000*kWh)",
    "1-0:2.8.2(000000.000*kWh)",
    "1-0:2.8.3(000000.000*kWh)",
    "1-0:2.8.4(000000.000*kWh)",
    "1-0:1.7.0(00.132*kW)",
    "1-0:2.7.0(00.000*kW)",
    "1-0:3.7.0(00.000*kvar)",
    "1-0:4.7.0(00.257*kvar)",
    "1-0:32.7.0(229.6*V)",
    "1-0:52.7.0(229.1*V)",
    "1-0:72.7.0(230.3*V)",
    "0-0:17.0.0(00000)",
    "0-0:96.1.1(4D413330394D)",
    "0-0:17.0.0(00000)",
    "0-0:17.0.0(00000)",
    "0-0:94.98.31(00000)",
    "0-0:94.98.32(00000)",
    "0-0:96.13.0(3)",
    "0-0:96.13.0()",
)


def poland() -> Spec:
    """A Kaifa MA309M behind a Stoen envelope (SC 0x30, no system title)."""
    return Spec(
        "stoen",
        keys=DemoKeys(DEMO_EK, DEMO_AK),
        p1=parse_p1(_P1_PL),
        system_title=bytes(8),
        security=SC_AUTH | SC_ENC,
    )


def seal(telegram: bytes, spec: Spec) -> bytes:
    """The Stoen envelope around a rendered telegram.

    The ident line and an empty line in clear, then 00 (no system title) 82 len SC FC
    ciphertext tag, then a "!XXXX" footer in clear. The ciphertext holds the DATA LINES only
    (the real captures' declared lengths leave no room for the ident line or the footer:
    ../shared/reference/dlms-encrypted.md §1 "Plaintext extent"); here each data line keeps its
    CR LF. What the real ciphertexts' 1-2 bytes beyond their data lines hold is unknown (no
    capture with its keys). The frame counter is 0 in every real capture (GAMA 150, GAMA 350,
    Kaifa MA309M), so it is 0 here too. The footer's four digits match no known checksum on
    real meters; readers ignore them.
    """
    ek, ak = spec.keys.ek or DEMO_EK, spec.keys.ak or DEMO_AK
    fc = bytes(4)
    ident, _, rest = telegram.partition(b"\r\n\r\n")
    data_lines = rest[: rest.index(b"\n!") + 1]
    sealed = gcm_seal(spec.security, bytes(8), fc, data_lines, ek, ak)
    secured = bytes((spec.security,)) + fc + sealed
    head = ident + b"\r\n\r\n\x00\x82" + len(secured).to_bytes(2) + secured + b"!"
    return with_crc(head)
