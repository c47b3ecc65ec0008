"""The Polish Stoen P1 envelope: its plaintext is the data lines only (issue 9 item 1).

The ident line and the footer travel in clear around the GCM blob; the ciphertext holds the
OBIS data lines (../shared/reference/dlms-encrypted.md §1 "Plaintext extent"). The data lines
used here are the real decrypted plaintexts amsreader logged (AMS #1067, #1177); the public
rebuilt envelopes in dlms.jsonl carry the same lines with test keys.
"""

from __future__ import annotations

import math

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from han.decoder import Decoder
from han.framing import Frame, FrameKind
from han.model import (
    AuthenticationError,
    ErrorCode,
    HanError,
    Keys,
    MalformedError,
    Message,
    Rejected,
    Security,
    WrongKeyError,
)
from han.p1_encrypted import decrypt_stoen
from han.p1_session import P1Session
from han.units import normalise
from tests.common import keys_of

from .test_p1 import assert_expected, decode
from .test_p1_encrypted import AK, EK, GAMA, KAIFA, OTHER, TEXT, smarty, stoen

IDENTS = (b"/EGM5G35", b"/EGM5G15", b"/KFM5KAIFA-METER")
GAMA_VECTOR = TEXT["pl-stoen-gama150-p1-rebuilt-envelope"]


def only(data: bytes, keys: Keys) -> Message | Rejected:
    """The one result of decoding ``data`` with every wired framer."""
    results = Decoder(keys, country="PL").decode_capture(data)
    assert len(results) == 1, results
    return results[0]


def error_of(data: bytes, keys: Keys) -> type[HanError]:
    result = only(data, keys)
    assert isinstance(result, Rejected), result
    return type(result.error)


def sealed16(plain: bytes, ek: bytes, ak: bytes, ident: bytes = b"/EGM5G15") -> bytes:
    """An envelope with a full 16-byte GCM tag, as the public rebuilt vectors carry."""
    body = AESGCM(ek).encrypt(bytes(12), plain, b"\x30" + ak)
    secured = b"\x30" + bytes(4) + body
    return ident + b"\r\n\r\n\x00\x82" + len(secured).to_bytes(2, "big") + secured + b"!2503\r\n"


# --------------------------------------------------------------------------------------
# The public rebuilt envelopes, through the capture path the CLI and the vectors use
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vector_id",
    ["pl-stoen-gama150-p1-rebuilt-envelope", "pl-stoen-kaifa-ma309m-p1-rebuilt-envelope"],
)
def test_rebuilt_envelopes_decode(vector_id: str) -> None:
    vector = TEXT[vector_id]
    message = only(bytes.fromhex(vector["bytes_hex"]), keys_of(vector))
    assert isinstance(message, Message)
    assert_expected(vector, message)
    assert message.security == Security(None, 0, authenticated=True)
    assert message.notes == []
    # Without the AK the 16-byte tag of these rebuilt frames is not known to be one: the last
    # four of its bytes decrypt to noise after the data lines, and are recognised as such.
    no_ak = only(bytes.fromhex(vector["bytes_hex"]), Keys(ek=keys_of(vector).ek))
    assert isinstance(no_ak, Message)
    assert no_ak.readings == message.readings
    assert no_ak.notes == ["tag_not_verified"]


def test_the_model_comes_from_the_clear_ident_line() -> None:
    message = only(stoen(KAIFA, ident=b"/KFM5KAIFA-METER"), Keys(ek=EK, ak=AK))
    assert isinstance(message, Message)
    assert (message.meter.manufacturer, message.meter.model) == ("KFM", "KAIFA-METER")
    # 96.1.1 carries the model ("MA309M") on these meters; the serial is 96.1.0.
    assert message.meter.meter_id == "30057775"
    gama = only(stoen(GAMA, ident=b"/EGM5G15"), Keys(ek=EK, ak=AK))
    assert isinstance(gama, Message)
    assert (gama.meter.manufacturer, gama.meter.model) == ("EGM", "G15")


# --------------------------------------------------------------------------------------
# Plaintext extent: what the ciphertext may hold
# --------------------------------------------------------------------------------------

_BANG = GAMA.rindex(b")") + 1


