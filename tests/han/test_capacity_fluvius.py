"""Fluvius' own capacity registers (1.4.0, 1.6.0, 98.1.0) from real telegrams vs the tracker.

The telegrams are dsmr_parser's and dsmr-reader's test telegrams (tests/fixtures/dsmr.jsonl),
decoded by the library's own P1 decoder. The tracker is fed a synthetic day that ends in the
telegram's own register values, shaped so that its peak and its current quarter are what the
meter reports: the comparison must agree, and must report (not raise) when they differ.
"""

from __future__ import annotations

from datetime import datetime
import itertools
import json
from typing import TYPE_CHECKING

import pytest

from han.capacity import (
    FLANDERS,
    CapacityTracker,
    ImportRegister,
    MonthRecord,
    compare_fluvius,
    meter_history,
    net_power_w,
)
from han.capacity.clock import month_index
from han.decoder import Decoder
from han.model import Message, Reading
from han.p1_parse import parse_telegram
from hanport_dev.simulator import with_crc
from tests.common import load, vector, wire

if TYPE_CHECKING:
    from collections.abc import Mapping

TZ = "Europe/Brussels"


def decode(vector_id: str) -> Message:
    results = Decoder(country="BE").feed(wire(vector("dsmr", vector_id)), final=True)
    assert len(results) == 1
    assert isinstance(results[0], Message)
    return results[0]


def peak_time(vector_id: str) -> datetime:
    return datetime.fromisoformat(
        vector("dsmr", vector_id)["expected"]["1-0:1.6.0"]["timestamp_utc"]
    )


def day_ending_in(message: Message, peak_end: datetime, peak_w: float, demand_w: float):
    """A tracker fed one day at 10-s frames ending in the telegram's own register reading.

    Base load 400 W; the quarter ending at ``peak_end`` at ``peak_w``; the current quarter at
    the power that makes its energy so far over 15 minutes equal ``demand_w``.
    """
    assert message.timestamp is not None
    end = message.timestamp.timestamp()
    register = ImportRegister()
    total = register.energy_wh(message.readings)
    assert total is not None
    quarter = end - (end % 900)
    elapsed = end - quarter
    current = demand_w * 900 / elapsed
    peak_start = peak_end.timestamp() - 900
    start = end - end % 86400 - 3600  # local midnight (CET)

    def power(t: float) -> float:
        if peak_start <= t < peak_start + 900:
            return peak_w
        return current if t >= quarter else 400.0

    # Frames every 10 s from midnight, then the telegram: its register is the last reading.
    times = [float(t) for t in range(int(start), int(end), 10)] + [end]
    energy = [0.0]
    for a, b in itertools.pairwise(times):
        energy.append(energy[-1] + power(a) * (b - a) / 3600)
    tracker = CapacityTracker(FLANDERS, TZ)
    for t, e in zip(times, energy, strict=True):
        tracker.feed(t, round(total - energy[-1] + e), power(t))
    return tracker


def test_import_register_sums_the_tariff_registers_of_a_belgian_telegram() -> None:
    message = decode("dr_fluvius_with_peak_data")
    register = ImportRegister()
    assert register.energy_wh(message.readings) == 143608 + 170853
    assert register.keys == ("1-0:1.8.1", "1-0:1.8.2")
    assert net_power_w(message.readings) == 182
    partial = {k: v for k, v in message.readings.items() if k != "1-0:1.8.2"}
    assert register.energy_wh(partial) is None  # never a sum of other registers


def test_import_register_prefers_the_total_when_the_meter_sends_one() -> None:
    message = decode("dp_eon_hu")  # 1.8.0 and four tariff registers
    register = ImportRegister()
    assert register.energy_wh(message.readings) == 173640
    assert register.keys == ("1-0:1.8.0",)
    assert net_power_w(message.readings) == -2601  # exporting


def test_import_register_of_a_nordic_hourly_list() -> None:
    items = [v for v in load("nordic") if "1-0:1.8.0" in v["expected"]]
    for item in items:
        decoded = Decoder(country=item.get("country")).decode_capture(wire(item))
        message = next((m for m in decoded if isinstance(m, Message)), None)
        if message is not None and "1-0:1.8.0" in message.readings:
            break
    else:
        pytest.fail("no Nordic vector with 1-0:1.8.0 decodes")
    expected = item["expected"]["1-0:1.8.0"]
    factor = 1000 if expected["unit"] == "kWh" else 1
    assert ImportRegister().energy_wh(message.readings) == pytest.approx(expected["value"] * factor)
    empty: Mapping[str, Reading] = {}
    assert ImportRegister().energy_wh(empty) is None
    assert net_power_w(empty) is None


