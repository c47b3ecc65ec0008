"""What a user can send us when a meter's data cannot be read, and the issue that asks for it.

* ``capture_section``: the diagnostics' ``capture`` (the library's ``han.capture``): the last
  frames exactly as received, in hex, with the decoder's verdict on each; the raw bytes last
  read when no frame decoded; the profile, serial setting and formats in use. Never keys (the
  decoder's keys are not reachable from the capture, and verdicts carry none); the decoded part
  says whether a frame carried a meter id or system title, never which. A plain frame's bytes
  carry the meter id (README). ``scripts/han decode --file`` reads the file back.
* ``NoDecodeWatch``: bytes arriving for ``Timings.no_decode_issue_after`` seconds (5 minutes)
  without one frame that decodes (or that is refused for its keys or as a replay: those have
  their own issues) raise the ``no_decode`` repair issue, which says what was
  tried and how many bytes came, and asks for that capture. A decoded frame removes it (with
  the meter's other issues, ``MeterIssues.clear_on_data``); removing the entry removes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .const import ISSUE_NO_DECODE
from .han.decoder import DEFAULT_FORMATS
from .han.framing import FrameKind
from .han.model import KEY_ERRORS, ErrorCode, Message, Rejected

if TYPE_CHECKING:
    from collections.abc import Callable

    from .connection import Chunk, MeterConfig
    from .han.capture import FrameCapture
    from .repairs import MeterIssues

#: Formats in the issue text (technical names, the same in every language).
FORMAT_NAMES = {
    FrameKind.P1: "P1 text",
    FrameKind.P1_STOEN: "P1 envelope (Stoen)",
    FrameKind.DSMR_GCM: "GCM envelope (P1 or DLMS)",
    FrameKind.HDLC: "DLMS in HDLC",
    FrameKind.MBUS: "DLMS in M-Bus",
    FrameKind.APDU: "bare DLMS APDU",
}
#: Refusals that are no reason to ask for a capture (another issue explains them).
_UNDERSTOOD = KEY_ERRORS | {ErrorCode.REPLAYED}


def formats_in_use(meter: MeterConfig) -> tuple[FrameKind, ...]:
    """The framers the reader tries on this entry's line."""
    return meter.formats or DEFAULT_FORMATS


def describe(meter: MeterConfig) -> dict[str, str]:
    """The formats and the serial setting the reader uses, as the issue shows them."""
    return {
        "formats": ", ".join(FORMAT_NAMES[kind] for kind in formats_in_use(meter)),
        "settings": str(meter.candidate_settings()[0]),
    }


def capture_section(meter: MeterConfig, capture: FrameCapture | None) -> dict[str, Any]:
    """The diagnostics' ``capture``: what the reader tried and the frames as received."""
    if capture is None:  # a wireless receiver: its decoder keeps no capture
        return {}
    return {
        "profile": meter.profile.id,
        "settings": str(meter.candidate_settings()[0]),
        "formats": [str(kind) for kind in formats_in_use(meter)],
        **capture.snapshot(),
    }


def _understood(result: Message | Rejected) -> bool:
    """A frame that decoded, or that was read and refused for its keys or as a replay.

    Refused frames have their own issues (decryption failing, counter went back); a frame
    refused for any other reason (a checksum, a layout nobody knows) is what a capture is for.
    """
    return isinstance(result, Message) or result.code in _UNDERSTOOD


class NoDecodeWatch:
    """Bytes arrive, nothing decodes: after a while, a repair issue asks for a capture."""

    def __init__(
        self,
        issues: MeterIssues,
        meter: MeterConfig,
        *,
        after: float,
        clock: Callable[[], float],
    ) -> None:
        """Watch the reads of ``meter``; raise the issue through ``issues`` after ``after`` s."""
        self._issues = issues
        self._meter = meter
        self._after = after
        self._clock = clock
        #: When the current run of reads without a decoded frame began (None: no run).
        self._since: float | None = None
        self._last = 0.0
        #: Bytes received in the current run.
        self.bytes = 0

    def received(self, chunk: Chunk) -> None:
        """One read: a decoded frame ends the run; a long run raises the issue.

        A gap without any bytes as long as the issue's delay starts a new run: the meter was
        silent (another issue's business), not unreadable.
        """
        now = self._clock()
        if chunk.failure is None and any(map(_understood, chunk.results)):
            self._since = None
            self.bytes = 0
            return
        if self._since is None or now - self._last >= self._after:
            self._since = now
            self.bytes = 0
        self._last = now
        self.bytes += chunk.size
        if now - self._since >= self._after and not self._issues.is_open(ISSUE_NO_DECODE):
            self._issues.raise_issue(
                ISSUE_NO_DECODE,
                {
                    **describe(self._meter),
                    "bytes": str(self.bytes),
                    "minutes": str(round((now - self._since) / 60)),
                },
            )
