"""Public holidays a capacity rule can leave out ("weekdays, public holidays excluded").

Sweden: the public holidays of the law on public holidays, SFS 1989:253 (lag om allmänna
helgdagar, https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/
lag-1989253-om-allmanna-helgdagar_sfs-1989-253/): New Year's Day, Epiphany, Good Friday,
Easter Sunday and Monday, 1 May, Ascension Day, Whit Sunday, National Day (6 June), Midsummer
Day (the Saturday from 20 to 26 June), All Saints' Day (the Saturday from 31 October to
6 November), Christmas Day and Boxing Day.

Midsummer Eve, Christmas Eve and New Year's Eve are not public holidays by that law, although
most people have them off. Whether a grid operator's "helgfria vardagar" leaves them out too is
not stated in the sources we have: they are counted. That errs on the safe side: a day counted
that the operator leaves out can only make the tracked value higher, and a budget lower, than
the bill's, never the other way round.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Final

__all__ = ["COUNTRIES", "easter_sunday", "is_holiday", "swedish_holidays"]

#: Countries whose holidays are known here (``CapacityRule.holidays``).
COUNTRIES: Final = frozenset({"SE"})


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm (Meeus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _saturday_between(first: date) -> date:
    """The Saturday in the seven days from ``first``."""
    return first + timedelta(days=(5 - first.weekday()) % 7)


@lru_cache(maxsize=16)
def swedish_holidays(year: int) -> frozenset[date]:
    """Sweden's public holidays of ``year`` (SFS 1989:253)."""
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),  # nyårsdagen
            date(year, 1, 6),  # trettondedag jul
            easter - timedelta(days=2),  # långfredagen
            easter,  # påskdagen
            easter + timedelta(days=1),  # annandag påsk
            date(year, 5, 1),  # första maj
            easter + timedelta(days=39),  # Kristi himmelsfärdsdag
            easter + timedelta(days=49),  # pingstdagen
            date(year, 6, 6),  # Sveriges nationaldag
            _saturday_between(date(year, 6, 20)),  # midsommardagen
            _saturday_between(date(year, 10, 31)),  # alla helgons dag
            date(year, 12, 25),  # juldagen
            date(year, 12, 26),  # annandag jul
        }
    )


def is_holiday(country: str, day: date) -> bool:
    """Whether ``day`` is a public holiday in ``country`` (one of ``COUNTRIES``)."""
    if country == "SE":
        return day in swedish_holidays(day.year)
    msg = f"no public holidays known for {country!r}"
    raise ValueError(msg)
