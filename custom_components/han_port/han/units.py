"""Unit normalisation: every reading leaves the library in one base unit per quantity."""

from __future__ import annotations

#: Spelling on the wire (case-folded) -> (normalised unit, power of ten to it).
_UNITS: dict[str, tuple[str, int]] = {
    "w": ("W", 0),
    "kw": ("W", 3),
    "mw": ("W", 6),
    "wh": ("Wh", 0),
    "kwh": ("Wh", 3),
    "mwh": ("Wh", 6),
    "var": ("var", 0),
    "kvar": ("var", 3),
    "varh": ("varh", 0),
    "kvarh": ("varh", 3),
    "va": ("VA", 0),
    "kva": ("VA", 3),
    "vah": ("VAh", 0),
    "kvah": ("VAh", 3),
    "v": ("V", 0),
    "a": ("A", 0),
    "hz": ("Hz", 0),
    "m3": ("m³", 0),
    "m³": ("m³", 0),
    "gj": ("GJ", 0),
    "s": ("s", 0),
    "%": ("%", 0),
    "°c": ("°C", 0),
}
#: The same table with each power of ten multiplied out (``normalise`` runs per value).
_FACTORS: dict[str, tuple[str, int]] = {
    spelling: (base, 10**exponent) for spelling, (base, exponent) in _UNITS.items()
}


def base_and_exponent(unit: str | None) -> tuple[str | None, int]:
    """``unit``'s base unit and the power of ten to it (kWh -> ("Wh", 3)).

    An unknown unit (or None) is its own base, exponent 0, as ``normalise`` passes it through.
    """
    if unit is None:
        return None, 0
    known = _UNITS.get(unit.lower())
    if known is None:
        return unit, 0
    return known


def normalise(value: float, unit: str | None) -> tuple[float, str | None]:
    """Return ``value`` in the base unit of ``unit`` (kWh -> Wh, kvar -> var, m3 -> m³ ...).

    An unknown unit is passed through unchanged. Scaling multiplies exactly where the value
    is an int, and rounds away binary noise (1.001 kWh is 1001 Wh, not 1000.9999999999999).
    """
    if unit is None:
        return value, None
    known = _FACTORS.get(unit.lower())
    if known is None:
        return value, unit
    base, factor = known
    if factor == 1:
        return value, base
    if isinstance(value, int):
        return value * factor, base
    return round(value * factor, 9), base


#: The library's unit -> (the unit a person reads it in, factor): energy in kWh, as on the
#: meter's display and in Home Assistant's Energy dashboard.
DISPLAY_UNITS: dict[str, tuple[str, float]] = {
    "Wh": ("kWh", 0.001),
    "varh": ("kvarh", 0.001),
    "VAh": ("kVAh", 0.001),
}
