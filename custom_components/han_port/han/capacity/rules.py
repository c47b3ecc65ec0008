"""Capacity rules as data: which intervals count, how many peaks, the floor, the price steps.

One dataclass describes every rule this package knows (Norway's kapasitetsledd, Flanders'
capaciteitstarief, the Swedish effektavgift variants): they differ only in their numbers.
``to_dict``/``from_dict`` give the JSON-safe form an options flow stores; ``from_dict``
validates, so a hand-edited or corrupt option cannot build an impossible rule.

Step bounds are upper bounds in W, ascending; the last step is open-ended. A monthly value
equal to a bound belongs to the lower step ("0-2 kW" holds 2.0 kW): operators write "0-2,
2-5" without saying which side a bound is on, so this is an assumption (see the package
design note).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
import math
from typing import Any, Final

from .holidays import COUNTRIES

__all__ = [
    "FLANDERS",
    "NORWAY",
    "NORWAY_BKK",
    "NORWAY_LEDE",
    "PRESETS",
    "SE_HOURS",
    "SWEDEN_ELLEVIO",
    "SWEDEN_WEEKDAY_DAYTIME",
    "CapacityRule",
    "ascending",
]

_INTERVALS: Final = (5, 10, 15, 30, 60)
#: The most peaks a rule averages, and the most price steps it has.
MAX_PEAKS: Final = 10
MAX_STEPS: Final = 30
#: Fields that do not change which intervals count or what each weighs: what the month's
#: value is priced at, its floor, the months billed together, and labels. Every other field
#: (a new one too) is part of ``CapacityRule.accounting``.
_NOT_ACCOUNTING: Final = frozenset(
    {"key", "floor_w", "rolling_months", "steps", "step_prices", "currency", "source"}
)
#: Working hours of the Swedish weekday-daytime rules (Sala-Heby Energi: 07-19).
SE_HOURS: Final = (7, 19)


@dataclass(frozen=True, slots=True)
class CapacityRule:
    """How a grid turns a month of interval energies into the capacity value it bills.

    - ``interval_minutes``: length of the averaging interval (15 in Flanders, 60 in NO/SE),
      aligned to the local clock.
    - ``peaks``/``distinct_days``: the value is the mean of the ``peaks`` highest interval
      averages of the month, at most one per local day when ``distinct_days``.
    - ``weekdays_only``/``hours``/``months``/``excluded_dates``/``holidays``: which intervals
      count at all (by the local time the interval starts); ``hours`` is ``(start, end)`` in
      whole local hours, end exclusive, e.g. ``(7, 19)``; with ``weekdays_only``, the public
      holidays of the country ``holidays`` names (``holidays.COUNTRIES``) are left out too.
    - ``night_hours``/``night_weight``: intervals starting in these local hours count with
      this weight (Ellevio counts night hours at half).
    - ``floor_w``: the monthly value is never below this (Flanders: 2500 W).
    - ``rolling_months``: the billed value is the mean of this many monthly values, the
      current month included (Flanders: 12; 1 elsewhere).
    - ``steps``/``step_prices``: price steps (upper bounds in W) and optional prices per step.
    """

    key: str
    interval_minutes: int = 60
    peaks: int = 3
    distinct_days: bool = True
    weekdays_only: bool = False
    hours: tuple[int, int] | None = None
    months: frozenset[int] | None = None
    excluded_dates: frozenset[date] = field(default_factory=frozenset)
    holidays: str | None = None
    night_hours: tuple[int, int] | None = None
    night_weight: float = 1.0
    floor_w: float = 0.0
    rolling_months: int = 1
    steps: tuple[float, ...] = ()
    step_prices: tuple[float | None, ...] = ()
    currency: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        """Refuse a rule that cannot be computed (ValueError says which field)."""
        _check(self)

    @property
    def interval_s(self) -> int:
        """Interval length in seconds."""
        return self.interval_minutes * 60

    def accounting(self) -> tuple[object, ...]:
        """What decides which intervals the rule counts and how (not steps, prices or floor).

        Two rules with equal accounting count the same intervals alike: a tracker's state
        kept under one is valid under the other.
        """
        return tuple(getattr(self, f.name) for f in fields(self) if f.name not in _NOT_ACCOUNTING)

    def step_of(self, value_w: float) -> int:
        """1-based step holding a monthly value (a value on a bound is in the lower step)."""
        for index, upper in enumerate(self.steps):
            if value_w <= upper:
                return index + 1
        return len(self.steps) + 1

    def step_bounds(self, step: int) -> tuple[float, float | None]:
        """(lower, upper) in W of a 1-based step; upper None for the open last step."""
        if not 1 <= step <= len(self.steps) + 1:
            msg = f"step {step} out of range 1..{len(self.steps) + 1}"
            raise ValueError(msg)
        lower = self.steps[step - 2] if step > 1 else 0.0
        upper = self.steps[step - 1] if step <= len(self.steps) else None
        return lower, upper

    def step_price(self, step: int) -> float | None:
        """The configured price of a 1-based step, if any."""
        return self.step_prices[step - 1] if 0 < step <= len(self.step_prices) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (dates as ISO strings, sets as sorted lists)."""
        return {
            "key": self.key,
            "interval_minutes": self.interval_minutes,
            "peaks": self.peaks,
            "distinct_days": self.distinct_days,
            "weekdays_only": self.weekdays_only,
            "hours": list(self.hours) if self.hours else None,
            "months": sorted(self.months) if self.months is not None else None,
            "excluded_dates": sorted(d.isoformat() for d in self.excluded_dates),
            "holidays": self.holidays,
            "night_hours": list(self.night_hours) if self.night_hours else None,
            "night_weight": self.night_weight,
            "floor_w": self.floor_w,
            "rolling_months": self.rolling_months,
            "steps": list(self.steps),
            "step_prices": list(self.step_prices),
            "currency": self.currency,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CapacityRule:
        """Rebuild (and validate) a rule from ``to_dict`` output; ValueError when invalid."""
        try:
            hours = data.get("hours")
            night = data.get("night_hours")
            months = data.get("months")
            return cls(
                key=str(data["key"]),
                interval_minutes=_int(data.get("interval_minutes", 60)),
                peaks=_int(data.get("peaks", 3)),
                distinct_days=bool(data.get("distinct_days", True)),
                weekdays_only=bool(data.get("weekdays_only", False)),
                hours=(_int(hours[0]), _int(hours[1])) if hours else None,
                months=frozenset(_int(m) for m in months) if months is not None else None,
                excluded_dates=frozenset(
                    date.fromisoformat(str(d)) for d in data.get("excluded_dates", ())
                ),
                holidays=None if data.get("holidays") is None else str(data["holidays"]),
                night_hours=(_int(night[0]), _int(night[1])) if night else None,
                night_weight=_num(data.get("night_weight", 1.0)),
                floor_w=_num(data.get("floor_w", 0.0)),
                rolling_months=_int(data.get("rolling_months", 1)),
                steps=tuple(_num(s) for s in data.get("steps", ())),
                step_prices=tuple(
                    None if p is None else _num(p) for p in data.get("step_prices", ())
                ),
                currency=None if data.get("currency") is None else str(data["currency"]),
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError, IndexError) as err:
            msg = f"not a capacity rule: {err!r}"
            raise ValueError(msg) from err


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected an integer, got {value!r}"
        raise TypeError(msg)
    return value


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"expected a number, got {value!r}"
        raise TypeError(msg)
    return float(value)


def _check_hours(name: str, hours: tuple[int, int] | None) -> None:
    if hours is not None and not (0 <= hours[0] <= 24 and 0 <= hours[1] <= 24):
        msg = f"{name} must be whole hours 0..24, got {hours}"
        raise ValueError(msg)


def _check(rule: CapacityRule) -> None:
    if rule.interval_minutes not in _INTERVALS:
        msg = f"interval_minutes must be one of {_INTERVALS}"
        raise ValueError(msg)
    if not 1 <= rule.peaks <= MAX_PEAKS:
        msg = f"peaks must be 1..{MAX_PEAKS}"
        raise ValueError(msg)
    _check_hours("hours", rule.hours)
    if rule.holidays is not None and rule.holidays not in COUNTRIES:
        msg = f"holidays must be one of {sorted(COUNTRIES)} or None"
        raise ValueError(msg)
    _check_hours("night_hours", rule.night_hours)
    if rule.months is not None and not (rule.months and rule.months <= frozenset(range(1, 13))):
        msg = "months must be a non-empty set of 1..12"
        raise ValueError(msg)
    numbers = (rule.night_weight, rule.floor_w, *rule.steps)
    if not all(math.isfinite(n) for n in numbers):
        msg = "weights, floor and steps must be finite"
        raise ValueError(msg)
    if not 0 < rule.night_weight <= 1 or rule.floor_w < 0:
        msg = "night_weight must be in (0, 1] and floor_w >= 0"
        raise ValueError(msg)
    if not 1 <= rule.rolling_months <= 12:
        msg = "rolling_months must be 1..12"
        raise ValueError(msg)
    if len(rule.steps) > MAX_STEPS or not ascending(rule.steps):
        msg = "steps must be positive, strictly ascending upper bounds (at most 30)"
        raise ValueError(msg)
    if len(rule.step_prices) > len(rule.steps) + 1:
        msg = "more step prices than steps"
        raise ValueError(msg)


def ascending(bounds: tuple[float, ...]) -> bool:
    """Positive and strictly ascending (step upper bounds)."""
    return all(a < b for a, b in zip((0.0, *bounds), bounds, strict=False))


#: The ten bands most Norwegian grid companies use (Elvia "Trinn 1-10"; HSEV, Sandøy Energi).
_NO_BANDS: Final = (2e3, 5e3, 10e3, 15e3, 20e3, 25e3, 50e3, 75e3, 100e3)

#: Norway, kapasitetsledd: mean of the three highest hourly energies (kWh/h) on three
#: different days of the calendar month; Elvia's bands, Elvia's prices from 2023-02-01 for
#: steps 1-6 (the stored page lists only those; steps 7-10 unpriced).
NORWAY: Final = CapacityRule(
    key="no_kapasitetsledd",
    interval_minutes=60,
    peaks=3,
    distinct_days=True,
    steps=_NO_BANDS,
    step_prices=(110.0, 170.0, 270.0, 370.0, 470.0, 570.0),
    currency="NOK",
    source="https://www.elvia.no/nettleie/alt-om-nettleiepriser/priser-ny-nettleiemodell/",
)

#: BKK: same rule ("gjennomsnittet av de tre høyeste døgnmaksene"), steps 1-6 with prices
#: incl. VAT as listed by BKK (rounded to whole kroner).
NORWAY_BKK: Final = CapacityRule(
    key="no_bkk",
    steps=_NO_BANDS[:6],
    step_prices=(125.0, 206.0, 350.0, 494.0, 638.0, 781.0),
    currency="NOK",
    source="https://nett.bkk.no/produktdetaljer?productId=49cedfc9-82b1-4d3b-be45-904704e3b9c7",
)

#: Lede: the single highest hour of the month ("månedsmaksimal"), bands from 0-5 kW.
NORWAY_LEDE: Final = CapacityRule(
    key="no_lede",
    peaks=1,
    distinct_days=False,
    steps=(5e3, 10e3, 15e3, 20e3, 25e3, 50e3, 75e3, 100e3, 150e3, 200e3),
    step_prices=(
        266.25,
        478.75,
        691.25,
        905.0,
        1117.5,
        1755.0,
        2818.75,
        3882.5,
        5477.5,
        7605.0,
        10795.0,
    ),
    currency="NOK",
    source="https://lede.no/pris/category3106.html",
)

#: Flanders, capaciteitstarief: highest 15-minute average import power of the month, at least
#: 2.5 kW; billed on the mean of the last 12 monthly values (current month included; fewer
#: while fewer are known, as in the first months of 2023).
FLANDERS: Final = CapacityRule(
    key="be_capaciteitstarief",
    interval_minutes=15,
    peaks=1,
    distinct_days=False,
    floor_w=2500.0,
    rolling_months=12,
    currency="EUR",
    source=(
        "https://www.vreg.be/nl/veelgestelde-vragen-over-de-nieuwe-nettarieven; "
        "https://www.mijnenergie.be/blog/waarom-het-piekverbruik-van-januari-2023-het-"
        "zwaarste-zal-doorwegen/"
    ),
)

#: Sweden, Sala-Heby Energi: mean of the three highest hourly values on working days
#: 07-19, public holidays excluded (SFS 1989:253, see ``holidays``; further days off in
#: ``excluded_dates``). The operator does not say "different days", so peaks may share a day.
SWEDEN_WEEKDAY_DAYTIME: Final = CapacityRule(
    key="se_weekday_daytime",
    peaks=3,
    distinct_days=False,
    weekdays_only=True,
    hours=SE_HOURS,
    holidays="SE",
    currency="SEK",
    source="https://www.seom.se/el/elnat/priser-och-villkor/",
)

#: Sweden, Ellevio as users describe it: mean of the three highest hours of the month, one
#: per day, night hours 22-06 counted at half. ASSUMPTION: taken from user reports
#: (github.com/perosb/power_max_tracker/issues/9, Patrchh/Energy_Peaks_Per_Month_Average-EPPMA
#: README citing ellevio.se/abonnemang/ny-prismodell-baserad-pa-effekt/); Ellevio's own page
#: was not available to check.
SWEDEN_ELLEVIO: Final = CapacityRule(
    key="se_ellevio",
    peaks=3,
    distinct_days=True,
    night_hours=(22, 6),
    night_weight=0.5,
    currency="SEK",
    source="https://www.ellevio.se/abonnemang/ny-prismodell-baserad-pa-effekt/ (unverified)",
)

PRESETS: Final[dict[str, CapacityRule]] = {
    rule.key: rule
    for rule in (
        NORWAY,
        NORWAY_BKK,
        NORWAY_LEDE,
        FLANDERS,
        SWEDEN_WEEKDAY_DAYTIME,
        SWEDEN_ELLEVIO,
    )
}
