"""Plausibility: values that pass every checksum can still be impossible.

A checksum proves the bytes arrived as sent, not that the decoder read them right or that the
meter (or a dongle, or an attacker with the keys) sent something real: a float64 NaN in a
checksum-valid HDLC frame, a P1 value of 400 digits, 2347 V from a missing scaler, 1e12 W.
``check`` looks at every reading of a decoded ``Message`` before anything sees it and raises
``ImplausibleError`` naming the first impossible register; the decoder turns that into a
``Rejected`` (code ``implausible``), so the whole frame is dropped, never half-applied.

It works on any ``Message`` (wired DLMS and P1, wireless M-Bus) because it only looks at the
normalised units the library produces (``units.normalise``) and, for unitless power factors,
at the OBIS code. The bounds, and why:

* every number finite (no NaN, no infinity) and at most ``MAX_MAGNITUDE`` (1e15) in size,
  integer or float, with or without a unit. This is the one bound for numbers: the
  integration publishes what passes here and its guard must never drop it (its
  ``sane_number`` uses the same bound). Why 1e15: every integer up to it is exact as a float
  (below 2**53; Home Assistant states and JSON are floats), 15 significant digits are what a
  float keeps exactly (and what a P1 register holds, ``p1_parse._MAX_DIGITS``), and the largest
  register in any capture is 1.4e9 (varh, nordic.jsonl gh216-1): six orders of margin. A-XDR
  integers reach 2**64, but no meter register does;
* voltage (V) ``VOLTAGE_BAND``, 50-300 V per phase: the band mains voltage lives in, 120 V
  to 230 V +15 %. The DLMS scaling picks between a maker's two documented voltage
  resolutions by the same band (``dlms.scaling``).
  Below 10 V is a phase the meter does not see (meters report 0 V for it: amshan's Kaifa
  3-wire list 2, Netz NÖ single-phase L2/L3); 10-50 V is what a missing or doubled scaler makes
  of a real voltage (23.4 V for 234 V, amsreader#782) and is refused;
* current (A) below 1000 A in magnitude (the largest CT meter in our captures reads ~910 A,
  nordic.jsonl gh216-1), signed currents allowed;
* power (W, var, VA) at most ``MAX_POWER`` (1 MW) in magnitude, total or per phase (the
  integration's energy guard holds a rise faster than that average power, too);
* energy (Wh, varh, VAh) below 1e12: a site within the power bound running flat out for a
  century registers 8.8e11 Wh, and 1e12 Wh is also past any 8- or 9-digit kWh register
  (1e11-1e12 Wh); 1e9 Wh (a million kWh) is an ordinary commercial counter. Counters are not
  negative, except the signed sums (C = 16, 36, 56, 76);
* frequency (Hz) 45-65 Hz;
* power factor (unitless 1-x:13/33/53/73.7.x) between -1 and 1 where the decoder chose its
  resolution (DLMS lists without scaler: Kamstrup 0.01, Iskraemeco/L+G 0.001). A P1 telegram
  prints its own decimals, so nothing is rescaled there, and a real E.ON Hungary meter prints
  4.556 (dsmr.jsonl dp_eon_hu): P1 power factors are only checked for being finite numbers;
* sub-meter volumes (m³) and heat (GJ) below 1e9 in magnitude (an 8-digit register and then
  some); a water meter's register may dip below zero after backflow (wmbus.jsonl
  wmbusmeters-waterstarm-50496629-mode5: -0.001 m³);
* text (ids, clocks, messages) at most 4096 characters (a DSMR text message is 1024), and
  without a unit: a unit promises a number, and a text that carries one (``"nan"`` W, ``"1e5"``
  W) is what a decoder made of a value it could not read. The P1 parser refuses those itself;
  this is the second line, for any decoder.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .model import ImplausibleError
from .obis import phase_code

if TYPE_CHECKING:
    from .model import Message, Reading

#: The largest magnitude of any number (see above): exact in a float, 15 digits.
MAX_MAGNITUDE = 1e15
#: Plausible voltages per phase (V), used by the DLMS scaling to pick a resolution too.
VOLTAGE_BAND = (50.0, 300.0)
#: The largest plausible power (W, var, VA), total or per phase.
MAX_POWER = 1e6
MAX_TEXT = 4096
#: Below this a voltage is a phase the meter does not see (reported as 0 V or a few volts).
DEAD_PHASE = 10.0

#: Normalised unit -> (lowest, highest) plausible value.
_BOUNDS: dict[str, tuple[float, float]] = {
    "V": VOLTAGE_BAND,
    "A": (-1000.0, 1000.0),
    "W": (-MAX_POWER, MAX_POWER),
    "var": (-MAX_POWER, MAX_POWER),
    "VA": (-MAX_POWER, MAX_POWER),
    "Wh": (0.0, 1e12),
    "varh": (0.0, 1e12),
    "VAh": (0.0, 1e12),
    "Hz": (45.0, 65.0),
    "m³": (-1e9, 1e9),
    "GJ": (-1e9, 1e9),
}
_ENERGY_UNITS = frozenset(("Wh", "varh", "VAh"))
#: C codes of the signed sums (+A - -A) and of the power factors, all phases and L1-L3.
_SIGNED_SUMS = frozenset(phase_code(16, phase) for phase in range(4))
_POWER_FACTORS = frozenset(phase_code(13, phase) for phase in range(4))
_PF_BOUNDS = (-1.0, 1.0)

#: OBIS code -> its C field when it is electricity (A=1), else -1 (cached, bounded).
_C_FIELDS: dict[str, int] = {}


def check(message: Message) -> None:
    """Raise ``ImplausibleError`` naming the first reading no meter can send."""
    scaled = message.format != "p1"
    bounds_of = _BOUNDS.get
    for reading in message.readings.values():
        value = reading.value
        kind = type(value)
        if kind is int or kind is float:
            # Fast path: a number inside its unit's bounds (NaN fails every comparison).
            bounds = bounds_of(reading.unit)  # type: ignore[arg-type]
            if bounds is not None and bounds[0] <= value <= bounds[1]:  # type: ignore[operator]
                continue
            _number(reading, value, scaled=scaled)  # type: ignore[arg-type]
        elif kind is str:
            if reading.unit is not None:
                _refuse(reading, f"text with a unit ({reading.unit})")
            if len(value) > MAX_TEXT:  # type: ignore[arg-type]
                _refuse(reading, f"text of {len(value)} characters")  # type: ignore[arg-type]


def _number(reading: Reading, value: float, *, scaled: bool) -> None:
    if type(value) is int:
        if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            _refuse(reading, f"a number of {len(str(abs(value)))} digits")
    elif not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        _refuse(reading, f"{value!r}")
    unit = reading.unit
    bounds = _BOUNDS.get(unit) if unit is not None else None
    if bounds is None:
        if unit is None and scaled and _c_field(reading.obis) in _POWER_FACTORS:
            bounds = _PF_BOUNDS
        else:
            return
    low, high = bounds
    if low <= value <= high:
        return
    if unit == "V" and 0 <= value < DEAD_PHASE:
        return
    if unit in _ENERGY_UNITS and _c_field(reading.obis) in _SIGNED_SUMS and -high <= value:
        return
    _refuse(reading, f"{value:g} {unit or ''} outside {low:g} to {high:g}".replace("  ", " "))


def _c_field(obis: str) -> int:
    known = _C_FIELDS.get(obis)
    if known is None:
        known = -1
        a, _, rest = obis.partition("-")
        cde = rest.partition(":")[2]
        c = cde.partition(".")[0]
        if a == "1" and c.isdigit():
            known = int(c)
        if len(_C_FIELDS) < 4096:
            _C_FIELDS[obis] = known
    return known


def _refuse(reading: Reading, what: str) -> None:
    msg = f"implausible value of {reading.obis}: {what[:80]}"
    raise ImplausibleError(msg)