def test_meter_history_from_98_1_0() -> None:
    message = decode("dp_fluvius_v171_alt")
    records = meter_history(message.readings, TZ, FLANDERS)
    # July 2023 has no peak (invalid time 632525252525W): left out, never guessed.
    assert [(r.month, r.peak_w, r.value_w) for r in records] == [
        (month_index(2023, 8), 1862.0, 2500.0),  # below the 2.5 kW floor
        (month_index(2023, 9), 4229.0, 4229.0),
        (month_index(2023, 10), 4927.0, 4927.0),
    ]
    assert records[2].peak_start == datetime.fromisoformat("2023-10-16T12:45:00+02:00").timestamp()
    assert all(r.source == "meter" for r in records)
    hungarian = decode("dp_eon_hu")  # another 98.1.0 layout: not Fluvius' history
    assert meter_history(hungarian.readings, TZ, FLANDERS) == []


def test_seeded_history_makes_the_rolling_mean() -> None:
    message = decode("dp_fluvius_v171_alt")
    tracker = day_ending_in(message, peak_time("dp_fluvius_v171_alt"), 3064.0, 52.0)
    for record in meter_history(message.readings, TZ, FLANDERS):
        tracker.add_history(record)
    status = tracker.status()
    assert status is not None
    assert status.month_value_w == pytest.approx(3064.0, abs=4)  # November so far
    assert status.billed_months == 4  # August-October from the meter, November live
    assert status.billed_w == pytest.approx((2500 + 4229 + 4927 + status.month_value_w) / 4)


@pytest.mark.parametrize(
    ("vector_id", "peak_w", "demand_w"),
    [("dr_fluvius_with_peak_data", 1566.0, 78.0), ("dp_fluvius_v171_alt", 3064.0, 52.0)],
)
def test_meter_registers_agree_with_the_tracker(vector_id, peak_w, demand_w) -> None:
    message = decode(vector_id)
    assert message.readings["1-0:1.6.0"].value == peak_w
    assert message.readings["1-0:1.4.0"].value == demand_w
    when = peak_time(vector_id)
    tracker = day_ending_in(message, when, peak_w, demand_w)
    checks = compare_fluvius(message.readings, tracker, peak_time=when)
    by_register = {c.register: c for c in checks}
    assert by_register["1-0:1.6.0"].ok
    assert by_register["1-0:1.6.0"].note == "matches, time is the interval end"
    assert by_register["1-0:1.4.0"].ok
    assert by_register["1-0:1.4.0"].note == "matches the energy so far per interval"


def test_a_different_peak_is_reported_not_raised() -> None:
    message = decode("dr_fluvius_with_peak_data")
    when = peak_time("dr_fluvius_with_peak_data")
    tracker = day_ending_in(message, when, 2200.0, 400.0)  # the tracker saw another day
    checks = {c.register: c for c in compare_fluvius(message.readings, tracker, peak_time=when)}
    assert not checks["1-0:1.6.0"].ok
    assert checks["1-0:1.6.0"].note == "differs"
    assert checks["1-0:1.6.0"].computed == pytest.approx(2200.0, abs=8)
    assert not checks["1-0:1.4.0"].ok
    assert checks["1-0:1.4.0"].note == "matches neither reading"


def test_peak_time_that_is_neither_end_nor_start() -> None:
    message = decode("dr_fluvius_with_peak_data")
    when = peak_time("dr_fluvius_with_peak_data")
    tracker = day_ending_in(message, when, 1566.0, 78.0)
    odd = datetime.fromtimestamp(when.timestamp() + 60, when.tzinfo)
    check, peak = compare_fluvius(message.readings, tracker, peak_time=odd)
    assert check.register == "1-0:1.4.0"
    assert (peak.register, peak.ok) == ("1-0:1.6.0", False)
    assert peak.note == "value matches, time differs"
    start = datetime.fromtimestamp(when.timestamp() - 900, when.tzinfo)
    peak = compare_fluvius(message.readings, tracker, peak_time=start)[1]
    assert (peak.ok, peak.note) == (True, "matches, time is the interval start")


