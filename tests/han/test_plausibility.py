"""The plausibility gate: a checksum-valid frame with an impossible value never reaches a sensor."""

from __future__ import annotations

import math
import struct

import pytest

from han import plausibility
from han.decoder import Decoder
from han.model import (
    ImplausibleError,
    Keys,
    Message,
    MeterIdentity,
    Rejected,
)
from hanport_dev.simulator import build_hdlc

LLC = b"\xe6\xe7\x00"
HEADER = b"\x0f\x00\x00\x00\x01\x00"  # data-notification, invoke id 1, no date-time


def pair(obis: str, value: bytes) -> bytes:
    """An OBIS code (octet-string) followed by a tagged value, Kamstrup style."""
    ab, cde = obis.split(":")
    a, b = ab.split("-")
    c, d, e = cde.split(".")
    code = bytes((int(a), int(b), int(c), int(d), int(e), 255))
    return b"\x09\x06" + code + value


def kamstrup_frame(*pairs: bytes) -> bytes:
    """A checksum-valid HDLC frame carrying a Kamstrup-style list of OBIS/value pairs."""
    body = b"\x02" + bytes((1 + 2 * len(pairs),)) + b"\x0a\x0eKamstrup_V0001" + b"".join(pairs)
    return build_hdlc(b"\x41\x03", 0x13, LLC + HEADER + body)


def message(*readings: tuple[str, object, str | None], fmt: str = "dlms") -> Message:
    found = Message(format=fmt, meter=MeterIdentity())
    for obis, value, unit in readings:
        found.add(obis, value, unit)  # type: ignore[arg-type]
    return found


def refused(results: list[Message | Rejected]) -> ImplausibleError:
    (result,) = results
    assert isinstance(result, Rejected), result
    assert isinstance(result.error, ImplausibleError)
    assert result.code == "implausible"
    return result.error


# -- Issue 10, item 1: a float64 NaN/infinity in a checksum-valid HDLC frame ------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_float64_in_a_valid_frame_is_refused(bad: float) -> None:
    frame = kamstrup_frame(
        pair("1-1:1.7.0", b"\x18" + struct.pack(">d", bad)),
        pair("1-1:32.7.0", b"\x12\x00\xe6"),
    )
    decoder = Decoder(Keys(), country="NO")
    for _ in range(2):  # the second one goes through the learnt layout
        error = refused(decoder.feed(frame))
        assert "1-1:1.7.0" in str(error)


def test_a_float32_nan_is_refused_and_the_next_good_frame_is_decoded() -> None:
    decoder = Decoder(Keys(), country="NO")
    bad = kamstrup_frame(pair("1-1:1.7.0", b"\x17" + struct.pack(">f", math.nan)))
    good = kamstrup_frame(pair("1-1:1.7.0", b"\x17" + struct.pack(">f", 1234.5)))
    (rejected, decoded) = decoder.feed(bad + good)
    assert isinstance(rejected, Rejected)
    assert isinstance(decoded, Message)
    assert decoded.readings["1-1:1.7.0"].value == 1234.5


def test_a_counter_no_meter_can_hold_is_refused() -> None:
    # 2**64 - 1 in 10 Wh (Kamstrup, Norway): 1.8e20 Wh.
    frame = kamstrup_frame(pair("1-1:1.8.0", b"\x15" + b"\xff" * 8))
    error = refused(Decoder(Keys(), country="NO").feed(frame))
    assert "1-1:1.8.0" in str(error)


def test_a_voltage_no_scaler_explains_is_refused() -> None:
    # 2347 V: neither whole volts nor 0.01 V (Kamstrup's two resolutions) gives 50-300 V.
    frame = kamstrup_frame(pair("1-1:32.7.0", b"\x12" + (2347).to_bytes(2)))
    error = refused(Decoder(Keys(), country="NO").feed(frame))
    assert "1-1:32.7.0" in str(error)
    assert "2347 V" in str(error)


