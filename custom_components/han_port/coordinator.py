"""Push coordinator: what one meter has said, published to its entities.

The meter pushes a frame every few seconds; there is no polling. ``reader.PortReader`` keeps
the port read in a background task and hands over what each read decoded; the coordinator
takes it in order and never stops on one bad frame: a failure while handling or publishing
one message is logged once (with its traceback), counted, and reading goes on. Every message
has passed the library's plausibility gate (``han.plausibility``: finite, bounded numbers;
text never carries a unit), the one gate for values, so none is checked again here.

Publishing: every message of one read is merged, then the entities are written once (at
most every ``Timings.publish_min_interval`` s in a flood): ``published.PublishedValues``
judges what is new (totals never go backwards; numbers are numbers), then
``async_set_updated_data``. Sensors only read the data. A lost meter goes unavailable through
``async_set_update_error``, with the reason (``set_lost``).

Replay protection: the entry keeps one guard across connections and restarts
(``replay_store``); only the user can accept that the meter's counter went back. Repair
issues live in ``repairs.MeterIssues``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from . import ports
from .capacity import EntryCapacity
from .connection import MeterConfig
from .const import (
    CONF_FUSE,
    CONF_MIN_INTERVAL,
    CONF_SCALE,
    DEFAULT_FUSE,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_SCALE,
    DOMAIN,
    LOGGER,
    Timings,
)
from .data import MeterData
from .device import meter_device_info
from .han.capture import FrameCapture
from .han.model import KEY_ERRORS, ErrorCode, Message, Rejected
from .health import COORDINATOR_LOGGER, REFUSED_REASONS, ReaderHealth
from .published import PublishedValues
from .reader import PortReader
from .repairs import MeterIssues
from .replay_store import EntryReplay
from .report import NoDecodeWatch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from .connection import Chunk

__all__ = ["HanPortConfigEntry", "HanPortCoordinator", "MeterData"]

type HanPortConfigEntry = ConfigEntry[HanPortCoordinator]


class HanPortCoordinator(DataUpdateCoordinator[MeterData]):
    """What one meter has said (its PortReader reads the port), published to its entities."""

    config_entry: HanPortConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: HanPortConfigEntry, timings: Timings | None = None
    ) -> None:
        """Create the coordinator for ``entry``; nothing is opened yet."""
        super().__init__(
            hass,
            COORDINATOR_LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=None,
            always_update=True,
        )
        self.timings = timings = timings or Timings()
        self.meter = MeterConfig.from_data(entry.data, with_format=True)
        self.meter_key: str = entry.unique_id or entry.entry_id
        self.min_interval = float(entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL))
        self.scale = float(entry.options.get(CONF_SCALE, DEFAULT_SCALE))
        self.fuse = int(entry.options.get(CONF_FUSE, DEFAULT_FUSE))
        self.data = MeterData()
        self.health = ReaderHealth(self.port_label, hass.loop.time)
        self.counters = self.health.counters
        self.issues = MeterIssues(
            hass,
            entry,
            self.port_label,
            silent_after=timings.silent_issue_after,
            key_failure_limit=timings.auth_failure_limit,
        )
        self.replay = EntryReplay(
            hass, entry.entry_id, self.issues, issue_after=timings.replay_issue_after
        )
        #: The last frames as received, for diagnostics (wired meters; ``report``).
        self.capture = None if self.meter.wireless else FrameCapture()
        self.no_decode = NoDecodeWatch(
            self.issues, self.meter, after=timings.no_decode_issue_after, clock=hass.loop.time
        )
        #: What the sensors are given: the guarded totals (run before each publish).
        self.published = PublishedValues(
            hass,
            self.issues,
            self.health,
            meter_key=self.meter_key,
            scale=self.scale,
            timings=timings,
        )
        #: The capacity tariff's tracker (None when off): fed every accepted message.
        self.capacity = EntryCapacity.from_entry(hass, entry, self.scale)
        self.reader = PortReader(self)
        self._lost = False
        #: Why the meter is unavailable (``set_lost``); None while it is available.
        self.lost_reason: str | None = None
        self._last_publish = 0.0
        self._force_publish = False
        self._pending: CALLBACK_TYPE | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def port_label(self) -> str:
        """The port for logs and diagnostics, with any credentials in a URL removed."""
        return ports.port_label(self.meter.port)

    @property
    def lost(self) -> bool:
        """The meter is unavailable: nothing decoded since it was lost."""
        return self._lost

    async def async_load(self) -> None:
        """Read what the entry stored (the replay counters) and the texts of its issues."""
        await self.issues.async_load(self.meter.profile)
        await self.replay.async_load()
        if self.capacity is not None:
            await self.capacity.async_load()

    async def async_stop(self) -> None:
        """Stop reading, close the port and store the replay counters."""
        self._cancel_pending()
        await self.reader.async_stop()
        await self.replay.async_flush()
        if self.capacity is not None:
            await self.capacity.async_flush()

    @contextlib.asynccontextmanager
    async def async_port_released(self) -> AsyncIterator[None]:
        """Free the port for a while (a flow listening to it), then read again."""
        await self.async_stop()
        try:
            yield
        finally:
            self.reader.start(None)

    async def _async_update_data(self) -> MeterData:
        """A refresh request (homeassistant.update_entity) returns what is known."""
        if self.data.messages == 0 or self._lost:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_data")
        return self.data

    @callback
    def take(self, chunk: Chunk) -> None:
        """Take every result of one read in order, then write the entities once."""
        if self.capture is not None:
            self.no_decode.received(chunk)
        if chunk.failure is not None:
            self.health.refused("decoder_error")
            self.health.bug("decoder", chunk.failure, chunk.size)
            return
        accepted = False
        for result in chunk.results:
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
        """Merge a decoded message into the meter's data (True: the entities need writing)."""
        self.health.accepted(message)
        self.reader.heard()
        self.replay.accepted(message)
        if self._lost:
            self._lost = False
            self.lost_reason = None
            self._force_publish = True
            LOGGER.info("Meter on %s is sending data again", self.port_label)
        self.issues.clear_on_data()
        data = self.data
        if data.messages == 0:
            self._force_publish = True
        if data.merge(message):
            self._update_device()
        if self.capacity is not None:
            try:
                self.capacity.feed(message)
            except Exception as err:  # noqa: BLE001 - the capacity tariff never stops readings
                self.capacity.failed(err)
        return True

    @callback
    def _handle_rejected(self, rejected: Rejected) -> None:
        code = rejected.code
        self.health.refused(code.value, rejected)
        if code is ErrorCode.REPLAYED:
            if self.replay.refused(self.port_label):
                self.set_lost("replayed")
            return
        if code not in KEY_ERRORS:
            return
        failures = self.issues.key_failed()
        if failures:
            LOGGER.warning(
                "Meter on %s: %d frames in a row could not be decrypted (%s); "
                "asking for the keys again",
                self.port_label,
                failures,
                code.value,
            )
            self.set_lost("auth_failed", log=False)
            self.config_entry.async_start_reauth(self.hass)

    # ------------------------------------------------------------------ publishing

    @callback
    def _publish(self, *, cap: bool = False) -> None:
        """Write the entities now, or once the publish interval has passed.

        ``cap`` (the reader) adds ``Timings.publish_min_interval`` to the user's minimum.
        """
        if self._lost:
            return  # lost again since the message (a replay in the same read): stay so
        force = self._force_publish or not self.last_update_success
        self._force_publish = False
        interval = max(self.min_interval, self.timings.publish_min_interval if cap else 0.0)
        wait = self._last_publish + interval - self.hass.loop.time()
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
        self._last_publish = self.hass.loop.time()
        try:
            self.published.update(self.data)
        except Exception as err:  # noqa: BLE001 - the other values are still published
            self.counters.publish_errors += 1
            self.health.bug("publish", err)
        self.async_set_updated_data(self.data)

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
    def set_lost(self, reason: str, *, log: bool = True, detail: str | None = None) -> bool:
        """The meter became unavailable for ``reason`` (logged once, unless ``log`` is off).

        Once per outage, except between silence and refusals: a meter first taken for silent
        may turn out to be sending frames that are all refused (the reason then becomes the
        refusal's; ``detail`` is its code for ``refused``), and a meter whose frames were
        refused may stop sending altogether (the reason then becomes ``silent``). True when
        ``reason`` was taken.
        """
        if self._lost and not self._moves_on(reason):
            return False
        self._lost = True
        self.lost_reason = reason
        if log:
            self.health.lost(reason, detail)
        self._cancel_pending()
        placeholders = {"port": self.port_label}
        if reason == "refused":
            placeholders["reason"] = detail or ""
        self.async_set_update_error(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=reason,
                translation_placeholders=placeholders,
            )
        )
        return True

    def _moves_on(self, reason: str) -> bool:
        """Whether a lost meter's reason changes to ``reason``: silent <-> refused only."""
        if self.lost_reason == "silent":
            return reason in REFUSED_REASONS
        return reason == "silent" and self.lost_reason in REFUSED_REASONS

    @callback
    def _update_device(self) -> None:
        """The meter's identity grew (an id in an hourly list): the device shows it."""
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id, **meter_device_info(self)
        )

    # ------------------------------------------------------------------ totals

    @callback
    def restore_total(self, obis: str, value: float, at: datetime) -> None:
        """Set up a total's guard with the floor it starts from (once, by its sensor).

        The sensor, when added, hands over what Home Assistant showed at ``at`` before a
        restart or reload.
        """
        self.published.restore(obis, value, at, self.data)

    @callback
    def async_accept_lower(self, obis: str) -> None:
        """The user accepted a total's value (repair flow): the sensor shows it at once."""
        self.published.accept(obis, self.data)
        self.async_update_listeners()

    async def async_accept_counter_reset(self) -> None:
        """The user confirmed the meter's counter went back: its next counter is the start."""
        await self.replay.async_accept_reset()
        LOGGER.info("Meter on %s: the counter reset was accepted", self.port_label)
