"""Setting up, reading, reconnecting, unloading: the push coordinator against real frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port import const
from custom_components.han_port.const import (
    CONF_AK,
    CONF_EK,
    CONF_PROFILE,
    DOMAIN,
    ISSUE_DECRYPTION,
    ISSUE_SILENT,
)
from tests.common import HDLC_NO, LU_AK, LU_FRAME, P1_NL, Meter, Pty, TcpMeter, wait_for

from .entries import set_up_entry
from .timing import SetTimings

NL_ID = "K8EG004046395507"


def entity_id(hass: HomeAssistant, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


async def setup_entry(
    hass: HomeAssistant,
    port: str,
    unique_id: str | None = NL_ID,
    data: dict[str, Any] | None = None,
) -> MockConfigEntry:
    data = {CONF_PORT: port, CONF_PROFILE: "auto", **(data or {})}
    return await set_up_entry(hass, data, unique_id=unique_id)


async def test_setup_read_unload(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    assert entry.state is ConfigEntryState.LOADED

    power = f"{NL_ID}_1-0:1.7.0"
    await wait_for(
        lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, power), limit=3.0
    )
    await hass.async_block_till_done()
    state = hass.states.get(entity_id(hass, power))
    assert state.state == "244"
    assert state.attributes["unit_of_measurement"] == "W"
    assert state.attributes["device_class"] == "power"
    assert state.attributes["state_class"] == "measurement"
    assert state.name == "Meter Power import"

    energy = hass.states.get(entity_id(hass, f"{NL_ID}_1-0:1.8.1"))
    assert energy.state == "4.426"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.name == "Meter Energy import tariff 1"
    assert hass.states.get(entity_id(hass, f"{NL_ID}_1-0:32.7.0")).state == "230.0"
    assert hass.states.get(entity_id(hass, f"{NL_ID}_1-0:21.7.0")).name == "Meter Power import L1"
    assert hass.states.get(entity_id(hass, f"{NL_ID}_0-0:96.14.0")).state == "0002"
    assert hass.states.get(entity_id(hass, f"{NL_ID}_meter_id")).state == NL_ID
    assert hass.states.get(entity_id(hass, f"{NL_ID}_model")).state == "MT382-1000"
    # Event logs have no entity; rarely used registers exist but are disabled.
    assert er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{NL_ID}_1-0:99.97.0") is None
    sags = er.async_get(hass).async_get(entity_id(hass, f"{NL_ID}_1-0:32.32.0"))
    assert sags.disabled_by is er.RegistryEntryDisabler.INTEGRATION

    # The meter's device, and the gas meter behind it.
    devices = dr.async_get(hass)
    main = devices.async_get_device(identifiers={(DOMAIN, NL_ID)})
    assert (main.manufacturer, main.model, main.serial_number) == (
        "Iskraemeco",
        "MT382-1000",
        NL_ID,
    )
    gas_device = devices.async_get_device(identifiers={(DOMAIN, f"{NL_ID}_mbus1")})
    assert gas_device.via_device_id == main.id
    assert gas_device.serial_number == "2222ABCD123456789"
    gas = hass.states.get(entity_id(hass, f"{NL_ID}_0-1:24.2.1"))
    assert gas.state == "0.107"
    assert gas.attributes["device_class"] == "gas"
    assert gas.attributes["unit_of_measurement"] == "m³"
    assert gas.name == "Gas meter Gas"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_port_missing_at_setup_retries(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: "/dev/does-not-exist"})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "cannot be opened" in entry.reason


def open_fds(path: str) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += str(fd.readlink()) == path
    return count


async def test_platform_setup_failure_closes_the_port(hass: HomeAssistant, pty: Pty) -> None:
    """Issue 12: the port opened in async_setup_entry was left open when a platform failed."""
    before = open_fds(pty.path)
    failure = RuntimeError("a platform failed")
    with patch.object(hass.config_entries, "async_forward_entry_setups", side_effect=failure):
        entry = MockConfigEntry(domain=DOMAIN, unique_id=NL_ID, data={CONF_PORT: pty.path})
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert open_fds(pty.path) == before


@pytest.mark.usefixtures("socket_enabled")
async def test_tcp_reconnect_and_availability(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, stop_tasks: list
) -> None:
    """A ser2net-style meter: read, lose it (unavailable, logged once), get it back."""
    server = TcpMeter([HDLC_NO])
    await server.start()
    stop_tasks.append(server)
    entry = await setup_entry(
        hass, server.url, unique_id="6970631404129954", data={CONF_PROFILE: "no_kaifa"}
    )
    power = "6970631404129954_1-0:1.7.0"
    await wait_for(
        lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, power), limit=3.0
    )
    await hass.async_block_till_done()
    power_id = entity_id(hass, power)
    assert hass.states.get(power_id).state == "546"
    reactive = hass.states.get(entity_id(hass, "6970631404129954_1-0:4.7.0"))
    assert reactive.attributes["unit_of_measurement"] == "var"
    assert reactive.state == "81"

    caplog.clear()
    port = server.port
    await server.stop()
    await wait_for(lambda: hass.states.get(power_id).state == STATE_UNAVAILABLE, limit=3.0)
    await asyncio.sleep(0.3)  # several failed reconnects
    lost = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert len(lost) == 1

    await server.start(port)
    await wait_for(lambda: hass.states.get(power_id).state == "546", limit=3.0)
    back = [r for r in caplog.records if "sending data again" in r.getMessage()]
    assert len(back) == 1
    assert entry.runtime_data.counters.reconnects >= 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_silent_meter_goes_unavailable_and_raises_repair(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, timings: SetTimings
) -> None:
    timings(silent_issue_after=0.3)
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    power = f"{NL_ID}_1-0:1.7.0"
    await wait_for(
        lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, power), limit=3.0
    )
    power_id = entity_id(hass, power)

    await meter.stop()
    await wait_for(lambda: hass.states.get(power_id).state == STATE_UNAVAILABLE, limit=3.0)
    issues = ir.async_get(hass)
    issue_id = f"{ISSUE_SILENT}_{entry.entry_id}"
    await wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id) is not None, limit=3.0)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue.translation_key == ISSUE_SILENT
    assert issue.translation_placeholders["title"] == "Meter"

    meter.start_pty(pty)
    await wait_for(lambda: hass.states.get(power_id).state == "244", limit=3.0)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.flows
async def test_wrong_key_starts_reauth(
    hass: HomeAssistant,
    pty: Pty,
    stop_tasks: list,
    timings: SetTimings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    timings(auth_failure_limit=3)
    wrong_ek = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(
        hass,
        pty.path,
        unique_id="SAG1030700012701",
        data={CONF_PROFILE: "lu_smarty", CONF_EK: wrong_ek, CONF_AK: LU_AK.lower()},
    )
    await wait_for(
        lambda: any(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
        limit=3.0,
    )
    coordinator = entry.runtime_data
    assert coordinator.counters.auth >= 3
    assert coordinator.counters.last_error == "auth_failed"
    assert not coordinator.last_update_success
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_DECRYPTION}_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == ISSUE_DECRYPTION
    assert await hass.config_entries.async_unload(entry.entry_id)
    # The keys never reach the log.
    for key in (wrong_ek, LU_AK):
        assert key.lower() not in caplog.text.lower()


async def test_remove_entry_removes_issues(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: "/dev/does-not-exist"})
    entry.add_to_hass(hass)
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{ISSUE_SILENT}_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_SILENT,
    )
    await hass.config_entries.async_remove(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_SILENT}_{entry.entry_id}") is None


async def test_options_change_reloads(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    first = entry.runtime_data
    hass.config_entries.async_update_entry(entry, options={const.CONF_SCALE: 2.0})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not first
    assert entry.runtime_data.scale == 2.0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_port_fails_while_reading(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, timings: SetTimings
) -> None:
    """The adapter is pulled out: unavailable, and the reader keeps trying to reopen."""
    import os

    timings(silence_intervals=1000, silent_issue_after=0.0)
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    power = f"{NL_ID}_1-0:1.7.0"
    await wait_for(
        lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, power), limit=3.0
    )
    power_id = entity_id(hass, power)
    await meter.stop()
    os.close(pty.master)
    os.close(pty.slave)
    await wait_for(lambda: hass.states.get(power_id).state == STATE_UNAVAILABLE, limit=3.0)
    await asyncio.sleep(0.2)  # a few failed reopen attempts
    assert entry.runtime_data.reader.connected is False
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_sub_meter_device_can_be_removed(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, hass_ws_client: Any
) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "config", {})
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    devices = dr.async_get(hass)
    await wait_for(
        lambda: devices.async_get_device(identifiers={(DOMAIN, f"{NL_ID}_mbus1")}), limit=3.0
    )
    main = devices.async_get_device(identifiers={(DOMAIN, NL_ID)})
    gas = devices.async_get_device(identifiers={(DOMAIN, f"{NL_ID}_mbus1")})
    client = await hass_ws_client(hass)
    for device, allowed in ((main, False), (gas, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is allowed
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_decoder_bug_does_not_stop_the_reader(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception out of the decoder is logged once; a fresh decoder reads on."""
    from custom_components.han_port.han.decoder import Decoder

    original = Decoder.feed
    failures = 0

    def flaky(self: Decoder, data: bytes, *, final: bool = False) -> list[Any]:
        nonlocal failures
        if failures < 2:
            failures += 1
            msg = "simulated decoder bug"
            raise IndexError(msg)
        return original(self, data, final=final)

    with patch.object(Decoder, "feed", flaky):
        meter = Meter([P1_NL])
        meter.start_pty(pty)
        stop_tasks.append(meter)
        entry = await setup_entry(hass, pty.path)
        power = f"{NL_ID}_1-0:1.7.0"
        await wait_for(
            lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, power), limit=3.0
        )
    coordinator = entry.runtime_data
    assert coordinator.counters.other >= 2
    assert caplog.text.count("the decoder failed") == 1
    assert coordinator.counters.ok >= 1


