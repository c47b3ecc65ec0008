"""The last frames of a line, as received, with the decoder's verdict: a capture for a bug report.

A ``Decoder`` given a ``FrameCapture`` records, for every frame its stream reader delivers, the
bytes of that frame exactly as they came off the wire (for a frame a framer rejected, the bytes
it consumed; a trailer that only came with the next read, such as a P1 telegram's CR LF after
its CRC or an HDLC frame's closing flag, is not there: the frame was complete without it), and
what became of it: ``ok``, ``partial`` (a segment or block of a message that
is not complete yet) or the error code and message. It also keeps the last raw bytes read, for
a line where nothing frames at all (a wrong baud rate, an unknown format).

Bounded and cheap on the hot path: a frame is kept as a reference to its bytes (cut to
``FRAME_CAP``) in a deque of ``FRAMES``; raw reads as references in a deque trimmed to
``RAW_CAP`` bytes. Hex, messages and redaction are made only when ``snapshot`` is asked for.

What a snapshot holds, and what it never holds:

* keys never: the decoder's keys are not reachable from here, and error messages carry none;
* the decoded part names no meter: a frame's meter id and system title are replaced by
  ``REDACTED`` (a snapshot says that the frame carried them, not what they are);
* the frame bytes are what the meter sent: an encrypted frame's bytes are ciphertext (its
  system title is in clear in the envelope), a plain frame's bytes carry the meter id.

``frames_from_snapshot`` turns a snapshot back into bytes (``scripts/han decode --file``).
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
import time
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .model import Message, Rejected

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Frames kept.
FRAMES: Final = 20
#: Bytes kept of one frame (an HDLC frame is at most 2,049; a P1 telegram rarely over 2 KiB).
FRAME_CAP: Final = 4096
#: Bytes of all frames a snapshot shows at most (newest first; older frames are left out).
TOTAL_CAP: Final = 32 * 1024
#: Raw bytes kept of the last reads.
RAW_CAP: Final = 4096
#: What a snapshot shows instead of a meter id or system title.
REDACTED: Final = "**REDACTED**"
#: Verdict of a frame that continues a message not complete yet.
VERDICT_PARTIAL: Final = "partial"
OK: Final = "ok"


type _Row = tuple[float, str, bytes, int, "Message | Rejected | None"]


class Captured(NamedTuple):
    """One frame: its kind, its bytes (cut to ``FRAME_CAP``), its size and what became of it."""

    at: float
    kind: str
    wire: bytes
    size: int
    #: A decoded message, a rejection, or None (a part of a message still open).
    result: Message | Rejected | None


class FrameCapture:
    """The last ``frames`` frames and ``raw_cap`` raw bytes of one meter's line."""

    def __init__(
        self, frames: int = FRAMES, *, frame_cap: int = FRAME_CAP, raw_cap: int = RAW_CAP
    ) -> None:
        """Keep the last ``frames`` frames, each cut to ``frame_cap`` bytes."""
        #: Plain tuples (``Captured`` fields): made once per frame on the hot path, where a
        #: named tuple or a frozen dataclass costs several times more.
        self._frames: deque[_Row] = deque(maxlen=frames)
        self._append = self._frames.append
        self.frame_cap = frame_cap
        self.raw_cap = raw_cap
        self._raw: deque[bytes] = deque()
        self._raw_size = 0
        #: Bytes read in all.
        self.received = 0

    @property
    def frames(self) -> list[Captured]:
        """The frames kept, oldest first."""
        return [Captured._make(row) for row in self._frames]

    @property
    def limit(self) -> int:
        """How many frames are kept."""
        return self._frames.maxlen or 0

    def add_raw(self, data: bytes) -> None:
        """Bytes as read from the line (kept by reference, the oldest dropped past the cap)."""
        self.received += len(data)
        raw = self._raw
        raw.append(data)
        self._raw_size += len(data)
        while self._raw_size - len(raw[0]) >= self.raw_cap:
            self._raw_size -= len(raw.popleft())

    def add(self, kind: str, wire: bytes, result: Message | Rejected | None) -> None:
        """A frame's bytes as received and what the decoder made of it."""
        self._append((time.time(), kind, wire[: self.frame_cap], len(wire), result))

    def raw(self) -> bytes:
        """The last raw bytes read (at most ``raw_cap``)."""
        return b"".join(self._raw)[-self.raw_cap :]

    def clear(self) -> None:
        """Forget everything (a new line setting)."""
        self._frames.clear()
        self._raw.clear()
        self._raw_size = 0
        self.received = 0

    def snapshot(self, *, total_cap: int = TOTAL_CAP) -> dict[str, Any]:
        """The capture as JSON-ready data (see the module's docstring for what it holds).

        Frames come oldest first, as they arrived; when their bytes exceed ``total_cap`` the
        oldest are left out (``omitted`` says how many). The raw bytes are included only when
        no captured frame decoded: then they are what a developer needs.
        """
        frames = self.frames
        kept: list[Captured] = []
        budget = total_cap
        for frame in reversed(frames):
            if len(frame.wire) > budget:
                break
            budget -= len(frame.wire)
            kept.append(frame)
        kept.reverse()
        decoded = any(isinstance(frame.result, Message) for frame in frames)
        raw = b"" if decoded else self.raw()
        return {
            "limits": {
                "frames": self.limit,
                "frame_bytes": self.frame_cap,
                "total_bytes": total_cap,
                "raw_bytes": self.raw_cap,
            },
            "received_bytes": self.received,
            "omitted": len(frames) - len(kept),
            "frames": [_frame_json(frame) for frame in kept],
            "raw_hex": raw.hex(),
        }


def _frame_json(frame: Captured) -> dict[str, Any]:
    result = frame.result
    out: dict[str, Any] = {
        "at": datetime.fromtimestamp(frame.at, UTC).isoformat(),
        "kind": frame.kind,
        "size": frame.size,
        "hex": frame.wire.hex(),
        "cut": len(frame.wire) < frame.size,
    }
    if result is None:
        out["verdict"] = VERDICT_PARTIAL
    elif isinstance(result, Rejected):
        out["verdict"] = result.code.value
        out["detail"] = str(result.error)[:200]
    else:
        out["verdict"] = OK
        out["decoded"] = _decoded(result)
    return out


def _decoded(message: Message) -> dict[str, Any]:
    """What a message says about itself, without naming the meter."""
    meter = message.meter
    security = message.security
    out: dict[str, Any] = {
        "format": message.format,
        "registers": len(message.readings),
        "manufacturer": meter.manufacturer,
        "model": meter.model,
        "list_id": meter.list_id,
        "meter_id": REDACTED if meter.meter_id else None,
        "system_title": REDACTED if meter.system_title else None,
        "notes": list(message.notes),
    }
    if security is not None:
        out["security"] = {
            "system_title": REDACTED if security.system_title else None,
            "counter": security.counter,
            "authenticated": security.authenticated,
        }
    return out


def frames_from_snapshot(snapshot: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """``(kind, bytes)`` of every whole frame of a snapshot, in order; else its raw bytes.

    Frames cut to the cap are left out (their bytes are incomplete). A snapshot without
    frames gives its raw bytes as one ``("raw", bytes)``.
    """
    frames = snapshot.get("frames") or []
    whole = [frame for frame in frames if not frame.get("cut")]
    for frame in whole:
        yield str(frame.get("kind", "")), bytes.fromhex(str(frame.get("hex", "")))
    raw = str(snapshot.get("raw_hex") or "")
    if raw and not whole:
        yield "raw", bytes.fromhex(raw)