def test_every_positive_vector_passes_the_gate() -> None:
    """Covered by the vector tests too; here directly on every decoded message."""
    from .test_dlms_vectors import POSITIVE, decode

    for vector in POSITIVE:
        for result in decode(vector):
            if isinstance(result, Message):
                plausibility.check(result)


# -- The bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obis", "value", "unit"),
    [
        ("1-0:32.7.0", 230.1, "V"),
        ("1-0:52.7.0", 0, "V"),  # a phase the meter does not see
        ("1-0:72.7.0", 3.2, "V"),  # induced voltage on an open phase
        ("1-0:32.7.0", 300, "V"),
        ("1-0:31.7.0", -12.5, "A"),  # signed current (Aidon)
        ("1-1:31.7.0", 909.99, "A"),  # the CT meter of nordic.jsonl gh216-1
        ("1-0:1.7.0", 999_999, "W"),
        ("1-0:16.7.0", -5000, "W"),
        ("1-0:1.8.0", 10**9, "Wh"),
        ("1-0:1.8.0", 999_999_999_999, "Wh"),
        ("1-0:16.8.0", -1200, "Wh"),  # signed sum
        ("1-0:3.8.0", 1_445_173_100, "varh"),
        ("1-0:14.7.0", 49.98, "Hz"),
        ("1-0:13.7.0", 0.83, None),
        ("1-0:33.7.0", -1.0, None),
        ("0-1:24.2.1", 12345.678, "m³"),
        ("8-0:1.0.0", -0.001, "m³"),  # a water meter after backflow
        ("0-2:24.2.1", 12.5, "GJ"),
        ("0-0:96.7.21", 12, None),
        ("0-0:96.1.0", "ISK1030789375606", None),
        ("0-0:1.0.0", "2024-11-17T21:26:44+01:00", None),
        ("1-0:99.99.99", 10**15, None),  # MAX_MAGNITUDE itself
        ("1-0:99.99.99", -1e15, None),
    ],
)
def test_plausible_values_pass(obis: str, value: object, unit: str | None) -> None:
    plausibility.check(message((obis, value, unit)))


@pytest.mark.parametrize(
    ("obis", "value", "unit", "shown"),
    [
        ("1-0:32.7.0", 23.4, "V", "23.4 V"),  # a doubled decimal shift (amsreader#782)
        ("1-0:32.7.0", 2347, "V", "2347 V"),
        ("1-0:32.7.0", -230, "V", "-230 V"),
        ("1-0:31.7.0", 1000.5, "A", "1000.5 A"),
        ("1-0:1.7.0", 1e12, "W", "1e+12 W"),
        ("1-0:21.7.0", -1_000_001, "W", "-1e+06 W"),
        ("1-0:1.8.0", 10**12 + 1, "Wh", "1e+12 Wh"),
        ("1-0:1.8.0", -1, "Wh", "-1 Wh"),
        ("1-0:14.7.0", 0, "Hz", "0 Hz"),
        ("1-0:13.7.0", 83, None, "83 outside -1 to 1"),
        ("1-0:1.7.0", math.nan, "W", "nan"),
        ("1-0:1.7.0", math.inf, None, "inf"),
        ("1-0:1.7.0", 1e300, None, "1e+300"),
        ("1-0:1.8.0", 10**400, "Wh", "401 digits"),
        ("1-0:1.8.0", -(10**30), None, "31 digits"),
        ("0-0:96.13.0", "x" * 5000, None, "5000 characters"),
    ],
)
def test_impossible_values_are_refused_by_name(
    obis: str, value: object, unit: str | None, shown: str
) -> None:
    with pytest.raises(ImplausibleError) as caught:
        plausibility.check(message(("1-0:1.7.0", 500, "W"), (obis, value, unit)))
    assert obis in str(caught.value)
    assert shown in str(caught.value)


