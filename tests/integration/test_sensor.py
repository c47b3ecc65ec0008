"""Sensors: the energy guard, options, entities that appear later, identity and headroom."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.han_port import const
from custom_components.han_port.const import (
    CONF_FUSE,
    CONF_MIN_INTERVAL,
    CONF_PROFILE,
    CONF_SCALE,
    DOMAIN,
)
from custom_components.han_port.coordinator import HanPortCoordinator
from custom_components.han_port.han.model import Message, MeterIdentity
from custom_components.han_port.han.obis import readable_id
from custom_components.han_port.sensor import describe
from tests.common import Pty

from .timing import SetTimings

ID = "12345678"


def message(**readings: tuple[object, str | None]) -> Message:
    """A message with OBIS codes written as 1_0__1_8_0 -> 1-0:1.8.0."""
    msg = Message("p1", meter=MeterIdentity(meter_id=ID))
    for name, (value, unit) in readings.items():
        a, rest = name.split("_", 1)
        b, c, d, e = rest.replace("__", "_").split("_")
        msg.add(f"{a}-{b}:{c}.{d}.{e}", value, unit)
    return msg


@pytest.fixture
async def coordinator(
    hass: HomeAssistant, pty: Pty, request: pytest.FixtureRequest, timings: SetTimings
) -> HanPortCoordinator:
    """A loaded entry on a quiet PTY; tests push messages into its coordinator."""
    timings(silence_intervals=1000)
    options = getattr(request, "param", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=ID,
        title="Meter",
        data={CONF_PORT: pty.path, CONF_PROFILE: "nl_dsmr"},
        options=options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry.runtime_data


def state(hass: HomeAssistant, key: str) -> str | None:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{ID}_{key}")
    if entity_id is None:
        return None
    current = hass.states.get(entity_id)
    return current.state if current else None


async def push(hass: HomeAssistant, coordinator: HanPortCoordinator, msg: Message) -> None:
    coordinator._handle_message(msg)
    await hass.async_block_till_done()


async def test_new_registers_get_entities_later(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    await push(hass, coordinator, message(**{"1_0__1_7_0": (500, "W")}))
    assert state(hass, "1-0:1.7.0") == "500"
    assert state(hass, "1-0:2.7.0") is None
    await push(hass, coordinator, message(**{"1_0__2_7_0": (20, "W")}))
    # Both known now: the old one keeps its last value.
    assert state(hass, "1-0:2.7.0") == "20"
    assert state(hass, "1-0:1.7.0") == "500"


async def test_identity_updates_device(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    msg = message(**{"1_0__1_7_0": (1, "W")})
    msg.meter = MeterIdentity(
        meter_id=ID, manufacturer="Kaifa", model="MA304H3E", list_id="KFM_001"
    )
    msg.timestamp = datetime(2024, 1, 2, 3, 4, 5)  # noqa: DTZ001 - naive: the meter's local time
    await push(hass, coordinator, msg)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, ID)})
    assert (device.manufacturer, device.model, device.serial_number) == ("Kaifa", "MA304H3E", ID)
    assert coordinator.data.timestamp == msg.timestamp
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{ID}_meter_clock")
    assert er.async_get(hass).async_get(entity_id).disabled_by is not None


async def test_values_and_units(hass: HomeAssistant, coordinator: HanPortCoordinator) -> None:
    await push(
        hass,
        coordinator,
        message(
            **{
                "1_0__13_7_0": (98, "%"),
                "1_0__3_8_0": (12_345, "varh"),
                "1_0__14_7_0": (50.01, "Hz"),
                "1_0__31_7_0": ("1.5", "A"),
                "1_0__51_7_0": ("n/a", "A"),
                "1_0__71_7_0": (None, "A"),
            }
        ),
    )
    assert state(hass, "1-0:13.7.0") == "0.98"
    assert state(hass, "1-0:3.8.0") == "12.345"
    assert state(hass, "1-0:14.7.0") == "50.01"
    # Text is never converted, not even text that reads as a number (see below).
    assert state(hass, "1-0:31.7.0") == "unknown"
    assert state(hass, "1-0:51.7.0") == "unknown"
    assert state(hass, "1-0:71.7.0") == "unknown"


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e5", "1_000", "1.5", " 7 "])
async def test_numeric_sensors_never_convert_text(
    hass: HomeAssistant,
    coordinator: HanPortCoordinator,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    """``float()`` takes all of these; a numeric sensor given text shows unknown.

    The library refuses text with a unit (``han.plausibility``), so this reaches the
    integration only past that gate (here: pushed straight into the coordinator). Counted
    and logged once; the total keeps the value it had.
    """
    await push(hass, coordinator, message(**{"1_0__1_7_0": (500, "W"), "1_0__1_8_0": (10, "Wh")}))
    assert state(hass, "1-0:1.8.0") == "0.01"
    for _ in range(2):
        await push(hass, coordinator, message(**{"1_0__1_7_0": (text, "W")}))
        await push(hass, coordinator, message(**{"1_0__1_8_0": (text, "Wh")}))
    assert state(hass, "1-0:1.7.0") == "unknown"
    assert state(hass, "1-0:1.8.0") == "0.01"  # the guarded total holds
    assert coordinator.counters.not_numbers == 4
    assert caplog.text.count("carried text where a number belongs") == 1
    assert coordinator.counters.publish_errors == 0
    await push(hass, coordinator, message(**{"1_0__1_7_0": (501, "W"), "1_0__1_8_0": (20, "Wh")}))
    assert state(hass, "1-0:1.7.0") == "501"
    assert state(hass, "1-0:1.8.0") == "0.02"


@pytest.mark.parametrize(
    "coordinator", [{CONF_SCALE: 40.0, CONF_FUSE: 25, CONF_MIN_INTERVAL: 0}], indirect=True
)
async def test_ct_scale_and_headroom(hass: HomeAssistant, coordinator: HanPortCoordinator) -> None:
    await push(
        hass,
        coordinator,
        message(
            **{
                "1_0__1_7_0": (100, "W"),
                "1_0__32_7_0": (230, "V"),
                "1_0__31_7_0": (0.5, "A"),
                "1_0__51_7_0": ("x", "A"),
            }
        ),
    )
    assert state(hass, "1-0:1.7.0") == "4000.0"
    assert state(hass, "1-0:32.7.0") == "230"  # voltage is not scaled
    assert state(hass, "1-0:31.7.0") == "20.0"
    assert state(hass, "headroom_l1") == "5.0"
    assert state(hass, "headroom_l2") is None  # no number for L2
    assert state(hass, "headroom_l3") is None


@pytest.mark.parametrize("coordinator", [{CONF_MIN_INTERVAL: 10}], indirect=True)
async def test_min_interval_throttles_updates(
    hass: HomeAssistant, coordinator: HanPortCoordinator, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2024, 1, 1, tzinfo=UTC))
    await push(hass, coordinator, message(**{"1_0__1_7_0": (1, "W")}))
    assert state(hass, "1-0:1.7.0") == "1"
    await push(hass, coordinator, message(**{"1_0__1_7_0": (2, "W")}))
    assert state(hass, "1-0:1.7.0") == "1"  # held back
    await push(hass, coordinator, message(**{"1_0__1_7_0": (3, "W")}))
    freezer.tick(11)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, "1-0:1.7.0") == "3"


async def test_refresh_request(hass: HomeAssistant, coordinator: HanPortCoordinator) -> None:
    """homeassistant.update_entity works: known data, or unavailable while lost."""
    await push(hass, coordinator, message(**{"1_0__1_7_0": (7, "W")}))
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    coordinator.set_lost("silent")
    await hass.async_block_till_done()
    assert state(hass, "1-0:1.7.0") == STATE_UNAVAILABLE
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    await push(hass, coordinator, message(**{"1_0__1_7_0": (8, "W")}))
    assert state(hass, "1-0:1.7.0") == "8"


async def test_unknown_and_wireless_registers(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    msg = message(**{"1_0__96_5_5": (3, None), "0_0__96_13_0": ("x" * 300, None)})
    msg.add("wmbus:0BABC8FC10", 70000, "W")
    await push(hass, coordinator, msg)
    registry = er.async_get(hass)
    unknown = registry.async_get(registry.async_get_entity_id("sensor", DOMAIN, f"{ID}_1-0:96.5.5"))
    assert unknown.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert unknown.translation_key == "register"
    registry.async_update_entity(unknown.entity_id, disabled_by=None)
    text = registry.async_get_entity_id("sensor", DOMAIN, f"{ID}_0-0:96.13.0")
    registry.async_update_entity(text, disabled_by=None)
    wireless = registry.async_get_entity_id("sensor", DOMAIN, f"{ID}_wmbus:0BABC8FC10")
    assert wireless is not None


def test_describe_submeters_and_identity() -> None:
    msg = Message("p1")
    msg.add("0-1:24.1.0", 7)
    msg.add("0-1:24.2.1", 12.5, "m³")
    msg.add("0-2:24.2.1", 1.25, "GJ")
    msg.add("0-3:24.3.0", 3.0, "m³")
    msg.add("0-4:24.2.1", 1_250_000, "Wh")  # a heat meter counting in Wh
    msg.add("0-1:96.1.0", "123")
    msg.add("0-0:96.1.0", "meter id")
    msg.add("1-1:0.2.129", "list")
    msg.add("1-0:99.97.0", "log")
    from custom_components.han_port.coordinator import MeterData

    data = MeterData(readings=msg.readings)
    assert describe("0-1:24.2.1", data)[0].key == "water"
    assert describe("0-2:24.2.1", data)[0].key == "heat"
    heat_wh, channel = describe("0-4:24.2.1", data)
    assert heat_wh is not None
    assert (heat_wh.key, heat_wh.native_unit_of_measurement, channel) == ("heat", "kWh", 4)
    assert describe("0-3:24.3.0", data)[0].key == "gas"
    # Hot and cold water meters by their EN 13757-3 types 0x15/0x16 (were shown as gas).
    msg.add("0-3:24.1.0", 0x15)
    assert describe("0-3:24.3.0", data)[0].key == "water"
    assert describe("0-1:96.1.0", data) == (None, 1)
    assert describe("0-0:96.1.0", data) == (None, 0)
    assert describe("1-1:0.2.129", data) == (None, 0)
    assert describe("1-0:99.97.0", data) == (None, 0)
    l1_energy, _ = describe("1-1:21.8.0", data)
    assert l1_energy is not None
    assert l1_energy.state_class is SensorStateClass.TOTAL_INCREASING
    power, _ = describe("1-0:1.7.0", data)
    assert power is not None
    assert power.state_class is SensorStateClass.MEASUREMENT
    assert readable_id("4730303339303031393336393930363139") == "G0039001936990619"
    assert readable_id("12") == "12"  # not printable once decoded
    assert readable_id("ff") == "ff"
    assert readable_id("meter") == "meter"


async def test_counters_notes_and_decryption_issue(
    hass: HomeAssistant,
    coordinator: HanPortCoordinator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from homeassistant.helpers import issue_registry as ir

    from custom_components.han_port.han.model import (
        AuthenticationError,
        ChecksumError,
        MalformedError,
        Rejected,
    )

    coordinator._handle_rejected(Rejected("p1", ChecksumError("crc"), 10))
    coordinator._handle_rejected(Rejected("p1", MalformedError("bad"), 10))
    assert coordinator.counters.checksum == 1
    assert coordinator.counters.other == 1
    assert coordinator.counters.last_error == "malformed"

    swapped = message(**{"1_0__1_7_0": (5, "W")})
    swapped.notes.append("keys_swapped")
    await push(hass, coordinator, swapped)
    await push(hass, coordinator, swapped)
    assert caplog.text.count("keys are swapped") == 1
    unverified = message(**{"1_0__1_7_0": (5, "W")})
    unverified.notes.append("tag_not_verified")
    await push(hass, coordinator, unverified)
    await push(hass, coordinator, unverified)
    assert caplog.text.count("no authentication key (AK) is configured") == 1

    for _ in range(coordinator.timings.auth_failure_limit):
        coordinator._handle_rejected(Rejected("dsmr-gcm", AuthenticationError("tag"), 10))
    await hass.async_block_till_done()
    issue_id = f"{const.ISSUE_DECRYPTION}_{coordinator.config_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert state(hass, "1-0:1.7.0") == STATE_UNAVAILABLE
    await push(hass, coordinator, message(**{"1_0__1_7_0": (6, "W"), "1_0__1_8_0": ("?", "Wh")}))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert state(hass, "1-0:1.7.0") == "6"


async def test_a_read_that_ends_lost_publishes_nothing(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    """A good message, then replays in the same read that make the meter lost: stay lost."""
    from custom_components.han_port.connection import Chunk
    from custom_components.han_port.han.model import Rejected, ReplayedError

    await push(hass, coordinator, message(**{"1_0__1_7_0": (1, "W")}))
    coordinator.set_lost("silent")
    replayed = Rejected("hdlc", ReplayedError("counter went back"), 10)
    limit = coordinator.timings.replay_issue_after
    coordinator.take(Chunk(100, [message(**{"1_0__1_7_0": (2, "W")}), *[replayed] * limit]))
    await hass.async_block_till_done()
    assert coordinator.lost
    assert not coordinator.last_update_success
    assert state(hass, "1-0:1.7.0") == STATE_UNAVAILABLE


@pytest.mark.parametrize("coordinator", [{CONF_MIN_INTERVAL: 10}], indirect=True)
async def test_held_back_update_is_dropped_when_lost(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    await push(hass, coordinator, message(**{"1_0__1_7_0": (1, "W")}))
    await push(hass, coordinator, message(**{"1_0__1_7_0": (2, "W")}))
    assert coordinator._pending is not None
    coordinator.set_lost("silent")
    assert coordinator._pending is None
    # Back: published at once, whatever the rate limit.
    await push(hass, coordinator, message(**{"1_0__1_7_0": (3, "W")}))
    assert state(hass, "1-0:1.7.0") == "3"
    await push(hass, coordinator, message(**{"1_0__1_7_0": (4, "W")}))
    assert coordinator._pending is not None
    # Unloading cancels the held-back update.
    assert await hass.config_entries.async_unload(coordinator.config_entry.entry_id)
    assert coordinator._pending is None


async def test_headroom_without_a_number(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    coordinator.fuse = 16
    await push(hass, coordinator, message(**{"1_0__31_7_0": (2, "A")}))
    assert state(hass, "headroom_l1") == "14.0"
    await push(hass, coordinator, message(**{"1_0__31_7_0": ("?", "A")}))
    assert state(hass, "headroom_l1") == "unknown"


def test_meter_clock_timezone() -> None:
    from custom_components.han_port.coordinator import MeterData
    from custom_components.han_port.sensor_descriptions import _timestamp

    data = MeterData()
    assert _timestamp(None, data) is None  # type: ignore[arg-type]
    data.timestamp = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert _timestamp(None, data) == data.timestamp  # type: ignore[arg-type]
    data.timestamp = datetime(2024, 1, 1, 12, 0)  # noqa: DTZ001 - a meter's local time
    assert _timestamp(None, data).tzinfo is not None  # type: ignore[arg-type, union-attr]


async def test_a_failure_while_judging_values_still_publishes(
    hass: HomeAssistant,
    coordinator: HanPortCoordinator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_data: object) -> None:
        msg = "a bug while judging"
        raise KeyError(msg)

    monkeypatch.setattr(coordinator.published, "update", broken)
    for power in (1, 2):
        await push(hass, coordinator, message(**{"1_0__1_7_0": (power, "W")}))
    assert state(hass, "1-0:1.7.0") == "2"
    assert coordinator.counters.publish_errors == 2
    assert caplog.text.count("updating the entities failed") == 1


async def test_only_a_total_takes_a_restored_floor(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    await push(hass, coordinator, message(**{"1_0__1_7_0": (5, "W")}))
    coordinator.restore_total("1-0:1.7.0", 1000.0, datetime.now(UTC))
    coordinator.restore_total("1-0:9.9.9", 1000.0, datetime.now(UTC))  # nothing sent
    assert coordinator.data.totals == {}
