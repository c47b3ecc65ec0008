"""Constants for the HAN Port integration."""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import Final

from .han.wmbus.receivers import BAUD_RATES

DOMAIN: Final = "han_port"
LOGGER = logging.getLogger(__package__)

# Entry data. The port lives under homeassistant.const.CONF_PORT ("port").
CONF_PROFILE: Final = "profile"
CONF_EK: Final = "encryption_key"
CONF_AK: Final = "authentication_key"
CONF_SYSTEM_TITLE: Final = "system_title"
CONF_METER_ID: Final = "meter_id"
CONF_RECEIVER: Final = "receiver"
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"
CONF_BYTESIZE: Final = "bytesize"
#: The entry data that fix the serial line (absent: every setting of the profile is tried).
SERIAL_FIELDS: Final = (CONF_BAUDRATE, CONF_PARITY, CONF_BYTESIZE)
CONF_FORMAT: Final = "format"

# Form-only fields.
CONF_SERIAL: Final = "serial"  # the advanced section of the meter step

# Options.
CONF_MIN_INTERVAL: Final = "min_interval"
CONF_SCALE: Final = "scale"
CONF_FUSE: Final = "fuse"

DEFAULT_PROFILE: Final = "auto"
DEFAULT_MIN_INTERVAL: Final = 0.0
DEFAULT_SCALE: Final = 1.0
DEFAULT_FUSE: Final = 0

#: Wireless M-Bus receivers the wM-Bus decoder understands, in the order the form lists
#: them, and their baud rate (the library's table).
RECEIVERS: Final = {r: BAUD_RATES[r] for r in ("im871a", "amb8465", "cul", "rtlwmbus", "raw")}
DEFAULT_RECEIVER: Final = "im871a"


@dataclass(frozen=True, slots=True)
class Timings:
    """How long (and for how many frames) the reader waits before it acts.

    The coordinator takes them as a constructor argument; tests pass shorter ones.
    """

    #: Reconnect back-off: first wait, doubled up to the maximum (seconds); back to the
    #: first wait once a message decodes.
    backoff_start: float = 1.0
    backoff_max: float = 60.0
    #: The meter is "silent" after this many push intervals without a decoded frame.
    silence_intervals: float = 3
    #: A port that is open but silent stays open (closing it would lose the frames of a
    #: meter that resumes); it is reopened only after this many seconds of silence, in case
    #: the connection died without a word (a TCP peer gone without FIN).
    silent_reopen_after: float = 120.0
    #: Fewest seconds between two state writes of an entry while frames flood in (a meter,
    #: or a fault, sending 100 frames/s must not write 1,000 states/s). Real meters push at
    #: most once a second, so they are never held back.
    publish_min_interval: float = 0.25
    #: Consecutive key failures (no decoded frame in between) that start re-authentication.
    auth_failure_limit: int = 5
    #: Authenticated frames refused as replayed, in a row, before the user is asked whether
    #: the meter's counter was reset.
    replay_issue_after: int = 3
    #: A repair issue is raised when a meter that worked has been silent this long (seconds).
    silent_issue_after: float = 900.0
    #: A repair issue asks for a capture when bytes have arrived this long (seconds) without
    #: a single frame that decodes (``report.NoDecodeWatch``).
    no_decode_issue_after: float = 300.0
    #: A total held (lower, or an implausible rise) for this many readings in a row and this
    #: long (seconds) raises a repair issue that lets the user accept the meter's value.
    total_issue_readings: int = 3
    total_issue_after: float = 900.0


#: Frames remembered for diagnostics.
RECENT_FRAMES: Final = 10

# Repair issue ids (suffixed with the entry id).
ISSUE_SILENT: Final = "meter_silent"
ISSUE_PORT: Final = "port_unavailable"
ISSUE_DECRYPTION: Final = "decryption_failing"
ISSUE_TOTAL: Final = "total_held"
ISSUE_COUNTER_RESET: Final = "counter_reset"
ISSUE_NO_DECODE: Final = "no_decode"
