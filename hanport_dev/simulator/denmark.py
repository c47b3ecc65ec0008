"""Danish Kamstrup OMNIPOWER: the list sealed in general-glo-ciphering (SC 0x30) in HDLC.

The template is the plaintext of fixture dk-kamstrup-omnipower-hdlc-sc30 (decrypted with the
vector's keys); the simulator seals it again with the demo keys and a rising counter.
"""

from __future__ import annotations

from typing import Final

from han.crypto import SC_AUTH, SC_ENC
from han.dlms.scaling import KAMSTRUP, ListContext

from .dlms import parse_dlms
from .spec import DEMO_AK, DEMO_EK, DemoKeys, Spec

#: fixture dk-kamstrup-omnipower-hdlc-sc30, plaintext (decrypted with the vector keys)
_APDU_DK: Final = bytes.fromhex(
    "0f000000000c07ea030c040f181eff80000002410a0e4b616d73747275705f563030303109060101010800ff"
    "0600603eaa09060101020800ff060000000009060101030800ff060004fad809060101040800ff0600206919"
    "09060101000001ff0600bc586809060101010700ff060000043b09060101020700ff06000000000906010103"
    "0700ff060000000009060101040700ff06000002ce09060001010000ff090c07ea030c040f181eff80000009"
    "060101200700ff1200de09060101340700ff1200dd09060101480700ff1200e3090601011f0700ff06000000"
    "3909060101330700ff06000000e409060101470700ff060000014d09060101150700ff060000002409060101"
    "290700ff06000001a8090601013d0700ff060000026f09060101210700ff12001f09060101350700ff120057"
    "09060101490700ff120055090601010d0700ff12005309060101160700ff0600000000090601012a0700ff06"
    "00000000090601013e0700ff060000000009060101160800ff0600000000090601012a0800ff060000000009"
    "0601013e0800ff060000000009060101150800ff0600127cfc09060101290800ff060024bf10090601013d08"
    "00ff060029029c"
)
_DK_SYSTEM_TITLE: Final = b"KAME\x01\x34\x90\x83"


def kamstrup() -> Spec:
    """Kamstrup OMNIPOWER: OBIS code and value, no scalers, encrypted and authenticated."""
    return Spec(
        "hdlc",
        keys=DemoKeys(DEMO_EK, DEMO_AK),
        lists=[parse_dlms(_APDU_DK, context=ListContext(KAMSTRUP, "DK"))],
        addresses=b"\x41\x03",
        control=0x13,
        system_title=_DK_SYSTEM_TITLE,
        security=SC_AUTH | SC_ENC,
    )
