"""Totals never go backwards in Home Assistant: not on a bad frame, not after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.components.sensor import SensorExtraStoredData
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
)

from custom_components.han_port import guard
from custom_components.han_port.const import CONF_PROFILE, DOMAIN, ISSUE_TOTAL
from custom_components.han_port.coordinator import HanPortCoordinator
from custom_components.han_port.guard import MAX_MAGNITUDE, TotalGuard, Verdict, sane_number
from custom_components.han_port.han import plausibility
from custom_components.han_port.han.model import ImplausibleError, Message
from custom_components.han_port.repairs import async_create_fix_flow
from hanport_dev.simulator import with_crc
from tests.common import Pty, wait_for

from .entries import set_up_entry
from .test_sensor import ID, message, push, state
from .timing import SetTimings

ENERGY = "1-0:1.8.0"
ISSUE = f"{ISSUE_TOTAL}_{ENERGY}_{{entry_id}}"


def energy(wh: float) -> object:
    return message(**{"1_0__1_8_0": (wh, "Wh")})


async def _setup(hass: HomeAssistant, pty: Pty) -> HanPortCoordinator:
    data = {CONF_PORT: pty.path, CONF_PROFILE: "nl_dsmr"}
    return (await set_up_entry(hass, data, unique_id=ID)).runtime_data


@pytest.fixture
async def coordinator(hass: HomeAssistant, pty: Pty, timings: SetTimings) -> HanPortCoordinator:
    """A loaded entry on a quiet PTY, with a short repair threshold."""
    timings(silence_intervals=1000, total_issue_readings=3, total_issue_after=0)
    return await _setup(hass, pty)


async def test_lower_and_implausible_values_are_held(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    await push(hass, coordinator, energy(1_000_000))
    assert state(hass, ENERGY) == "1000.0"
    await push(hass, coordinator, energy(999_000))
    assert state(hass, ENERGY) == "1000.0"
    assert coordinator.counters.energy_dropped == 1
    # A gigawatt-hour within a second cannot be real.
    await push(hass, coordinator, energy(1_000_000_000_000))
    assert state(hass, ENERGY) == "1000.0"
    assert coordinator.counters.energy_dropped == 2
    await push(hass, coordinator, energy(1_000_500))
    assert state(hass, ENERGY) == "1000.5"
    # The raw reading is kept for diagnostics; only the sensor is guarded.
    assert coordinator.data.readings[ENERGY].value == 1_000_500


@pytest.mark.flows
async def test_a_persistent_lower_total_needs_the_user(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    issue_id = ISSUE.format(entry_id=coordinator.config_entry.entry_id)
    issues = ir.async_get(hass)
    await push(hass, coordinator, energy(5_000_000))
    for _ in range(5):
        await push(hass, coordinator, energy(10))
    # Never published, however often the meter repeats it.
    assert state(hass, ENERGY) == "5000.0"
    assert coordinator.counters.energy_dropped == 5
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["held"] == "5000.0 kWh"
    assert issue.translation_placeholders["reported"] == "0.01 kWh"

    # The fix flow: the user confirms, the sensor takes the lower value at once.
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    flow = await async_create_fix_flow(hass, issue_id, issue.data)
    flow.hass = hass
    flow.handler = DOMAIN
    flow.issue_id = issue_id
    form = await flow.async_step_init()
    assert form["type"] == "form"
    assert form["step_id"] == "confirm"
    done = await flow.async_step_confirm({})
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()
    assert state(hass, ENERGY) == "0.01"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    # From there on it is guarded again.
    await push(hass, coordinator, energy(5))
    assert state(hass, ENERGY) == "0.01"


async def test_issue_goes_away_when_the_meter_recovers(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    issue_id = ISSUE.format(entry_id=coordinator.config_entry.entry_id)
    await push(hass, coordinator, energy(2_000_000))
    for _ in range(3):
        await push(hass, coordinator, energy(1_000))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await push(hass, coordinator, energy(2_000_100))
    assert state(hass, ENERGY) == "2000.1"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.flows
async def test_fix_flow_for_an_unloaded_entry_changes_nothing(hass: HomeAssistant) -> None:
    flow = await async_create_fix_flow(hass, "x", {"entry_id": "missing", "obis": ENERGY})
    flow.hass = hass
    flow.handler = DOMAIN
    flow.issue_id = "x"
    assert (await flow.async_step_confirm({}))["type"] == "create_entry"
    empty = await async_create_fix_flow(hass, "x", None)
    assert empty.__dict__["_obis"] == ""


RESTORED = "sensor.meter_energy_import"


def _restore(hass: HomeAssistant, state: State, value: float, unit: str) -> None:
    """Home Assistant restarting with ``state`` stored for the energy sensor."""
    er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, f"{ID}_{ENERGY}", suggested_object_id="meter_energy_import"
    )
    mock_restore_cache_with_extra_data(
        hass, [(state, SensorExtraStoredData(value, unit).as_dict())]
    )


async def test_restored_total_is_the_floor_after_a_restart(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    timings(silence_intervals=1000)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    _restore(hass, State(RESTORED, "1234.5", last_updated=an_hour_ago), 1234.5, "kWh")
    coordinator = await _setup(hass, pty)
    # The first frame after the restart is lower than what Home Assistant had: held.
    await push(hass, coordinator, energy(1_000_000))
    assert hass.states.get(RESTORED).state == "1234.5"
    assert coordinator.counters.energy_dropped == 1
    await push(hass, coordinator, energy(1_234_600))
    assert hass.states.get(RESTORED).state == "1234.6"


async def test_restored_total_in_another_unit_is_ignored(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    timings(silence_intervals=1000)
    _restore(hass, State(RESTORED, "5000000"), 5_000_000, "Wh")
    coordinator = await _setup(hass, pty)
    await push(hass, coordinator, energy(1_000_000))
    assert hass.states.get(RESTORED).state == "1000.0"


def test_guard_verdicts() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    guard = TotalGuard(max_per_hour=1000.0)
    assert guard.check(10.0, start) is Verdict.ACCEPTED
    assert guard.check(9.0, start) is Verdict.LOWER
    assert guard.held == 1
    assert not guard.stuck(start, readings=2, after=timedelta(0))
    # 1000 per hour, plus a little slack: 1 per 3.6 s is the limit.
    assert guard.check(12.0, start + timedelta(seconds=1)) is Verdict.JUMP
    # Held twice since ``start``: stuck once long enough.
    assert guard.stuck(start + timedelta(minutes=20), readings=2, after=timedelta(minutes=15))
    assert not guard.stuck(start + timedelta(minutes=10), readings=2, after=timedelta(minutes=15))
    assert guard.check(500.0, start + timedelta(minutes=30)) is Verdict.ACCEPTED
    assert guard.held == 0
    assert guard.held_since is None
    assert guard.check(1.0, start, force=True) is Verdict.ACCEPTED
    assert guard.value == 1.0


async def test_a_run_of_implausible_rises_needs_the_user_too(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    """A scale factor raised on purpose: the total jumps, and only the user can accept it."""
    issue_id = ISSUE.format(entry_id=coordinator.config_entry.entry_id)
    await push(hass, coordinator, energy(100_000_000))
    for _ in range(3):
        await push(hass, coordinator, energy(4_000_000_000))
    assert state(hass, ENERGY) == "100000.0"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["reported"] == "4000000.0 kWh"
    coordinator.async_accept_lower(ENERGY)
    await hass.async_block_till_done()
    assert state(hass, ENERGY) == "4000000.0"


async def test_the_issue_waits_for_time_as_well_as_readings(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    timings(silence_intervals=1000)
    coordinator = await _setup(hass, pty)
    issue_id = ISSUE.format(entry_id=coordinator.config_entry.entry_id)
    await push(hass, coordinator, energy(2_000_000))
    for _ in range(10):
        await push(hass, coordinator, energy(1_000))
    # Ten held readings within seconds: a glitch until it lasts TOTAL_ISSUE_AFTER (15 min).
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert coordinator.counters.energy_dropped == 10


async def test_issue_is_cleared_after_a_reload_and_on_removal(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    entry = coordinator.config_entry
    issue_id = ISSUE.format(entry_id=entry.entry_id)
    issues = ir.async_get(hass)
    await push(hass, coordinator, energy(2_000_000))
    for _ in range(3):
        await push(hass, coordinator, energy(1_000))
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    # After a reload the new sensor knows about the issue and clears it when values fit.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    reloaded = entry.runtime_data
    await push(hass, reloaded, energy(2_000_100))
    assert state(hass, ENERGY) == "2000.1"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    # Removing the entry removes a pending issue with it.
    for _ in range(3):
        await push(hass, reloaded, energy(1_000))
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_reactive_energy_rise_limit_is_in_its_own_unit(
    hass: HomeAssistant, coordinator: HanPortCoordinator
) -> None:
    reactive = "1-0:3.8.0"
    await push(hass, coordinator, message(**{"1_0__3_8_0": (1_000_000, "varh")}))
    assert state(hass, reactive) == "1000.0"
    # A gigavar-hour within a second is as implausible as a gigawatt-hour.
    await push(hass, coordinator, message(**{"1_0__3_8_0": (1_000_000_000_000, "varh")}))
    assert state(hass, reactive) == "1000.0"
    await push(hass, coordinator, message(**{"1_0__3_8_0": (1_000_200, "varh")}))
    assert state(hass, reactive) == "1000.2"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 1e16, -1e16, 10**400])
def test_guard_drops_numbers_that_are_not_finite_or_sane(bad: float) -> None:
    """NaN < last is false: without its own check a NaN would pass as 'not lower'."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    guard = TotalGuard(max_per_hour=1e12)
    assert guard.check(bad, start) is Verdict.INVALID  # not even as a first value
    assert guard.value is None
    assert guard.check(10.0, start) is Verdict.ACCEPTED
    assert guard.check(bad, start + timedelta(hours=1)) is Verdict.INVALID
    assert guard.check(bad, start, force=True) is Verdict.INVALID
    assert guard.value == 10.0
    assert guard.held == 0  # never held for the user to accept
    guard.seed(bad, start)  # a restored state that is not a number is ignored
    assert guard.value == 10.0


