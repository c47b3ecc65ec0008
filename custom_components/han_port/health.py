"""What one meter's reader has seen, for diagnostics and for a quiet but useful log.

Every refused frame is counted by its reason (``checksum``, ``auth_failed``, ``replayed``,
``implausible``, ``unknown_layout``, ``decoder_error``, ...); the last frames are kept
(sizes and results, never bytes). Failures inside the integration and decoder notes are
logged once per entry load, with the traceback for failures.

The frames refused since the last accepted one are counted apart (``refusals``): when the
meter goes unavailable although frames keep arriving, the reason is the one that refused the
most of them, not "the meter sends nothing".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import logging
import time
from typing import TYPE_CHECKING

from homeassistant.util import dt as dt_util

from .const import LOGGER, RECENT_FRAMES
from .han.model import KEY_ERRORS, ErrorCode

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from .han.model import Message, Rejected

#: Decoder notes that deserve one warning while the entry is loaded (``%s``: the port).
_NOTE_WARNINGS = {
    "keys_swapped": (
        "Meter on %s: the encryption and authentication keys are swapped in the "
        "configuration; decoding works, but re-enter them the other way round"
    ),
    "tag_not_verified": (
        "Meter on %s: no authentication key (AK) is configured, so the authentication "
        "tag of its frames cannot be checked (only that they decrypt to valid data); "
        "add the AK with Reconfigure"
    ),
}
#: Why a meter went unavailable, for the log.
_LOST_TEXT = {
    "cannot_open_port": "the port cannot be opened",
    "silent": "the port is open, but the meter sends nothing",
    "port_closed": "the port was closed",
    "port_error": "the port failed",
    "reader_error": "the reader failed (see the error logged before)",
    "replayed": "its frames are refused: the meter's counter went back (see Repairs)",
    "auth_failed": "its frames arrive, but cannot be decrypted with the configured keys",
    "unreadable": "data arrives, but no frame can be found in it (serial settings or cable?)",
}
#: Unavailable reasons of a meter whose frames arrive and are all refused.
REFUSED_REASONS = frozenset({"refused", "replayed", "auth_failed", "unreadable"})


def refused_reason(refusal: str) -> tuple[str, str | None]:
    """The unavailable reason and its detail for frames that are all refused.

    ``refusal``: the error code that refused the most of them, or ``unreadable`` (no frame
    found at all).
    """
    if refusal == "unreadable":
        return "unreadable", None
    if refusal == ErrorCode.REPLAYED:
        return "replayed", None
    if refusal in KEY_ERRORS:
        return "auth_failed", None
    return "refused", refusal


#: Frames arrive, but every one is refused: why (``refused``, with the refusal's code).
_REFUSED_TEXT = {
    ErrorCode.CHECKSUM.value: (
        "its frames arrive, but every one fails its checksum (serial settings, cable or "
        "interference?)"
    ),
    ErrorCode.IMPLAUSIBLE.value: (
        "its frames arrive, but carry values no meter sends and are refused as implausible "
        "(the diagnostics hold a capture to send us)"
    ),
    ErrorCode.UNKNOWN_LAYOUT.value: (
        "its frames arrive in a list layout HAN Port does not know and are refused as "
        "unknown_layout (the diagnostics hold a capture to send us)"
    ),
}
_REFUSED_OTHER = "its frames arrive, but every one is refused ({reason})"
#: Failures inside the integration, for the log (``%s``: the port).
_BUGS = {
    "decoder": "the decoder failed on %d bytes; they were dropped",
    "result": "handling a decoded message failed; it was dropped",
    "publish": "updating the entities failed",
    "loop": "the reader failed; the port is opened again",
    "task": "the reader stopped unexpectedly; it is started again",
}


class _RoutineLines(logging.Filter):
    """Drops DataUpdateCoordinator's own lines about pushed data.

    "Manually updated ... data" would come with every frame (issue 11: 3,834 lines an hour),
    and "Error requesting ... data" repeats, less precisely, the one line per outage the
    coordinator logs itself (why, and on which port; or the re-authentication it starts).
    """

    _ROUTINE = frozenset({"Manually updated %s data", "Error requesting %s data: %s"})

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other line."""
        return record.msg not in self._ROUTINE


