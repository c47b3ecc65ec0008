"""Replay protection: the invocation counter of authenticated frames must rise per sender.

DLMS/COSEM security suite 0 puts a 4-byte invocation (frame) counter in every ciphered
APDU; it is part of the GCM nonce, and a meter raises it for every push. A frame whose tag
verifies with the user's AK but whose counter is below the last one accepted from the same
system title, or equal to it once that sender has been seen to change its counter, is a
recording played back (or a meter whose counter was reset: a replaced meter, a firmware
update): it is refused with ``ReplayedError``.

What is guarded, and why (evidence: the counters of the real captures in the vectors):

* Only messages whose ``Security.authenticated`` is true: without a verified tag anyone
  can write any counter, so the counter proves nothing.
* Only messages with a system title. The Polish Stoen P1 envelope usually has none.
* A repeated counter is refused only from a sender whose counter has been seen to change
  (a "moving" sender); a counter below the last one is refused from any sender. The Polish
  Stoen envelope's frame counter is 0 in every capture (AMS ``frames/EGM5G35.txt``, #1067,
  #1177, the two Stoen vectors), and it gets a title when the user configures one (the IV
  override) or the frame carries ``DB 08``: its nonce never changes, so there is nothing to
  guard, and refusing the repeat refused every frame after the first. Should a Stoen meter
  raise its counter, it is guarded from its first rise on. The price: before a sender's
  first rise, a copy of its latest frame played back right away is accepted (the same
  data, within one push interval), and only on a first start (a stored counter is moving).
* Senders with a title raise the counter by one per push in every consecutive capture we
  have (Kamstrup ``amsreader-kamstrup-gh244-1..5``: 0x6F9..0x6FD; ``gh73-1/2``; Iskraemeco
  ``gh787-1..7``), so "strictly above the last" never refuses a real meter's next frame.

State is per sender (system title) and bounded: the least recently seen sender is
forgotten first. The integration seeds the guard with the counters it stored before a
restart and reads them back with ``counters``, which holds the moving senders only: a
seeded sender is moving, so a constant counter is never stored (it would refuse the
Stoen meter's first frame after a restart).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from .model import ReplayedError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .model import Security

#: Senders remembered at most (a port carries one meter; a handful is already generous).
MAX_SENDERS = 16


def guarded(security: Security | None) -> bool:
    """Whether a message's counter is checked: authenticated, from a titled sender."""
    return security is not None and security.authenticated and security.system_title is not None


class ReplayGuard:
    """The last accepted invocation counter of each sender (system title, 16 hex digits)."""

    def __init__(
        self, counters: Mapping[str, int] | None = None, *, max_senders: int = MAX_SENDERS
    ) -> None:
        """Start empty, or from counters stored earlier (``counters``)."""
        self._max = max(1, max_senders)
        self._last: OrderedDict[str, int] = OrderedDict()
        #: Senders whose counter has been seen to change: a repeat from them is refused.
        self._moving: set[str] = set()
        #: Senders whose newest frame was refused (their counter went back).
        self.refused: set[str] = set()
        for title, counter in (counters or {}).items():
            self.seed(title, counter)

    @property
    def counters(self) -> dict[str, int]:
        """The last accepted counter per moving sender (a copy, for storing)."""
        return {title: counter for title, counter in self._last.items() if title in self._moving}

    def seed(self, title: str, counter: int) -> None:
        """Remember ``counter`` as the last one accepted from ``title``, a moving sender."""
        self._remember(title, counter)
        self._moving.add(title)

    def _remember(self, title: str, counter: int) -> None:
        self._last[title] = int(counter)
        self._last.move_to_end(title)
        while len(self._last) > self._max:
            oldest, _ = self._last.popitem(last=False)
            self.refused.discard(oldest)
            self._moving.discard(oldest)

    def forget(self, title: str) -> None:
        """Drop what is known of ``title``: its next counter is accepted, whatever it is."""
        self._last.pop(title, None)
        self.refused.discard(title)
        self._moving.discard(title)

    def check(self, security: Security | None) -> bool:
        """Accept a message's counter (True when it was guarded) or raise ``ReplayedError``.

        The error names the counters, never the system title.
        """
        if not guarded(security):
            return False
        assert security is not None
        title = security.system_title
        assert title is not None
        counter = security.counter
        last = self._last.get(title)
        if last is not None:
            if counter < last or (counter == last and title in self._moving):
                self.refused.add(title)
                what = "repeated" if counter == last else "went back"
                msg = (
                    f"invocation counter {counter} {what} (last accepted {last}): "
                    "a replayed frame, or a meter whose counter was reset"
                )
                raise ReplayedError(msg)
            if counter != last:
                self._moving.add(title)
        self.refused.discard(title)
        self._remember(title, counter)
        return True
