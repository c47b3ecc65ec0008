"""Building one message from a notification body: readings, identity, maker defaults.

The list walkers (``lists``) decide what each value of a body is; the ``Builder`` turns each
decision into a reading (scaled, with its unit) or an identity field. Every decision goes
through it, so that a recording builder (``programs``) can replay a walk exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..model import Message, MeterIdentity, Reading  # noqa: TID252
from .scaling import ListContext, maker_from_list_id, model_family, plan_number, ranged, scale

if TYPE_CHECKING:
    from .axdr import ScalerUnit

__all__ = ["Builder", "new_message", "parse_datetime", "text_value"]


def parse_datetime(raw: bytes) -> datetime | None:
    """COSEM date-time (12 bytes) -> datetime; None when unspecified or impossible."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2])
    month, day, hour, minute, second = raw[2], raw[3], raw[5], raw[6], raw[7]
    if year == 0xFFFF or month > 12 or day > 31 or hour > 23 or minute > 59 or second > 59:
        return None
    hundredths = raw[8] if raw[8] < 100 else 0
    deviation = int.from_bytes(raw[9:11], signed=True)
    tz: timezone | None = None
    if deviation != -0x8000 and -840 <= deviation <= 840:
        # The deviation is UTC minus local time, in minutes.
        tz = UTC if deviation == 0 else timezone(timedelta(minutes=-deviation))
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=tz)
    except ValueError:
        return None


def text_value(value: bytes | str) -> str:
    """A string or octet string as text: printable ASCII as such, anything else in hex."""
    if isinstance(value, str):
        return value
    if value.isascii():
        text = value.decode("ascii")
        if text.isprintable():
            return text
    return value.hex()


#: ``Message.format`` of every message the DLMS layer decodes.
DLMS_FORMAT = "dlms"
#: How a clock register's code ends: its date-time is also the message's timestamp.
CLOCK_CODE = ":1.0.0"
#: The identity field an OBIS code's C.D.E part names.
_IDENTITY_FIELDS = {
    "0.2.129": "list_id",
    "96.1.0": "meter_id",
    "0.0.5": "meter_id",
    "96.1.7": "model",
    "96.1.1": "model",
}


def identity_field(obis: str) -> str | None:
    """The identity field (``MeterIdentity``) register ``obis`` holds, if any."""
    return _IDENTITY_FIELDS.get(obis.partition(":")[2])


def implied_by(field: str, text: str) -> str | None:
    """What an identity field's text tells besides itself: a list id's maker, a model's family."""
    if field == "list_id":
        return maker_from_list_id(text)
    if field == "model":
        return model_family(text)
    return None


class Builder:
    """Collect readings into a message, applying scaler, unit and maker defaults."""

    __slots__ = ("ctx", "message", "readings")

    def __init__(self, message: Message, ctx: ListContext) -> None:
        """Collect into ``message``, with the list's maker, country and model in ``ctx``."""
        self.message = message
        self.readings = message.readings
        self.ctx = ctx

    def add(self, obis: str, code: bytes | None, value: Any, su: ScalerUnit | None) -> None:
        """Add register ``obis`` (``code``: its bytes, if sent) with its {scaler, unit}."""
        kind = type(value)
        if kind is int or kind is float:
            exponent, unit, alternative = plan_number(code, su, self.ctx)
            if alternative is None:
                self.readings[obis] = Reading(obis, scale(value, exponent), unit)
            else:
                self.readings[obis] = Reading(obis, ranged(value, exponent, alternative), unit)
        elif kind is bytes or kind is str:
            self._add_text(obis, value)

    def _add_text(self, obis: str, value: bytes | str) -> None:
        msg = self.message
        if type(value) is bytes and len(value) == 12:
            when = parse_datetime(value)
            if when is not None:
                self.readings[obis] = Reading(obis, when.isoformat(), None)
                if obis.endswith(CLOCK_CODE) and msg.timestamp is None:
                    msg.timestamp = when
                return
        text = text_value(value)
        self.readings[obis] = Reading(obis, text, None)
        field = identity_field(obis)
        if field is not None:
            self.identify(field, text, implied_by(field, text))

    def identify(self, field: str, text: str, implied: str | None) -> None:
        """Set identity ``field`` to ``text``; ``implied``: what it tells (``implied_by``)."""
        meter = self.message.meter
        if field == "list_id":
            meter.list_id = text
            if implied is not None:
                meter.manufacturer = implied
                if self.ctx.maker is None:
                    self.ctx.maker = implied
        elif field == "meter_id":
            meter.meter_id = text
        else:
            meter.model = text
            self.ctx.model = implied

    # What the walkers decide besides readings goes through these, so a recording sees it.
    def set_maker(self, maker: str | None) -> None:
        """The list's maker (its scaling defaults follow)."""
        self.ctx.maker = maker

    def set_meter(self, field: str, value: str | None) -> None:
        """Set an identity field of the message's meter."""
        setattr(self.message.meter, field, value)

    def pin(self) -> None:
        """The walker looks at numbers, not only at their types: no program for this body."""


def new_message(size: int) -> Message:
    """Create an empty DLMS message."""
    return Message(format=DLMS_FORMAT, meter=MeterIdentity(), size=size)
