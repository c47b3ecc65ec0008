"""Verified data records -> a Message's readings, with the makers' own phase conventions.

Most meters name a phase with the standard VIFE ``FC 01..03`` (at phase L1..L3), which
:mod:`.meaning` handles. Two makers do it their own way, and only where a source shows it
is the convention applied here:

* eBZ DD3 (``EBZ``): manufacturer-specific VIFEs ``FF 01..03`` after a power VIF name
  L1..L3 (``04A9FF01``; wmbusmeters ``drivers/src/ebzwmbe.xmq``, whose real test frame is
  the vector ``wmbusmeters-ebzwmbe-22992299-20f6``).
* Gran-System-S (``GSS``): the three-phase CC-301 sends its phase voltages and currents
  in storage sub-units 1, 2 and 3 (``8440FD48``, ``848040FD48``, ``84C040FD48``), the
  single-phase CC-101 the same registers without a sub-unit. Sub-unit n is phase Ln
  (wmbusmeters ``drivers/src/gransystems.xmq``: ``voltage_at_phase_{subunit_counter}``
  for ``subunit_nr = 1,3``, with a real CC-301 test frame). No Gran-System-S document was
  found; the convention rests on that driver and its frame.
"""

from __future__ import annotations

from dataclasses import replace
import datetime as dt
from typing import TYPE_CHECKING

from ..obis import DEVICE_TYPES, Medium  # noqa: TID252
from .meaning import interpret, obis_key, value_of

if TYPE_CHECKING:
    from ..model import Message  # noqa: TID252
    from .records import Record


#: Manufacturer-specific VIFEs known to name a phase (eBZ DD3: ``04A9FF01`` = power L1).
_MFCT_PHASES: dict[str, dict[bytes, int]] = {
    "EBZ": {b"\xff\x01": 1, b"\xff\x02": 2, b"\xff\x03": 3},
}
#: Makers whose electricity meters put phase n of these quantities in sub-unit n.
_SUBUNIT_PHASES: dict[str, frozenset[str]] = {
    "GSS": frozenset({"voltage", "current"}),
}
_PHASE_POWER = ("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0")


def readings_from_records(
    message: Message, records: list[Record], device_type: int, manufacturer: str = ""
) -> None:
    """Add one reading per record: OBIS-style key where one applies, else ``wmbus:<header>``."""
    mfct_phases = _MFCT_PHASES.get(manufacturer, {})
    subunit_phases = (
        _SUBUNIT_PHASES.get(manufacturer, frozenset())
        if DEVICE_TYPES.get(device_type) is Medium.ELECTRICITY
        else frozenset()
    )
    for record in records:
        meaning = interpret(record)
        if meaning.error:
            continue
        if meaning.extra and meaning.quantity == "power" and record.vifes in mfct_phases:
            meaning = replace(meaning, extra=False, phase=mfct_phases[record.vifes])
        if (
            meaning.quantity in subunit_phases
            and 1 <= record.subunit <= 3
            and not meaning.phase
            and not meaning.extra
        ):
            meaning = replace(meaning, phase=record.subunit)
            record = replace(record, subunit=0)  # noqa: PLW2901 - the phase replaces the sub-unit
        value = value_of(record, meaning)
        key = obis_key(record, meaning, device_type)
        if key is None:
            key = f"wmbus:{record.key}"
        if key in message.readings:
            n = 2
            while f"{key}#{n}" in message.readings:
                n += 1
            key = f"{key}#{n}"
        unit = meaning.unit if meaning.kind == "number" and value is not None else None
        if meaning.quantity == "plain_text_unit":
            unit = meaning.unit
        message.add(key, value, unit)
        if key == "0-0:1.0.0" and message.timestamp is None and isinstance(value, str):
            message.timestamp = _parse_iso(value)
    _single_phase(message)
    _derived_total(message)


def _single_phase(message: Message) -> None:
    """A voltage or current without a phase (single-phase meters) is reported as L1."""
    readings = message.readings
    for anyphase, l1 in (("1-0:12.7.0", "1-0:32.7.0"), ("1-0:11.7.0", "1-0:31.7.0")):
        if anyphase in readings and l1 not in readings:
            reading = readings.pop(anyphase)
            message.add(l1, reading.value, reading.unit)


def _derived_total(message: Message) -> None:
    """Total import power as the sum of the phases when the meter sends only those."""
    readings = message.readings
    if "1-0:1.7.0" in readings or not all(key in readings for key in _PHASE_POWER):
        return
    if any(key in readings for key in ("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0")):
        return
    values = [readings[key].value for key in _PHASE_POWER]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        total = round(sum(v for v in values if isinstance(v, int | float)), 9)
        message.add("1-0:1.7.0", total, "W")
        message.notes.append("derived:1-0:1.7.0")


def _parse_iso(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
