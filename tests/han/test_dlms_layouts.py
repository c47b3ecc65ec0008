"""Positional lists (no OBIS codes): decoded only by a known layout of exactly their shape.

Real frames from the vectors prove each layout; any other shape is refused as
``unknown_layout`` with its element count and types, never mapped by a near match.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from han.decoder import Decoder
from han.dlms import layouts
from han.model import (
    ImplausibleError,
    Keys,
    Message,
    Rejected,
    UnknownLayoutError,
)
from tests.common import vectors_by_id

VECTORS = vectors_by_id("nordic", "dlms")


def decode(vid: str) -> list[Message | Rejected]:
    item = VECTORS[vid]
    return Decoder(Keys(), country=item.get("country")).decode_capture(
        bytes.fromhex(item["bytes_hex"])
    )


def message(vid: str) -> Message:
    (result,) = decode(vid)
    assert isinstance(result, Message), result
    return result


def values(vid: str) -> dict[str, Any]:
    return {obis: reading.value for obis, reading in message(vid).readings.items()}


# -- A-XDR building blocks (the tests' own encoder: tag and size of every element are known) --
Element = tuple[bytes, tuple[int, int], Any]  # encoded bytes, (tag, size), decoded value


def u32(value: int) -> Element:
    return b"\x06" + value.to_bytes(4), (0x06, -1), value


def u16(value: int) -> Element:
    return b"\x12" + value.to_bytes(2), (0x12, -1), value


def u8(value: int) -> Element:
    return b"\x11" + bytes((value,)), (0x11, -1), value


def enum(value: int) -> Element:
    return b"\x16" + bytes((value,)), (0x16, -1), value


def boolean(value: bool) -> Element:
    return b"\x03" + bytes((value,)), (0x03, -1), value


def octets(value: bytes) -> Element:
    return b"\x09" + bytes((len(value),)) + value, (0x09, len(value)), value


def visible(value: str) -> Element:
    raw = value.encode("latin-1")
    return b"\x0a" + bytes((len(raw),)) + raw, (0x0A, len(raw)), value


def notification(elements: list[Element]) -> bytes:
    """A data-notification (no date-time) whose body is a structure of ``elements``."""
    body = b"\x02" + bytes((len(elements),)) + b"".join(e[0] for e in elements)
    return b"\x0f\x00\x00\x00\x01\x00" + body


def refused(results: list[Message | Rejected]) -> UnknownLayoutError:
    (result,) = results
    assert isinstance(result, Rejected), result
    assert isinstance(result.error, UnknownLayoutError)
    assert result.code == "unknown_layout"
    return result.error


LDN = b"ISK1030789375606"


# -- Iskraemeco, Slovenia and Croatia ---------------------------------------------------------


def test_slovenian_lists_are_identified_by_their_logical_device_name() -> None:
    for vid in ("amsreader-iskraemeco-gh615-1", "amsreader-iskraemeco-gh615-2"):
        found = message(vid)
        assert found.meter.meter_id == "ISK1030789375606"
        assert found.meter.manufacturer == "Iskraemeco"
        assert found.readings["0-0:42.0.0"].value == "ISK1030789375606"
    # The second string is the same on two meters of one grid: a device id, not the meter's.
    assert message("amsreader-iskraemeco-gh615-1").readings["0-0:96.1.0"].value == "16820005"
    assert message("amsreader-iskraemeco-gh956-1").readings["0-0:96.1.0"].value == "16820005"
    assert message("amsreader-iskraemeco-gh956-1").meter.meter_id == "ISK1030792283067"
    assert message("amsreader-iskraemeco-gh615-8").meter.meter_id == "ISK1030789014731"
    assert message("amsreader-iskraemeco-gh869-8").meter.meter_id == "ISK1020785766649"
    # The 15-minute counter list carries no logical device name: it names no meter.
    assert message("amsreader-iskraemeco-gh869-3").meter.meter_id is None
    assert message("amsreader-iskraemeco-gh1072-3").meter.meter_id == "92029691"


@pytest.mark.parametrize(
    "vid",
    [
        "amsreader-iskraemeco-gh615-2",
        "amsreader-iskraemeco-gh615-4",
        "amsreader-iskraemeco-gh956-2",
        "amsreader-iskraemeco-gh1072-3",
        "amsreader-iskraemeco-gh1072-4",
    ],
)
def test_iskra_totals_are_the_sum_of_their_tariffs(vid: str) -> None:
    found = values(vid)
    assert found["1-0:1.8.0"] == found["1-0:1.8.1"] + found["1-0:1.8.2"]
    assert found["1-0:2.8.0"] == found["1-0:2.8.1"] + found["1-0:2.8.2"]
    assert message(vid).readings["1-0:1.8.0"].unit == "Wh"


@pytest.mark.parametrize(
    "vid",
    [
        "amsreader-iskraemeco-gh615-1",
        "amsreader-iskraemeco-gh615-5",
        "amsreader-iskraemeco-gh956-1",
        "amsreader-iskraemeco-gh1072-3",
        "amsreader-iskraemeco-gh1072-4",
    ],
)
def test_iskra_phase_powers_add_up_to_the_total(vid: str) -> None:
    found = values(vid)
    phases = found["1-0:21.7.0"] + found["1-0:41.7.0"] + found["1-0:61.7.0"]
    assert abs(phases - found["1-0:1.7.0"]) <= 2  # each phase rounded to a watt
    for phase in (31, 51, 71):
        assert 0 <= found[f"1-0:{phase}.7.0"] < 100
    for phase in (32, 52, 72):
        assert 200 < found[f"1-0:{phase}.7.0"] < 260


def test_iskra_counter_lists_of_one_meter_agree() -> None:
    """gh869-7 (15-minute list) and gh869-6 (1-s list a second later) of the same meter."""
    quarter, second = values("amsreader-iskraemeco-gh869-7"), values("amsreader-iskraemeco-gh869-6")
    assert second["1-0:1.8.0"] - quarter["1-0:1.8.0"] == 1
    assert second["1-0:2.8.0"] == quarter["1-0:2.8.0"] == 250
    assert set(second) == {"0-0:42.0.0", "1-0:1.7.0", "1-0:2.7.0", "1-0:1.8.0", "1-0:2.8.0"}


def test_single_phase_list_of_ten_has_its_phase_power() -> None:
    found = values("amsreader-iskraemeco-gh869-8")
    assert found["1-0:21.7.0"] == found["1-0:1.7.0"] == 540
    assert found["1-0:32.7.0"] == pytest.approx(233.6)
    assert found["1-0:31.7.0"] == pytest.approx(2.78)


def test_unproven_elements_are_not_published() -> None:
    # The last two of the single-phase list of 9 (amsreader's "2.8.1/2.8.2", always zero).
    assert set(values("amsreader-iskraemeco-gh869-1")) == {
        "0-0:42.0.0",
        "0-0:96.1.0",
        "1-0:1.7.0",
        "1-0:2.7.0",
        "1-0:3.7.0",
        "1-0:4.7.0",
        "1-0:32.7.0",
    }


def test_an_energy_register_where_the_voltage_belongs_is_refused() -> None:
    """Issue 9: a list of 9 with a double-long-unsigned in the voltage's place.

    The old near-match table mapped it by its length: 381 V and 38 A out of counters.
    """
    elements = [
        octets(LDN),
        octets(b"ISK89375606"),
        u32(373),
        u32(0),
        u32(0),
        u32(0),
        u32(3810),  # a counter, not a long-unsigned voltage
        u32(3800),
        u32(0),
    ]
    error = refused(Decoder(Keys(), country="SI").decode_capture(notification(elements)))
    text = str(error)
    assert "9 elements (octet-string[16], octet-string[11], double-long-unsigned" in text
    assert "Iskraemeco" in text
    assert "ISK1030789375606" not in text  # the shape is reported, not the meter's name


def test_a_known_shape_with_one_element_more_or_less_is_refused() -> None:
    base = [octets(LDN), octets(b"16820005")] + [u32(1)] * 4 + [u16(2301)] * 3
    base += [u16(100)] * 3 + [u32(10)] * 6
    decoder = Decoder(Keys(), country="SI")
    (good,) = decoder.decode_capture(notification(base))
    assert isinstance(good, Message)
    assert good.readings["1-0:32.7.0"].value == pytest.approx(230.1)
    for variant in (base[:-1], [*base, u32(0)], [*base[:6], u32(2301), *base[7:]]):
        error = refused(decoder.decode_capture(notification(variant)))
        assert f"{len(variant)} elements" in str(error)


def test_kaifa_list_of_unknown_length_is_refused() -> None:
    elements = [visible("KFM_001"), visible("6970631402614476"), visible("MA304H3E")]
    elements += [u32(100)] * 9
    error = refused(Decoder(Keys(), country="NO").decode_capture(notification(elements)))
    assert "Kaifa" in str(error)
    assert "12 elements" in str(error)


def test_a_positional_array_is_refused() -> None:
    apdu = b"\x0f\x00\x00\x00\x01\x00\x01\x02\x06\x00\x00\x00\x01\x06\x00\x00\x00\x02"
    error = refused(Decoder(Keys()).decode_capture(apdu))
    assert "an array" in str(error)


def test_refused_every_time_also_once_the_layout_is_learnt() -> None:
    elements = [octets(LDN), u32(1), u32(2)]
    decoder = Decoder(Keys(), country="SI")
    for _ in range(3):
        refused(decoder.decode_capture(notification(elements)))


def test_every_layout_is_proven_by_a_real_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[str] = set()
    original = layouts.find_layout

    def spy(found_values: Any, types: Any) -> layouts.PositionalLayout | None:
        layout = original(found_values, types)
        if layout is not None:
            used.add(layout.name)
        return layout

    monkeypatch.setattr("han.dlms.lists.find_layout", spy)
    for vid, item in VECTORS.items():
        if item["expected"] and item.get("bytes_hex") and item["transport"] != "dsmr-encrypted":
            decode(vid)  # a fresh decoder: every body is walked, none replayed
    assert used == {layout.name for layout in layouts.LAYOUTS}


# -- Property: any list that matches no layout is refused, never published -------------------

_TEXTS = (b"ISK1030789375606", b"ISK84605887", b"KFM_001", b"84605887", b"16820005", b"")
_ELEMENT = st.one_of(
    st.integers(0, 2**32 - 1).map(u32),
    st.integers(0, 2**16 - 1).map(u16),
    st.integers(0, 255).map(u8),
    st.integers(0, 255).map(enum),
    st.booleans().map(boolean),
    st.sampled_from(_TEXTS).map(octets),
    st.binary(max_size=20).filter(lambda b: len(b) != 6).map(octets),
    st.sampled_from(("KFM_001", "MA304H3E", "6970631402614476")).map(visible),
)


def _known_shapes() -> list[list[Element]]:
    """Bodies of the known layouts' shapes, to mutate into near matches."""
    iskra = [octets(LDN), octets(b"16820005")] + [u32(1)] * 4 + [u16(2301)] * 3
    iskra += [u16(100)] * 3 + [u32(10)] * 6
    quarter = [octets(LDN), octets(b"16820006"), enum(1), octets(b"\x00\x01")] + [u32(5)] * 8
    celje = [octets(LDN), visible("UP_3f")] + [u16(2301)] * 3 + [u16(100)] * 3 + [u32(7)] * 4
    kaifa = [visible("KFM_001"), visible("6970631402614476"), visible("MA304H3E")]
    kaifa += [u32(1)] * 4 + [u32(1000)] * 3 + [u32(2301)] * 3
    counters = [octets(b"84605887"), u8(0), u32(100), u32(0)]
    return [iskra, quarter, celje, kaifa, counters, [u32(500)]]