async def test_a_bug_in_the_read_loop_reopens_the_port(
    hass: HomeAssistant,
    pty: Pty,
    stop_tasks: list,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    timings: SetTimings,
) -> None:
    """An exception escaping one connection's loop: logged once, the port is opened again."""
    timings(silence_intervals=1000)
    entry = await setup_entry(hass, pty.path)
    coordinator = entry.runtime_data
    original = coordinator.reader._async_read
    calls = 0

    async def broken(*args: Any) -> str:
        nonlocal calls
        calls += 1
        if calls <= 2:
            msg = "a bug in the loop"
            raise RuntimeError(msg)
        return await original(*args)

    monkeypatch.setattr(coordinator.reader, "_async_read", broken)
    coordinator.reader._task.cancel()  # restart the reader so that it runs the patched loop
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    await wait_for(lambda: coordinator.counters.ok >= 1, limit=3.0)
    assert coordinator.counters.reader_restarts >= 3  # the cancelled task, then two bugs
    assert caplog.text.count("the reader failed; the port is opened again") == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_while_a_restart_waits(
    hass: HomeAssistant, pty: Pty, timings: SetTimings
) -> None:
    timings(backoff_start=30.0)
    entry = await setup_entry(hass, pty.path)
    coordinator = entry.runtime_data
    coordinator.reader._task.cancel()
    await wait_for(lambda: coordinator.reader._restart is not None, limit=3.0)
    assert not coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert coordinator.reader._restart is None
    assert coordinator.reader.state == "stopped"