def test_98_1_0_against_the_tracked_months() -> None:
    message = decode("dp_fluvius_v171_alt")
    tracker = day_ending_in(message, peak_time("dp_fluvius_v171_alt"), 3064.0, 52.0)
    tracker.add_history(MonthRecord(month_index(2023, 10), 4927.0, 4927.0, None))
    tracker.add_history(MonthRecord(month_index(2023, 9), 4100.0, 4100.0, None))
    history = [c for c in compare_fluvius(message.readings, tracker) if c.register == "0-0:98.1.0"]
    assert [(c.note, c.ok) for c in history] == [("month 2023-09", False), ("month 2023-10", True)]


def test_a_tracker_started_after_the_peak_is_not_a_mismatch() -> None:
    message = decode("dr_fluvius_with_peak_data")
    assert message.timestamp is not None
    end = message.timestamp.timestamp()
    total = ImportRegister().energy_wh(message.readings)
    assert total is not None
    tracker = CapacityTracker(FLANDERS, TZ)
    for k in range(200, -1, -1):  # the last 2000 s at 500 W
        tracker.feed(end - 10 * k, total - round(500 * 10 * k / 3600), 500.0)
    checks = {c.register: c for c in compare_fluvius(message.readings, tracker)}
    assert checks["1-0:1.6.0"].ok
    assert checks["1-0:1.6.0"].note == "the tracker started after this month's peak"
    early = compare_fluvius(message.readings, tracker, at=end - end % 900 + 10)
    assert early[0].note == "too early to tell"
    assert compare_fluvius(message.readings, CapacityTracker(FLANDERS, TZ)) == []


def test_unusable_registers_are_skipped() -> None:
    def readings(history: object, **others: tuple[object, str | None]) -> dict[str, Reading]:
        out = {"0-0:98.1.0": Reading("0-0:98.1.0", history, None)}
        out.update({k.replace("_", ":"): Reading(k, v, u) for k, (v, u) in others.items()})
        return out

    for bad in ("not json", '{"no": 1}', '{"entries": 5}', 7):
        assert meter_history(readings(bad), TZ, FLANDERS) == []
    odd = json.dumps({"entries": [5, ["2023-02-01T00:00:00+01:00", "x", True], [1, 2, 3]]})
    assert meter_history(readings(odd), TZ, FLANDERS) == []
    register = ImportRegister()
    assert register.energy_wh({"1-0:1.8.0": Reading("1-0:1.8.0", "12", "Wh")}) is None
    assert register.energy_wh({"1-0:1.8.0": Reading("1-0:1.8.0", float("nan"), "Wh")}) is None
    assert register.energy_wh({"1-0:1.8.0": Reading("1-0:1.8.0", 12, "kWh")}) is None
    assert net_power_w({"1-0:1.7.0": Reading("1-0:1.7.0", value=True, unit="W")}) is None
    tracker = CapacityTracker(FLANDERS, TZ)
    tracker.feed(1.7e9, 100)
    text = {"1-0:1.4.0": Reading("1-0:1.4.0", "12", "W")}
    assert compare_fluvius(text, tracker) == []


@pytest.mark.parametrize(
    "vector_id",
    [
        "dp_fluvius_v171",
        "dp_fluvius_v171_alt",
        "dr_fluvius_multiple_gas_devices",
        "dr_fluvius_with_peak_data",
    ],
)
def test_month_peak_keeps_its_capture_time(vector_id: str) -> None:
    """1-0:1.6.0's time (the second group of the line) is the reading's ``captured``."""
    peak = decode(vector_id).readings["1-0:1.6.0"]
    assert peak.captured == peak_time(vector_id)
    assert peak.captured is not None
    assert peak.captured.utcoffset() is not None  # S/W told the offset
    expected = vector("dsmr", vector_id)["expected"]["1-0:1.6.0"]
    assert peak.value == expected["value"] * 1000  # the value is unchanged


def test_capture_time_of_sub_meters_and_invalid_times() -> None:
    message = decode("dp_fluvius_v171")  # gas 0-2:24.2.1(200512134558S)(00872.234*m3)
    gas = message.readings["0-2:24.2.1"]
    assert gas.captured == datetime.fromisoformat("2020-05-12T13:45:58+02:00")
    assert message.readings["1-0:1.8.1"].captured is None  # no time on the line
    # Fluvius sends an invalid time for "no peak yet": the value stays, the time is None.
    text = wire(vector("dsmr", "dp_fluvius_v171")).decode("latin-1")
    odd = text.replace("1-0:1.6.0(200509134558S)", "1-0:1.6.0(632525252525W)")
    peak = parse_telegram(odd.encode("latin-1"), country="BE").readings["1-0:1.6.0"]
    assert (peak.value, peak.captured) == (2589, None)
    # The capture time is not part of the reading's value: equal readings compare equal.
    assert peak == Reading("1-0:1.6.0", 2589, "W")


