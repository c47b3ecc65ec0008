"""One wM-Bus frame in, one verified Message out: DLL → ELL → AFL → TPL → security → records.

Every layer's check must pass before a reading leaves: DLL CRCs (when present), the ELL
payload CRC, the mode-7 MAC, the ``2F 2F`` check bytes after AES-CBC. Failures raise the
typed errors of :mod:`..model`; the caller turns them into ``Rejected``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..crc import crc16_en13757  # noqa: TID252
from ..model import (  # noqa: TID252
    AuthenticationError,
    CheckBytesError,
    ChecksumError,
    HanError,
    MalformedError,
    Message,
    MeterIdentity,
    NoKeyError,
    TruncatedError,
    UnsupportedError,
    WrongKeyError,
)
from .compact import FormatStore, expand, meter_key
from .ell import AFL_CI, ELL_CIS, ELL_SEC_AES_CTR, ELL_SEC_NONE, AflHeader, parse_afl, parse_ell
from .link import DEVICE_TYPES, LinkHeader, parse_link
from .readings import readings_from_records
from .records import Record, format_bytes, parse_records
from .security import (
    CHECK_BYTES,
    afl_mac,
    cbc_decrypt,
    check_key,
    ctr_apply,
    ell_ctr_iv,
    mac_matches,
    mode5_iv,
    mode7_keys,
)
from .tpl import MODE_AES_CBC_IV, MODE_AES_CBC_NO_IV, MODE_NONE, TPL_CIS, TplHeader, parse_tpl

if TYPE_CHECKING:
    from collections.abc import Callable

FORMAT = "wmbus"
_ZERO_IV = bytes(16)


@dataclass(slots=True)
class Identity:
    """Who sent a frame, as far as its clear-text headers say."""

    meter_id: str
    manufacturer: str
    version: int
    device_type: int
    link_id: str
    security_mode: int | None = None

    @property
    def medium(self) -> str:
        """Human name of the device type."""
        return DEVICE_TYPES.get(self.device_type, f"type 0x{self.device_type:02X}")


type KeyLookup = Callable[[str], bytes | None]
type Accept = Callable[[str], bool]
type OnIdentity = Callable[[Identity], None]


@dataclass(slots=True)
class _State:
    link: LinkHeader
    notes: list[str]
    encrypted: bool = False


def _ell(data: bytes, state: _State, keys: KeyLookup, accept: Accept | None) -> tuple[bytes, bool]:
    """Remove the ELL; return the rest and False when the frame is to be ignored."""
    ell, rest = parse_ell(data)
    if ell.session is None:
        return rest, True
    link = state.link
    security = ell.security
    if security == ELL_SEC_AES_CTR:
        if accept is not None and not accept(link.meter_id):
            return b"", False
        key = keys(link.meter_id)
        if key:
            plain = ctr_apply(
                check_key(key), ell_ctr_iv(link.m_bytes, link.a_field, ell.cc, ell.session), rest
            )
            if crc16_en13757(plain[2:]) != int.from_bytes(plain[:2], "little"):
                msg = "ELL payload CRC fails after AES-CTR decryption: wrong key"
                raise WrongKeyError(msg)
            state.encrypted = True
            return plain[2:], True
        if crc16_en13757(rest[2:]) == int.from_bytes(rest[:2], "little"):
            state.notes.append("already_decrypted")
            return rest[2:], True
        msg = "the extended link layer is AES-CTR encrypted and no key is configured"
        raise NoKeyError(msg)
    if security != ELL_SEC_NONE:
        msg = f"ELL security {security} is not supported"
        raise UnsupportedError(msg)
    if crc16_en13757(rest[2:]) != int.from_bytes(rest[:2], "little"):
        msg = "ELL payload CRC mismatch"
        raise ChecksumError(msg)
    return rest[2:], True


def _encrypted_length(tpl: TplHeader, body: bytes) -> int:
    whole = len(body) // 16 * 16
    length = min(tpl.blocks * 16, whole) if tpl.blocks else whole
    if length < 16:
        msg = "encrypted part shorter than one AES block"
        raise TruncatedError(msg)
    return length


def _looks_like_records(plain: bytes) -> bool:
    """True when ``plain`` (after the check bytes) parses as records and ends in filler."""
    if not plain or plain[-1] != 0x2F:
        return False
    try:
        return bool(parse_records(plain))
    except HanError:
        return False


def _mode5(
    tpl: TplHeader, body: bytes, key: bytes | None, ident: _Ident, state: _State
) -> tuple[bytes, int]:
    length = _encrypted_length(tpl, body)
    if not key:
        if body[:2] == CHECK_BYTES:
            state.notes.append("already_decrypted")
            return body, length
        msg = "the frame is encrypted (security mode 5) and no key is configured"
        raise NoKeyError(msg)
    plain = cbc_decrypt(
        check_key(key), mode5_iv(ident.m_bytes, ident.a_field, tpl.acc), body[:length]
    )
    if plain[:2] != CHECK_BYTES:
        if body[:2] == CHECK_BYTES:
            msg = "the frame should be encrypted but carries plaintext; refused with a key set"
            raise AuthenticationError(msg)
        if _looks_like_records(plain[2:]):
            msg = f"decrypted, but the check bytes are {plain[:2].hex().upper()}, not 2F2F"
            raise CheckBytesError(msg)
        msg = "decrypted data fails the 2F2F check: wrong key"
        raise WrongKeyError(msg)
    state.encrypted = True
    return plain + body[length:], length


def _mode7(
    tpl: TplHeader,
    body: bytes,
    tpl_bytes: bytes,
    afl: AflHeader | None,
    key: bytes | None,
    ident: _Ident,
    state: _State,
) -> tuple[bytes, int]:
    if not key:
        if body[:2] == CHECK_BYTES:
            state.notes.append("already_decrypted")
            state.notes.append("mac_not_verified")
            return body, _encrypted_length(tpl, body)
        msg = "the frame is encrypted (security mode 7) and no key is configured"
        raise NoKeyError(msg)
    key = check_key(key)
    if afl is None or afl.counter is None or afl.mac is None or afl.mcl is None:
        msg = "security mode 7 without an AFL message counter and MAC"
        raise MalformedError(msg)
    if tpl.kdf != 1:
        msg = f"mode 7 key derivation {tpl.kdf} is not supported"
        raise UnsupportedError(msg)
    kenc, kmac = mode7_keys(key, afl.counter, ident.a_field[:4])
    full = afl_mac(kmac, afl.mcl, afl.counter, afl.length_field, tpl_bytes)
    if not mac_matches(full, afl.mac):
        msg = "AFL MAC does not verify: wrong key or altered frame"
        raise AuthenticationError(msg)
    length = _encrypted_length(tpl, body)
    plain = cbc_decrypt(kenc, _ZERO_IV, body[:length])
    if plain[:2] != CHECK_BYTES:
        msg = f"MAC verified but the check bytes are {plain[:2].hex().upper()}, not 2F2F"
        raise CheckBytesError(msg)
    state.encrypted = True
    return plain + body[length:], length


@dataclass(frozen=True, slots=True)
class _Ident:
    m_bytes: bytes
    a_field: bytes


def _status_notes(status: int) -> list[str]:
    notes = []
    app = status & 0x03
    if app == 1:
        notes.append("status:busy")
    elif app == 2:
        notes.append("status:application_error")
    elif app == 3:
        notes.append("status:abnormal_condition")
    if status & 0x04:
        notes.append("status:power_low")
    if status & 0x08:
        notes.append("status:permanent_error")
    if status & 0x10:
        notes.append("status:temporary_error")
    return notes


def _records(
    tpl: TplHeader,
    apl: bytes,
    formats: FormatStore | None,
    clear_from: int | None,
    state: _State,
    identity: Identity,
) -> list[Record]:
    if tpl.compact:
        return expand(apl, formats, identity.manufacturer, identity.meter_id)
    try:
        records = parse_records(apl)
    except HanError:
        # Partial encryption: an unencrypted tail that does not parse is dropped (it is not
        # covered by the check bytes), the verified part is kept.
        if clear_from is None or clear_from >= len(apl):
            raise
        records = parse_records(apl[:clear_from])
        state.notes.append("ignored_unencrypted_tail")
    if formats is not None and records:
        # Only the verified part is learnt: a compact frame repeats the layout of what the
        # meter vouched for.
        formats.learn(meter_key(identity.manufacturer, identity.meter_id), format_bytes(records))
    return records


def decode_telegram(
    frame: bytes,
    keys: KeyLookup,
    *,
    formats: FormatStore | None = None,
    crcs: bool | None = None,
    accept: Accept | None = None,
    on_identity: OnIdentity | None = None,
) -> Message | None:
    """Decode one link-layer frame (starting at L, with or without DLL CRCs).

    ``keys`` maps a meter id to its AES key (or None). ``accept`` (when given) says whether
    a meter id is wanted; frames of other meters return None before any decryption.
    ``on_identity`` is told who sent the frame as soon as the clear-text headers say so,
    also for frames that are rejected afterwards. Raises a ``HanError`` on rejection.
    """
    link, data, crc_format = parse_link(frame, crcs=crcs)
    state = _State(link, [])
    if crc_format:
        state.notes.append(f"dll_crc_{crc_format}")
    afl: AflHeader | None = None
    seen_ell = False
    while True:
        if not data:
            msg = "frame ends before its transport layer"
            raise TruncatedError(msg)
        ci = data[0]
        if ci in ELL_CIS and not seen_ell and afl is None:
            seen_ell = True
            data, wanted = _ell(data, state, keys, accept)
            if not wanted:
                if on_identity is not None:
                    on_identity(_identity(link, None))
                return None
            continue
        if ci == AFL_CI and afl is None:
            afl, data = parse_afl(data)
            continue
        break
    if ci not in TPL_CIS:
        if on_identity is not None:
            on_identity(_identity(link, None))
        if 0xA0 <= ci <= 0xB7:
            msg = f"manufacturer-specific CI 0x{ci:02X} ({link.manufacturer})"
            raise UnsupportedError(msg)
        msg = f"CI-field 0x{ci:02X} is not supported"
        raise UnsupportedError(msg)
    tpl_bytes = data
    tpl, body = parse_tpl(data)
    identity = _identity(link, tpl)
    if on_identity is not None:
        on_identity(identity)
    if accept is not None and not (accept(identity.meter_id) or accept(link.meter_id)):
        return None
    if tpl.kind == "long" and tpl.m_bytes is not None and tpl.a_field is not None:
        ident = _Ident(tpl.m_bytes, tpl.a_field)
    else:
        ident = _Ident(link.m_bytes, link.a_field)
    key = keys(identity.meter_id) or keys(link.meter_id)
    mode = tpl.mode if tpl.kind != "none" else MODE_NONE
    clear_from: int | None = None
    if mode == MODE_NONE:
        apl = body
    elif mode == MODE_AES_CBC_IV:
        apl, clear_from = _mode5(tpl, body, key, ident, state)
    elif mode == MODE_AES_CBC_NO_IV:
        apl, clear_from = _mode7(tpl, body, tpl_bytes, afl, key, ident, state)
    else:
        msg = f"TPL security mode {mode} is not supported"
        raise UnsupportedError(msg)
    if key and not state.encrypted:
        msg = "the frame is not encrypted although a key is configured for this meter; refused"
        raise AuthenticationError(msg)
    records = _records(tpl, apl, formats, clear_from, state, identity)
    message = Message(
        format=FORMAT,
        meter=MeterIdentity(
            meter_id=identity.meter_id,
            manufacturer=identity.manufacturer,
            model=f"{identity.medium} (version 0x{identity.version:02X})",
        ),
        size=len(frame),
    )
    message.notes.extend(state.notes)
    message.notes.extend(_status_notes(tpl.status))
    if mode:
        message.notes.append(f"security_mode_{mode}")
    readings_from_records(message, records, identity.device_type, identity.manufacturer)
    return message


def _identity(link: LinkHeader, tpl: TplHeader | None) -> Identity:
    mode = tpl.mode if tpl is not None and tpl.kind != "none" else None
    if tpl is not None and tpl.kind == "long" and tpl.id_bytes is not None:
        return Identity(
            meter_id=tpl.meter_id or link.meter_id,
            manufacturer=tpl.manufacturer or link.manufacturer,
            version=tpl.version if tpl.version is not None else link.version,
            device_type=tpl.device_type if tpl.device_type is not None else link.device_type,
            link_id=link.meter_id,
            security_mode=mode,
        )
    return Identity(
        meter_id=link.meter_id,
        manufacturer=link.manufacturer,
        version=link.version,
        device_type=link.device_type,
        link_id=link.meter_id,
        security_mode=mode,
    )
