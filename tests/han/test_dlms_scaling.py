"""Scalers a push does not carry: maker, model and country defaults, and their two-way cases."""

from __future__ import annotations

import pytest

from han.decoder import Decoder
from han.dlms.scaling import ListContext, model_family
from han.model import ImplausibleError, Keys, Message, Rejected
from hanport_dev.simulator import build_hdlc, glo_ciphering

LLC = b"\xe6\xe7\x00"
HEADER = b"\x0f\x00\x00\x00\x01\x00"
EK = bytes(range(16))
AK = bytes(range(16, 32))

#: The decrypted data-notification of a Danish OMNIPOWER with 5-digit voltages, as the meter
#: sent it (amsreader-firmware frames/KamstrupOmnipower_Bornholm_DK_5digitVoltage_9sep25.log,
#: first "DLMS frame"): 0x56B7 = 22199 on 1-1:32.7.0, with 0x00FC = 252 on 1-1:31.7.0.
BORNHOLM = bytes.fromhex(
    "0f000000000c07e90909020e0b00ff800000"
    "02190a0e4b616d73747275705f56303030310906010100 0005ff0a1035373036353637323830343633393931"
    "0906010160 0101ff0a1236383431313338424e323433313031303130"
    "09060101010700ff0600000251 09060101020700ff0600000000 09060101030700ff060000001b"
    "09060101040700ff06000000aa 090601011f0700ff06000000fc 09060101330700ff0600000014"
    "09060101470700ff0600000024 09060101200700ff1256b7 09060101340700ff12572a"
    "09060101480700ff125731".replace(" ", "")
)


def obis(text: str) -> bytes:
    ab, cde = text.split(":")
    a, b = ab.split("-")
    c, d, e = cde.split(".")
    return bytes((int(a), int(b), int(c), int(d), int(e), 255))


def u16(value: int) -> bytes:
    return b"\x12" + value.to_bytes(2)


def capture_list(entries: list[tuple[int, str]], values: list[bytes]) -> bytes:
    """An L+G CII style body: the push-object list (its own first entry), then the values."""
    entries = [(40, "0-8:25.9.0"), *entries]
    objects = b"".join(
        b"\x02\x04\x12" + cls.to_bytes(2) + b"\x09\x06" + obis(code) + b"\x0f\x02\x12\x00\x00"
        for cls, code in entries
    )
    head = b"\x01" + bytes((len(entries),)) + objects
    return b"\x02" + bytes((1 + len(values),)) + head + b"".join(values)


def frame(apdu: bytes) -> bytes:
    return build_hdlc(b"\x41\x03", 0x13, LLC + apdu)


def decode(data: bytes, *, country: str | None = None, keys: Keys | None = None) -> Message:
    (result,) = Decoder(keys or Keys(), country=country).feed(data, final=True)
    assert isinstance(result, Message), result
    return result


def test_kamstrup_five_digit_voltages_are_hundredths_of_a_volt() -> None:
    found = decode(frame(BORNHOLM), country="DK")
    assert found.readings["1-1:32.7.0"].value == pytest.approx(221.99)
    assert found.readings["1-1:52.7.0"].value == pytest.approx(223.14)
    assert found.readings["1-1:72.7.0"].value == pytest.approx(223.21)
    assert found.readings["1-1:31.7.0"].value == pytest.approx(2.52)
    assert found.readings["1-1:1.7.0"].value == 593
    # The same meter's next push, through the learnt layout, scales the same way.
    again = decode(frame(BORNHOLM.replace(b"\x12\x56\xb7", b"\x12\x56\xb6")), country="DK")
    assert again.readings["1-1:32.7.0"].value == pytest.approx(221.98)


def test_kamstrup_whole_volts_stay_whole() -> None:
    three_digits = BORNHOLM.replace(b"\x12\x56\xb7", u16(222))
    found = decode(frame(three_digits), country="DK")
    assert found.readings["1-1:32.7.0"].value == 222


LG_LIST = [(1, "0-0:96.1.0"), (3, "1-0:1.7.0"), (3, "1-0:32.7.0"), (3, "1-0:31.7.0")]


def lg_push(voltage: int, *, model: str | None = None) -> bytes:
    entries = list(LG_LIST)
    values = [b"\x09\x0863316890", b"\x06\x00\x00\x01\x4b", u16(voltage), u16(49)]
    if model is not None:
        entries.insert(1, (1, "0-0:96.1.1"))
        values.insert(1, b"\x0a" + bytes((len(model),)) + model.encode())
    return frame(HEADER + capture_list(entries, values))


def test_landis_gyr_e450_whole_volts() -> None:
    found = decode(lg_push(234))
    assert found.readings["1-0:32.7.0"].value == 234
    assert found.readings["1-0:31.7.0"].value == pytest.approx(0.49)
    assert found.meter.manufacturer == "Landis+Gyr"


