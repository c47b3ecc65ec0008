"""What the coordinator publishes: everything one meter has said so far.

``readings`` are the meter's values as decoded (diagnostics show them); ``totals`` are what
Home Assistant shows of the totals (energy, gas, water): the guarded values, in each
sensor's unit, filled by the coordinator's publishing step (``published``) just before the
entities are written. Sensors only read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .han.model import MeterIdentity, Reading
from .han.obis import register

if TYPE_CHECKING:
    from datetime import datetime

    from .han.model import Message


def as_number(value: object) -> float | None:
    """A reading's value when it is a number (int or float); None for text, None or a bool.

    Text is never converted: ``float()`` would take ``"nan"``, ``"inf"``, ``"1e5"`` and ``"1_000"``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


#: Identity fields a message may bring, and those that name the device.
_IDENTITY = ("meter_id", "manufacturer", "model", "list_id", "system_title")
_DEVICE = frozenset({"meter_id", "manufacturer", "model"})


@dataclass(slots=True)
class MeterData:
    """Everything the meter has said so far; each message updates the registers it carries."""

    readings: dict[str, Reading] = field(default_factory=dict)
    #: Each total's guarded value in its sensor's unit (never lower than before).
    totals: dict[str, float] = field(default_factory=dict)
    meter: MeterIdentity = field(default_factory=MeterIdentity)
    format: str | None = None
    timestamp: datetime | None = None
    messages: int = 0
    #: The code of each phase's current reading (the first the meter sent), and how many
    #: readings there were when they were looked for (``readings`` only ever grows).
    _currents: dict[int, str] = field(default_factory=dict, repr=False)
    _currents_of: int = field(default=0, repr=False)

    def current_code(self, phase: int) -> str | None:
        """The code of the current reading on ``phase`` (A=1, any channel), if one came."""
        if self._currents_of != len(self.readings):
            self._currents_of = len(self.readings)
            currents: dict[int, str] = {}
            for obis in self.readings:
                known = register(obis)
                info = known[1] if known is not None else None
                if info is not None and info.key == "current" and info.phase is not None:
                    currents.setdefault(info.phase, obis)
            self._currents = currents
        return self._currents.get(phase)

    def merge(self, message: Message) -> bool:
        """Take a message's registers and identity; True when the device info changed."""
        self.readings.update(message.readings)
        changed = False
        for name in _IDENTITY:
            value = getattr(message.meter, name)
            if value and getattr(self.meter, name) != value:
                setattr(self.meter, name, value)
                changed = changed or name in _DEVICE
        self.format = message.format
        if message.timestamp is not None:
            self.timestamp = message.timestamp
        self.messages += 1
        return changed
