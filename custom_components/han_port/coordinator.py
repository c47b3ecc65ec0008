"""Push coordinator: one background task per meter reads the port and publishes messages.

The meter pushes a frame every few seconds; there is no polling. The task opens the port,
feeds a decoder, and publishes what decodes. It never stops on one bad frame:

* a decoder bug drops the bytes and starts a fresh decoder; a failure while handling or
  publishing one message is logged once (with its traceback), counted, and reading goes
  on; a message with a non-finite or absurdly large number is refused as ``implausible``;
* if the task itself ever ends other than by unload, entities go unavailable and it is
  started again with back-off.

Ports: one that cannot be opened is retried with a back-off (1 s doubling to 60 s, back to
1 s once a message decodes). A port that is open but silent stays open (frames sent while
it was closed would be lost) and is reopened only after ``SILENT_REOPEN_AFTER`` seconds.

The event loop: each read takes what is buffered, every message in it is merged, the
entities are written once (at most every ``PUBLISH_MIN_INTERVAL`` s in a flood), and the
task yields before the next read.

Replay protection: the entry keeps one guard across connections and restarts
(``replay_store``); only the user can accept that the meter's counter went back.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.typing import UNDEFINED
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
import serialx

from . import const
from .connection import MeterConfig, close_port, open_port, start_receiver
from .const import (
    CONF_FUSE,
    CONF_MIN_INTERVAL,
    CONF_SCALE,
    DEFAULT_FUSE,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_SCALE,
    DOMAIN,
    ISSUE_DECRYPTION,
    LOGGER,
)
from .data import MeterData
from .guard import sane_number
from .han.model import ErrorCode, Message, MeterIdentity, Rejected
from .health import KEY_CODES, ReaderHealth
from .repairs import MeterIssues
from .replay_store import EntryReplay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from .connection import FeedDecoder

__all__ = ["HanPortConfigEntry", "HanPortCoordinator", "MeterData"]

type HanPortConfigEntry = ConfigEntry[HanPortCoordinator]
type _Connection = tuple[asyncio.StreamReader, serialx.SerialStreamWriter[Any]]

_READ_SIZE = 4096


class HanPortCoordinator(DataUpdateCoordinator[MeterData]):
    """Reads one meter's port in a background task and publishes what it decodes."""

    config_entry: HanPortConfigEntry

    def __init__(self, hass: HomeAssistant, entry: HanPortConfigEntry) -> None:
        """Create the coordinator for ``entry``; nothing is opened yet."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=None,
            always_update=True,
        )
        self.meter = MeterConfig.from_data(entry.data, with_format=True)
        self.meter_key: str = entry.unique_id or entry.entry_id
        self.min_interval = float(entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL))
        self.scale = float(entry.options.get(CONF_SCALE, DEFAULT_SCALE))
        self.fuse = int(entry.options.get(CONF_FUSE, DEFAULT_FUSE))
        self.data = MeterData()
        self.health = ReaderHealth(self.port_label)
        self.counters = self.health.counters
        self.recent = self.health.recent
        self.connected = False
        #: What the reader is doing: starting, opening, cannot_open, open, receiving,
        #: silent (open, nothing decoded), stopped.
        self.reader_state = "starting"
        self.decoder: FeedDecoder | None = None
        self.issues = MeterIssues(hass, entry, self.port_label, self.meter.profile.activation)
        self.replay = EntryReplay(hass, entry.entry_id, self.issues)
        #: Totals whose lower value the user accepted in the repair flow (sensors apply it).
        self.accept_lower: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._restart: CALLBACK_TYPE | None = None
        self._lost = False
        self._last_message: float | None = None
        self._backoff = const.BACKOFF_START
        self._key_failures = 0
        self._reauth_started = False
        self._last_publish = 0.0
        self._force_publish = False
        self._pending: CALLBACK_TYPE | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def silence(self) -> float:
        """Seconds without a decoded frame after which the meter counts as lost."""
        return const.SILENCE_INTERVALS * self.meter.profile.interval

    @property
    def port_label(self) -> str:
        """The port for logs and diagnostics, with any credentials in a URL removed."""
        return str(serialx.redact_uri(self.meter.port))

    async def async_load(self) -> None:
        """Read what the entry stored (the replay counters) before the first frame."""
        await self.replay.async_load()

    async def async_open(self) -> _Connection:
        """Open the port with the entry's serial settings (OSError when it cannot)."""
        return await open_port(self.meter.port, self.meter.candidate_settings()[0])

    @callback
    def start(self, connection: _Connection | None) -> None:
        """Start the reader task, with an already open port when there is one."""
        self._stopping = False
        self._cancel_restart()
        self._task = task = self.config_entry.async_create_background_task(
            self.hass, self._async_run(connection), f"{DOMAIN} reader {self.port_label}"
        )
        task.add_done_callback(self._reader_done)

    async def async_stop(self) -> None:
        """Stop the reader task, close the port and store the replay counters."""
        self._stopping = True
        self._cancel_pending()
        self._cancel_restart()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.reader_state = "stopped"
        await self.replay.async_flush()

    @contextlib.asynccontextmanager
    async def async_port_released(self) -> AsyncIterator[None]:
        """Free the port for a while (a flow listening to it), then read again."""
        await self.async_stop()
        try:
            yield
        finally:
            self.start(None)

    async def _async_update_data(self) -> MeterData:
        """A refresh request (homeassistant.update_entity) returns what is known."""
        if self.data.messages == 0 or self._lost:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_data")
        return self.data

    @callback
    def _reader_done(self, task: asyncio.Task[None]) -> None:
        """The reader task ended: unless it was stopped, mark unavailable and restart it."""
        if task is not self._task or self._stopping or self.hass.is_stopping:
            return
        error = None if task.cancelled() else task.exception()
        self.counters.reader_restarts += 1
        self.health.bug("task", error)
        self._set_lost("reader_error")
        delay, self._backoff = self._backoff, min(self._backoff * 2, const.BACKOFF_MAX)
        self._restart = async_call_later(self.hass, delay, self._restart_reader)

    @callback
    def _restart_reader(self, _now: datetime) -> None:
        self._restart = None
        if not self._stopping:
            self.start(None)

    @callback
    def _cancel_restart(self) -> None:
        if self._restart is not None:
            self._restart()
            self._restart = None

    # ------------------------------------------------------------------ the reader

    async def _async_run(self, connection: _Connection | None) -> None:
        while True:
            if connection is None:
                connection = await self._async_connect()
            reader, writer = connection
            self.connected = True
            self.reader_state = "open"
            try:
                reason = await self._async_read(reader, writer)
            except OSError:
                reason = "port_error"
            except Exception as err:  # noqa: BLE001 - a bug here must not end the reader
                self.counters.reader_restarts += 1
                self.health.bug("loop", err)
                reason = "reader_error"
            finally:
                self.connected = False
                await close_port(writer)
            connection = None
            self._set_lost(reason)
            if reason != "silent":  # open but silent: reopen at once, nothing to wait for
                await self._async_backoff()

    async def _async_connect(self) -> _Connection:
        while True:
            self.reader_state = "opening"
            try:
                connection = await self.async_open()
            except OSError as err:
                self.counters.open_failures += 1
                self.reader_state = "cannot_open"
                self._set_lost("cannot_open_port", detail=str(err))
                self._check_silent_issue()
                await self._async_backoff()
                continue
            self.counters.reconnects += 1
            return connection

    async def _async_backoff(self) -> None:
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, const.BACKOFF_MAX)

    async def _async_read(
        self, reader: asyncio.StreamReader, writer: serialx.SerialStreamWriter[Any]
    ) -> str:
        loop = self.hass.loop
        self.decoder = self.meter.new_decoder(self.replay.guard)
        start_receiver(self.decoder, writer)
        opened_at = loop.time()
        while True:
            since = self._since(opened_at)
            if self._lost:
                wait = since + const.SILENT_REOPEN_AFTER - loop.time()
                if wait <= 0:
                    return "silent"  # in case the connection died without a word
                wait = min(wait, self.silence)
            else:
                wait = since + self.silence - loop.time()
            try:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), max(wait, 0))
            except TimeoutError:
                if not self._lost and loop.time() - self._since(opened_at) >= self.silence:
                    self.counters.silent_periods += 1
                    self.reader_state = "silent"
                    self._set_lost("silent")
                self._check_silent_issue()
                continue
            if not data:
                return "port_closed"
            self._feed(data)
            await asyncio.sleep(0)  # let the loop breathe between chunks, however fast they come

    def _since(self, opened_at: float) -> float:
        """Loop time of the last decoded message on this connection (or of the opening)."""
        return max(self._last_message or opened_at, opened_at)

    @callback
    def _feed(self, data: bytes) -> None:
        """Decode one chunk, take every result in order, then write the entities once."""
        decoder = self.decoder
        assert decoder is not None
        try:
            results = decoder.feed(data)
        except Exception as err:  # noqa: BLE001 - a decoder bug must not stop the reader
            self.health.refused("decoder_error")
            self.health.bug("decoder", err, len(data))
            self.decoder = self.meter.new_decoder(self.replay.guard)
            return
        accepted = False
        for result in results:
            try:
                if isinstance(result, Message):
                    accepted = self._accept(result) or accepted
                else:
                    self._handle_rejected(result)
            except Exception as err:  # noqa: BLE001 - one message must not stop the reader
                self.counters.publish_errors += 1
                self.health.bug("result", err)
        if accepted:
            self._publish(cap=True)

    # ------------------------------------------------------------------ results

    @callback
    def _handle_message(self, message: Message) -> None:
        """Take one message and write the entities (the reader batches; tests use this)."""
        if self._accept(message):
            self._publish()

    @callback
    def _accept(self, message: Message) -> bool:
        """Merge a decoded message into the meter's data; False when it is refused."""
        bad = next((r.obis for r in message.readings.values() if not sane_number(r.value)), None)
        if bad is not None:
            self.health.implausible(message, bad)
            return False
        self.health.accepted(message)
        self._last_message = self.hass.loop.time()
        self._backoff = const.BACKOFF_START
        self._key_failures = 0
        self._reauth_started = False
        self.reader_state = "receiving"
        self.replay.accepted(message)
        if self._lost:
            self._lost = False
            self._force_publish = True
            LOGGER.info("Meter on %s is sending data again", self.port_label)
        self.issues.clear_on_data()
        data = self.data
        if data.messages == 0:
            self._force_publish = True
        if data.merge(message):
            self._update_device(data.meter)
        return True

    @callback
    def _handle_rejected(self, rejected: Rejected) -> None:
        code = rejected.code
        self.health.refused(code.value, rejected)
        if code is ErrorCode.REPLAYED:
            if self.replay.refused(self.port_label):
                self._set_lost("replayed")
            return
        if code not in KEY_CODES:
            return
        self._key_failures += 1
        if self._key_failures >= const.AUTH_FAILURE_LIMIT and not self._reauth_started:
            self._reauth_started = True
            LOGGER.warning(
                "Meter on %s: %d frames in a row could not be decrypted (%s); "
                "asking for the keys again",
                self.port_label,
                self._key_failures,
                code.value,
            )
            self._set_lost("auth_failed", log=False)
            self.issues.raise_issue(ISSUE_DECRYPTION)
            self.config_entry.async_start_reauth(self.hass)

    # ------------------------------------------------------------------ publishing

    @callback
    def _publish(self, *, cap: bool = False) -> None:
        """Write the entities now, or once the publish interval has passed.

        ``cap`` (the reader) adds ``PUBLISH_MIN_INTERVAL`` to the user's minimum interval.
        """
        force = self._force_publish or not self.last_update_success
        self._force_publish = False
        loop = self.hass.loop
        interval = max(self.min_interval, const.PUBLISH_MIN_INTERVAL if cap else 0.0)
        wait = self._last_publish + interval - loop.time()
        if force or interval <= 0 or wait <= 0:
            self._cancel_pending()
            self._write()
            return
        if self._pending is None:
            self._pending = async_call_later(self.hass, wait, self._publish_pending)

    @callback
    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending()
            self._pending = None

    @callback
    def _publish_pending(self, _now: datetime) -> None:
        self._pending = None
        if not self._lost:
            self._write()

    @callback
    def _write(self) -> None:
        """What ``async_set_updated_data`` does, without its debug line per frame."""
        self._last_publish = self.hass.loop.time()
        self.last_update_success = True
        self.last_exception = None
        self.async_update_listeners()

    @callback
    def async_update_listeners(self) -> None:
        """Update every listener; one that fails is logged and counted, the rest still run."""
        for update_callback, _ in list(self._listeners.values()):
            try:
                update_callback()
            except Exception as err:  # noqa: BLE001 - one entity must not stop the others
                self.counters.publish_errors += 1
                self.health.bug("publish", err)

    # ------------------------------------------------------------------ availability

    @callback
    def _set_lost(self, reason: str, *, log: bool = True, detail: str | None = None) -> None:
        if self._lost:
            return
        self._lost = True
        if log:
            self.health.lost(reason, detail)
        self._cancel_pending()
        # Not async_set_update_error: it logs its own "Error requesting" line at error level.
        self.last_exception = UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=reason,
            translation_placeholders={"port": self.port_label},
        )
        self.last_update_success = False
        self.async_update_listeners()

    @callback
    def _update_device(self, meter: MeterIdentity) -> None:
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={(DOMAIN, self.meter_key)},
            manufacturer=meter.manufacturer or UNDEFINED,
            model=meter.model or UNDEFINED,
            serial_number=meter.meter_id or UNDEFINED,
        )

    # ------------------------------------------------------------------ repairs

    @callback
    def _check_silent_issue(self) -> None:
        if self._last_message is not None:
            silent_for = self.hass.loop.time() - self._last_message
            self.issues.check_silent(silent_for, cannot_open=self.reader_state == "cannot_open")

    def total_issue_id(self, obis: str) -> str:
        """The repair issue of a held total (one per register and entry)."""
        return self.issues.total_issue_id(obis)

    @callback
    def total_held(self, obis: str, name: str, held: str, reported: str) -> None:
        """A total keeps reporting what Home Assistant cannot follow: ask the user."""
        self.issues.total_held(obis, name, held, reported)

    @callback
    def total_follows(self, obis: str) -> None:
        """The total is consistent again (or the user accepted it): drop its issue."""
        self.issues.total_follows(obis)

    @callback
    def async_accept_lower(self, obis: str) -> None:
        """The user accepted a total's lower value: the sensor takes it at once."""
        self.accept_lower.add(obis)
        self.async_update_listeners()

    async def async_accept_counter_reset(self) -> None:
        """The user confirmed the meter's counter went back: its next counter is the start."""
        await self.replay.async_accept_reset()
        LOGGER.info("Meter on %s: the counter reset was accepted", self.port_label)
