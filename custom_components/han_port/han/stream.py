"""Turn a byte stream, in chunks of any size, into frames: resync, bounded memory, format lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .framing import Frame, Framer, ScanStatus
from .model import MalformedError, Rejected

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

#: Bytes of garbage the reader keeps at most (frames are far smaller than this).
MAX_BUFFER = 16 * 1024
#: Bad outcomes of the locked format in a row (frames it rejected, or that did not decode)
#: after which the lock yields.
UNLOCK_AFTER_BAD = 3


@dataclass(slots=True)
class StreamStats:
    """What the reader has seen, for diagnostics."""

    frames: int = 0
    rejected: int = 0
    skipped_bytes: int = 0
    overflows: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    #: Frames without a checksum of their own that turned out not to be frames (the decoder
    #: dropped their key error: another format decoded right after them).
    unconfirmed: int = 0


#: An HDLC flag: it opens a frame and closes it, and a closing flag may open the next frame.
_FLAG = 0x7E


def _rejected_wire(buf: bytes, start: int, end: int) -> bytes:
    """The bytes a framer consumed of a frame it rejected, and an HDLC frame's closing flag.

    The HDLC framer leaves the closing flag for the next frame to share; the capture keeps it
    with the frame it closes, so that frames fed again one by one stand on their own.
    """
    if buf[start] == _FLAG and buf[end : end + 1] == bytes((_FLAG,)):
        end += 1
    return buf[start:end]


class StreamReader:
    """Find frames of the given formats in a byte stream.

    Once a format has proven itself the reader locks onto it and ignores other formats'
    start bytes:

    * a frame with a checksum of its own (``Frame.checked``) wins the lock at once;
    * a frame without one (encrypted P1 envelopes, P1 without CRC) wins it only when the
      decoder reports that it decoded (``verdict``): the ``DB 08`` header inside every
      encrypted M-Bus/HDLC frame frames as encrypted DSMR, and must never lock the reader.

    The lock yields when the locked format stops producing good messages: after
    ``UNLOCK_AFTER_BAD`` bad outcomes in a row, or ``unlock_after`` bytes without a good one
    (the meter, or the serial settings, clearly changed). A reader that never gets a verdict
    takes a checked frame as good.
    """

    def __init__(
        self,
        framers: Sequence[Framer],
        *,
        max_buffer: int = MAX_BUFFER,
        lock: bool = True,
    ) -> None:
        """Create a reader for ``framers`` (tried in order for a shared start byte)."""
        self._framers = tuple(framers)
        self._max_buffer = max_buffer
        self._lock_enabled = lock
        self._buf = bytearray()
        self._by_kind: dict[str, Framer] = {f.kind: f for f in reversed(self._framers)}
        self._locked: Framer | None = None
        self._since_good = 0
        self._bad = 0
        self._verdicts = False
        self._done = 0  # bytes of the buffer the current scan is done with
        self._unlock_after = 4 * max((f.max_size for f in self._framers), default=MAX_BUFFER)
        self.stats = StreamStats()
        #: Set ``keep_wire`` to have ``last_wire`` hold the bytes of the last frame (or rejected
        #: frame) yielded, exactly as they came in (a capture for a bug report).
        self.keep_wire = False
        self.last_wire = b""

    @property
    def locked_kind(self) -> str | None:
        """The format the reader has locked onto, if any."""
        return self._locked.kind if self._locked else None

    def reset(self) -> None:
        """Forget buffered bytes and the format lock (after a reconnect)."""
        self._buf.clear()
        self._locked = None
        self._since_good = 0
        self._bad = 0

    def verdict(self, kind: str, *, good: bool) -> None:
        """The decoder's word on a frame of ``kind`` this reader produced: decoded or not.

        A good verdict proves the format (it may win the lock); a bad one counts against
        the locked format. Verdicts on another format than the locked one are ignored.
        """
        self._verdicts = True
        locked = self._locked
        if good:
            if locked is None:
                framer = self._by_kind.get(kind)
                if self._lock_enabled and framer is not None:
                    self._locked = framer
            elif locked.kind != kind:
                return
            self._since_good = 0
            self._bad = 0
        elif locked is not None and locked.kind == kind:
            self._bad_outcome()

    def _bad_outcome(self) -> None:
        self._bad += 1
        if self._bad >= UNLOCK_AFTER_BAD:
            self._locked = None
            self._bad = 0

    def feed(self, data: bytes, *, final: bool = False) -> list[Frame | Rejected]:
        """Add bytes; return every frame (or rejected frame) completed by them."""
        return list(self.results(data, final=final))

    def results(self, data: bytes, *, final: bool = False) -> Generator[Frame | Rejected]:
        """Add bytes; yield every frame (or rejected frame) completed by them, in order.

        A ``verdict`` given on a frame before taking the next result already applies to the
        rest of the bytes (a lock it wins or loses). Closed early (the consumer failed on a
        result), the reader still forgets every byte up to the last result it yielded, so
        one frame can never stop it.
        """
        self._buf += data
        self._since_good += len(data)
        self._done = 0
        try:
            self._done = yield from self._scan(final=final)
        finally:
            self._trim(self._done, final=final)

    def _trim(self, pos: int, *, final: bool) -> None:
        """Forget the ``pos`` bytes the scan is done with; keep the buffer bounded."""
        buf = self._buf
        if self._locked is not None and self._since_good > self._unlock_after:
            # The locked format has been silent for a long stretch: the line changed.
            self._locked = None
        if pos:
            del buf[:pos]
        if len(buf) > self._max_buffer:
            # A candidate that never completes: drop the oldest bytes, keep looking.
            drop = len(buf) - self._max_buffer // 2
            del buf[:drop]
            self.stats.skipped_bytes += drop
            self.stats.overflows += 1
        if final:
            self.stats.skipped_bytes += len(buf)
            buf.clear()

    def _checked_frame(self, framer: Framer, after: int) -> None:
        """A frame whose own checksum verified: it may lock; without verdicts it is good."""
        if self._locked is None and self._lock_enabled:
            self._locked = framer
            self._since_good = after
            self._bad = 0
        elif not self._verdicts and self._locked is framer:
            self._since_good = after
            self._bad = 0

    def _candidates(self) -> Sequence[Framer]:
        return (self._locked,) if self._locked is not None else self._framers

    def _next_start(self, buf: bytes, pos: int, framers: Sequence[Framer]) -> int:
        best = -1
        for framer in framers:
            for byte in framer.start_bytes:
                idx = buf.find(byte, pos, best if best >= 0 else len(buf))
                if idx >= 0:
                    best = idx
        return best

    def _scan(self, *, final: bool) -> Generator[Frame | Rejected, None, int]:
        """Yield what the buffer holds; return how many of its bytes are done with."""
        buf = bytes(self._buf)
        pos = 0
        framers = self._candidates()
        stats = self.stats
        while True:
            start = self._next_start(buf, pos, framers)
            if start < 0:
                stats.skipped_bytes += len(buf) - pos
                return len(buf)
            stats.skipped_bytes += start - pos
            pos = start
            waiting = False
            advanced = False
            for framer in framers:
                if buf[start] not in framer.start_bytes:
                    continue
                scan = framer.scan(buf, start, final=final)
                status = scan.status
                if status is ScanStatus.NEED_MORE:
                    if len(buf) - start < framer.max_size and not final:
                        waiting = True
                    continue
                if status is ScanStatus.INVALID:
                    continue
                if status is ScanStatus.FRAME and scan.frame is not None:
                    stats.frames += 1
                    stats.by_kind[framer.kind] = stats.by_kind.get(framer.kind, 0) + 1
                    if scan.frame.checked:
                        self._checked_frame(framer, len(buf) - scan.end)
                    self._done = scan.end
                    if self.keep_wire:  # an HDLC frame's closing flag is not consumed
                        self.last_wire = buf[start : max(scan.end, start + scan.frame.size)]
                    yield scan.frame
                else:
                    error = scan.error or MalformedError("frame check failed")
                    stats.rejected += 1
                    if self._locked is framer:
                        self._bad_outcome()
                    self._done = scan.end
                    if self.keep_wire:
                        self.last_wire = _rejected_wire(buf, start, scan.end)
                    yield Rejected(framer.kind, error, scan.end - start)
                framers = self._candidates()  # a verdict on what was yielded may change it
                pos = scan.end
                advanced = True
                break
            if advanced:
                continue
            if waiting:
                return pos
            pos = start + 1
            stats.skipped_bytes += 1