def test_p1_power_factors_are_only_checked_for_being_numbers() -> None:
    """A real E.ON Hungary meter prints 1-0:13.7.0(4.556) (dsmr.jsonl dp_eon_hu)."""
    plausibility.check(message(("1-0:13.7.0", 4.556, None), fmt="p1"))
    with pytest.raises(ImplausibleError):
        plausibility.check(message(("1-0:13.7.0", 4.556, None)))
    with pytest.raises(ImplausibleError):
        plausibility.check(message(("1-0:13.7.0", math.nan, None), fmt="p1"))


def test_the_first_impossible_register_is_named() -> None:
    with pytest.raises(ImplausibleError) as caught:
        plausibility.check(message(("1-0:32.7.0", 2301, "V"), ("1-0:52.7.0", 2302, "V")))
    assert "1-0:32.7.0" in str(caught.value)
    assert "1-0:52.7.0" not in str(caught.value)


@pytest.mark.parametrize("fmt", ["p1", "dlms", "wmbus"])
@pytest.mark.parametrize(
    ("obis", "value", "unit"),
    [
        ("1-0:1.7.0", "nan", "W"),
        ("1-0:1.7.0", "1e5", "W"),  # float() reads 100000, the meter meant 1e5 kW
        ("1-0:1.8.0", "000123.456", "Wh"),
        ("1-0:32.7.0", "", "V"),
        ("0-0:96.8.0", "12", "s"),
        ("1-0:1.7.0", "1", "kW "),  # a unit units.normalise does not know is still a unit
    ],
)
def test_a_text_value_that_carries_a_unit_is_refused(
    fmt: str, obis: str, value: str, unit: str
) -> None:
    """Review of issue 12, item 1, defense in depth: a unit promises a number.

    Whatever decoder let a text through with a unit, the gate refuses it, naming the register,
    so no sensor float()s it (``"1e5"`` with W would read 100000 W).
    """
    with pytest.raises(ImplausibleError) as caught:
        plausibility.check(message(("1-0:1.7.0", 500, "W"), (obis, value, unit), fmt=fmt))
    assert obis in str(caught.value)
    assert "text with a unit" in str(caught.value)
    # The same text without a unit is an identifier or a status word: it passes.
    plausibility.check(message((obis, value, None), fmt=fmt))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**16, "17 digits"),
        (10**15 + 1, "16 digits"),
        (2**64 - 1, "20 digits"),  # the largest A-XDR integer: not exact in a float
        (1e16, "1e+16"),
        (-1e17, "-1e+17"),
    ],
)
def test_one_bound_for_every_number(value: float, shown: str) -> None:
    """Review of issue 12, item 6: the library's gate (ints < 2**64, floats < 1e18) let a
    unitless 1e16 through, and the integration's guard (1e15) then dropped the whole message.
    The library's bound is the one bound now: ``MAX_MAGNITUDE`` (1e15)."""
    assert plausibility.MAX_MAGNITUDE == 1e15
    with pytest.raises(ImplausibleError) as caught:
        plausibility.check(message(("1-0:1.7.0", 500, "W"), ("0-0:96.7.21", value, None)))
    assert "0-0:96.7.21" in str(caught.value)
    assert shown in str(caught.value)


def test_the_scaling_and_the_gate_share_the_voltage_band_and_the_power_bound() -> None:
    from han.dlms import scaling

    assert scaling.VOLTAGE_BAND is plausibility.VOLTAGE_BAND == (50.0, 300.0)
    low, high = plausibility.VOLTAGE_BAND
    plausibility.check(message(("1-0:32.7.0", low, "V"), ("1-0:52.7.0", high, "V")))
    for unit in ("W", "var", "VA"):
        plausibility.check(message(("1-0:1.7.0", plausibility.MAX_POWER, unit)))
        with pytest.raises(ImplausibleError):
            plausibility.check(message(("1-0:1.7.0", plausibility.MAX_POWER + 1, unit)))