#: The logger Home Assistant's DataUpdateCoordinator code writes to for a meter.
COORDINATOR_LOGGER = LOGGER.getChild("coordinator")
COORDINATOR_LOGGER.addFilter(_RoutineLines())


@dataclass(slots=True)
class Counters:
    """Counters for diagnostics. ``rejected`` counts every refused frame by its reason."""

    ok: int = 0
    checksum: int = 0
    auth: int = 0
    other: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    energy_dropped: int = 0
    reconnects: int = 0
    open_failures: int = 0
    silent_periods: int = 0
    publish_errors: int = 0
    reader_restarts: int = 0
    #: Values of numeric registers that were not numbers (text): shown as unknown.
    not_numbers: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FrameLog:
    """One frame, for diagnostics: never its bytes."""

    at: datetime
    format: str
    size: int
    result: str


class ReaderHealth:
    """Counters, the recent frames, and what was already logged for one entry."""

    def __init__(self, port: str, clock: Callable[[], float] = time.monotonic) -> None:
        """Start counting for the meter on ``port`` (already redacted); ``clock``: loop time."""
        self.port = port
        self.counters = Counters()
        self.recent: deque[FrameLog] = deque(maxlen=RECENT_FRAMES)
        #: Frames refused since the last accepted one, by reason, and when the last came.
        self.refusals: dict[str, int] = {}
        self.last_refusal: float | None = None
        self._clock = clock
        self._logged: set[str] = set()

    def accepted(self, message: Message) -> None:
        """A message was taken: count it, and warn once about what its notes say."""
        self.counters.ok += 1
        if self.refusals:
            self.refusals = {}
        self.recent.append(FrameLog(dt_util.utcnow(), message.format, message.size, "ok"))
        for note in message.notes:
            if note in _NOTE_WARNINGS and self._first(note):
                LOGGER.warning(_NOTE_WARNINGS[note], self.port)

    def refused(self, reason: str, frame: Message | Rejected | None = None) -> None:
        """Count a refused frame by its reason (and keep it in the recent frames)."""
        counters = self.counters
        counters.rejected[reason] = counters.rejected.get(reason, 0) + 1
        if reason == ErrorCode.CHECKSUM:
            counters.checksum += 1
        elif reason in KEY_ERRORS:
            counters.auth += 1
        else:
            counters.other += 1
        counters.last_error = reason
        counters.last_error_at = now = dt_util.utcnow()
        if frame is not None:
            self.recent.append(FrameLog(now, frame.format, frame.size, reason))
        self.refusals[reason] = self.refusals.get(reason, 0) + 1
        self.last_refusal = self._clock()

    def refusal(self, since: float) -> str | None:
        """Why frames are refused: the reason that refused the most since the last good one.

        Only if a frame was refused at ``since`` (loop time) or later; None otherwise.
        """
        last = self.last_refusal
        if not self.refusals or last is None or last < since:
            return None
        return max(self.refusals, key=self.refusals.__getitem__)

    def not_a_number(self, obis: str) -> None:
        """A numeric register's value was not a number: count it, and warn once."""
        self.counters.not_numbers += 1
        if self._first("not_a_number"):
            LOGGER.warning(
                "Meter on %s: register %s carried text where a number belongs; it is shown as "
                "unknown (such values are counted in the diagnostics)",
                self.port,
                obis,
            )

    def lost(self, reason: str, detail: str | None = None) -> None:
        """Log that the meter became unavailable, and why (once per outage).

        For ``refused`` the detail is the refusal's code (``checksum``, ``implausible``, ...).
        """
        if reason == "refused":
            refusal = detail or ""
            text = _REFUSED_TEXT.get(refusal, _REFUSED_OTHER.format(reason=refusal))
        else:
            text = _LOST_TEXT.get(reason, reason)
            if detail:
                text = f"{text} ({detail})"
        LOGGER.warning("Meter on %s is unavailable: %s", self.port, text)

    def bug(self, kind: str, error: BaseException | None, *args: object) -> None:
        """Log a failure inside the integration once per kind, with its traceback."""
        if self._first(f"bug_{kind}"):
            LOGGER.error(
                "Meter on %s: " + _BUGS[kind] + ". Please report this with the diagnostics",
                self.port,
                *args,
                exc_info=error,
            )

    def _first(self, what: str) -> bool:
        if what in self._logged:
            return False
        self._logged.add(what)
        return True