def test_sane_number() -> None:
    assert sane_number(0)
    assert sane_number(-MAX_MAGNITUDE)
    assert sane_number(MAX_MAGNITUDE)
    assert sane_number("text")
    assert sane_number(None)
    assert sane_number(True)  # noqa: FBT003 - not a number, not judged
    assert not sane_number(MAX_MAGNITUDE * 10)
    assert not sane_number(float("nan"))


def telegram(value: str) -> bytes:
    """A DSMR 5 telegram with the energy register only, and a valid CRC."""
    body = f"/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.0({value}*kWh)\r\n!"
    raw = body.encode("latin-1")
    return with_crc(raw)


async def test_a_non_finite_total_never_reaches_the_sensor(
    hass: HomeAssistant, pty: Pty, coordinator: HanPortCoordinator
) -> None:
    """Through the port, as a meter sends it: the library's gate refuses the frame.

    (The integration checked every reading a second time; the library is the one gate now.)
    """
    await pty.write(telegram("001000.000"))
    await wait_for(lambda: state(hass, ENERGY) == "1000.0")
    for bad in ("nan", "inf", "9" * 400):
        await pty.write(telegram(bad))
    await wait_for(lambda: coordinator.counters.rejected.get("implausible") == 3)
    assert state(hass, ENERGY) == "1000.0"
    assert coordinator.counters.rejected == {"implausible": 3}
    assert coordinator.data.readings[ENERGY].value == 1_000_000
    await pty.write(telegram("001000.100"))
    await wait_for(lambda: state(hass, ENERGY) == "1000.1")


