"""Noise on the Estonian line is never a key error (code review, item 6).

The Estonian profile reads bare DLMS APDUs and reads a glo-ciphered envelope as an APDU when
it is no P1 telegram: neither carries a checksum. Random bytes that passed for a ciphered
APDU failed to decrypt and were refused as ``wrong_key`` / ``no_key`` / ``auth_failed``: key
errors, which raise the decryption repair issue and start a reauth flow for keys that are
fine. Now such bytes are not a frame (the framer's structure test) or are refused as
``malformed``; a meter's real ciphered APDU still gives the key error it should.
"""

from __future__ import annotations

import random

import pytest

from han.decoder import Decoder
from han.dlms.raw import RawApduFramer, plausible_title
from han.framing import ScanStatus
from han.model import KEY_ERRORS, ErrorCode, Keys, Message, Rejected, Result
from han.profiles import get_profile
from hanport_dev.simulator import parse_hdlc
from tests.common import DK_AK, DK_EK, HDLC_NO, P1_NL, dk_frames

EE = get_profile("ee_elektrilevi")
EK, AK = bytes(range(16)), bytes(range(16, 32))
KEYS = {"no keys": None, "EK": Keys(EK), "EK and AK": Keys(EK, AK)}
#: The system title of a Landis+Gyr meter (FLAG id LGZ) and 5 more bytes.
LGZ = b"LGZ" + bytes.fromhex("6673d4d603")


def ee_decoder(keys: Keys | None) -> Decoder:
    return Decoder(keys, country=EE.country, formats=EE.formats)


def codes(results: list[Result]) -> set[ErrorCode]:
    assert not [r for r in results if isinstance(r, Message)]
    return {r.code for r in results if isinstance(r, Rejected)}


def envelope(title: bytes, sc: int, body_size: int, rng: random.Random) -> bytes:
    """A general-glo-ciphering APDU of random content: ``DB 08 title length SC FC body``."""
    body = rng.randbytes(4 + body_size)
    length = 1 + len(body)
    size = bytes((length,)) if length < 0x80 else b"\x82" + length.to_bytes(2)
    return b"\xdb" + bytes((len(title),)) + title + size + bytes((sc,)) + body


@pytest.mark.parametrize("keys", KEYS.values(), ids=KEYS.keys())
def test_random_bytes_give_no_key_error(keys: Keys | None) -> None:
    """1 MB of seeded noise, fed as a port delivers it: 0 key errors (there were 42)."""
    rng = random.Random(1)
    decoder = ee_decoder(keys)
    seen: set[ErrorCode] = set()
    for _ in range(4000):
        seen |= codes(decoder.feed(rng.randbytes(256)))
    seen |= codes(decoder.feed(b"", final=True))
    assert not seen & KEY_ERRORS, seen


@pytest.mark.parametrize("keys", KEYS.values(), ids=KEYS.keys())
@pytest.mark.parametrize("body_size", [40, 300], ids=["short", "long"])
def test_an_envelope_whose_title_is_no_meters_is_malformed(
    keys: Keys | None, body_size: int
) -> None:
    """Noise shaped like an envelope (both framers take it) but its title has no FLAG id."""
    rng = random.Random(body_size)
    seen: set[ErrorCode] = set()
    for sc in (0x10, 0x20, 0x30, 0x21):
        for _ in range(25):
            title = bytes((rng.randrange(0x00, 0x41),)) + rng.randbytes(7)
            noise = envelope(title, sc, body_size, rng)
            seen |= codes(ee_decoder(keys).feed(noise + b"\x00" * 4, final=True))
    assert not seen & KEY_ERRORS, seen
    assert ErrorCode.MALFORMED in seen