@pytest.mark.parametrize(
    "plain",
    [
        GAMA,  # data lines, each with its line end (the real layout)
        GAMA[:_BANG],  # no line end after the last line
        GAMA + b"!",  # a bare '!' footer inside
        GAMA + b"!2503\r\n",  # a whole footer inside
        GAMA[:_BANG] + b"!2503",  # a footer right after the last value
        b"\r\n" + GAMA + b"\x00\x00",  # a leading line end, trailing NULs
        b"/EGM5G15\r\n\r\n" + GAMA + b"!2503\r\n",  # a whole telegram, as once assumed
        b"/XYZ5 other\r\n\r\n" + GAMA,  # its own ident line: the clear one counts
    ],
    ids=["lines", "no-eol", "bang", "footer", "footer-no-eol", "padding", "telegram", "own-ident"],
)
@pytest.mark.parametrize("with_ak", [True, False], ids=["ak", "no-ak"])
def test_every_plaintext_extent_decodes(plain: bytes, *, with_ak: bool) -> None:
    keys = Keys(ek=EK, ak=AK) if with_ak else Keys(ek=EK)
    message = only(stoen(plain, ident=b"/EGM5G15"), keys)
    assert isinstance(message, Message), message
    assert_expected(GAMA_VECTOR, message)
    assert (message.meter.manufacturer, message.meter.model) == ("EGM", "G15")
    assert message.security == Security(None, 0, authenticated=with_ak)


def test_a_verified_plaintext_that_does_not_parse_is_malformed_not_a_key_error() -> None:
    """After a verified tag the keys are proven: never wrong_key/auth_failed, never a swap."""
    for plain in (b"\x0f\x00\x00\x00\x01\x0c\x07\xea", b"hello\r\nworld\r\n", b"\r\n"):
        assert error_of(stoen(plain), Keys(ek=EK, ak=AK)) is MalformedError
        # The keys given the other way round verify too: still the meter's data, malformed.
        assert error_of(stoen(plain), Keys(ek=AK, ak=EK)) is MalformedError
    # Data lines with one odd line: the odd line is skipped, as in a plain telegram.
    odd = only(stoen(GAMA + b"not a data line\r\n"), Keys(ek=EK, ak=AK))
    assert isinstance(odd, Message)
    assert_expected(GAMA_VECTOR, odd)


def test_without_an_ak_only_obis_data_lines_prove_the_key() -> None:
    assert error_of(stoen(GAMA + b"not a data line\r\n"), Keys(ek=EK)) is WrongKeyError
    assert error_of(stoen(b"\x0f\x00\x00\x00\x01"), Keys(ek=EK)) is WrongKeyError
    assert error_of(stoen(b"\r\n"), Keys(ek=EK)) is WrongKeyError
    assert error_of(stoen(GAMA), Keys(ek=OTHER)) is WrongKeyError
    # A DSMR 2.2 continuation line after a data line is text too.
    gas = b"0-1:24.3.0(230101120000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\n"
    message = only(stoen(gas), Keys(ek=EK))
    assert isinstance(message, Message)
    assert message.readings["0-1:24.3.0"].value == 1.001


def test_a_sixteen_byte_tag_is_accepted_with_and_without_the_ak() -> None:
    data = sealed16(GAMA, EK, AK)
    for keys in (Keys(ek=EK, ak=AK), Keys(ek=AK, ak=EK), Keys(ek=EK)):
        message = only(data, keys)
        assert isinstance(message, Message), (keys, message)
        assert_expected(GAMA_VECTOR, message)
    assert error_of(data, Keys(ek=EK, ak=OTHER)) is AuthenticationError
    assert error_of(sealed16(b"\x01\x02binary", EK, AK), Keys(ek=EK)) is WrongKeyError


def test_decrypt_stoen_returns_the_reassembled_telegram() -> None:
    decrypted = decrypt_stoen(
        stoen(GAMA, ident=b"/EGM5G15", fc=b"\x00\x00\x01\x00"), Keys(ek=EK, ak=AK)
    )
    assert decrypted.telegram == b"/EGM5G15\r\n\r\n" + GAMA
    assert decrypted.verified
    assert decrypted.security == Security(None, 256, authenticated=True)


