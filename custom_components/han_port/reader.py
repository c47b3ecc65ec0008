"""The background task that keeps one meter's port read: open, read, reopen, restart.

It reads through ``connection.MeterLink`` (the read loop the config flow's detection uses
too) and hands what each read decoded to its coordinator, which publishes it. It never
stops on its own:

* a port that cannot be opened is retried with a back-off (1 s doubling to 60 s, back to
  1 s once a message decodes); a port that fails or closes is reopened the same way;
* a port that is open but silent stays open (frames sent while it was closed would be
  lost) and is reopened only after ``Timings.silent_reopen_after`` without a single byte, in
  case the connection died without a word. Bytes that keep arriving prove it alive, even if
  every frame in them is refused: reopening would not help, and would throw away what the
  decoder learnt (list layouts, its format lock, compact frames' formats);
* a meter whose frames keep arriving but are all refused is not "silent": after the same
  silence period it goes unavailable for the reason that refused the most of them
  (``checksum``, ``implausible``, ``unknown_layout``, ``replayed``, the keys), or as
  ``unreadable`` when bytes arrive without any frame in them; the state says ``refusing``
  and the meter-silent issue is not raised (the no-decode, decryption and counter-reset
  issues say what is wrong). Once nothing arrives any more for a silence period, the
  reason becomes ``silent``;
* a bug inside the loop reopens the port; if the task itself ever ends other than by
  ``async_stop``, the meter is marked lost and the task is started again with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.event import async_call_later

from .connection import MeterLink, open_port
from .const import DOMAIN
from .health import refused_reason

if TYPE_CHECKING:
    from datetime import datetime

    from .connection import Connection, FeedDecoder
    from .coordinator import HanPortCoordinator


class PortReader:
    """The reader task of one coordinator, and what it is doing."""

    def __init__(self, coordinator: HanPortCoordinator) -> None:
        """Read ``coordinator``'s meter; nothing is opened yet."""
        self._coordinator = coordinator
        self._hass = coordinator.hass
        self._timings = coordinator.timings
        self._meter = coordinator.meter
        self._health = coordinator.health
        self._counters = coordinator.health.counters
        self.connected = False
        #: What the reader is doing: starting, opening, cannot_open, open, receiving,
        #: silent (open, nothing arrives), refusing (open, what arrives is refused), stopped.
        self.state = "starting"
        #: While refusing: why (a refusal's code, or ``unreadable``); None otherwise.
        self.refusing: str | None = None
        #: The connection being read (or the last one), for diagnostics.
        self.link: MeterLink | None = None
        #: Loop time of the last decoded message.
        self.last_message: float | None = None
        self.backoff = self._timings.backoff_start
        #: Loop time of the last bytes read.
        self._last_bytes: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._restart: CALLBACK_TYPE | None = None

    @property
    def silence(self) -> float:
        """Seconds without a decoded frame after which the meter counts as lost."""
        return self._timings.silence_intervals * self._meter.profile.interval

    @property
    def decoder(self) -> FeedDecoder | None:
        """The decoder of the connection being read (or of the last one)."""
        return self.link.decoder if self.link is not None else None

    @callback
    def heard(self) -> None:
        """A message decoded: the meter is receiving, the back-off starts over."""
        self.last_message = self._hass.loop.time()
        self.backoff = self._timings.backoff_start
        self.state = "receiving"
        self.refusing = None

    # ------------------------------------------------------------------ the task

    async def async_open(self) -> Connection:
        """Open the port with the entry's serial settings (OSError when it cannot)."""
        return await open_port(self._meter.port, self._meter.candidate_settings()[0])

    @callback
    def start(self, connection: Connection | None) -> None:
        """Start the task, with an already open port when there is one."""
        self._stopping = False
        self._cancel_restart()
        label = self._coordinator.port_label
        self._task = task = self._coordinator.config_entry.async_create_background_task(
            self._hass, self._async_run(connection), f"{DOMAIN} reader {label}"
        )
        task.add_done_callback(self._task_done)

    async def async_stop(self) -> None:
        """Stop the task (which closes the port)."""
        self._stopping = True
        self._cancel_restart()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.state = "stopped"

    @callback
    def _task_done(self, task: asyncio.Task[None]) -> None:
        """The task ended: unless it was stopped, mark the meter lost and restart it."""
        if task is not self._task or self._stopping or self._hass.is_stopping:
            return
        error = None if task.cancelled() else task.exception()
        self._counters.reader_restarts += 1
        self._health.bug("task", error)
        self._coordinator.set_lost("reader_error")
        delay = self.backoff
        self.backoff = min(self.backoff * 2, self._timings.backoff_max)
        self._restart = async_call_later(self._hass, delay, self._restart_task)

    @callback
    def _restart_task(self, _now: datetime) -> None:
        self._restart = None
        if not self._stopping:
            self.start(None)

    @callback
    def _cancel_restart(self) -> None:
        if self._restart is not None:
            self._restart()
            self._restart = None

    # ------------------------------------------------------------------ the loop

    async def _async_run(self, connection: Connection | None) -> None:
        while True:
            if connection is None:
                connection = await self._async_connect()
            self.connected = True
            self.state = "open"
            try:
                async with MeterLink(connection, self._new_decoder) as link:
                    self.link = link
                    reason = await self._async_read(link)
            except OSError:
                reason = "port_error"
            except Exception as err:  # noqa: BLE001 - a bug here must not end the reader
                self._counters.reader_restarts += 1
                self._health.bug("loop", err)
                reason = "reader_error"
            finally:
                self.connected = False
            connection = None
            self._coordinator.set_lost(reason)
            if reason != "silent":  # open but silent: reopen at once, nothing to wait for
                await self._async_backoff()

    def _new_decoder(self) -> FeedDecoder:
        coordinator = self._coordinator
        return self._meter.new_decoder(coordinator.replay.guard, coordinator.capture)

    async def _async_connect(self) -> Connection:
        while True:
            self.state = "opening"
            try:
                connection = await self.async_open()
            except OSError as err:
                self._counters.open_failures += 1
                self.state = "cannot_open"
                self._coordinator.set_lost("cannot_open_port", detail=str(err))
                self._check_silent_issue()
                await self._async_backoff()
                continue
            self._counters.reconnects += 1
            return connection

    async def _async_backoff(self) -> None:
        await asyncio.sleep(self.backoff)
        self.backoff = min(self.backoff * 2, self._timings.backoff_max)

    async def _async_read(self, link: MeterLink) -> str:
        """Read one connection until it ends; why it ended."""
        coordinator = self._coordinator
        opened_at = self._hass.loop.time()
        async for chunk in link.chunks(partial(self._wait, opened_at)):
            if chunk.size:
                self._last_bytes = self._hass.loop.time()
                coordinator.take(chunk)
            self._check_quiet(opened_at, silence=not chunk.size)
            if coordinator.lost and self._reopen_at(opened_at) <= self._hass.loop.time():
                return "silent"  # in case the connection died without a word
        return "port_closed"

    def _since(self, opened_at: float) -> float:
        """Loop time of the last decoded message on this connection (or of the opening)."""
        return max(self.last_message or opened_at, opened_at)

    def _reopen_at(self, opened_at: float) -> float:
        """Loop time to reopen a lost meter's port: no bytes for ``silent_reopen_after``."""
        last_bytes = max(self._last_bytes or opened_at, opened_at)
        return last_bytes + self._timings.silent_reopen_after

    def _wait(self, opened_at: float) -> float:
        """Seconds to wait for bytes: until the meter counts as silent, or the reopen."""
        now = self._hass.loop.time()
        if self._coordinator.lost:
            return min(self._reopen_at(opened_at) - now, self.silence)
        return self._since(opened_at) + self.silence - now

    @callback
    def _check_quiet(self, opened_at: float, *, silence: bool) -> None:
        """After each read: nothing decoded for a silence period makes the meter unavailable.

        ``silence``: nothing arrived within the wait. The reason: what refused the frames
        that keep arriving (``_refusing``), else silent.
        """
        coordinator = self._coordinator
        now = self._hass.loop.time()
        quiet = now - self._since(opened_at) >= self.silence
        refusing = self._refusing(now) if quiet else None
        if refusing is not None:
            self.state, self.refusing = "refusing", refusing
            reason, detail = refused_reason(refusing)
            coordinator.set_lost(reason, detail=detail)
            return
        if not silence:
            return
        if quiet:
            # Available, or lost for frames refused until they stopped coming: now silent.
            if coordinator.lost_reason != "silent" and coordinator.set_lost("silent"):
                self._counters.silent_periods += 1
            self.state, self.refusing = "silent", None
        self._check_silent_issue()

    def _refusing(self, now: float) -> str | None:
        """Why a wired meter that keeps sending is refused; None when nothing arrives.

        Something must have arrived within the last half silence period: frames refused (the
        reason that refused the most since the last good frame), or bytes without any frame
        (``unreadable``). Bytes from before that are the tail of a meter that stopped (a cable
        pulled mid-frame): it is silent. Not for a wireless receiver: it hears every meter
        around, and what it refuses may be a neighbour's.
        """
        if self._meter.wireless:
            return None
        since = now - self.silence / 2
        refusal = self._health.refusal(since)
        if refusal is not None:
            return refusal
        if self._last_bytes is not None and self._last_bytes > since:
            return "unreadable"
        return None

    @callback
    def _check_silent_issue(self) -> None:
        """A meter that worked and has been silent long gets a repair issue."""
        if self.last_message is not None:
            silent_for = self._hass.loop.time() - self.last_message
            self._coordinator.issues.check_silent(
                silent_for, cannot_open=self.state == "cannot_open"
            )