@pytest.mark.parametrize("body_size", [40, 300], ids=["short", "long"])
def test_a_meters_envelope_still_asks_for_its_keys(body_size: int) -> None:
    """The same envelope with a meter's system title: a key error, as it should be."""
    rng = random.Random(7)
    noise = envelope(LGZ, 0x30, body_size, rng) + b"\x00" * 4
    assert codes(ee_decoder(None).feed(noise, final=True)) & KEY_ERRORS == {ErrorCode.NO_KEY}
    assert codes(ee_decoder(Keys(EK, AK)).feed(noise, final=True)) & KEY_ERRORS
    # And a real meter's ciphered APDU (the Danish Kamstrup's, without its HDLC frame).
    bare = b"".join(parse_hdlc(frame)[2][3:] for frame in dk_frames(3))
    wrong = Keys(bytes.fromhex(DK_AK), bytes.fromhex(DK_EK)[::-1])
    assert codes(ee_decoder(wrong).feed(bare, final=True)) == {ErrorCode.AUTH_FAILED}


def test_one_key_error_between_other_results_is_noise() -> None:
    """A bare APDU without checksum refused for its keys once, then something else: malformed.

    Here a plain notification (the Norwegian Kaifa's, without its HDLC frame) with an AK
    configured: refused for being in clear. A meter sends such frames every push; in a row
    they are what they are (``auth_failed``), alone they are noise.
    """
    bare = parse_hdlc(HDLC_NO)[2][3:]
    corrupt = P1_NL.replace(b"1-0:1.7.0(00.244", b"1-0:1.7.0(00.245")
    decoder = ee_decoder(Keys(EK, AK))
    assert decoder.feed(bare) == []  # held: is it the meter's?
    results = decoder.feed(corrupt)
    assert [r.code for r in results if isinstance(r, Rejected)] == [
        ErrorCode.MALFORMED,
        ErrorCode.CHECKSUM,
    ]
    assert decoder.reader.stats.unconfirmed == 1
    assert codes(ee_decoder(Keys(EK, AK)).feed(bare * 3)) == {ErrorCode.AUTH_FAILED}


@pytest.mark.parametrize(
    "data",
    [
        b"\xdb\x00\x05\x30\x00\x00\x00\x01",  # no system title: nothing to decrypt it with
        b"\xdb\x05LGZ00\x05\x30\x00\x00\x00\x01",  # a title of 5 bytes
        b"\xdb\x08lgz\x00\x00\x00\x00\x00\x05\x30\x00\x00\x00\x01",  # no FLAG id
        b"\xdb\x08L\x00",  # not even the FLAG id's first 3 bytes (when they have come)
        b"\xdb\x08" + LGZ + b"\x05\x00\x00\x00\x00\x01",  # SC 0x00: nothing secured
        b"\xdb\x08" + LGZ + b"\x05\xb0\x00\x00\x00\x01",  # SC 0x80: compressed
        b"\xdb\x08" + LGZ + b"\x05\x33\x00\x00\x00\x01",  # suite 3 does not exist
    ],
    ids=["no-title", "short-title", "no-flag", "flag-cut", "sc-clear", "compressed", "suite-3"],
)
def test_the_framer_takes_no_envelope_a_meter_would_not_send(data: bytes) -> None:
    assert RawApduFramer().scan(data, 0).status is ScanStatus.INVALID


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"\xdb\x08LG", ScanStatus.NEED_MORE),  # the title is coming
        (b"\xdb\x08" + LGZ + b"\x08\x30\x00\x00\x00\x01", ScanStatus.NEED_MORE),
        (b"\xdb\x08" + LGZ + b"\x05\x30\x00\x00\x00\x01", ScanStatus.FRAME),
        (b"\xdb\x08" + LGZ + b"\x05\x61\x00\x00\x00\x01", ScanStatus.FRAME),  # key set, suite 1
    ],
)
def test_the_framer_takes_what_a_meter_sends(data: bytes, status: ScanStatus) -> None:
    assert RawApduFramer().scan(data, 0).status is status


def test_plausible_titles() -> None:
    assert plausible_title(LGZ)
    assert plausible_title(bytes.fromhex("4b414d4501d5eea3"))  # KAM, a vector's
    assert not plausible_title(LGZ[:7])
    assert not plausible_title(b"Lgz" + LGZ[3:])