def test_landis_gyr_of_unknown_model_in_tenths_of_a_volt() -> None:
    """An E360 pushes 0.1 V; without a model in the push the value says which it is."""
    assert decode(lg_push(2341)).readings["1-0:32.7.0"].value == pytest.approx(234.1)


def test_landis_gyr_model_decides_the_voltage_resolution() -> None:
    assert decode(lg_push(2341, model="E360")).readings["1-0:32.7.0"].value == pytest.approx(234.1)
    assert decode(lg_push(234, model="LGZ E450")).readings["1-0:32.7.0"].value == 234
    # A known model gets no second chance: 2341 whole volts are refused.
    (result,) = Decoder(Keys()).feed(lg_push(2341, model="E570"), final=True)
    assert isinstance(result, Rejected)
    assert isinstance(result.error, ImplausibleError)
    assert "1-0:32.7.0" in str(result.error)


def test_iskraemeco_push_without_scaler_under_its_system_title() -> None:
    """A Swiss AM550-style push (VSE): OBIS/value pairs, no scaler, ISK system title."""
    body = b"\x02\x06" + b"".join(
        b"\x09\x06" + obis(code) + value
        for code, value in (
            ("1-0:32.7.0", u16(2301)),
            ("1-0:31.7.0", u16(123)),
            ("1-0:1.7.0", b"\x06\x00\x00\x01\x00"),
        )
    )
    plain = b"\x0f\x00\x00\x00\x01\x00" + body
    apdu = glo_ciphering(0x30, b"ISKgu\x13\xbf\x3b", 7, plain, EK, AK)
    found = decode(frame(apdu), keys=Keys(ek=EK, ak=AK))
    assert found.readings["1-0:32.7.0"].value == pytest.approx(230.1)
    assert found.readings["1-0:31.7.0"].value == pytest.approx(1.23)
    assert found.readings["1-0:1.7.0"].value == 256
    assert found.meter.manufacturer == "Iskraemeco"


@pytest.mark.parametrize(
    ("model", "family"),
    [("E360", "E360"), ("lgz e450 v2", "E450"), ("E570", "E570"), ("AM550-TD", "AM550")],
)
def test_model_families(model: str, family: str) -> None:
    assert model_family(model) == family


def test_no_model_family() -> None:
    assert model_family(None) is None
    assert model_family("6841121BN243101040") is None


@pytest.mark.parametrize(
    ("maker", "country", "kind", "scaler"),
    [
        ("Kamstrup", "NO", "energy", 1),
        ("Kamstrup", "DK", "energy", 1),
        ("Kamstrup", "SE", "energy", 0),
        ("Kamstrup", "DK", "current", -2),
        ("Kamstrup", "DK", "voltage", 0),
        ("Iskraemeco", "CH", "voltage", -1),
        ("Iskraemeco", "CH", "current", -2),
        ("Landis+Gyr", "CH", "voltage", 0),
        ("Landis+Gyr", "CH", "current", -2),
        ("Kaifa", "SE", "current", -3),
        ("Aidon", "SE", "voltage", -1),
        (None, None, "voltage", 0),
    ],
)
def test_default_scalers(maker: str | None, country: str | None, kind: str, scaler: int) -> None:
    assert ListContext(maker, country).default_scaler(kind) == scaler


def test_voltage_alternatives() -> None:
    assert ListContext("Kamstrup", "DK").voltage_alternative() == -2
    assert ListContext("Landis+Gyr", None).voltage_alternative() == -1
    assert ListContext("Landis+Gyr", None, "E450").voltage_alternative() is None
    assert ListContext("Landis+Gyr", None, "E360").default_scaler("voltage") == -1
    assert ListContext("Iskraemeco", None).voltage_alternative() is None


def test_quantities_of_registers_sent_without_scaler() -> None:
    pairs = b"".join(
        b"\x09\x06" + obis(code) + value
        for code, value in (
            ("1-1:14.7.0", u16(50)),  # frequency
            ("1-1:9.7.0", b"\x06\x00\x00\x03\xe8"),  # apparent power
            ("1-1:9.8.0", b"\x06\x00\x00\x03\xe8"),  # apparent energy (10 VAh steps)
            ("1-1:0.9.1", u16(1234)),  # a time register: no quantity, no unit
        )
    )
    body = b"\x02\x09\x0a\x0eKamstrup_V0001" + pairs
    found = decode(frame(HEADER + body), country="NO")
    assert (found.readings["1-1:14.7.0"].value, found.readings["1-1:14.7.0"].unit) == (50, "Hz")
    assert found.readings["1-1:9.7.0"].unit == "VA"
    assert found.readings["1-1:9.8.0"].value == 10000
    assert found.readings["1-1:9.8.0"].unit == "VAh"
    assert (found.readings["1-1:0.9.1"].value, found.readings["1-1:0.9.1"].unit) == (1234, None)


def test_a_number_without_code_or_scaler_is_taken_as_it_is() -> None:
    from han.dlms.scaling import plan_number

    assert plan_number(None, None, ListContext("Kamstrup", "NO")) == (0, None, None)
