"""wM-Bus security: TPL modes 5 and 7 (AES-128-CBC), mode-7 KDF and MAC, ELL AES-CTR.

* Mode 5 (OMS security profile A): AES-128-CBC, IV = M (2) ‖ A (6) ‖ ACC x 8, key as
  configured. The first two plaintext bytes must be ``2F 2F``.
* Mode 7 (profile B): the key is only used to derive per-message keys with AES-CMAC
  (KDF selection 1): ``Kenc = CMAC(K, 00 ‖ MCR ‖ ID ‖ 07x7)``, ``Kmac`` the same with 01.
  The AFL MAC (CMAC with Kmac over MCL ‖ MCR [‖ ML] ‖ TPL…end, truncated) is checked before
  anything is decrypted; then AES-128-CBC with IV 0 and the ``2F 2F`` check.
* ELL AES-CTR: IV = M ‖ A ‖ CC (hop and repeat bits cleared) ‖ SN ‖ 00 00 ‖ block counter.

Keys never appear in exception messages or logs; comparisons of MACs are constant-time.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from ..model import MalformedError, NoKeyError  # noqa: TID252

KEY_LEN = 16
CHECK_BYTES = b"\x2f\x2f"
_KDF_PAD = b"\x07" * 7


def check_key(key: bytes | None) -> bytes:
    """Return ``key`` if usable; NoKeyError when missing, MalformedError when not 16 bytes."""
    if not key:
        msg = "the frame is encrypted and no key is configured for this meter"
        raise NoKeyError(msg)
    if len(key) != KEY_LEN:
        msg = "a wM-Bus key must be 16 bytes (32 hex characters)"
        raise MalformedError(msg)
    return key


def mode5_iv(m_bytes: bytes, a_field: bytes, acc: int) -> bytes:
    """IV of security mode 5: M (2) ‖ A (6) ‖ ACC repeated 8 times."""
    return m_bytes + a_field + bytes((acc,)) * 8


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CBC without padding over whole blocks."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CBC without padding (``data`` must be whole blocks); for simulators and tests."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def ell_ctr_iv(m_bytes: bytes, a_field: bytes, cc: int, session: bytes) -> bytes:
    """Initial counter block of ELL AES-CTR (frame number 0, block counter 0)."""
    return m_bytes + a_field + bytes((cc & ~0x12 & 0xFF,)) + session + b"\x00\x00\x00"


def ctr_apply(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CTR keystream applied to ``data`` (encrypts and decrypts alike)."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (16 bytes)."""
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def mode7_keys(key: bytes, counter: bytes, id_bytes: bytes) -> tuple[bytes, bytes]:
    """(Kenc, Kmac) of KDF selection 1 for one message counter and meter id."""
    tail = counter + id_bytes + _KDF_PAD
    return cmac(key, b"\x00" + tail), cmac(key, b"\x01" + tail)


def afl_mac(
    kmac: bytes, mcl: int, counter: bytes, length_field: bytes | None, rest: bytes
) -> bytes:
    """Full 16-byte AFL MAC over MCL ‖ MCR [‖ ML] ‖ the bytes from the TPL CI to the end."""
    return cmac(kmac, bytes((mcl,)) + counter + (length_field or b"") + rest)


def mac_matches(expected_full: bytes, received: bytes) -> bool:
    """Constant-time comparison of a received (truncated) MAC."""
    return hmac.compare_digest(expected_full[: len(received)], received)
