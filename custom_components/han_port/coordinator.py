"""Push coordinator: one background task per meter reads the port and publishes messages.

The meter pushes a frame every few seconds; there is no polling. The task opens the port,
feeds a decoder and calls ``async_set_updated_data`` for every decoded message. When the
port fails or the meter is silent for ``SILENCE_INTERVALS`` push intervals, entities go
unavailable and the task reconnects with a back-off from 1 s doubling to 60 s.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.typing import UNDEFINED
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
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
    ISSUE_SILENT,
    ISSUE_TOTAL,
    LOGGER,
    RECENT_FRAMES,
)
from .han.model import ErrorCode, Message, MeterIdentity, Reading, Rejected

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from .connection import FeedDecoder

type HanPortConfigEntry = ConfigEntry[HanPortCoordinator]
type _Connection = tuple[asyncio.StreamReader, serialx.SerialStreamWriter[Any]]

_READ_SIZE = 4096
_KEY_CODES = frozenset({ErrorCode.AUTH_FAILED, ErrorCode.WRONG_KEY, ErrorCode.NO_KEY})
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


@dataclass(slots=True)
class MeterData:
    """Everything the meter has said so far; each message updates the registers it carries."""

    readings: dict[str, Reading] = field(default_factory=dict)
    meter: MeterIdentity = field(default_factory=MeterIdentity)
    format: str | None = None
    timestamp: datetime | None = None
    messages: int = 0


@dataclass(slots=True)
class Counters:
    """Frame counters for diagnostics."""

    ok: int = 0
    checksum: int = 0
    auth: int = 0
    other: int = 0
    energy_dropped: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FrameLog:
    """One frame, for diagnostics: never its bytes."""

    at: datetime
    format: str
    size: int
    result: str


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
        self.meter = MeterConfig.from_data(entry.data)
        self.meter_key: str = entry.unique_id or entry.entry_id
        self.min_interval = float(entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL))
        self.scale = float(entry.options.get(CONF_SCALE, DEFAULT_SCALE))
        self.fuse = int(entry.options.get(CONF_FUSE, DEFAULT_FUSE))
        self.data = MeterData()
        self.counters = Counters()
        self.recent: deque[FrameLog] = deque(maxlen=RECENT_FRAMES)
        self.connected = False
        self.decoder: FeedDecoder | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = False
        self._last_message: float | None = None
        self._backoff = const.BACKOFF_START
        self._key_failures = 0
        self._reauth_started = False
        self._notes_logged: set[str] = set()  # decoder notes already warned about
        self._decoder_bug_logged = False
        self._silent_issue = False
        self._decrypt_issue = False
        #: Totals whose lower value the user accepted in the repair flow (sensors apply it).
        self.accept_lower: set[str] = set()
        self._last_publish = 0.0
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

    async def async_open(self) -> _Connection:
        """Open the port with the entry's serial settings (OSError when it cannot)."""
        return await open_port(self.meter.port, self.meter.candidate_settings()[0])

    @callback
    def start(self, connection: _Connection | None) -> None:
        """Start the reader task, with an already open port when there is one."""
        self._task = self.config_entry.async_create_background_task(
            self.hass, self._async_run(connection), f"{DOMAIN} reader {self.port_label}"
        )

    async def async_stop(self) -> None:
        """Stop the reader task and close the port."""
        self._cancel_pending()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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

    # ------------------------------------------------------------------ the reader

    async def _async_run(self, connection: _Connection | None) -> None:
        while True:
            if connection is None:
                connection = await self._async_connect()
            reader, writer = connection
            self.connected = True
            try:
                reason = await self._async_read(reader, writer)
            except OSError:
                reason = "port_error"
            finally:
                self.connected = False
                await close_port(writer)
            connection = None
            self._set_lost(reason)
            await self._async_backoff()

    async def _async_connect(self) -> _Connection:
        while True:
            try:
                connection = await self.async_open()
            except OSError:
                self._set_lost("port_error")
                await self._async_backoff()
                continue
            self.counters.reconnects += 1
            return connection

    async def _async_backoff(self) -> None:
        self._check_silent_issue()
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, const.BACKOFF_MAX)

    async def _async_read(
        self, reader: asyncio.StreamReader, writer: serialx.SerialStreamWriter[Any]
    ) -> str:
        loop = self.hass.loop
        self.decoder = decoder = self.meter.new_decoder()
        start_receiver(decoder, writer)
        connected_at = loop.time()
        while True:
            since = max(self._last_message or connected_at, connected_at)
            timeout = max(since + self.silence - loop.time(), 0)
            try:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), timeout)
            except TimeoutError:
                return "silent"
            if not data:
                return "port_closed"
            try:
                results = decoder.feed(data)
            except Exception:  # noqa: BLE001 - a decoder bug must not stop the reader
                decoder = self._decoder_failed(len(data))
                continue
            for result in results:
                if isinstance(result, Message):
                    self._handle_message(result)
                else:
                    self._handle_rejected(result)

    def _decoder_failed(self, size: int) -> FeedDecoder:
        """Log a decoder bug once (with its traceback), count it, and start a fresh decoder."""
        self.counters.other += 1
        self.counters.last_error = "decoder_error"
        self.counters.last_error_at = dt_util.utcnow()
        if not self._decoder_bug_logged:
            self._decoder_bug_logged = True
            LOGGER.exception(
                "Meter on %s: the decoder failed on %d bytes; they were dropped. Please report "
                "this with the integration's diagnostics",
                self.port_label,
                size,
            )
        self.decoder = decoder = self.meter.new_decoder()
        return decoder

    # ------------------------------------------------------------------ results

    @callback
    def _handle_message(self, message: Message) -> None:
        now = self.hass.loop.time()
        self.counters.ok += 1
        self.recent.append(FrameLog(dt_util.utcnow(), message.format, message.size, "ok"))
        self._last_message = now
        self._backoff = const.BACKOFF_START
        self._key_failures = 0
        self._reauth_started = False
        for note in message.notes:
            if note in _NOTE_WARNINGS and note not in self._notes_logged:
                self._notes_logged.add(note)
                LOGGER.warning(_NOTE_WARNINGS[note], self.port_label)
        if self._lost:
            self._lost = False
            LOGGER.info("Meter on %s is sending data again", self.port_label)
        self._clear_issues()
        data = self.data
        first = data.messages == 0
        if self._merge(data, message):
            self._update_device(data.meter)
        self._publish(data, force=first or not self.last_update_success)

    @callback
    def _handle_rejected(self, rejected: Rejected) -> None:
        code = rejected.code
        self.recent.append(FrameLog(dt_util.utcnow(), rejected.format, rejected.size, code))
        if code is ErrorCode.CHECKSUM:
            self.counters.checksum += 1
        elif code in _KEY_CODES:
            self.counters.auth += 1
        else:
            self.counters.other += 1
        self.counters.last_error = code.value
        self.counters.last_error_at = dt_util.utcnow()
        if code not in _KEY_CODES:
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
            self._create_issue(ISSUE_DECRYPTION)
            self.config_entry.async_start_reauth(self.hass)

    def _merge(self, data: MeterData, message: Message) -> bool:
        data.readings.update(message.readings)
        changed = False
        for name in ("meter_id", "manufacturer", "model", "list_id", "system_title"):
            value = getattr(message.meter, name)
            if value and getattr(data.meter, name) != value:
                setattr(data.meter, name, value)
                changed = changed or name in ("meter_id", "manufacturer", "model")
        data.format = message.format
        if message.timestamp is not None:
            data.timestamp = message.timestamp
        data.messages += 1
        return changed

    @callback
    def _publish(self, data: MeterData, *, force: bool = False) -> None:
        loop = self.hass.loop
        wait = self._last_publish + self.min_interval - loop.time()
        if force or self.min_interval <= 0 or wait <= 0:
            self._cancel_pending()
            self._last_publish = loop.time()
            self.async_set_updated_data(data)
            return
        self.data = data
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
            self._last_publish = self.hass.loop.time()
            self.async_set_updated_data(self.data)

    # ------------------------------------------------------------------ availability

    @callback
    def _set_lost(self, reason: str, *, log: bool = True) -> None:
        if self._lost:
            return
        self._lost = True
        if log:
            LOGGER.warning("Meter on %s is unavailable: %s", self.port_label, reason)
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

    def _issue_id(self, kind: str) -> str:
        return f"{kind}_{self.config_entry.entry_id}"

    @callback
    def _check_silent_issue(self) -> None:
        if self._silent_issue or self._last_message is None:
            return
        if self.hass.loop.time() - self._last_message >= const.SILENT_ISSUE_AFTER:
            self._create_issue(ISSUE_SILENT)

    @callback
    def _create_issue(self, kind: str) -> None:
        if kind == ISSUE_SILENT:
            self._silent_issue = True
        else:
            self._decrypt_issue = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(kind),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            translation_placeholders={
                "title": self.config_entry.title,
                "port": self.port_label,
                "activation": self.meter.profile.activation,
            },
        )

    def total_issue_id(self, obis: str) -> str:
        """The repair issue of a held total (one per register and entry)."""
        return self._issue_id(f"{ISSUE_TOTAL}_{obis}")

    @callback
    def total_held(self, obis: str, name: str, held: str, reported: str) -> None:
        """A total keeps reporting what Home Assistant cannot follow: ask the user."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.total_issue_id(obis),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_TOTAL,
            translation_placeholders={
                "title": self.config_entry.title,
                "sensor": name,
                "held": held,
                "reported": reported,
            },
            data={"entry_id": self.config_entry.entry_id, "obis": obis},
        )

    @callback
    def total_follows(self, obis: str) -> None:
        """The total is consistent again (or the user accepted it): drop its issue."""
        ir.async_delete_issue(self.hass, DOMAIN, self.total_issue_id(obis))

    @callback
    def async_accept_lower(self, obis: str) -> None:
        """The user accepted a total's lower value: the sensor takes it at once."""
        self.accept_lower.add(obis)
        self.async_update_listeners()

    @callback
    def _clear_issues(self) -> None:
        if self._silent_issue:
            self._silent_issue = False
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_SILENT))
        if self._decrypt_issue:
            self._decrypt_issue = False
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_DECRYPTION))