@pytest.mark.parametrize("value", [10**15, -(10**15), 1e15, 10**15 + 1, 10**16, 1e16, 2**64 - 1])
def test_the_guard_never_drops_what_the_library_gate_passed(value: float) -> None:
    """Review of issue 12, item 6: one bound. A unitless 1e16 passed the library's gate and
    then the guard dropped the whole message; the library decides now, with the same bound."""
    message = Message("dlms")
    message.add("0-0:96.7.21", value, None)
    try:
        plausibility.check(message)
    except ImplausibleError:
        passed = False
    else:
        passed = True
    assert passed is sane_number(value)
    # One set of bounds: the guard's are the library's own (review of issue 12, item 2).
    assert guard.MAX_MAGNITUDE is plausibility.MAX_MAGNITUDE
    assert guard.MAX_POWER is plausibility.MAX_POWER


async def test_the_coordinator_guards_a_total_whatever_its_sensor(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    """Review of issue 12, item 5: sensors read, never write, the coordinator's state.

    The guard runs in the coordinator's publishing step: its value is in the published data,
    and a total whose sensor the user disabled is guarded and counted all the same (it asks
    nothing: Home Assistant shows nothing of it).
    """
    timings(silence_intervals=1000, total_issue_readings=3, total_issue_after=0)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{ID}_{ENERGY}",
        suggested_object_id="meter_energy_import",
        disabled_by=er.RegistryEntryDisabler.USER,
    )
    coordinator = await _setup(hass, pty)
    await push(hass, coordinator, energy(2_000_000))
    for _ in range(3):
        await push(hass, coordinator, energy(1_000))
    assert hass.states.get(RESTORED) is None  # no sensor
    assert coordinator.data.totals[ENERGY] == 2000.0
    assert coordinator.data.readings[ENERGY].value == 1_000  # as decoded, for diagnostics
    assert coordinator.counters.energy_dropped == 3
    issue_id = ISSUE.format(entry_id=coordinator.config_entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await push(hass, coordinator, energy(2_000_500))
    assert coordinator.data.totals[ENERGY] == 2000.5
