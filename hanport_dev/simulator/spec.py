"""What a simulated meter is made of: its envelope, demo keys and templates.

The demo keys are obviously fake and the same everywhere (never a real meter's keys):

* EK (encryption key, GUEK, GPK60): ``000102030405060708090A0B0C0D0E0F``
* AK (authentication key, GAK, GPK61): ``101112131415161718191A1B1C1D1E1F``
* Luxembourg uses the public AK of its P1 specification, ``00112233445566778899AABBCCDDEEFF``,
  so only the EK is configured for ``lu_smarty``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from .dlms import DlmsTemplate
    from .p1 import P1Template

#: Demo encryption key 00 01 02 ... 0F (obviously fake; documented in the README).
DEMO_EK: Final = bytes(range(16))
#: Demo authentication key 10 11 12 ... 1F.
DEMO_AK: Final = bytes(range(16, 32))
#: The Luxembourg Smarty P1 specification's fixed AK (public, the same on every meter).
LU_AK: Final = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
#: Lists with a clock-hour content (energy registers) are pushed every this many frames
#: (hourly on a real meter; here often enough that energy shows up soon).
HOURLY_EVERY: Final = 10

type Envelope = Literal["p1", "stoen", "dsmr_gcm", "hdlc", "mbus"]


@dataclass(frozen=True, slots=True)
class DemoKeys:
    """Keys a reader needs for a simulated profile (demo keys, never real ones)."""

    ek: bytes | None = None
    ak: bytes | None = None

    def entry_data(self) -> dict[str, str]:
        """The keys as a HAN Port config entry stores them (hex)."""
        data: dict[str, str] = {}
        if self.ek:
            data["encryption_key"] = self.ek.hex().upper()
        if self.ak:
            data["authentication_key"] = self.ak.hex().upper()
        return data


@dataclass(slots=True)
class Spec:
    """One simulated meter: what goes on the wire, around which real frames, with which keys."""

    envelope: Envelope
    keys: DemoKeys = field(default_factory=DemoKeys)
    p1: P1Template | None = None
    lists: list[DlmsTemplate] = field(default_factory=list)
    addresses: bytes = b""
    control: int = 0x13
    system_title: bytes = b""
    security: int = 0
    #: general-block-transfer: the size of each block's data (the push split as the real
    #: meter splits it, one HDLC frame per block); empty: one frame per push.
    blocks: tuple[int, ...] = ()
