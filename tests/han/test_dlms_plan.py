"""Layouts and programs: a body seen before is read by its layout and replayed, never guessed.

Every test compares the planned path with the ordinary decode and walk on real fixture frames,
also after changing the frames' numbers and clocks the way the next push of a meter would.
What is learnt belongs to one ``LayoutCache`` (one per meter's decoder): each test has its own.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest

from han.decoder import Decoder
from han.dlms import (
    apdu,
    axdr,
    builder,
    lists,
    plan,
    programs as compiled,
    scaling,
    session,
    shape,
)
from han.dlms.plan import LayoutCache
from han.model import (
    HanError,
    Message,
    UnknownLayoutError,
    UnsupportedError,
)
from han.replay import ReplayGuard
from tests.common import keys_of

from .test_dlms_vectors import POSITIVE, VECTORS, check_expected

AIDON_CLOCK = "amshan-aidon-no-list-3"  # array of {OBIS, value, {scaler, unit}} with a clock
KAIFA_CLOCK = "amshan-kaifa-no-list-3"  # positional list with a clock
KAMSTRUP_CLOCK = "amshan-kamstrup-no-list-2-three-phase"  # OBIS/value pairs, clock
ISKRA = "amsreader-iskraemeco-gh615-1"  # positional list with 0.1 V voltages
CAPTURE_LIST = "amsreader-landis-gyr-gh934-1"  # push-object list first: numbers decide
AUSTRIA = "at-netznoe-kaifa-ma309-mbus-sc20"  # encrypted without tag: strict parse
#: Positive vectors whose body starts with a push-object list (L+G CII).
PUSH_OBJECT_LISTS = {"amsreader-landis-gyr-gh740", "amsreader-landis-gyr-gh934-1"}


def vector(vid: str) -> dict[str, Any]:
    return next(v for v in VECTORS if v["id"] == vid)


@pytest.fixture
def layouts() -> LayoutCache:
    """The layouts one meter has taught (what its decoder's DLMS session keeps)."""
    return LayoutCache()


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Outcomes of every program run (True: replayed, False: a 12-byte field disagreed)."""
    seen: list[bool] = []
    original = compiled.Program.run

    def run(self: Any, builder: Any, values: tuple[Any, ...]) -> bool:
        seen.append(original(self, builder, values))
        return seen[-1]

    monkeypatch.setattr(compiled.Program, "run", run)
    return seen


def plaintexts(vid: str, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The data-notification APDUs (decrypted) inside a vector's frames."""
    found: list[bytes] = []
    original = session.parse_notification

    def spy(data: bytes, *, strict: bool, layouts: LayoutCache) -> apdu.Notification:
        found.append(bytes(data))
        return original(data, strict=strict, layouts=layouts)

    with monkeypatch.context() as patch:
        patch.setattr(session, "parse_notification", spy)
        item = vector(vid)
        Decoder(keys_of(item), country=item.get("country")).decode_capture(
            bytes.fromhex(item["bytes_hex"])
        )
    return found


def body_start(data: bytes) -> int:
    """Where a data-notification's body starts (after invoke id and date-time)."""
    return {0x00: 6, 0x0C: 18}.get(data[5], 19)


def outcome(body: Any, country: str | None, maker: str | None = None) -> Any:
    """Everything ``apply_body`` decides, or the error it raises."""
    message = builder.new_message(0)
    ctx = scaling.ListContext(maker, country)
    try:
        lists.apply_body(message, body, ctx)
    except HanError as err:
        return type(err), str(err)
    return summary(message), ctx.maker


def summary(message: Message) -> Any:
    """Readings (with value types, in order), identity and time of a message."""
    readings = [(r.obis, type(r.value), r.value, r.unit) for r in message.readings.values()]
    return readings, message.meter, message.timestamp


def walked(data: bytes, country: str | None, maker: str | None = None) -> Any:
    """The ordinary path: decode the body (a structure knows its bytes), then walk it."""
    start = body_start(data)
    return outcome(shape.sourced(axdr.decode(data, start)[0], data, start), country, maker)


def planned(
    data: bytes, layouts: LayoutCache, country: str | None, maker: str | None = None
) -> Any:
    """The path a push takes: parse (a learnt layout gives ``Planned``), then apply."""
    body = apdu.parse_notification(data, strict=False, layouts=layouts).body
    return outcome(body, country, maker)


def form_of(data: bytes, layouts: LayoutCache) -> plan.Form:
    (form,) = (f for f in layouts.forms[body_start(data), len(data)] if f.match(data))
    return form


def with_field(data: bytes, form: plan.Form, index: int, raw: bytes) -> bytes:
    offset, _ = form.fields[index]
    return data[:offset] + raw + data[offset + len(raw) :]


def programs(layouts: LayoutCache) -> list[Any]:
    """Every compiled program (None: the layout's walk cannot be replayed)."""
    return [
        program
        for forms in layouts.forms.values()
        for form in forms
        for layout in form.layouts.values()
        for program in layout.programs.values()
    ]


def clock_index(form: plan.Form) -> int:
    (index,) = (i for i, (_, code) in enumerate(form.fields) if code[-1] == "s")
    return index


@pytest.mark.parametrize("item", POSITIVE, ids=lambda v: v["id"])
def test_repeated_frames_are_replayed_and_still_right(
    item: dict[str, Any], runs: list[bool]
) -> None:
    raw = bytes.fromhex(item["bytes_hex"])
    decoder = Decoder(keys_of(item), country=item.get("country"))
    first = decoder.decode_capture(raw)
    assert not runs
    # Another meter's decoder has learnt nothing from this one: it walks.
    other = Decoder(keys_of(item), country=item.get("country")).decode_capture(raw)
    assert not runs
    decoder.replay = ReplayGuard()  # the same frame again: not a replay attack here
    again = decoder.decode_capture(raw)
    if item["id"] in PUSH_OBJECT_LISTS:
        assert not runs  # the walk reads class ids and attributes: never replayed
    else:
        assert runs
        assert all(runs)
    assert check_expected(item, again) == []
    assert [summary(m) for m in again if isinstance(m, Message)] == [
        summary(m) for m in first if isinstance(m, Message)
    ]
    assert [summary(m) for m in other if isinstance(m, Message)] == [
        summary(m) for m in first if isinstance(m, Message)
    ]


@pytest.mark.parametrize("vid", [AIDON_CLOCK, KAIFA_CLOCK, KAMSTRUP_CLOCK, ISKRA, AUSTRIA])
def test_next_pushes_with_other_numbers_and_clocks_match_the_walk(
    vid: str, runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(vid, monkeypatch)
    country = vector(vid).get("country")
    assert planned(data, layouts, country) == walked(data, country)  # learns the layout
    form = form_of(data, layouts)
    rng = random.Random(vid)
    for _ in range(40):
        push = data
        for index, (_, code) in enumerate(form.fields):
            size = struct.calcsize(">" + code)
            if code[-1] != "s":
                push = with_field(push, form, index, rng.randbytes(size))
                continue
            old = form.read(data)[index]
            if rng.random() < 0.1:  # not a date-time (any more): the walk decides again
                push = with_field(push, form, index, b"KFM_001ABCDE")
            elif builder.parse_datetime(old) is not None:  # the next clock
                clock = bytearray(old)
                clock[5:8] = rng.randrange(24), rng.randrange(60), rng.randrange(60)
                push = with_field(push, form, index, bytes(clock))
        assert planned(push, layouts, country) == walked(push, country)
        assert planned(push, layouts, country, "Kamstrup") == walked(push, country, "Kamstrup")
    assert runs.count(True) > 40
    assert any(form.layouts[form.fixed(data)].programs.values())


def test_real_values_of_a_replayed_push(
    monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(KAIFA_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    push = with_field(data, form_of(data, layouts), 0, (2500).to_bytes(4))  # 1-0:1.7.0
    body = apdu.parse_notification(push, strict=False, layouts=layouts).body
    assert type(body) is plan.Planned
    assert (
        type(apdu.parse_notification(push, strict=False, layouts=LayoutCache()).body)
        is not plan.Planned
    )
    message = lists.apply_body(builder.new_message(0), body, scaling.ListContext(None, "NO"))
    assert message.readings["1-0:1.7.0"].value == 2500
    assert message.meter.list_id == "KFM_001"
    assert message.meter.meter_id == "6970631402614476"
    assert message.meter.model == "MA304H3E"
    assert message.meter.manufacturer == "Kaifa"
    assert message.timestamp is not None
    assert message.timestamp.hour == 14


def test_other_fixed_bytes_are_decoded_and_walked(
    monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(KAMSTRUP_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    offset = data.index(bytes((1, 1, 1, 7, 0, 0xFF)))  # 1-1:1.7.0 becomes 1-1:2.7.0
    other = data[: offset + 2] + b"\x02" + data[offset + 3 :]
    body = apdu.parse_notification(other, strict=False, layouts=layouts).body
    assert type(body) is not plan.Planned
    assert planned(other, layouts, "NO") == walked(other, "NO")  # learnt a second layout
    assert walked(other, "NO") != walked(data, "NO")


def test_a_pinned_12_byte_field_must_keep_its_value(
    runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(KAIFA_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    form = form_of(data, layouts)
    unset = with_field(data, form, clock_index(form), b"\xff" * 12)  # no date: pinned
    assert planned(unset, layouts, "NO") == walked(unset, "NO")
    assert runs == [True]
    assert planned(data, layouts, "NO") == walked(data, "NO")  # a date where none was pinned
    assert runs == [True, False]


def test_a_capture_list_walk_reads_numbers_and_gets_no_program(runs: list[bool]) -> None:
    item = vector(CAPTURE_LIST)
    raw = bytes.fromhex(item["bytes_hex"])
    decoder = Decoder(keys_of(item), country=item.get("country"))
    (first,) = decoder.decode_capture(raw)
    (again,) = decoder.decode_capture(raw)
    assert not runs
    assert programs(decoder._dlms.layouts) == [None]
    assert isinstance(first, Message)
    assert isinstance(again, Message)
    assert again.readings == first.readings
    assert again.readings["1-0:32.7.0"].value == 234
    assert again.meter.meter_id == "63316890"


def _differs_between_recordings(builder: Any, items: list[Any]) -> None:
    if any(type(item) is int and item >= 1 << 81 for item in items):
        builder.set_meter("model", "second recording")


def _reads_real_numbers(builder: Any, items: list[Any]) -> None:
    if 0 in items:
        builder.set_meter("model", "a zero")


@pytest.mark.parametrize("twist", [_differs_between_recordings, _reads_real_numbers])
def test_a_walker_branching_on_numbers_is_caught(
    twist: Any, runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(KAMSTRUP_CLOCK, monkeypatch)
    original = lists._obis_walk

    def careless(builder: Any, items: list[Any]) -> None:
        original(builder, items)
        twist(builder, items)

    monkeypatch.setattr(lists, "_obis_walk", careless)
    planned(data, layouts, "NO")
    assert planned(data, layouts, "NO") == walked(data, "NO")
    assert not runs
    assert programs(layouts) == [None]
    if twist is _reads_real_numbers:
        assert walked(data, "NO")[0][1].model == "a zero"


def test_a_positional_list_of_unknown_shape_gets_no_program(
    runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(KAIFA_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    form = form_of(data, layouts)
    clock = form.read(data)[clock_index(form)]
    # A positional list that starts with the clock: no layout has that shape.
    push = data[: body_start(data)] + b"\x02\x02\x09\x0c" + clock + b"\x06\x00\x00\x09\xc4"
    refused = walked(push, "NO")
    assert refused[0] is UnknownLayoutError
    assert "2 elements (octet-string[12], double-long-unsigned)" in refused[1]
    assert planned(push, layouts, "NO") == refused
    assert planned(push, layouts, "NO") == refused
    assert not runs
    assert None in programs(layouts)


def test_a_message_with_readings_is_walked(
    runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(AIDON_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    body = apdu.parse_notification(data, strict=False, layouts=layouts).body
    assert type(body) is plan.Planned
    message = builder.new_message(0)
    message.add("0-0:42.0.0", "kept")
    lists.apply_body(message, body, scaling.ListContext(None, "NO"))
    assert not runs
    assert message.readings["0-0:42.0.0"].value == "kept"
    readings, meter, timestamp = summary(message)
    assert walked(data, "NO")[0] == (readings[1:], meter, timestamp)


def test_structures_without_an_obis_code_first_are_not_triples(
    monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    (data,) = plaintexts(AIDON_CLOCK, monkeypatch)
    list_id = bytes((1, 1, 0, 2, 0x81, 0xFF))
    other = data.replace(list_id, list_id[:5] + b"\x00")  # F = 0: not an OBIS code here
    for _ in range(2):
        assert planned(other, layouts, "NO") == walked(other, "NO")
    (readings, meter, _), _ = walked(other, "NO")
    assert meter.list_id == "010100028100"  # read as a leading id, not as 1-1:0.2.129
    assert ("1-0:1.7.0", int, 280, "W") in readings  # the vector's expected value
    assert meter.list_id != walked(data, "NO")[0][1].list_id  # "AIDON_V0001" there


def test_a_body_that_is_not_a_list_is_refused_every_time(layouts: LayoutCache) -> None:
    data = bytes.fromhex("0f000000010006000009c4")  # the body is one uint32, no list
    for _ in range(3):
        body = apdu.parse_notification(data, strict=True, layouts=layouts).body
        with pytest.raises(UnsupportedError):
            lists.apply_body(builder.new_message(0), body, scaling.ListContext(None, None))
    assert type(body) is plan.Planned
    assert programs(layouts) == [None]


def test_bodies_without_fields_and_other_buffers_are_only_decoded(layouts: LayoutCache) -> None:
    text_only = bytes.fromhex("0f0000000100" + "02010a03616263")
    assert apdu.parse_notification(text_only, strict=True, layouts=layouts).body == ("abc",)
    assert (6, len(text_only)) not in layouts.forms
    data = bytes.fromhex("0f0000000100" + "020106000009c4")
    assert layouts.decode(bytearray(data), 6) == ((2500,), len(data))  # type: ignore[arg-type]
    assert not layouts.forms


def test_layouts_are_bounded(monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache) -> None:
    header = bytes.fromhex("0f0000000100")
    signed = header + bytes.fromhex("020105fffffffe")
    unsigned = header + bytes.fromhex("02010600000002")
    monkeypatch.setattr(plan, "MAX_FORMS", 1)
    layouts.decode(signed, 6)
    layouts.decode(unsigned, 6)
    ((form,),) = layouts.forms.values()
    assert form.fields == ((9, "I"),)  # the form of the signed body made way
    assert layouts.decode(signed, 6) == ((-2,), len(signed))
    monkeypatch.setattr(plan, "MAX_KEYS", 1)
    dated = header[:5] + b"\x0c" + bytes(12) + unsigned[6:]
    layouts.decode(dated, 18)
    assert list(layouts.forms) == [(18, len(dated))]
    texts = [header + b"\x02\x02\x0a\x01" + bytes((c,)) + b"\x06\x00\x00\x00\x02" for c in b"abc"]
    monkeypatch.setattr(plan, "MAX_LAYOUTS", 2)
    for data in texts:
        layouts.decode(data, 6)
        assert layouts.layouts <= 2
    monkeypatch.setattr(plan, "MAX_LEARNT", 2)
    layouts = LayoutCache()
    for data in texts:
        layouts.decode(data, 6)
    ((form,),) = layouts.forms.values()
    assert len(form.layouts) == 2
    assert layouts.decode(texts[2], 6) == (("c", 2), len(texts[2]))  # decoded, not learnt
    assert type(layouts.decode(texts[1], 6)[0]) is plan.Planned


def test_programs_are_bounded(
    runs: list[bool], monkeypatch: pytest.MonkeyPatch, layouts: LayoutCache
) -> None:
    monkeypatch.setattr(compiled, "_MAX_PROGRAMS", 1)
    (data,) = plaintexts(KAMSTRUP_CLOCK, monkeypatch)
    planned(data, layouts, "NO")
    for country in ("NO", "SE", "NO"):
        assert planned(data, layouts, country) == walked(data, country)
    assert runs == [True, True, True]
    form = form_of(data, layouts)
    assert list(form.layouts[form.fixed(data)].programs) == [(None, "NO", None)]


def test_scaling_without_round_equals_rounding() -> None:
    for value in (0, 1, -1, 2354, 145122745, 2**31 - 1, -(2**31), 2**63 - 1, 2**64 - 1):
        for exponent in range(-12, 4):
            expected = value * 10**exponent if exponent >= 0 else round(value / 10**-exponent, 9)
            got = scaling.scale(value, exponent)
            assert got == expected
            assert type(got) is type(expected)
