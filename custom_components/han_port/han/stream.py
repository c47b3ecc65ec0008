"""Turn a byte stream, in chunks of any size, into frames: resync, bounded memory, format lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .framing import Frame, Framer, ScanStatus
from .model import MalformedError, Rejected

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Bytes of garbage the reader keeps at most (frames are far smaller than this).
MAX_BUFFER = 16 * 1024


@dataclass(slots=True)
class StreamStats:
    """What the reader has seen, for diagnostics."""

    frames: int = 0
    rejected: int = 0
    skipped_bytes: int = 0
    overflows: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class StreamReader:
    """Find frames of the given formats in a byte stream.

    Once a format has produced a good frame the reader locks onto it and ignores other
    formats' start bytes; it unlocks when that format has produced nothing for
    ``unlock_after`` bytes (the meter, or the serial settings, clearly changed).
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
        self._locked: Framer | None = None
        self._since_good = 0
        self._unlock_after = 4 * max((f.max_size for f in self._framers), default=MAX_BUFFER)
        self.stats = StreamStats()

    @property
    def locked_kind(self) -> str | None:
        """The format the reader has locked onto, if any."""
        return self._locked.kind if self._locked else None

    def reset(self) -> None:
        """Forget buffered bytes and the format lock (after a reconnect)."""
        self._buf.clear()
        self._locked = None
        self._since_good = 0

    def feed(self, data: bytes, *, final: bool = False) -> list[Frame | Rejected]:
        """Add bytes; return every frame (or rejected frame) completed by them."""
        buf = self._buf
        buf += data
        self._since_good += len(data)
        out: list[Frame | Rejected] = []
        pos = self._scan(out, final=final)
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
        return out

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

    def _scan(self, out: list[Frame | Rejected], *, final: bool) -> int:
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
                    out.append(scan.frame)
                    stats.frames += 1
                    stats.by_kind[framer.kind] = stats.by_kind.get(framer.kind, 0) + 1
                    self._since_good = len(buf) - scan.end
                    if self._lock_enabled and self._locked is None:
                        self._locked = framer
                        framers = (framer,)
                else:
                    error = scan.error or MalformedError("frame check failed")
                    out.append(Rejected(framer.kind, error, scan.end - start))
                    stats.rejected += 1
                pos = scan.end
                advanced = True
                break
            if advanced:
                continue
            if waiting:
                return pos
            pos = start + 1
            stats.skipped_bytes += 1