# --------------------------------------------------------------------------------------
# Issue 10 item 4: with an AK configured, only authenticated frames count
# --------------------------------------------------------------------------------------


def test_with_an_ak_an_unauthenticated_envelope_is_refused() -> None:
    """Tag stripped and SC downgraded to 0x20: the AK the user gave makes it auth_failed."""
    downgraded = stoen(GAMA, sc=0x20)
    assert error_of(downgraded, Keys(ek=EK, ak=AK)) is AuthenticationError
    lux = str(TEXT["lux_smarty_plain_meterlogger"]["telegram"]).encode()
    assert error_of(smarty(lux, sc=0x20, ak=AK), Keys(ek=EK, ak=AK)) is AuthenticationError
    # Without an AK nothing can be authenticated: encryption-only data is read, and says so.
    message = only(downgraded, Keys(ek=EK))
    assert isinstance(message, Message)
    assert message.security == Security(None, 0, authenticated=False)
    plain = only(smarty(lux, sc=0x20), Keys(ek=EK))
    assert isinstance(plain, Message)
    assert plain.security == Security(b"SAG12345".hex().upper(), 0x1A8, authenticated=False)


def test_security_of_envelope_messages() -> None:
    title = b"EGM\x00\x01\x02\x03\x04"
    message = only(
        stoen(GAMA, iv_title=title, fc=b"\x00\x00\x00\x07"), Keys(ek=EK, ak=AK, system_title=title)
    )
    assert isinstance(message, Message)
    assert message.security == Security(title.hex().upper(), 7, authenticated=True)
    framed = only(stoen(GAMA, iv_title=title, frame_title=title), Keys(ek=EK, ak=AK))
    assert isinstance(framed, Message)
    assert framed.security == Security(title.hex().upper(), 0, authenticated=True)
    lux = str(TEXT["lux_smarty_plain_meterlogger"]["telegram"]).encode()
    public = only(smarty(lux), Keys(ek=EK))  # the public Luxembourg AK proves the EK only
    assert isinstance(public, Message)
    assert public.security == Security("5341473132333435", 0x1A8, authenticated=False)
    own = only(smarty(lux, ak=AK), Keys(ek=EK, ak=AK))
    assert isinstance(own, Message)
    assert own.security == Security(b"SAG12345".hex().upper(), 0x1A8, authenticated=True)


def test_a_verified_dsmr_gcm_plaintext_that_is_no_telegram_is_malformed() -> None:
    """On the line (not decode_capture, which then asks the DLMS layer about a bare APDU)."""

    def codes(data: bytes) -> list[ErrorCode]:
        return [r.code for r in Decoder(Keys(ek=EK)).feed(data, final=True)]

    assert codes(smarty(b"\x0f\x00\x00\x00\x01binary")) == [ErrorCode.MALFORMED]
    assert codes(smarty(b"1-0:1.8.0(1*kWh)\r\n")) == [ErrorCode.MALFORMED]
    # Unverified (a meter-specific AK nobody configured): the same bytes say "wrong key".
    assert codes(smarty(b"\x0f\x00\x00\x00\x01binary", ak=AK)) == [ErrorCode.WRONG_KEY]


def test_session_messages_carry_security_and_size() -> None:
    session = P1Session(Keys(ek=EK, ak=AK), country="PL")
    message = session.push_frame(Frame(FrameKind.P1_STOEN, stoen(GAMA), 10, checked=False))
    assert message.size == 10
    assert message.security == Security(None, 0, authenticated=True)
    assert [r.code for r in decode(stoen(GAMA), keys=Keys(ek=EK, ak=OTHER))] == [
        ErrorCode.AUTH_FAILED
    ]


# --------------------------------------------------------------------------------------
# Acceptance: any data lines, sealed with any keys, decode to their values
# --------------------------------------------------------------------------------------

# Registers as meters send them: (C, D, whole-number range, units). The values stay inside
# what a meter can send, so the plausibility gate lets every one through.
_KINDS = (
    ((1, 2), 8, (0, 999_999), ("kWh", "Wh")),
    ((3, 4), 8, (0, 999_999), ("kvarh",)),
    ((1, 2, 21, 22, 41, 42, 61, 62), 7, (0, 999), ("kW",)),
    ((1, 2, 21, 22, 41, 42, 61, 62), 7, (0, 99_999), ("W",)),
    ((3, 4), 7, (0, 999), ("kvar",)),
    ((32, 52, 72), 7, (50, 299), ("V",)),
    ((31, 51, 71), 7, (0, 998), ("A",)),
)