async def test_an_open_but_silent_port_is_reopened_after_a_long_silence(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, timings: SetTimings
) -> None:
    """In case the connection died without a word (a TCP peer gone without FIN)."""
    timings(silent_reopen_after=0.6, backoff_start=30.0)  # a reopen after silence does not wait
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok >= 1, limit=3.0)
    await meter.stop()
    await wait_for(lambda: coordinator.counters.reconnects >= 1, limit=3.0)
    assert coordinator.counters.silent_periods == 1
    meter.start_pty(pty)
    await wait_for(lambda: coordinator.reader.state == "receiving", limit=3.0)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_issues_from_before_a_restart_are_cleared_by_data(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=NL_ID, title="Meter", data={CONF_PORT: pty.path}
    )
    entry.add_to_hass(hass)
    for kind in (ISSUE_SILENT, "port_unavailable", ISSUE_DECRYPTION):
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{kind}_{entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    issues = ir.async_get(hass)
    await wait_for(lambda: entry.runtime_data.counters.ok >= 1, limit=3.0)
    for kind in (ISSUE_SILENT, "port_unavailable", ISSUE_DECRYPTION):
        assert issues.async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}") is None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.flows
async def test_meter_issues_are_raised_once_and_only_when_they_explain(
    hass: HomeAssistant,
) -> None:
    from custom_components.han_port.repairs import MeterIssues

    entry = MockConfigEntry(domain=DOMAIN, title="Meter", data={CONF_PORT: "/dev/x"})
    entry.add_to_hass(hass)
    issues = MeterIssues(hass, entry, "/dev/x", silent_after=10.0, key_failure_limit=5)
    registry = ir.async_get(hass)
    issues.check_silent(5.0, cannot_open=False)
    assert not registry.issues
    issues.raise_issue("counter_reset")
    issues.raise_issue("counter_reset")
    issue = registry.async_get_issue(DOMAIN, f"counter_reset_{entry.entry_id}")
    assert issue.is_fixable
    assert issue.data == {"entry_id": entry.entry_id, "kind": "counter_reset"}
    # The meter talks (its frames are refused for another reason): not "silent".
    issues.check_silent(20.0, cannot_open=False)
    assert issues.is_open("counter_reset")
    assert not issues.is_open(ISSUE_SILENT)
    issues.clear("counter_reset")
    issues.check_silent(20.0, cannot_open=True)
    assert issues.is_open("port_unavailable")
    issues.check_silent(20.0, cannot_open=False)
    assert not issues.is_open(ISSUE_SILENT)  # one of the two is enough
    assert len(registry.issues) == 1