@st.composite
def _near_match(draw: st.DrawFn) -> list[Element]:
    body = list(draw(st.sampled_from(_known_shapes())))
    index = draw(st.integers(0, len(body)))
    action = draw(st.sampled_from(("replace", "delete", "insert")))
    if action == "insert" or not body:
        body.insert(index, draw(_ELEMENT))
    elif action == "delete":
        del body[min(index, len(body) - 1)]
    else:
        body[min(index, len(body) - 1)] = draw(_ELEMENT)
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_ELEMENT, max_size=40), _near_match()))
def test_any_list_that_matches_no_layout_is_refused(elements: list[Element]) -> None:
    shape = tuple(e[1] for e in elements)
    python_values = tuple(e[2] for e in elements)
    layout = layouts.find_layout(python_values, shape)
    results = Decoder(Keys(), country="SI").decode_capture(notification(elements))
    (result,) = results
    if layout is None:
        error = refused(results)
        assert f"{len(elements)} elements" in str(error)
        return
    # A known shape: decoded by its layout (random values may still be impossible ones).
    if isinstance(result, Rejected):
        assert isinstance(result.error, ImplausibleError)
        return
    published = set(result.readings)
    assert published <= {field.obis for field in layout.fields if field.obis}


def test_the_counter_list_needs_an_eight_digit_serial() -> None:
    decoder = Decoder(Keys(), country="SI")
    good = [visible("84605887"), u8(0), u32(7924641), u32(0)]
    (found,) = decoder.decode_capture(notification(good))
    assert isinstance(found, Message)
    assert found.readings["1-0:1.8.0"].value == 7924641
    for serial in (octets(b"8460588A"), visible("846058870")):
        refused(decoder.decode_capture(notification([serial, *good[1:]])))
