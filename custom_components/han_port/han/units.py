"""Unit normalisation: every reading leaves the library in one base unit per quantity."""

from __future__ import annotations

#: Spelling on the wire (case-folded) -> (normalised unit, factor).
_UNITS: dict[str, tuple[str, int]] = {
    "w": ("W", 1),
    "kw": ("W", 1000),
    "mw": ("W", 1_000_000),
    "wh": ("Wh", 1),
    "kwh": ("Wh", 1000),
    "mwh": ("Wh", 1_000_000),
    "var": ("var", 1),
    "kvar": ("var", 1000),
    "varh": ("varh", 1),
    "kvarh": ("varh", 1000),
    "va": ("VA", 1),
    "kva": ("VA", 1000),
    "vah": ("VAh", 1),
    "kvah": ("VAh", 1000),
    "v": ("V", 1),
    "a": ("A", 1),
    "hz": ("Hz", 1),
    "m3": ("m³", 1),
    "m³": ("m³", 1),
    "gj": ("GJ", 1),
    "s": ("s", 1),
    "%": ("%", 1),
    "°c": ("°C", 1),
}


def normalise(value: float, unit: str | None) -> tuple[float, str | None]:
    """Return ``value`` in the base unit of ``unit`` (kWh -> Wh, kvar -> var, m3 -> m³ ...).

    An unknown unit is passed through unchanged. Scaling multiplies exactly where the value
    is an int, and rounds away binary noise (1.001 kWh is 1001 Wh, not 1000.9999999999999).
    """
    if unit is None:
        return value, None
    known = _UNITS.get(unit.lower())
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