def test_health_logs_why_a_meter_went_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    from custom_components.han_port.health import ReaderHealth

    health = ReaderHealth("/dev/ttyUSB0")
    health.lost("cannot_open_port", "[Errno 2] No such file or directory")
    health.lost("something_new")
    health.lost("refused", "truncated")
    health.lost("refused", "checksum")
    assert "the port cannot be opened ([Errno 2] No such file or directory)" in caplog.text
    assert "is unavailable: something_new" in caplog.text
    assert "its frames arrive, but every one is refused (truncated)" in caplog.text
    assert "every one fails its checksum" in caplog.text


async def test_a_port_error_while_reading_reopens_the_port(
    hass: HomeAssistant, pty: Pty, stop_tasks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError on the open port (here: writing a receiver's setup): unavailable, reopen."""
    from custom_components.han_port import connection as module

    failures = 0
    original = module.start_receiver

    def failing(*args: Any) -> None:
        nonlocal failures
        failures += 1
        if failures == 1:
            raise OSError(5, "Input/output error")
        original(*args)

    monkeypatch.setattr(module, "start_receiver", failing)
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = await setup_entry(hass, pty.path)
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.counters.ok >= 1, limit=3.0)
    assert coordinator.counters.reconnects == 1
    assert failures == 2
    assert await hass.config_entries.async_unload(entry.entry_id)
