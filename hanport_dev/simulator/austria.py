"""Austrian Kaifa MA309 (Netz Niederösterreich): encrypted DLMS in wired M-Bus long frames.

The list is encrypted without a tag (SC 0x20) in general-glo-ciphering and split over M-Bus
long frames. The template is the plaintext of fixture at-netznoe-kaifa-ma309-mbus-sc20 (the
operator brochure's key); the simulator encrypts it again with the demo EK and a rising counter.
"""

from __future__ import annotations

from typing import Final

from han.crypto import SC_ENC
from han.dlms.scaling import KAIFA, ListContext

from .dlms import parse_dlms
from .spec import DEMO_EK, DemoKeys, Spec

#: fixture at-netznoe-kaifa-ma309-mbus-sc20, plaintext (brochure key)
_APDU_AT: Final = bytes.fromhex(
    "0f8006870e0c07e5091b01092f0f00ff88800223090c07e5091b01092f0f00ff888009060100010800ff0600"
    "00328902020f00161e09060100020800ff060000000002020f00161e09060100010700ff060000000002020f"
    "00161b09060100020700ff060000000002020f00161b09060100200700ff12092102020fff16230906010034"
    "0700ff12000002020fff162309060100480700ff12000002020fff1623090601001f0700ff12000002020ffe"
    "162109060100330700ff12000002020ffe162109060100470700ff12000002020ffe1621090601000d0700ff"
    "1203e802020ffd16ff090c313831323230303030303039"
)
_AT_SYSTEM_TITLE: Final = b"KFMgP\x00\x00\x09"


def kaifa() -> Spec:
    """Kaifa MA309: OBIS code, value and {scaler, unit}; the meter number last, without code."""
    return Spec(
        "mbus",
        keys=DemoKeys(DEMO_EK),
        lists=[parse_dlms(_APDU_AT, context=ListContext(KAIFA, "AT"))],
        addresses=b"\x53\xff",
        system_title=_AT_SYSTEM_TITLE,
        security=SC_ENC,
    )
