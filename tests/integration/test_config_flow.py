"""The config flow: every path, against real frames pushed through a PTY."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USB, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import (
    CONF_AK,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_FORMAT,
    CONF_FUSE,
    CONF_METER_ID,
    CONF_MIN_INTERVAL,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SCALE,
    CONF_SYSTEM_TITLE,
    DOMAIN,
)
from custom_components.han_port.detect import Detection, Outcome
from tests.common import (
    AT_EK,
    AT_FRAME,
    DK_AK,
    DK_EK,
    DK_FRAME,
    HDLC_NO,
    KAIFA_SHORT,
    LU_AK,
    LU_EK,
    LU_FRAME,
    P1_NL,
    WMBUS_GAMA_FRAME,
    WMBUS_GAMA_KEY,
    Meter,
    Pty,
    vector,
    wire,
)

from .flow import progress, start, suggested

NL_METER_ID = "K8EG004046395507"
LU_METER_ID = "SAG1030700012701"
OTHER_KEY = "00112233445566778899AABBCCDDEEFF"

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]


@pytest.fixture
async def meter_nl(pty: Pty, stop_tasks: list) -> Meter:
    meter = Meter([P1_NL])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    return meter


async def test_user_flow_auto_detects_p1(hass: HomeAssistant, pty: Pty, meter_nl: Meter) -> None:
    result = await start(hass, pty.path)
    result = await progress(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["format"] == "P1 telegrams (DSMR / IEC 62056-21 text), not encrypted"
    assert placeholders["meter"] == f"Iskraemeco MT382-1000 {NL_METER_ID}"
    assert placeholders["meter_id"] == NL_METER_ID
    # Registers by name, in the sensors' units and precision; no OBIS codes.
    registers = placeholders["registers"].splitlines()
    assert "- Power import: 244 W" in registers
    assert "- Energy import tariff 1: 4.426 kWh" in registers
    assert "- Voltage L1: 230.0 V" in registers
    assert "- Current L3: 0.86 A" in registers
    assert "- Gas meter: 0.107 m³" in registers
    assert registers[:3] == ["- Power import: 244 W", "- Power export: 0 W", registers[2]]
    assert registers[-1] == "- and 10 more (disabled by default)"
    assert "1-0:" not in placeholders["registers"]
    assert placeholders["count"] == "30"
    # A serial port: its settings are shown; no key notes without keys.
    assert placeholders["notes"] == "- Serial settings: 115200 8N1\n"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Iskraemeco MT382-1000 {NL_METER_ID}"
    assert result["result"].unique_id == NL_METER_ID
    data = result["data"]
    assert data[CONF_PORT] == pty.path
    assert data[CONF_PROFILE] == "auto"
    assert data[CONF_FORMAT] == "p1"
    assert (data[CONF_BAUDRATE], data[CONF_PARITY], data[CONF_BYTESIZE]) == (115200, "N", 8)
    await hass.async_block_till_done()


async def test_port_list_labels_and_by_id(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = [
        SimpleNamespace(
            device="/dev/ttyS0", manufacturer=None, description="n/a", serial_number=None
        ),
        SimpleNamespace(
            device="/dev/ttyUSB0",
            manufacturer="FTDI",
            description="P1 cable",
            serial_number="A1",
            vid=0x0403,
        ),
    ]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    by_id = {"/dev/ttyUSB0": "/dev/serial/by-id/usb-FTDI_P1-if00"}
    with patch(
        "custom_components.han_port.config_flow.usb.get_serial_by_id",
        side_effect=lambda path: by_id.get(path, path),
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        selector = result["data_schema"].schema[CONF_PORT].config
        assert selector["custom_value"] is True
        assert selector["options"] == [
            {
                "value": "/dev/serial/by-id/usb-FTDI_P1-if00",
                "label": "/dev/ttyUSB0 - FTDI, P1 cable, A1",
            },
            {"value": "/dev/ttyS0", "label": "/dev/ttyS0"},
        ]
        # The USB adapter is listed first and suggested, never the built-in UART.
        assert suggested(result) == {CONF_PORT: "/dev/serial/by-id/usb-FTDI_P1-if00"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: "/dev/ttyUSB0"}
        )
    assert result["step_id"] == "meter"
    # The by-id path is stored, and offered again if the flow comes back to the port.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: "nl_dsmr"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["description_placeholders"]["port"] == "/dev/serial/by-id/usb-FTDI_P1-if00"
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert options[0]["value"] == "/dev/serial/by-id/usb-FTDI_P1-if00"


async def test_nothing_received_shows_activation(hass: HomeAssistant, pty: Pty) -> None:
    result = await start(hass, pty.path, "nl_dsmr")
    result = await progress(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "nothing_received"}
    assert "always on" in result["description_placeholders"]["activation"]


async def test_unreadable_tries_every_setting(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([bytes(range(256)) * 40])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "no_aidon")
    result = await progress(hass, result)
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unreadable"}
    assert result["description_placeholders"]["tried"] == "2400 8E1, 2400 8N1"


async def test_serial_override_is_stored(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([HDLC_NO])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(
        hass,
        pty.path,
        "no_kaifa",
        serial={CONF_BAUDRATE: "2400", CONF_PARITY: "E", CONF_BYTESIZE: "8"},
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["notes"] == "- Serial settings: 2400 8E1\n"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BAUDRATE] == 2400
    assert result["data"][CONF_PARITY] == "E"
    assert result["result"].unique_id == "6970631404129954"
    await hass.async_block_till_done()


async def test_meter_form_keeps_serial_override(hass: HomeAssistant, pty: Pty) -> None:
    """After an error the meter form shows the override again, expanded."""
    result = await start(hass, pty.path, "no_kaifa", serial={CONF_BAUDRATE: "9600"})
    result = await progress(hass, result)
    assert result["errors"] == {"base": "nothing_received"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: pty.path}
    )
    assert result["step_id"] == "meter"
    # The section is expanded because an override is set.
    section = result["data_schema"].schema["serial"]
    assert section.options == {"collapsed": False}


async def test_encrypted_meter_asks_for_keys(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    """Auto-detect hears encrypted data, asks for the keys, then finds the meter."""
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path)
    result = await progress(hass, result)
    assert result["step_id"] == "keys"
    assert result["errors"] == {"base": "need_key"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: "not a key", CONF_AK: LU_AK, CONF_SYSTEM_TITLE: "xyz"}
    )
    assert result["step_id"] == "keys"
    assert result["errors"] == {CONF_EK: "invalid_key", CONF_SYSTEM_TITLE: "invalid_system_title"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: LU_EK, CONF_AK: LU_AK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    # The user typed the AK, so the tag is checked with it.
    assert placeholders["format"] == (
        "P1 telegrams (DSMR / IEC 62056-21 text), encrypted and authenticated (AES-GCM)"
    )
    assert "swapped" not in placeholders["notes"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_EK] == LU_EK.lower()
    assert result["data"][CONF_AK] == LU_AK.lower()
    assert result["result"].unique_id == LU_METER_ID
    await hass.async_block_till_done()


async def test_swapped_keys_are_corrected(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "lu_smarty")
    assert result["step_id"] == "keys"
    assert result["description_placeholders"]["ek_name"] == "P1 decryption key"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: LU_AK, CONF_AK: LU_EK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert "were entered the wrong way round" in result["description_placeholders"]["notes"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["data"][CONF_EK] == LU_EK.lower()
    assert result["data"][CONF_AK] == LU_AK.lower()
    await hass.async_block_till_done()


async def test_dlms_swapped_keys_and_system_title_as_unique_id(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    """Danish Kamstrup sends no meter id: its DLMS system title identifies it."""
    meter = Meter([DK_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "dk_kamstrup")
    assert result["step_id"] == "keys"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: DK_AK, CONF_AK: DK_EK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert "were entered the wrong way round" in placeholders["notes"]
    assert placeholders["format"].startswith("DLMS/COSEM push messages")
    assert "- Power import: 1083 W" in placeholders["registers"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "4B414D4501349083"
    # No id register: maker, the profile's model and the end of the system title.
    assert result["title"] == "Kamstrup Omnipower 9083"
    assert result["data"][CONF_EK] == DK_EK.lower()
    assert result["data"][CONF_AK] == DK_AK.lower()
    await hass.async_block_till_done()


# Polish Stoen P1: the public envelope rebuilt around a real Kaifa MA309M plaintext (AMS #1067):
# clear ident line, GCM blob of the data lines, clear footer; test keys.
PL = vector("dlms", "pl-stoen-kaifa-ma309m-p1-rebuilt-envelope")
PL_FRAME = wire(PL)
PL_EK = PL["keys"]["ek"]
PL_AK = PL["keys"]["ak"]
PL_METER_ID = "30057775"


async def test_stoen_p1_meter_with_keys_in_letter_order(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    """Stoen letters list AK and EK either way round: the tag tells, the entry stores them right."""
    meter = Meter([PL_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "pl_stoen_p1")
    assert result["step_id"] == "keys"
    assert CONF_SYSTEM_TITLE in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: PL_AK, CONF_AK: PL_EK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert "were entered the wrong way round" in placeholders["notes"]
    assert placeholders["meter_id"] == PL_METER_ID
    # The model comes from the ident line sent in clear before the encrypted data lines.
    assert placeholders["meter"] == f"Kaifa KAIFA-METER {PL_METER_ID}"
    assert "encrypted and authenticated" in placeholders["format"]
    assert "- Energy import: 336.420 kWh" in placeholders["registers"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Kaifa KAIFA-METER {PL_METER_ID}"
    assert result["result"].unique_id == PL_METER_ID
    assert result["data"][CONF_EK] == PL_EK.lower()
    assert result["data"][CONF_AK] == PL_AK.lower()
    await hass.async_block_till_done()


async def test_stoen_p1_auto_detect_asks_for_keys_and_refuses_a_wrong_ak(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([PL_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path)
    result = await progress(hass, result)
    assert result["step_id"] == "keys"
    assert result["errors"] == {"base": "need_key"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: PL_EK, CONF_AK: OTHER_KEY}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "keys"
    assert result["errors"] == {"base": "auth_failed"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: PL_EK, CONF_AK: PL_AK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert "wrong way round" not in result["description_placeholders"]["notes"]
    assert result["description_placeholders"]["meter_id"] == PL_METER_ID


async def test_wrong_keys_auth_failed(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "lu_smarty")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: OTHER_KEY, CONF_AK: LU_AK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "keys"
    assert result["errors"] == {"base": "auth_failed"}


async def test_wrong_key_and_ascii_key_form(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    """Austria: one key. The 16-character ASCII form is accepted (and is wrong here)."""
    meter = Meter([AT_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    # 8N1: Linux PTYs refuse a second open with even parity (EINVAL from tcsetattr).
    result = await start(hass, pty.path, "at_mbus", serial={CONF_BAUDRATE: "2400"})
    assert result["step_id"] == "keys"
    assert CONF_SYSTEM_TITLE not in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: "9CoQ7w5LMFoLS3gJ"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "keys"
    assert result["errors"] == {"base": "wrong_key"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_EK: AT_EK})
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["meter_id"] == "181220000009"


async def test_same_meter_aborts(hass: HomeAssistant, pty: Pty, meter_nl: Meter) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=NL_METER_ID, data={CONF_PORT: "/dev/x"}).add_to_hass(
        hass
    )
    result = await start(hass, pty.path, "nl_dsmr")
    result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_detection_crash_is_reported_as_unreadable(hass: HomeAssistant) -> None:
    async def crash(_config: Any) -> Detection:
        await asyncio.sleep(0.01)
        msg = "bug"
        raise RuntimeError(msg)

    with patch("custom_components.han_port.flow_detect.async_detect", side_effect=crash):
        result = await start(hass, "/dev/null", "nl_dsmr")
        result = await progress(hass, result)
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unreadable"}


async def test_closing_the_dialog_stops_listening(hass: HomeAssistant, pty: Pty) -> None:
    result = await start(hass, pty.path, "nl_dsmr")
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress()


async def test_found_immediately_skips_the_spinner(hass: HomeAssistant) -> None:
    """A detection that is already finished goes straight on (no progress shown)."""
    from custom_components.han_port.han.model import Message, MeterIdentity

    found = Detection(
        Outcome.FOUND, message=Message("p1", meter=MeterIdentity(meter_id="12345678"))
    )
    with patch("custom_components.han_port.flow_detect.async_detect", return_value=found):
        result = await start(hass, "socket://127.0.0.1:1", "nl_dsmr")
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["title"] == "Netherlands — DSMR P1 12345678"
    assert CONF_BAUDRATE not in result["data"]


# ---------------------------------------------------------------------- wireless M-Bus


async def test_wmbus_pick_meter(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([WMBUS_GAMA_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "pl_stoen_wmbus")
    assert result["step_id"] == "wmbus"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER: "raw", CONF_METER_ID: "1234", CONF_EK: WMBUS_GAMA_KEY}
    )
    assert result["errors"] == {CONF_METER_ID: "invalid_meter_id"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER: "raw", CONF_EK: WMBUS_GAMA_KEY}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "pick"
    assert result["description_placeholders"]["heard"] == "30584551"
    assert result["data_schema"].schema[CONF_METER_ID].config["options"] == ["30584551"]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_METER_ID: "3058"}
    )
    assert result["errors"] == {CONF_METER_ID: "invalid_meter_id"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_METER_ID: "30584551"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "30584551"
    assert result["data"][CONF_METER_ID] == "30584551"
    assert result["data"][CONF_RECEIVER] == "raw"
    assert result["data"][CONF_EK] == WMBUS_GAMA_KEY.lower()
    await hass.async_block_till_done()


async def test_wmbus_needs_key(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([WMBUS_GAMA_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    result = await start(hass, pty.path, "wmbus_oms")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER: "raw", CONF_METER_ID: "30584551"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "wmbus"
    assert result["errors"] == {"base": "need_key"}


async def test_wmbus_nothing_heard(hass: HomeAssistant, pty: Pty) -> None:
    result = await start(hass, pty.path, "wmbus_oms")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER: "amb8465"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "nothing_received"}


# ---------------------------------------------------------------------- USB discovery

USB = UsbServiceInfo(
    device="/dev/ttyUSB7",
    vid="0403",
    pid="6001",
    serial_number="A9X",
    manufacturer="FTDI",
    description="P1 converter cable",
)


async def test_usb_discovery(hass: HomeAssistant, pty: Pty, meter_nl: Meter) -> None:
    with patch(
        "custom_components.han_port.config_flow.usb.get_serial_by_id", return_value=pty.path
    ):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USB}, data=USB
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert result["description_placeholders"]["port"] == pty.path
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "meter"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE: "nl_dsmr"}
    )
    result = await progress(hass, result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == NL_METER_ID
    assert result["data"][CONF_PORT] == pty.path
    await hass.async_block_till_done()


async def test_usb_discovery_of_a_configured_port_aborts(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id="x", data={CONF_PORT: "/dev/serial/by-id/usb-p1"}
    ).add_to_hass(hass)
    with patch(
        "custom_components.han_port.config_flow.usb.get_serial_by_id",
        return_value="/dev/serial/by-id/usb-p1",
    ):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USB}, data=USB
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_usb_discovery_ignored_adapter_aborts(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id="usb_0403_6001_A9X", data={}, source="ignore"
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=USB
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# ---------------------------------------------------------------------- reauth


def _lu_entry(port: str, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        unique_id=LU_METER_ID,
        title="Smarty",
        data={
            CONF_PORT: port,
            CONF_PROFILE: "lu_smarty",
            CONF_EK: OTHER_KEY.lower(),
            CONF_AK: LU_AK.lower(),
            **data,
        },
    )


async def test_reauth_with_loaded_entry(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    """The running reader frees the port while the flow listens, then reads again."""
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = _lu_entry(pty.path)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: "12", CONF_AK: LU_AK}
    )
    assert result["errors"] == {CONF_EK: "invalid_key"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: OTHER_KEY, CONF_AK: LU_AK}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "auth_failed"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_EK: LU_EK, CONF_AK: LU_AK}
    )
    result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_EK] == LU_EK.lower()
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_not_loaded_entry_reloads(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = _lu_entry(pty.path)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    with patch.object(hass.config_entries, "async_schedule_reload") as reload:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_EK: LU_EK, CONF_AK: LU_AK}
        )
        result = await progress(hass, result)
    assert result["reason"] == "reauth_successful"
    reload.assert_called_once_with(entry.entry_id)


async def test_reauth_other_meter_aborts(hass: HomeAssistant, pty: Pty, meter_nl: Meter) -> None:
    entry = _lu_entry(pty.path, **{CONF_PROFILE: "nl_dsmr"})
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert CONF_SYSTEM_TITLE not in result["data_schema"].schema
    # EK only: with an AK, the plain telegrams of the other meter would be refused outright.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_EK: LU_EK})
    result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"


async def test_reauth_wireless_asks_one_key(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([WMBUS_GAMA_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_PORT: pty.path,
            CONF_PROFILE: "pl_stoen_wmbus",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "30584551",
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert list(result["data_schema"].schema) == [CONF_EK]
    with patch.object(hass.config_entries, "async_schedule_reload"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_EK: WMBUS_GAMA_KEY}
        )
        result = await progress(hass, result)
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_EK] == WMBUS_GAMA_KEY.lower()


# ---------------------------------------------------------------------- reconfigure


async def test_reconfigure_port_and_keys(hass: HomeAssistant, pty: Pty, stop_tasks: list) -> None:
    meter = Meter([LU_FRAME])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = _lu_entry("/dev/old", **{CONF_BAUDRATE: 9600, CONF_PARITY: "N", CONF_BYTESIZE: 8})
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert CONF_RECEIVER not in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PORT: pty.path, CONF_PROFILE: "lu_smarty", CONF_EK: "zz"},
    )
    assert result["errors"] == {CONF_EK: "invalid_key"}
    # Keys left empty are kept; a wrong key fails detection and shows the form again.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: pty.path, CONF_PROFILE: "lu_smarty"}
    )
    result = await progress(hass, result)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "auth_failed"}
    with patch.object(hass.config_entries, "async_schedule_reload") as reload:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: pty.path, CONF_PROFILE: "lu_smarty", CONF_EK: LU_EK}
        )
        result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == pty.path
    assert entry.data[CONF_EK] == LU_EK.lower()
    assert entry.data[CONF_BAUDRATE] == 115200
    reload.assert_called_once_with(entry.entry_id)


async def test_reconfigure_a_meter_without_id_to_another_port(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    """Issue 12: a meter without id or system title is known by its first port only.

    Its unique id is that port's path; moving it to another port aborted with wrong_meter.
    """
    meter = Meter([KAIFA_SHORT])
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="/dev/serial/by-id/usb-old-adapter",
        data={CONF_PORT: "/dev/serial/by-id/usb-old-adapter", CONF_PROFILE: "no_kaifa"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    with patch.object(hass.config_entries, "async_schedule_reload") as reload:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: pty.path, CONF_PROFILE: "no_kaifa"}
        )
        result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == pty.path
    # The entities' ids derive from the unique id: it stays.
    assert entry.unique_id == "/dev/serial/by-id/usb-old-adapter"
    reload.assert_called_once_with(entry.entry_id)


async def test_reconfigure_to_another_named_meter_aborts(
    hass: HomeAssistant, pty: Pty, stop_tasks: list
) -> None:
    meter = Meter([HDLC_NO])  # names itself 6970631404129954
    meter.start_pty(pty)
    stop_tasks.append(meter)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="6970631404129999",
        data={CONF_PORT: "/dev/old", CONF_PROFILE: "no_kaifa"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: pty.path, CONF_PROFILE: "no_kaifa"}
    )
    result = await progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert entry.data[CONF_PORT] == "/dev/old"


async def test_reconfigure_wireless_form(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="30584551",
        data={CONF_PORT: "/dev/x", CONF_PROFILE: "wmbus_oms", CONF_METER_ID: "30584551"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"].schema
    assert CONF_RECEIVER in schema
    assert CONF_AK not in schema
    profiles = [option["value"] for option in schema[CONF_PROFILE].config["options"]]
    assert profiles == ["pl_stoen_wmbus", "wmbus_oms"]


# ---------------------------------------------------------------------- options


async def test_options_flow(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: "/dev/x"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_INTERVAL: 5, CONF_SCALE: 40, CONF_FUSE: 25}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_MIN_INTERVAL: 5, CONF_SCALE: 40, CONF_FUSE: 25}


async def test_port_list_without_pyserial(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HA versions without pyserial: serialx lists the ports."""
    import sys

    monkeypatch.setitem(sys.modules, "serial.tools", None)
    port = SimpleNamespace(
        device="/dev/ttyACM0", manufacturer="IMST", description="iM871A", serial_number=None
    )
    monkeypatch.setattr("serialx.list_serial_ports", lambda: [port])
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert options == [{"value": "/dev/ttyACM0", "label": "/dev/ttyACM0 - IMST, iM871A"}]
