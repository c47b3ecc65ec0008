"""JSON-safe encoding of a tracker's numbers, with the checks a restored state needs.

Exact energies are ints or Fractions; a Fraction is written as the string ``"n/d"`` (Home
Assistant stores JSON through orjson, which refuses integers beyond 64 bits), so a restored
tracker computes exactly what the original would have. Every reader raises ValueError on
anything it did not write.
"""

from __future__ import annotations

from fractions import Fraction
import math
from typing import Any

type Number = int | float | Fraction


def enc(value: Number) -> int | float | str:
    """A number as JSON: ints and floats as they are, Fractions as "n/d"."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return value


def dec(value: Any) -> Number:
    """Inverse of ``enc``; ValueError for anything else (bools, NaN, text that is no ratio)."""
    if isinstance(value, bool):
        msg = f"not a number: {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - every malformed state is a ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"not a finite number: {value!r}"
            raise ValueError(msg)
        return value
    if isinstance(value, str) and "/" in value:
        numerator, _, denominator = value.partition("/")
        return Fraction(int(numerator), int(denominator))
    msg = f"not a number: {value!r}"
    raise ValueError(msg)


def real(value: Any) -> float:
    """A finite float (ints accepted)."""
    number = dec(value)
    if isinstance(number, Fraction):
        msg = f"expected a plain number, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004
    return float(number)


def opt_real(value: Any) -> float | None:
    """A finite float or None."""
    return None if value is None else real(value)


def integer(value: Any) -> int:
    """An int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected an integer, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A dict with string keys."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        msg = f"expected an object, got {type(value).__name__}"
        raise ValueError(msg)
    return value


def sequence(value: Any, length: int | None = None) -> list[Any]:
    """A list (of ``length`` items when given)."""
    if not isinstance(value, list) or (length is not None and len(value) != length):
        msg = f"expected a list of {length or 'any number of'} items"
        raise ValueError(msg)
    return value
