"""Which readings feed a tracker: the import energy register and the net import power.

The import register is 1-0:1.8.0 (Kamstrup's lists use B=1: 1-1:1.8.0) when the meter sends
it, else the sum of the tariff registers 1-0:1.8.1..1.8.4 (Belgian and Dutch P1 meters send
only those). ``ImportRegister`` decides once, on the first frame that has any of them, and
then only reads the same registers: a frame missing one of them gives None rather than a sum
of different registers (Nordic meters send their registers only in the hourly list).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..model import Reading  # noqa: TID252

__all__ = ["ImportRegister", "net_power_w", "number_in"]

_TOTALS: Final = ("1-0:1.8.0", "1-1:1.8.0")
_TARIFFS: Final = tuple(f"1-{b}:1.8.{t}" for b in (0, 1) for t in (1, 2, 3, 4))


def number_in(readings: Mapping[str, Reading], key: str, unit: str) -> float | int | None:
    """Reading ``key`` when it is a finite number in ``unit``; else None."""
    reading = readings.get(key)
    if reading is None or reading.unit != unit:
        return None
    value = reading.value
    kind = type(value)  # bool is not int here: exact type checks, cheap on every frame
    if kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    return None


class ImportRegister:
    """Read the import energy (Wh) from a message's readings, always from the same registers."""

    def __init__(self) -> None:
        """Undecided until a frame carries an import register."""
        self.keys: tuple[str, ...] | None = None

    def energy_wh(self, readings: Mapping[str, Reading]) -> float | int | None:
        """The import register (or the sum of the tariff registers) in Wh; None if absent."""
        keys = self.keys
        if keys is None:
            keys = tuple(k for k in _TOTALS if k in readings)[:1]
            if not keys:
                keys = tuple(k for k in _TARIFFS if k in readings)
            if not keys:
                return None
            self.keys = keys
        total: float | int = 0
        for key in keys:  # inlined number_in: this runs on every frame
            reading = readings.get(key)
            if reading is None or reading.unit != "Wh":
                return None
            value = reading.value
            kind = type(value)
            if kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
                total += value  # type: ignore[operator]
            else:
                return None
        return total


def net_power_w(readings: Mapping[str, Reading]) -> float | int | None:
    """Import minus export active power (W), None without an import power reading."""
    imported = number_in(readings, "1-0:1.7.0", "W")
    if imported is not None:
        exported = number_in(readings, "1-0:2.7.0", "W")
    else:
        imported = number_in(readings, "1-1:1.7.0", "W")
        if imported is None:
            return None
        exported = number_in(readings, "1-1:2.7.0", "W")
    return imported - exported if exported is not None else imported
