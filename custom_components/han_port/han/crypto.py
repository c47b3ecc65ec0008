"""AES-GCM as DLMS/COSEM security suite 0 uses it (general-glo-ciphering and its envelopes).

The security control byte (SC) decides what is checked:

* 0x30 (bits authenticate + encrypt): ciphertext ‖ 12-byte tag, AAD = SC ‖ AK.
* 0x20 / 0x21 (encrypt only): no tag; GCM's keystream is AES-CTR from IV ‖ 00000002.
* 0x10 (authenticate only): plaintext ‖ tag, AAD = SC ‖ AK ‖ plaintext.

Keys never appear in an exception message.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .model import AuthenticationError, MalformedError, NoKeyError, TruncatedError

TAG_LEN = 12
SC_AUTH = 0x10
SC_ENC = 0x20
#: The security control's other bits: 0x40 the key set (broadcast key), 0x80 compression
#: (never seen, not supported); the low nibble is the security suite (0-2 exist).
SC_BROADCAST = 0x40
SC_COMPRESSED = 0x80
_SC_MAX_SUITE = 2


def plausible_sc(sc: int, *, broadcast_ok: bool) -> bool:
    """Whether ``sc`` is a security control a meter sends with secured data.

    Authentication and/or encryption, suite 0-2, not compressed. ``broadcast_ok`` accepts the
    key-set bit (0x40) too: a bare glo-ciphered APDU (``dlms.raw``) may carry it, an encrypted
    P1 envelope (``p1_encrypted``) may not.
    """
    refused = SC_COMPRESSED if broadcast_ok else SC_COMPRESSED | SC_BROADCAST
    return bool(sc & (SC_AUTH | SC_ENC)) and not sc & refused and (sc & 0x0F) <= _SC_MAX_SUITE


def _iv(system_title: bytes, frame_counter: bytes) -> bytes:
    if len(system_title) != 8 or len(frame_counter) != 4:
        msg = "system title must be 8 bytes and frame counter 4 bytes"
        raise MalformedError(msg)
    return system_title + frame_counter


def check_key(key: bytes | None, what: str) -> bytes:
    """The configured AES-128 key, or NoKeyError (none) / MalformedError (not 16 bytes)."""
    if not key:
        msg = f"encrypted data, but no {what} is configured"
        raise NoKeyError(msg)
    if len(key) != 16:
        msg = f"the {what} must be 16 bytes (32 hex characters)"
        raise MalformedError(msg)
    return key


def gcm_open(
    sc: int,
    system_title: bytes,
    frame_counter: bytes,
    body: bytes,
    ek: bytes | None,
    ak: bytes | None,
    *,
    tag_len: int = TAG_LEN,
) -> bytes:
    """Return the plaintext of a secured APDU body (after SC and FC) or raise.

    Raises NoKeyError, AuthenticationError, TruncatedError or MalformedError. For
    encryption-only data the caller must still check that the plaintext parses.
    ``tag_len`` is 12 in DLMS suite 0; only a caller that has to tolerate another length
    (the Polish envelope, see ``p1_encrypted``) changes it.
    """
    iv = _iv(system_title, frame_counter)
    authenticated = bool(sc & SC_AUTH)
    encrypted = bool(sc & SC_ENC)
    if authenticated:
        if len(body) < tag_len:
            msg = "secured APDU shorter than its authentication tag"
            raise TruncatedError(msg)
        body, tag = body[:-tag_len], body[-tag_len:]
        key = check_key(ek, "encryption key (EK)")
        aad = bytes((sc,)) + (ak or b"")
        decryptor = Cipher(
            algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=tag_len)
        ).decryptor()
        if encrypted:
            decryptor.authenticate_additional_data(aad)
            plain = decryptor.update(body)
        else:
            decryptor.authenticate_additional_data(aad + body)
            plain = body
        try:
            decryptor.finalize()
        except InvalidTag:
            msg = "authentication tag does not verify (wrong EK or AK, or keys swapped)"
            raise AuthenticationError(msg) from None
        return plain
    if encrypted:
        key = check_key(ek, "encryption key (EK)")
        return ctr_apply(key, iv, body)
    return body


def gcm_open_either(
    sc: int,
    system_title: bytes,
    frame_counter: bytes,
    body: bytes,
    ek: bytes,
    ak: bytes,
    *,
    tag_len: int = TAG_LEN,
) -> tuple[bytes, bool]:
    """``gcm_open`` with EK and AK as given or, if only that verifies the tag, swapped.

    Operators print the two keys in varying order; the tag tells which is which. Returns
    the plaintext and whether the keys were swapped.
    """
    try:
        return gcm_open(sc, system_title, frame_counter, body, ek, ak, tag_len=tag_len), False
    except AuthenticationError:
        if ak == ek:
            raise
        try:
            return gcm_open(sc, system_title, frame_counter, body, ak, ek, tag_len=tag_len), True
        except AuthenticationError:
            msg = (
                "authentication tag does not verify with the configured keys "
                "(in either order): wrong EK or AK"
            )
            raise AuthenticationError(msg) from None


def ctr_apply(key: bytes, iv: bytes, data: bytes) -> bytes:
    """GCM's keystream (AES-CTR from IV ‖ 00000002) applied to ``data``."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def gcm_seal(
    sc: int, system_title: bytes, frame_counter: bytes, plain: bytes, ek: bytes, ak: bytes
) -> bytes:
    """Encrypt (and tag, when SC says so) like a meter does; used by the simulator and tests."""
    iv = _iv(system_title, frame_counter)
    if not sc & SC_AUTH:
        return ctr_apply(ek, iv, plain) if sc & SC_ENC else plain
    encryptor = Cipher(algorithms.AES(ek), modes.GCM(iv)).encryptor()
    aad = bytes((sc,)) + ak
    if sc & SC_ENC:
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(plain)
    else:
        encryptor.authenticate_additional_data(aad + plain)
        body = plain
    encryptor.finalize()
    return body + encryptor.tag[:TAG_LEN]
