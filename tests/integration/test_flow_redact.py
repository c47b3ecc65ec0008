"""A port URL's secrets (key=, password=, noise_psk=) stay out of logs, titles, ids and forms.

serialx URLs such as ``esphome://host/?port_name=HAN&key=...`` carry the device's API key.
The config flow logs the port, shows it in every text, and named id-less meters after it:
all of that uses the port's label (``ports.port_label``), and only the entry's data keeps the
real URL. A loopback TCP meter ignores the query, so the flow reads a real meter through a URL
that carries secrets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.han_port.const import CONF_AK, CONF_EK, CONF_PROFILE, DOMAIN
from custom_components.han_port.detect import Detection, Outcome
from custom_components.han_port.ports import port_label, redact_text, unredact_port
from tests.common import KAIFA_SHORT, LU_AK, LU_EK, TcpMeter

from .flow import DETECT, progress, start, suggested

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("no_ports", "fast_renotify")]

KEY = "Zm9vYmFyU2VjcmV0S2V5MTIzNDU2Nzg5MDEyMzQ1Ng=="  # an ESPHome API key's form
PASSWORD = "hunter2-pa55"  # noqa: S105 - a test secret that must not leak
SECRETS = (KEY, PASSWORD, "Zm9vYmFyU2VjcmV0S2V5")


@pytest.fixture
async def kaifa(socket_enabled: None) -> AsyncGenerator[TcpMeter]:
    """A Kaifa that sends neither a meter id nor a system title (known by its port)."""
    meter = TcpMeter([KAIFA_SHORT])
    await meter.start()
    yield meter
    await meter.stop()


def _secret_url(meter: TcpMeter) -> str:
    return f"{meter.url}/?port_name=HAN&key={KEY}&password={PASSWORD}"


def _redacted(meter: TcpMeter) -> str:
    return f"{meter.url}/?port_name=HAN&key=REDACTED&password=REDACTED"


def _assert_no_secret(*texts: Any) -> None:
    for text in texts:
        dumped = text if isinstance(text, str) else json.dumps(text, default=str)
        for secret in SECRETS:
            assert secret not in dumped


def test_port_label_redacts_only_secrets() -> None:
    url = f"esphome://192.168.1.9:6053/?port_name=HAN&key={KEY}&noise_psk={KEY}&password=x"
    assert port_label(url) == (
        "esphome://192.168.1.9:6053/?port_name=HAN&key=REDACTED&noise_psk=REDACTED"
        "&password=REDACTED"
    )
    # Paths and URLs without secrets are shown as they are (the unique ids made before).
    for port in ("/dev/serial/by-id/usb-FTDI-if00", "socket://10.0.0.2:2000", "rfc2217://h:1"):
        assert port_label(port) == port


def test_unredact_puts_back_only_what_the_form_showed_redacted() -> None:
    stored = f"esphome://old:6053/?port_name=HAN&key={KEY}&password={PASSWORD}"
    assert unredact_port(port_label(stored), stored) == stored
    # Another host, the secrets left as shown: they are the stored ones.
    assert unredact_port("esphome://new:6053/?key=REDACTED&port_name=HAN", stored) == (
        f"esphome://new:6053/?key={KEY}&port_name=HAN"
    )
    # What the user typed wins; a REDACTED the stored port cannot fill stays as typed.
    assert unredact_port("esphome://new/?key=mine&password=REDACTED", stored) == (
        f"esphome://new/?key=mine&password={PASSWORD}"
    )
    assert unredact_port("esphome://new/?noise_psk=REDACTED", stored) == (
        "esphome://new/?noise_psk=REDACTED"
    )
    assert unredact_port("socket://h:1?key=REDACTED", "socket://h:1") == (
        "socket://h:1?key=REDACTED"
    )
    assert unredact_port("socket://h:1?key=REDACTED", None) == "socket://h:1?key=REDACTED"
    assert unredact_port("/dev/ttyUSB0", stored) == "/dev/ttyUSB0"


def test_redact_text_takes_out_the_url_and_its_secret_values() -> None:
    url = "esphome://h/?key=a%2Bb&port_name=HAN"
    text = f"cannot open {url}: bad key a+b (a%2Bb)"
    assert redact_text(text, url) == (
        "cannot open esphome://h/?key=REDACTED&port_name=HAN: bad key REDACTED (REDACTED)"
    )
    assert redact_text("nothing to hide in /dev/ttyUSB0", "/dev/ttyUSB0") == (
        "nothing to hide in /dev/ttyUSB0"
    )


async def test_a_meter_known_by_its_url_shows_no_secret(
    hass: HomeAssistant, kaifa: TcpMeter, caplog: pytest.LogCaptureFixture
) -> None:
    """Found, confirmed and added: the secrets are in the entry's data and nowhere else."""
    caplog.set_level(logging.DEBUG)
    url = _secret_url(kaifa)
    result = await start(hass, url, "no_kaifa")
    _assert_no_secret(result["description_placeholders"])
    result = await progress(hass, result)
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["meter_id"] == _redacted(kaifa)
    _assert_no_secret(placeholders)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == _redacted(kaifa)
    assert entry.title.endswith(_redacted(kaifa))
    assert entry.data[CONF_PORT] == url  # opening the port needs the key
    await hass.async_block_till_done()
    assert f"Detection on {_redacted(kaifa)}: dlms meter found" in caplog.text
    _assert_no_secret(entry.title, entry.unique_id, caplog.text)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_url_without_secrets_stays_the_unique_id(
    hass: HomeAssistant, kaifa: TcpMeter
) -> None:
    """Entries made before keep their unique id: a port without secrets is its own label."""
    result = await start(hass, kaifa.url, "no_kaifa")
    result = await progress(hass, result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["result"].unique_id == kaifa.url
    assert result["title"] == f"Kaifa {kaifa.url}"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.usefixtures("socket_enabled")
async def test_a_refused_url_shows_and_logs_no_secret_and_keeps_it(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The error, the log line and the port field show the label; sent back, it is the URL."""
    caplog.set_level(logging.DEBUG)
    url = f"socket://127.0.0.1:1?key={KEY}&password={PASSWORD}"
    result = await start(hass, url, "nl_dsmr")
    result = await progress(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "cannot_connect"}
    label = "socket://127.0.0.1:1?key=REDACTED&password=REDACTED"
    assert result["description_placeholders"]["port"] == label
    assert suggested(result) == {CONF_PORT: label}
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert options == [{"value": label, "label": label}]
    _assert_no_secret(result["description_placeholders"], options, caplog.text)
    assert f"Detection on {label}: the port cannot be opened" in caplog.text

    # The form sent back as shown: detection listens to the URL with its secrets.
    ports: list[str] = []

    async def detect(config: Any) -> Detection:
        ports.append(config.port)
        await asyncio.sleep(0)
        return Detection(Outcome.CANNOT_CONNECT)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: label})
    with patch(DETECT, side_effect=detect):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PROFILE: "nl_dsmr"}
        )
        result = await progress(hass, result)
    assert ports == [url]


async def test_a_detection_crash_logs_its_traceback_without_secrets(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"esphome://10.0.0.9/?port_name=HAN&key={KEY}"

    async def crash(config: Any) -> Detection:
        await asyncio.sleep(0)
        msg = f"cannot parse {config.port} (key {KEY})"
        raise ValueError(msg)

    with patch(DETECT, side_effect=crash):
        result = await start(hass, url, "nl_dsmr")
        result = await progress(hass, result)
    assert result["errors"] == {"base": "unreadable"}
    label = "esphome://10.0.0.9/?port_name=HAN&key=REDACTED"
    assert f"Detection on {label} failed" in caplog.text
    assert "Traceback" in caplog.text
    assert f"ValueError: cannot parse {label} (key REDACTED)" in caplog.text
    _assert_no_secret(caplog.text)


async def test_reauth_shows_the_label(hass: HomeAssistant) -> None:
    url = f"esphome://10.0.0.9/?port_name=HAN&noise_psk={KEY}"
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="SAG1030700012701",
        data={CONF_PORT: url, CONF_PROFILE: "lu_smarty", CONF_EK: LU_EK, CONF_AK: LU_AK},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["port"] == (
        "esphome://10.0.0.9/?port_name=HAN&noise_psk=REDACTED"
    )
    _assert_no_secret(result["description_placeholders"])


async def test_reconfigure_shows_the_label_and_keeps_the_secrets(
    hass: HomeAssistant, kaifa: TcpMeter
) -> None:
    """The stored URL is never sent to the form; sent back as shown, it stays as it was."""
    url = _secret_url(kaifa)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=_redacted(kaifa),
        data={CONF_PORT: url, CONF_PROFILE: "no_kaifa"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    shown = suggested(result)
    assert shown[CONF_PORT] == _redacted(kaifa)
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    _assert_no_secret(shown, options, result["description_placeholders"])
    with patch.object(hass.config_entries, "async_schedule_reload"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: _redacted(kaifa), CONF_PROFILE: "no_kaifa"}
        )
        result = await progress(hass, result)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == url
    assert entry.unique_id == _redacted(kaifa)
