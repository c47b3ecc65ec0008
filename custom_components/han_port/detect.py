"""Listen to a real port for a bounded time and say what is there.

Used by the config, reauth and reconfigure flows. The answer is one ``Outcome`` plus what
was found: the decoded message, the serial settings that worked, the wM-Bus meter ids heard.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from .connection import SILENCE, MeterLink
from .han.model import KEY_ERRORS, ErrorCode, Message, Rejected

if TYPE_CHECKING:
    from .connection import MeterConfig
    from .han.profiles import SerialSettings

#: Seconds to listen at one serial setting: 3 push intervals plus slack, within these bounds.
LISTEN_MIN = 6.0
LISTEN_MAX = 30.0
#: Bytes without a single frame after which a setting is given up as unreadable.
GARBAGE_LIMIT = 8192


class Outcome(StrEnum):
    """What detection found. The values double as the flows' error keys."""

    FOUND = "found"
    CANNOT_CONNECT = "cannot_connect"
    NOTHING = "nothing_received"
    UNREADABLE = "unreadable"
    NEED_KEY = "need_key"
    AUTH_FAILED = ErrorCode.AUTH_FAILED.value
    WRONG_KEY = ErrorCode.WRONG_KEY.value
    PICK_METER = "pick_meter"

    @classmethod
    def of_key_error(cls, code: ErrorCode) -> Outcome:
        """The outcome of a frame refused for its keys (a code in ``KEY_ERRORS``)."""
        return cls.NEED_KEY if code is ErrorCode.NO_KEY else cls(code.value)


@dataclass(slots=True)
class Detection:
    """The answer of one detection run."""

    outcome: Outcome
    settings: SerialSettings | None = None
    message: Message | None = None
    heard: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    bytes_received: int = 0
    #: Seconds actually spent listening (over every setting tried).
    listened: float = 0.0


@dataclass(slots=True)
class _Listen:
    """What one serial setting produced."""

    meter_id: str | None
    bytes: int = 0
    message: Message | None = None
    key_error: Outcome | None = None
    other_errors: int = 0
    #: The far end closed the connection (end of stream).
    closed: bool = False

    @property
    def decided(self) -> bool:
        """Nothing more to learn at this setting.

        A message that names its meter (an id register, or the DLMS system title that
        identifies meters without one) or that passed a configured authentication tag is
        proof enough: waiting for more frames would only make the user wait.
        """
        if self.key_error is not None:
            return True
        message = self.message
        if message is None:
            return False
        if self.meter_id is not None:
            return message.meter.meter_id == self.meter_id
        security = message.security
        return (
            message.meter.meter_id is not None
            or message.meter.system_title is not None
            or (security is not None and security.authenticated)
        )

    def add(self, result: Message | Rejected, *, wireless: bool) -> None:
        if isinstance(result, Rejected):
            if result.code in KEY_ERRORS and (not wireless or self.meter_id is not None):
                self.key_error = Outcome.of_key_error(result.code)
            else:
                self.other_errors += 1
            return
        if wireless and (self.meter_id is None or result.meter.meter_id != self.meter_id):
            return
        if self.message is None or result.meter.meter_id is not None:
            self.message = result


def listen_window(interval: float) -> float:
    """Seconds to listen at one setting for a meter pushing every ``interval`` seconds."""
    return min(max(3 * interval + 2, LISTEN_MIN), LISTEN_MAX)


async def _listen(
    config: MeterConfig, settings: SerialSettings, state: _Listen, window: float
) -> list[str]:
    """Listen at one setting until the answer is certain or the window ends; the ids heard.

    OSError when the port cannot be opened or fails while it is read.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    wireless = config.wireless
    link = await MeterLink.async_open(config.port, settings, config.new_decoder)
    async with link:
        async for chunk in link.chunks(lambda: deadline - loop.time()):
            if chunk is SILENCE:
                break
            if chunk.failure is not None:
                raise chunk.failure  # a decoder bug: the flow logs it and says "unreadable"
            for result in chunk.results:
                state.add(result, wireless=wireless)
            if state.decided:
                break
            if not wireless and link.received > GARBAGE_LIMIT and state.message is None:
                break
    state.bytes = link.received
    state.closed = link.closed
    decoder = link.decoder
    return list(decoder.diagnostics().get("heard", ())) if decoder and wireless else []


async def async_detect(config: MeterConfig) -> Detection:
    """Listen to ``config.port`` at each candidate setting until something is certain.

    A port that cannot be opened (missing device, refused or unreachable host: serialx
    raises OSError, TimeoutError included) or whose far end closes the connection before
    sending a byte (a ser2net or bridge that accepts and hangs up) is ``CANNOT_CONNECT``.
    """
    window = listen_window(config.profile.interval)
    detection = Detection(Outcome.NOTHING)
    heard: set[str] = set()
    loop = asyncio.get_running_loop()
    for settings in config.candidate_settings():
        detection.tried.append(str(settings))
        state = _Listen(config.meter_id)
        started = loop.time()
        try:
            heard.update(await _listen(config, settings, state, window))
        except OSError:
            return _cannot_connect(detection)
        finally:
            detection.listened += loop.time() - started
        detection.bytes_received += state.bytes
        if state.closed and detection.bytes_received == 0:
            return _cannot_connect(detection)
        detection.heard = sorted(heard)
        if state.message is not None:
            detection.outcome = Outcome.FOUND
            detection.settings = settings
            detection.message = state.message
            return detection
        if state.key_error is not None:
            detection.outcome = state.key_error
            detection.settings = settings
            return detection
        if heard:
            # Meters were heard at this setting: the user picks one (ours was not decoded).
            break
        if state.bytes == 0 and detection.bytes_received == 0:
            # No bytes at all: other line settings would show garbage, not silence.
            return detection
        detection.outcome = Outcome.UNREADABLE
    if config.wireless and heard:
        detection.outcome = Outcome.PICK_METER
    return detection


def _cannot_connect(detection: Detection) -> Detection:
    return Detection(Outcome.CANNOT_CONNECT, tried=detection.tried, listened=detection.listened)
