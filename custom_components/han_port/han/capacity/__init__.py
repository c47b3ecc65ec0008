"""Capacity tariffs: what the grid will bill for this month's peaks, live, and a power budget.

Design note
===========

What each rule computes (``rules.py``; every rule is one ``CapacityRule`` of numbers):

- Norway, kapasitetsledd (``NORWAY``, ``NORWAY_BKK``): the mean of the three highest hourly
  energies (kWh/h) of the calendar month, taken on three different days, places the customer
  in a price step (0-2, 2-5, 5-10, 10-15, 15-20, 20-25, 25-50, 50-75, 75-100, >100 kW).
  Sources: https://www.elvia.no/nettleie/alt-om-nettleiepriser/priser-ny-nettleiemodell/
  (Trinn 1-10, "de tre timene ... fordelt på tre ulike dager"), BKK
  https://nett.bkk.no/produktdetaljer?productId=49cedfc9-82b1-4d3b-be45-904704e3b9c7
  ("gjennomsnittet av de tre høyeste døgnmaksene"), NorgesNett ("De tre høyeste målte
  timeverdiene må være på forskjellige dager"). Not every company is alike: Lede bills the
  single highest hour with bands from 0-5 kW (``NORWAY_LEDE``, https://lede.no/pris/
  category3106.html), Linja uses 0-5, 5-10, ... 20-30, 30-50 kW: steps are editable data.
- Flanders, capaciteitstarief (``FLANDERS``): the month's peak is its highest 15-minute
  average import power, at least 2.5 kW; the bill uses the mean of the last 12 monthly values
  with the current month included, each floored at 2.5 kW, over fewer months while fewer
  exist (January 2023 counted alone, February the mean of two, ...). Injection peaks do not
  count. Sources: https://www.vreg.be/nl/veelgestelde-vragen-over-de-nieuwe-nettarieven,
  https://www.mijnenergie.be/blog/waarom-het-piekverbruik-van-januari-2023-het-zwaarste-zal-
  doorwegen/, https://nl.wikibooks.org/wiki/Energietransitie/Capaciteitstarief (the floor per
  month). Months the tracker did not see count only when seeded from the meter's 0-0:98.1.0
  history (``fluvius.meter_history``); otherwise they are left out, never guessed, and
  ``billed_months`` says how many months the mean holds.
- Sweden, effektavgift: "the mean of the N highest hourly values of the month", optionally
  one per day, optionally only on working days within set hours (``weekdays_only``, ``hours``,
  ``excluded_dates`` for public holidays, ``months``), optionally night hours weighted.
  Sala-Heby Energi: three highest on holiday-free weekdays 07-19, no same-day restriction
  stated (``SWEDEN_WEEKDAY_DAYTIME``, https://www.seom.se/el/elnat/priser-och-villkor/;
  public holidays by SFS 1989:253, ``holidays.py``);
  VEAB: three highest on weekdays 07-20 (https://www.veab.se/foretag/elnat/natavgift/);
  Telge: weekdays 07-20, November-March only; Karlstads/Skövde: the single highest hour.
  Ellevio (``SWEDEN_ELLEVIO``): three highest, one per day, 22-06 at half weight, known only
  from user reports (ASSUMPTION, see rules.py). Vattenfall and E.ON had not published a
  household effektavgift in the sources available; E.ON's is described by one third-party
  simulator as the top three peaks 06-23 (unverified, not shipped).

How (``accounting.py``, ``tracker.py``): from the import energy register (1-0:1.8.0, or the
sum of the tariff registers), never from sampled power. Intervals are aligned to the local
clock (zoneinfo), so DST days have 23 or 25 hours and the repeated hour is two intervals; an
interval's day and month are those of its local start. Register differences over a gap are
exact for an interval the gap lies inside; across a boundary they are split in proportion to
time (the interval is marked "estimated"). Power samples only estimate the energy since the
last register reading (Nordic meters send registers hourly) and give the present load for the
projection and the budget. Register resets and glitches are detected (never negative energy).
State is JSON-safe (``to_dict``/``from_dict``) and exact (ints and Fractions of Wh).

The month's value while fewer than N peaks exist is the mean of those there are; kept at every
interval end, a budget therefore also holds when the month closes.

Budget: the load (W) that may be added from now to the end of the interval, on top of the
present net import, so that the month's value does not rise (``budget_w``), or does not leave
the target step (``step_budget_w``). It assumes the present load continues; a load switched on
by someone else is not foreseen.

Assumptions, where no source settles it: a value on a step bound belongs to the lower step
(operators write "0-2, 2-5 kW"); the interval time of Fluvius' peak registers (see
``fluvius.py``); Ellevio's rule. Swedish public holidays are those of SFS 1989:253
(``holidays.py``); Midsummer, Christmas and New Year's Eve are not among them and count (if
an operator leaves them out, the tracked value can only be too high, never too low).
"""

from __future__ import annotations

from .fluvius import Check, compare_fluvius, meter_history
from .registers import ImportRegister, net_power_w
from .rules import (
    FLANDERS,
    NORWAY,
    NORWAY_BKK,
    NORWAY_LEDE,
    PRESETS,
    SE_HOURS,
    SWEDEN_ELLEVIO,
    SWEDEN_WEEKDAY_DAYTIME,
    CapacityRule,
)
from .status import CapacityStatus, MonthRecord, PeakInfo
from .tracker import CapacityTracker

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
    "CapacityStatus",
    "CapacityTracker",
    "Check",
    "ImportRegister",
    "MonthRecord",
    "PeakInfo",
    "compare_fluvius",
    "meter_history",
    "net_power_w",
]
