"""Extended link layer (CI 8C-8F) and authentication and fragmentation layer (CI 90).

ELL (EN 13757-4): CC and ACC always; ELL-III/IV add the target M2 and A2; ELL-II/IV add a
session number whose top three bits select the ELL security (1 = AES-128-CTR) and a CRC over
the payload that follows it. With AES-CTR that CRC is encrypted too, and it is the only way to
tell a right key from a wrong one.

AFL (EN 13757-7): fragment control, message control, key information, message counter and
MAC, each present when its flag says so. Security mode 7 needs the counter and the MAC.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import MalformedError, TruncatedError, UnsupportedError  # noqa: TID252

ELL_CIS: dict[int, tuple[bool, bool]] = {
    # CI: (target address present, session number + payload CRC present)
    0x8C: (False, False),
    0x8D: (False, True),
    0x8E: (True, False),
    0x8F: (True, True),
}
AFL_CI = 0x90

#: ELL security field values (session number bits 29-31).
ELL_SEC_NONE = 0
ELL_SEC_AES_CTR = 1

#: AFL message-control authentication types -> MAC length.
_MAC_LENGTHS = {3: 2, 4: 4, 5: 8, 6: 12, 7: 16}


@dataclass(frozen=True, slots=True)
class EllHeader:
    """One extended link layer header."""

    ci: int
    cc: int
    acc: int
    target: bytes | None  # M2 (2) + A2 (6) of ELL-III/IV
    session: bytes | None  # SN as transmitted (4 bytes, LE)

    @property
    def security(self) -> int:
        """ELL security field: 0 none, 1 AES-CTR, others reserved."""
        if self.session is None:
            return ELL_SEC_NONE
        return int.from_bytes(self.session, "little") >> 29


def parse_ell(data: bytes) -> tuple[EllHeader, bytes]:
    """Split an ELL header off ``data`` (which starts with the CI).

    For ELL-II/IV the returned rest starts with the 2-byte payload CRC (still encrypted when
    the session says AES-CTR).
    """
    ci = data[0]
    has_target, has_session = ELL_CIS[ci]
    need = 3 + (8 if has_target else 0) + (4 if has_session else 0)
    if len(data) < need:
        msg = "frame ends inside its extended link layer header"
        raise TruncatedError(msg)
    pos = 3
    target = None
    if has_target:
        target = data[pos : pos + 8]
        pos += 8
    session = None
    if has_session:
        session = data[pos : pos + 4]
        pos += 4
        if len(data) < pos + 2:
            msg = "frame ends before the ELL payload CRC"
            raise TruncatedError(msg)
    return EllHeader(ci, data[1], data[2], target, session), data[pos:]


@dataclass(frozen=True, slots=True)
class AflHeader:
    """One authentication and fragmentation layer header."""

    fcl: int
    mcl: int | None
    key_info: bytes | None
    counter: bytes | None  # MCR as transmitted (4 bytes, LE)
    mac: bytes | None
    length_field: bytes | None  # ML as transmitted

    @property
    def more_fragments(self) -> bool:
        """True when this is not the last fragment of a message."""
        return bool(self.fcl & 0x4000)


def parse_afl(data: bytes) -> tuple[AflHeader, bytes]:
    """Split an AFL header off ``data`` (which starts with CI 0x90)."""
    if len(data) < 4:
        msg = "frame ends inside its AFL header"
        raise TruncatedError(msg)
    afl_len = data[1]
    if len(data) < 2 + afl_len:
        msg = "frame ends inside its AFL header"
        raise TruncatedError(msg)
    body = data[2 : 2 + afl_len]
    if len(body) < 2:
        msg = "AFL header without fragment control"
        raise MalformedError(msg)
    fcl = int.from_bytes(body[0:2], "little")
    pos = 2
    mcl = key_info = counter = mac = length_field = None
    if fcl & 0x2000:
        if len(body) <= pos:
            msg = "AFL header shorter than its fields"
            raise MalformedError(msg)
        mcl = body[pos]
        pos += 1
    if fcl & 0x0200:
        key_info = body[pos : pos + 2]
        pos += 2
    if fcl & 0x0800:
        counter = body[pos : pos + 4]
        pos += 4
    if fcl & 0x0400:
        auth = (mcl or 0) & 0x0F
        mac_len = _MAC_LENGTHS.get(auth)
        if mac_len is None:
            msg = f"AFL authentication type {auth} is not supported"
            raise UnsupportedError(msg)
        mac = body[pos : pos + mac_len]
        pos += mac_len
    if fcl & 0x1000:
        length_field = body[pos : pos + 2]
        pos += 2
    if pos != len(body):
        msg = "AFL length does not match the fields its flags announce"
        raise MalformedError(msg)
    header = AflHeader(fcl, mcl, key_info, counter, mac, length_field)
    if header.more_fragments:
        msg = "fragmented AFL messages are not supported"
        raise UnsupportedError(msg)
    return header, data[2 + afl_len :]
