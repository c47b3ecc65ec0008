"""Programs: the walk of one body layout, recorded once and replayed for every later body.

For a body that matched a known layout (``plan.Planned``), the list walkers would make the
same decisions as last time: they look at tags, OBIS codes, strings and {scaler, unit}, which
the layout fixes, and only at the type of a number. A program is what the builder was asked
to do, with the fields (numbers; 12-byte date-times) as slots, so the next body of that
layout replays it instead of walking. It is recorded twice with different stand-in values
and must come out the same; it must also give this very body exactly what the walk gives.
A walk that looks at numbers calls ``pin`` and gets no program. Programs live in their
layout, so in the meter's own ``plan.LayoutCache``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import HanError, Message, Reading  # noqa: TID252
from .builder import (
    CLOCK_CODE,
    Builder,
    identity_field,
    implied_by,
    new_message,
    parse_datetime,
    text_value,
)
from .scaling import ListContext, plan_number, ranged, scale
from .shape import sourced

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from .axdr import ScalerUnit
    from .plan import Planned

    #: A list walker: what ``lists`` does with a decoded body.
    type Walk = Callable[[Builder, Sequence[Any]], None]

__all__ = ["Program", "program_for"]

_OP_NUMBER, _OP_CLOCK, _OP_ADD, _OP_MAKER, _OP_METER, _OP_RANGED, _OP_TEXT = range(7)
#: Stand-in integers of the two recordings (above any A-XDR integer): base + field index.
_STAND_IN_BASES = (1 << 80, 1 << 81)
_MAX_PROGRAMS = 16

type _Op = tuple[int, Any, Any, Any, Any]


def _stand_in_clock(index: int, variant: int) -> bytes:
    """A valid COSEM date-time, different for every field index and recording."""
    day, minute = divmod(index, 24 * 60)
    hour, minute = divmod(minute, 60)
    # 2000-01-01 (2001 for the second recording) plus the index in minutes; zone unspecified.
    return bytes((0x07, 0xD0 + variant, 1, 1 + day % 28, 0xFF, hour, minute, 0, 0xFF, 0x80, 0, 0))


class _Recorder(Builder):
    """A builder that also writes down every request, with fields named by their slot."""

    __slots__ = ("base", "clocks", "ops", "pinned")

    def __init__(self, ctx: ListContext, base: int, clocks: dict[bytes, int]) -> None:
        super().__init__(new_message(0), ctx)
        self.base = base
        self.clocks = clocks
        self.ops: list[_Op] = []
        self.pinned = False

    def add(self, obis: str, code: bytes | None, value: Any, su: ScalerUnit | None) -> None:
        if type(value) is int and value >= self.base:
            exponent, unit, alternative = plan_number(code, su, self.ctx)
            if alternative is None:
                self.ops.append((_OP_NUMBER, obis, value - self.base, exponent, unit))
            else:
                ranged = (exponent, alternative)
                self.ops.append((_OP_RANGED, obis, value - self.base, ranged, unit))
        elif type(value) is bytes and value in self.clocks:
            self.ops.append((_OP_CLOCK, obis, self.clocks[value], code, su))
        else:
            self.ops.append((_OP_ADD, obis, code, value, su))
        super().add(obis, code, value, su)

    def set_maker(self, maker: str | None) -> None:
        self.ops.append((_OP_MAKER, maker, None, None, None))
        super().set_maker(maker)

    def set_meter(self, field: str, value: str | None) -> None:
        self.ops.append((_OP_METER, field, value, None, None))
        super().set_meter(field, value)

    def pin(self) -> None:
        self.pinned = True


class Program:
    """The recorded walk of one layout: checks on the 12-byte fields, then the requests."""

    __slots__ = ("clocks", "ops", "pins")

    def __init__(
        self, ops: tuple[_Op, ...], pins: tuple[tuple[int, bytes], ...], clocks: tuple[int, ...]
    ) -> None:
        """Keep the recorded requests (``_finished``) and the checks on the 12-byte fields."""
        self.ops = tuple(_finished(op, clocks) for op in ops)
        self.pins = pins  # 12-byte fields that must keep their value
        self.clocks = clocks  # 12-byte fields that must stay valid date-times

    def run(self, builder: Builder, values: tuple[Any, ...]) -> bool:
        """Replay onto ``builder``; False (having done nothing) if a 12-byte field disagrees."""
        for index, expected in self.pins:
            if values[index] != expected:
                return False
        whens = _parsed(values, self.clocks)
        if whens is None:
            return False
        self.replay(builder, values, whens)
        return True

    def replay(self, builder: Builder, values: tuple[Any, ...], whens: list[datetime]) -> None:
        """Do what the walk did, with these field values (``whens``: the parsed ``clocks``)."""
        readings = builder.readings
        for kind, a, b, c, d in self.ops:
            if kind == _OP_NUMBER:
                value = values[b]
                readings[a] = Reading(a, scale(value, c) if c else value, d)
            elif kind == _OP_RANGED:
                readings[a] = Reading(a, ranged(values[b], *c), d)
            elif kind == _OP_CLOCK:
                # What ``Builder.add`` does with a 12-byte date-time (parsed in ``run``).
                when = whens[b]
                readings[a] = Reading(a, when.isoformat(), None)
                if c and builder.message.timestamp is None:
                    builder.message.timestamp = when
            elif kind == _OP_TEXT:
                readings[a] = b
                if c is not None:
                    builder.identify(c, b.value, d)
            elif kind == _OP_ADD:
                builder.add(a, b, c, d)
            elif kind == _OP_MAKER:
                builder.set_maker(a)
            else:
                builder.set_meter(a, b)


def _finished(op: _Op, clocks: tuple[int, ...]) -> _Op:
    """A recorded request with what the layout fixes worked out once, for every replay.

    A date-time: (its place in ``clocks``, whether the register is a clock ``...:1.0.0``),
    as ``run`` parses the field. Text the layout fixes (list id, meter id, model): the
    finished reading, the identity field it sets and what that implies (``implied_by``).
    """
    kind, a, b, c, _su = op
    if kind == _OP_CLOCK:
        return (_OP_CLOCK, a, clocks.index(b), a.endswith(CLOCK_CODE), None)
    if kind == _OP_ADD and _fixed_text(c):
        text = text_value(c)
        field = identity_field(a)
        implied = None if field is None else implied_by(field, text)
        return (_OP_TEXT, a, Reading(a, text, None), field, implied)
    return op


def _fixed_text(value: Any) -> bool:
    """Whether ``Builder.add`` turns ``value`` into a text reading (not a date-time)."""
    kind = type(value)
    if kind is str:
        return True
    return kind is bytes and (len(value) != 12 or parse_datetime(value) is None)


def _parsed(values: tuple[Any, ...], clocks: tuple[int, ...]) -> list[datetime] | None:
    """The date-times of the ``clocks`` fields; None if one is not a valid date-time."""
    whens: list[datetime] = []
    for index in clocks:
        when = parse_datetime(values[index])
        if when is None:
            return None
        whens.append(when)
    return whens


def program_for(body: Planned, ctx: ListContext, walk: Walk) -> Program | None:
    """The program of ``body``'s layout for this maker, country and model (compiled once).

    ``walk`` is the list walker whose decisions are recorded. None: the walk of this layout
    cannot be replayed (it looks at numbers, or refuses the body).
    """
    programs = body.layout.programs
    key = (ctx.maker, ctx.country, ctx.model)
    if key not in programs:
        if len(programs) >= _MAX_PROGRAMS:
            programs.clear()
        programs[key] = _compile(body, ctx, walk)
    program: Program | None = programs[key]
    return program


def _compile(body: Planned, ctx: ListContext, walk: Walk) -> Program | None:
    layout, values = body.layout, body.values
    if not isinstance(layout.skeleton, (tuple, list)):
        return None
    clocks = tuple(i for i in sorted(layout.blobs) if parse_datetime(values[i]) is not None)
    try:
        first, second = (_record(body, ctx, walk, variant, clocks) for variant in (0, 1))
    except HanError:
        return None  # refused (unknown layout): the ordinary walk says why, every time
    if first is None or first != second:
        return None
    pins = tuple((i, values[i]) for i in sorted(layout.blobs) if i not in clocks)
    program = Program(first, pins, clocks)
    walked, walked_ctx = new_message(0), ListContext(ctx.maker, ctx.country, ctx.model)
    walk(Builder(walked, walked_ctx), sourced(body.decode(), body.data, body.pos))
    replayed, replayed_ctx = new_message(0), ListContext(ctx.maker, ctx.country, ctx.model)
    whens = _parsed(values, clocks)
    assert whens is not None  # clocks: the fields of this body that parse
    program.replay(Builder(replayed, replayed_ctx), values, whens)
    if _outcome(walked, walked_ctx) != _outcome(replayed, replayed_ctx):
        return None
    return program


def _record(
    body: Planned, ctx: ListContext, walk: Walk, variant: int, clocks: tuple[int, ...]
) -> tuple[_Op, ...] | None:
    base = _STAND_IN_BASES[variant]
    stand_ins = {_stand_in_clock(i, variant): i for i in clocks}
    blobs = body.layout.blobs
    clock_of = {i: clock for clock, i in stand_ins.items()}

    def field(index: int) -> Any:
        if index in clock_of:
            return clock_of[index]
        return body.values[index] if index in blobs else base + index

    recorder = _Recorder(ListContext(ctx.maker, ctx.country, ctx.model), base, stand_ins)
    # The filled skeleton has this body's tags (they are fixed bytes of the layout).
    walk(recorder, sourced(body.layout.fill(field), body.data, body.pos))
    return None if recorder.pinned else tuple(recorder.ops)


def _outcome(message: Message, ctx: ListContext) -> tuple[Any, ...]:
    readings = [(r.obis, type(r.value), r.value, r.unit) for r in message.readings.values()]
    return readings, message.meter, message.timestamp, message.notes, ctx.maker