@st.composite
def _line(draw: st.DrawFn) -> tuple[int, int, int, int, int, str]:
    cs, d, (low, high), units = draw(st.sampled_from(_KINDS))
    e = draw(st.integers(0, 4)) if d == 8 else 0
    return (
        draw(st.sampled_from(cs)),
        d,
        e,
        draw(st.integers(low, high)),
        draw(st.integers(0, 999)),
        draw(st.sampled_from(units)),
    )


_LINE = _line()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_LINE, min_size=1, max_size=40, unique_by=lambda line: line[:3]),
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=4, max_size=4),
    st.sampled_from(IDENTS),
    st.booleans(),
    st.booleans(),
)
def test_any_data_lines_sealed_with_any_keys_decode_to_their_values(
    lines: list[tuple[int, int, int, int, int, str]],
    ek: bytes,
    ak: bytes,
    fc: bytes,
    ident: bytes,
    last_eol: bool,
    with_ak: bool,
) -> None:
    expected: dict[str, tuple[float, str | None]] = {}
    text: list[str] = []
    for c, d, e, whole, frac, unit in lines:
        number = f"{whole:06d}.{frac:03d}"
        text.append(f"1-0:{c}.{d}.{e}({number}*{unit})")
        expected[f"1-0:{c}.{d}.{e}"] = normalise(float(number), unit)
    plain = "\r\n".join(text).encode() + (b"\r\n" if last_eol else b"")
    keys = Keys(ek=ek, ak=ak) if with_ak else Keys(ek=ek)
    data = stoen(plain, ek, ak, ident=ident, fc=fc)
    message = only(data, keys)
    assert isinstance(message, Message), message
    assert message.meter.manufacturer == ident[1:4].decode()
    assert message.security == Security(None, int.from_bytes(fc, "big"), authenticated=with_ak)
    assert set(message.readings) == set(expected)
    for obis, (value, unit) in expected.items():
        reading = message.readings[obis]
        assert reading.unit == unit
        assert isinstance(reading.value, (int, float))
        assert math.isclose(reading.value, value, rel_tol=1e-12, abs_tol=1e-9)


# --------------------------------------------------------------------------------------
# Review of issue 12, item 3: a Stoen frame counter that stays 0 is no replay
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["configured", "in the frame"])
def test_a_stoen_meter_with_a_title_and_an_ak_keeps_its_frames_when_its_counter_stays_0(
    where: str,
) -> None:
    """Every real Stoen capture has frame counter 0; with a title (configured, or DB 08 in the
    frame) and an AK, every frame after the first was refused as ``replayed``."""
    title = b"EGM\x00\x01\x02\x03\x04"
    configured = title if where == "configured" else None
    framed = title if where == "in the frame" else None
    decoder = Decoder(Keys(ek=EK, ak=AK, system_title=configured), country="PL")
    for plain in (GAMA, GAMA, KAIFA, GAMA):
        (result,) = decoder.feed(stoen(plain, iv_title=title, frame_title=framed))
        assert isinstance(result, Message), result
        assert result.security == Security(title.hex().upper(), 0, authenticated=True)
        assert result.readings["1-0:1.8.0"].unit == "Wh"
    assert decoder.replay.counters == {}  # nothing guarded: nothing to store either

    # A meter that does raise its counter is guarded from its first rise on.
    def counter(n: int) -> list[str]:
        data = stoen(GAMA, iv_title=title, frame_title=framed, fc=n.to_bytes(4, "big"))
        return [str(r.code) if isinstance(r, Rejected) else "ok" for r in decoder.feed(data)]

    assert [counter(n) for n in (1, 2, 2, 1, 0, 3)] == [
        ["ok"],
        ["ok"],
        ["replayed"],
        ["replayed"],
        ["replayed"],
        ["ok"],
    ]
    assert decoder.replay.counters == {title.hex().upper(): 3}
