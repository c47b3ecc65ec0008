"""One entry's replay protection: the guard, its counters in the entry's store, the repair.

Replay protection (``han.replay``) is only as good as its memory: after a restart the guard
starts from what was stored here. The counters are written at most once a minute while
frames flow (an SD card would not thank us for one write per push), right away when the
user accepts a counter reset, and when the entry unloads; Home Assistant also writes a
pending save when it stops.

Authenticated frames refused in a row (``Timings.replay_issue_after``) raise a fixable repair
issue: the meter's counter went back (a replaced or reset meter, or recorded frames played
back). Only the user's confirmation makes the guard accept the lower counter; a frame whose
counter rises above the stored one clears the issue by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.helpers.storage import Store

from .const import DOMAIN, ISSUE_COUNTER_RESET, LOGGER
from .han.replay import ReplayGuard, guarded

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .han.model import Message
    from .repairs import MeterIssues

STORE_VERSION = 1
#: Seconds between a counter change and its write.
SAVE_DELAY = 60.0


def store_key(entry_id: str) -> str:
    """The storage key of an entry (a file under ``.storage``)."""
    return f"{DOMAIN}.{entry_id}"


class EntryReplay:
    """The replay guard of one entry, kept across connections and restarts."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, issues: MeterIssues, *, issue_after: int
    ) -> None:
        """Protect ``entry_id``; ``issue_after`` refusals in a row raise the reset issue."""
        self.guard = ReplayGuard()
        self._issue_after = issue_after
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, store_key(entry_id))
        self._issues = issues
        self._pending = False
        #: Frames refused as replayed since the last accepted authenticated one.
        self.refused_in_row = 0

    async def async_load(self) -> None:
        """Seed the guard with the counters stored before (nothing on a first start)."""
        data = await self._store.async_load()
        counters = (data or {}).get("counters")
        if not isinstance(counters, dict):
            return
        for title, counter in counters.items():
            if isinstance(title, str) and isinstance(counter, int) and counter >= 0:
                self.guard.seed(title, counter)

    def accepted(self, message: Message) -> None:
        """A message was taken: remember its counter (when guarded)."""
        if not guarded(message.security):
            return
        self.refused_in_row = 0
        self._issues.clear(ISSUE_COUNTER_RESET)
        if not self._pending:
            self._pending = True
            self._store.async_delay_save(self._data, SAVE_DELAY)

    def refused(self, port: str) -> bool:
        """A frame was refused as replayed; True once they came in a row long enough.

        The repair issue is raised then, unless it is open already (raised before a restart
        or reload): either way the meter's frames are refused until the user confirms, and
        the meter is unavailable for that reason, not as silent.
        """
        self.refused_in_row += 1
        if self.refused_in_row < self._issue_after:
            return False
        if self._issues.is_open(ISSUE_COUNTER_RESET):
            return True
        LOGGER.warning(
            "Meter on %s: authenticated frames keep carrying a counter that is not above the "
            "last one accepted (a replay, or a replaced or reset meter); they are refused "
            "until the reset is confirmed in Repairs",
            port,
        )
        self._issues.raise_issue(ISSUE_COUNTER_RESET)
        return True

    async def async_accept_reset(self) -> None:
        """The user confirmed the counter went back: the meter's next counter is the start."""
        guard = self.guard
        for title in list(guard.refused) or list(guard.counters):
            guard.forget(title)
        self.refused_in_row = 0
        self._issues.clear(ISSUE_COUNTER_RESET)
        await self.async_save()

    def _data(self) -> dict[str, Any]:
        self._pending = False
        return {"counters": self.guard.counters}

    async def async_save(self) -> None:
        """Write the counters now."""
        await self._store.async_save(self._data())

    async def async_flush(self) -> None:
        """Write now if a save is pending (the entry unloads)."""
        if self._pending:
            await self.async_save()


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored counters (the entry is being removed)."""
    await Store[dict[str, Any]](hass, STORE_VERSION, store_key(entry_id)).async_remove()
