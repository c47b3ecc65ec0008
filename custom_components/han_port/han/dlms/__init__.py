"""DLMS/COSEM push decoding: HDLC and M-Bus framing, A-XDR, ciphering, COSEM lists."""

from __future__ import annotations

from .apdu import LOST, looks_like_apdu, starts_midway
from .hdlc import HdlcFramer
from .mbus import MbusFramer
from .session import DlmsSession

__all__ = [
    "LOST",
    "DlmsSession",
    "HdlcFramer",
    "MbusFramer",
    "looks_like_apdu",
    "starts_midway",
]
