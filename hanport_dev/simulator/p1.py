"""P1 text telegrams kept alive: every value, clock and gas reading of a real telegram rewritten.

A real telegram's lines are the template; the numbers keep their field widths, the footer gets
a new CRC-16/ARC. Units are read as the library reads them (``han.units``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
import time
from typing import TYPE_CHECKING, Final, Literal

from han.crc import crc16_arc_fast
from han.units import normalise

from .physics import Cde, kind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .physics import MeterModel

_P1_LINE: Final = re.compile(r"(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)(?:\*\d+)?(\(.*)")
_P1_GROUP: Final = re.compile(r"\(([^()]*)\)")
_P1_NUMBER: Final = re.compile(r"(\d+)(?:\.(\d+))?(?:\*(.+))?")
_P1_CLOCK: Final = re.compile(r"\d{12}[SW]")


@dataclass(frozen=True, slots=True)
class _P1Field:
    """One value in a telegram line that the simulator rewrites."""

    line: int
    start: int  # span of the text inside the parentheses, before the unit
    end: int
    what: Literal["value", "gas", "clock"]
    cde: Cde = (0, 0, 0)  # for "value"; the M-Bus channel in [0] for "gas"
    width: int = 0
    decimals: int = 0
    factor: float = 1.0


def _p1_number(text: str) -> tuple[float, int, int, float] | None:
    """``000123.456*kWh`` -> (value in SI units, width, decimals, factor)."""
    match = _P1_NUMBER.fullmatch(text)
    if match is None:
        return None
    whole, frac, unit = match.groups()
    factor = normalise(1.0, unit)[0]  # kW -> W, kWh -> Wh ... as the library reads it
    number = float(f"{whole}.{frac}" if frac else whole)
    width = len(whole) + (len(frac) + 1 if frac else 0)
    return number * factor, width, len(frac or ""), factor


@dataclass(slots=True)
class P1Template:
    """A real telegram's lines, the values in them the simulator rewrites, its starting state."""

    lines: list[str]
    fields: list[_P1Field] = field(default_factory=list)  # by line, right to left
    initial: dict[Cde, float] = field(default_factory=dict)
    gas: dict[int, float] = field(default_factory=dict)
    tariff: int = 1


def parse_p1(lines: Sequence[str]) -> P1Template:
    """Find every line value the simulator keeps alive, and the meter's starting state."""
    template = P1Template(list(lines))
    for index, line in enumerate(lines):
        match = _P1_LINE.fullmatch(line)
        if match is None:
            continue
        a, b, c, d, e = (int(x) for x in match.groups()[:5])
        groups = list(_P1_GROUP.finditer(line, match.start(6)))
        if not groups:
            continue
        if a == 0 and (c, d, e) == (96, 14, 0) and groups[0].group(1).isdigit():
            template.tariff = int(groups[0].group(1)) or 1
        if a == 0 and (c, d, e) == (1, 0, 0):
            _p1_clock(template, index, groups[0])
        elif a == 0 and b > 0 and c == 24 and d == 2 and len(groups) == 2:
            _p1_gas(template, index, b, groups)
        elif a == 1 and kind((c, d, e)) is not None:
            _p1_value(template, index, (c, d, e), groups[-1])
    # Right to left within a line, so that rewriting one keeps the earlier spans valid.
    template.fields.sort(key=lambda f: (f.line, -f.start))
    return template


def _p1_clock(template: P1Template, index: int, group: re.Match[str]) -> None:
    if _P1_CLOCK.fullmatch(group.group(1)):
        template.fields.append(_P1Field(index, group.start(1), group.end(1), "clock"))


def _p1_gas(template: P1Template, index: int, channel: int, groups: list[re.Match[str]]) -> None:
    stamp, reading = groups
    number = _p1_number(reading.group(1))
    if number is None or not reading.group(1).lower().endswith("*m3"):
        return
    value, width, decimals, _ = number
    _p1_clock(template, index, stamp)
    end = reading.start(1) + width
    template.fields.append(
        _P1Field(index, reading.start(1), end, "gas", (channel, 0, 0), width, decimals)
    )
    template.gas[channel] = value


def _p1_value(template: P1Template, index: int, cde: Cde, group: re.Match[str]) -> None:
    number = _p1_number(group.group(1))
    if number is None:
        return
    value, width, decimals, factor = number
    end = group.start(1) + width
    template.fields.append(
        _P1Field(index, group.start(1), end, "value", cde, width, decimals, factor)
    )
    template.initial[cde] = value


def _format_number(value: float, width: int, decimals: int) -> str:
    value = max(value, 0.0)
    if decimals:
        return f"{value:0{width}.{decimals}f}"
    return f"{round(value):0{width}d}"


def _p1_stamp(when: float) -> str:
    local = time.localtime(when)
    return time.strftime("%y%m%d%H%M%S", local) + ("S" if local.tm_isdst > 0 else "W")


def with_crc(body: bytes) -> bytes:
    """``body`` (``/`` through the footer's ``!``) with its CRC-16/ARC in hex and CR LF."""
    return body + f"{crc16_arc_fast(body):04X}\r\n".encode("ascii")


def telegram(lines: Sequence[str]) -> bytes:
    """Lines as a telegram: CR LF after each, the footer ``!`` and its CRC-16/ARC."""
    return with_crc(("\r\n".join(lines) + "\r\n!").encode("latin-1"))


def render_p1(template: P1Template, model: MeterModel) -> bytes:
    """The telegram with the model's values, footer ``!CRC`` and CR LF."""
    lines = list(template.lines)
    for item in template.fields:  # sorted by parse_p1: right to left within a line
        if item.what == "clock":
            when = model.time
            if lines[item.line].startswith("0-") and ":24.2." in lines[item.line]:
                when -= when % 300  # gas readings are stamped every 5 minutes
            text = _p1_stamp(when)
        elif item.what == "gas":
            text = _format_number(model.gas[item.cde[0]], item.width, item.decimals)
        else:
            value = model.value(item.cde)
            if value is None:
                continue
            text = _format_number(value / item.factor, item.width, item.decimals)
        line = lines[item.line]
        lines[item.line] = line[: item.start] + text + line[item.end :]
    return telegram(lines)