def _with_history(line: str) -> Message:
    """The real dsmr-reader Fluvius telegram with its 0-0:98.1.0 line replaced (CRC fixed)."""
    import re

    text = wire(vector("dsmr", "dr_fluvius_with_peak_data")).decode("latin-1")
    body = re.sub(r"0-0:98\.1\.0\([^\r]*", lambda _m: "0-0:98.1.0" + line, text)
    body = body[: body.rindex("!") + 1]
    results = Decoder(country="BE").feed(with_crc(body.encode("latin-1")), final=True)
    message = next(r for r in results if isinstance(r, Message))
    assert "0-0:98.1.0" in message.readings
    return message


@pytest.mark.parametrize(
    "odd",
    [
        "(ABC)(230114124500W)(03.332*kW)",  # a month stamp that is no time
        "(1234)(230114124500W)(03.332*kW)",
        "(230201000000W)(XYZ)(03.332*kW)",  # a peak time that is no time
        "(230201000000W)(230114124500W)(9e99)",  # no number with a unit
    ],
)
def test_an_odd_98_1_0_entry_is_skipped_the_others_kept(odd: str) -> None:
    """Each entry is read on its own: one that does not parse never makes the reader raise."""
    good = "(230301000000W)(230214124500W)(04.100*kW)"
    line = f"(2)(1-0:1.6.0)(1-0:1.6.0){odd}{good}"
    records = meter_history(_with_history(line).readings, TZ, FLANDERS)
    assert [(r.month, r.peak_w) for r in records] == [(month_index(2023, 2), 4100.0)]
    only = meter_history(_with_history(f"(1)(1-0:1.6.0)(1-0:1.6.0){odd}").readings, TZ, FLANDERS)
    assert only == []


def test_meter_history_entries_checked_one_by_one() -> None:
    def history(*entries: object) -> dict[str, Reading]:
        value = json.dumps({"entries": list(entries)})
        return {"0-0:98.1.0": Reading("0-0:98.1.0", value, None)}

    good = ["2023-03-01T00:00:00+01:00", "2023-02-14T12:45:00+01:00", 4100]
    odd = [
        ["ABC", "2023-02-14T12:45:00+01:00", 3332],
        ["2023-03-01T00:00:00+01:00", "nope", 3332],
        ["2023-03-01T00:00:00+01:00", "2023-02-14T12:45:00+01:00", -5],
        ["2023-03-01T00:00:00+01:00", "2023-02-14T12:45:00+01:00", 1e99],
        ["9999-12-31T23:59:59+00:00", "2023-02-14T12:45:00+01:00", 10],  # beyond datetime
    ]
    records = meter_history(history(*odd, good), TZ, FLANDERS)
    assert [(r.month, r.peak_w) for r in records] == [(month_index(2023, 2), 4100.0)]
    # Stamps without an offset are the rule's local time; the CT scale multiplies the peak.
    naive = ["2023-03-01T00:00:00", "2023-02-14T12:45:00", 4100]
    (record,) = meter_history(history(naive), TZ, FLANDERS, scale=2)
    assert (record.month, record.peak_w, record.value_w) == (month_index(2023, 2), 8200.0, 8200.0)
    assert record.peak_start == datetime.fromisoformat("2023-02-14T12:30:00+01:00").timestamp()


def test_the_meter_month_peak_in_watts() -> None:
    from han.capacity.fluvius import month_peak_w

    message = decode("dr_fluvius_with_peak_data")
    assert month_peak_w(message.readings) == 1566.0  # 1-0:1.6.0(...)(01.566*kW)
    assert month_peak_w(message.readings, 10) == 15660.0
    assert month_peak_w({}) is None
    assert month_peak_w({"1-0:1.6.0": Reading("1-0:1.6.0", -1.0, "W")}) is None
    assert month_peak_w({"1-0:1.6.0": Reading("1-0:1.6.0", float("inf"), "W")}) is None
