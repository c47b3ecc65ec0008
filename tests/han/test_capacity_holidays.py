"""Swedish public holidays (SFS 1989:253) and the rules that leave them out."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from han.capacity import SWEDEN_WEEKDAY_DAYTIME, CapacityRule
from han.capacity.clock import LocalClock
from han.capacity.holidays import easter_sunday, is_holiday, swedish_holidays

#: Easter Sundays from published tables (e.g. the Swedish almanac): early, late, ordinary.
EASTER = {
    1818: date(1818, 3, 22),  # the earliest possible
    1943: date(1943, 4, 25),  # the latest possible
    2024: date(2024, 3, 31),
    2025: date(2025, 4, 20),
    2026: date(2026, 4, 5),
    2027: date(2027, 3, 28),
    2038: date(2038, 4, 25),
}


@pytest.mark.parametrize(("year", "expected"), EASTER.items())
def test_easter_sunday(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_swedish_holidays_2025() -> None:
    assert sorted(swedish_holidays(2025)) == [
        date(2025, 1, 1),  # nyårsdagen
        date(2025, 1, 6),  # trettondedag jul
        date(2025, 4, 18),  # långfredagen
        date(2025, 4, 20),  # påskdagen
        date(2025, 4, 21),  # annandag påsk
        date(2025, 5, 1),  # första maj
        date(2025, 5, 29),  # Kristi himmelsfärdsdag
        date(2025, 6, 6),  # nationaldagen
        date(2025, 6, 8),  # pingstdagen
        date(2025, 6, 21),  # midsommardagen (Saturday 20-26 June)
        date(2025, 11, 1),  # alla helgons dag (Saturday 31 Oct - 6 Nov)
        date(2025, 12, 25),  # juldagen
        date(2025, 12, 26),  # annandag jul
    ]
    # The eves are not public holidays by the law: they count (the safe side).
    for eve in (date(2025, 6, 20), date(2025, 12, 24), date(2025, 12, 31)):
        assert not is_holiday("SE", eve)
    with pytest.raises(ValueError, match="no public holidays"):
        is_holiday("NO", date(2025, 5, 17))


def test_weekday_rule_leaves_out_holidays_but_not_ordinary_weekdays() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    clock = LocalClock(SWEDEN_WEEKDAY_DAYTIME, "Europe/Stockholm")

    def counts(rule_clock: LocalClock, *when: int) -> bool:
        start = datetime(*when, tzinfo=tz).timestamp()  # type: ignore[misc]
        return rule_clock.info(start).counts

    assert not counts(clock, 2025, 4, 18, 10)  # Good Friday, 10:00
    assert not counts(clock, 2025, 5, 29, 10)  # Ascension Day (a Thursday)
    assert counts(clock, 2025, 4, 17, 10)  # Maundy Thursday: a working day
    assert counts(clock, 2025, 12, 24, 10)  # Christmas Eve counts (not a public holiday)
    assert not counts(clock, 2025, 4, 17, 19)  # 19:00 is outside 07-19
    no_holidays = CapacityRule.from_dict({**SWEDEN_WEEKDAY_DAYTIME.to_dict(), "holidays": None})
    assert counts(LocalClock(no_holidays, "Europe/Stockholm"), 2025, 4, 18, 10)


def test_holidays_round_trip_and_validation() -> None:
    data = SWEDEN_WEEKDAY_DAYTIME.to_dict()
    assert data["holidays"] == "SE"
    assert CapacityRule.from_dict(data) == SWEDEN_WEEKDAY_DAYTIME
    del data["holidays"]  # a rule stored before holidays existed
    assert CapacityRule.from_dict(data).holidays is None
    with pytest.raises(ValueError, match="holidays must be one of"):
        CapacityRule(key="x", holidays="XX")
