"""Diagnostics name no meter: ids, sub-meter ids and system titles are redacted everywhere.

Code review: the meter id, the M-Bus sub-meter ids and the DLMS system title appeared in the
entry title, the unique id, the meter section and the registers. The capture's frame bytes
(``hex``, ``raw_hex``) are the one exception, documented: they are the frames as received.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.han_port.const import (
    CONF_AK,
    CONF_EK,
    CONF_METER_ID,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    DOMAIN,
)
from tests.common import (
    DK_AK,
    DK_EK,
    DK_TITLE,
    HDLC_NO,
    P1_NL,
    WMBUS_GAMA_FRAME,
    WMBUS_GAMA_KEY,
    Meter,
    Pty,
    dk_frames,
    wait_for,
)

from .timing import SetTimings

NL_ID = "K8EG004046395507"  # 0-0:96.1.1 of the Dutch telegram, sent as hex-encoded ASCII
NL_ID_HEX = NL_ID.encode().hex()
GAS_ID = "2222ABCD123456789"  # 0-1:96.1.0, its gas meter on M-Bus channel 1
GAS_ID_HEX = GAS_ID.encode().hex()
NO_ID = "6970631404129954"  # 0-0:96.1.0 of the Norwegian Kaifa
DK_ID = DK_TITLE.hex()


def _without_frame_bytes(data: Any) -> Any:
    """``data`` without the capture's frame bytes (the documented exception)."""
    if isinstance(data, dict):
        return {k: _without_frame_bytes(v) for k, v in data.items() if k not in ("hex", "raw_hex")}
    if isinstance(data, list):
        return [_without_frame_bytes(v) for v in data]
    return data


async def _diagnostics(
    hass: HomeAssistant, hass_client: Any, pty: Pty, frames: list[bytes], title: str, **data: Any
) -> tuple[dict[str, Any], str]:
    """Diagnostics of an entry reading ``frames``, and their text without the frame bytes."""
    meter = Meter(frames)
    meter.start_pty(pty)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=data.pop("unique_id"),
        title=title,
        data={CONF_PORT: pty.path, **data},
    )
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data
        await wait_for(lambda: coordinator.counters.ok >= 1)
        await hass.async_block_till_done()
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    finally:
        await meter.stop()
    assert await hass.config_entries.async_unload(entry.entry_id)
    return diagnostics, json.dumps(_without_frame_bytes(diagnostics)).lower()


@pytest.fixture(autouse=True)
def _no_silence(timings: SetTimings) -> None:
    timings(silence_intervals=1000)


async def test_the_meter_and_gas_meter_ids_are_redacted(
    hass: HomeAssistant, hass_client: Any, pty: Pty
) -> None:
    """Dutch P1: the meter id (0-0:96.1.1) and the gas meter's (0-1:96.1.0), in every form."""
    diagnostics, text = await _diagnostics(
        hass,
        hass_client,
        pty,
        [P1_NL],
        f"Sagemcom {NL_ID}",
        unique_id=NL_ID,
        **{CONF_PROFILE: "nl_dsmr"},
    )
    for secret in (NL_ID, NL_ID_HEX, GAS_ID, GAS_ID_HEX):
        assert secret.lower() not in text, secret
    assert diagnostics["entry"]["title"] == f"Sagemcom {REDACTED}"
    assert diagnostics["entry"]["unique_id"] == REDACTED
    assert diagnostics["meter"]["meter_id"] == REDACTED
    assert diagnostics["registers"]["0-0:96.1.1"] == REDACTED
    assert diagnostics["registers"]["0-1:96.1.0"] == REDACTED
    # What is no id stays readable.
    assert diagnostics["registers"]["1-0:1.7.0"]["value"] == 244
    assert diagnostics["registers"]["0-1:24.1.0"] != REDACTED
    assert diagnostics["capture"]["frames"][0]["verdict"] == "ok"


async def test_the_norwegian_meter_id_is_redacted(
    hass: HomeAssistant, hass_client: Any, pty: Pty
) -> None:
    """A DLMS list: 0-0:96.1.0, in the title and the registers."""
    diagnostics, text = await _diagnostics(
        hass,
        hass_client,
        pty,
        [HDLC_NO],
        f"Kaifa MA304H3E {NO_ID}",
        unique_id=NO_ID,
        **{CONF_PROFILE: "no_kaifa"},
    )
    assert NO_ID not in text
    assert diagnostics["registers"]["0-0:96.1.0"] == REDACTED
    assert diagnostics["entry"]["title"] == f"Kaifa MA304H3E {REDACTED}"
    assert diagnostics["meter"]["model"]  # the model names no one meter


async def test_the_system_title_is_redacted(
    hass: HomeAssistant, hass_client: Any, pty: Pty
) -> None:
    """Danish Kamstrup: the system title (entry data, meter section, unique id) and keys."""
    diagnostics, text = await _diagnostics(
        hass,
        hass_client,
        pty,
        dk_frames(40),
        f"Kamstrup {DK_ID.upper()[-4:]}",  # a title with the short id of a meter without id
        unique_id=DK_ID.upper(),
        **{CONF_PROFILE: "dk_kamstrup", CONF_EK: DK_EK, CONF_AK: DK_AK},
    )
    for secret in (DK_ID, DK_EK, DK_AK):
        assert secret.lower() not in text
    assert diagnostics["meter"]["system_title"] == REDACTED
    assert diagnostics["entry"]["unique_id"] == REDACTED
    assert diagnostics["entry"]["data"][CONF_EK] == REDACTED
    meter_id = diagnostics["meter"]["meter_id"]
    assert meter_id in (None, REDACTED)
    assert diagnostics["entry"]["title"] == f"Kamstrup {REDACTED}"


async def test_wireless_ids_are_redacted(hass: HomeAssistant, hass_client: Any, pty: Pty) -> None:
    """wM-Bus: the meter id chosen, and the ids of every meter heard (counted instead)."""
    diagnostics, text = await _diagnostics(
        hass,
        hass_client,
        pty,
        [WMBUS_GAMA_FRAME],
        "Gama 30584551",
        unique_id="30584551",
        **{
            CONF_PROFILE: "pl_stoen_wmbus",
            CONF_RECEIVER: "raw",
            CONF_METER_ID: "30584551",
            CONF_EK: WMBUS_GAMA_KEY.lower(),
        },
    )
    assert "30584551" not in text
    assert WMBUS_GAMA_KEY.lower() not in text
    assert diagnostics["decoder"] == {"heard": REDACTED, "meters_heard": 1}
    assert diagnostics["entry"]["data"][CONF_METER_ID] == REDACTED
    assert diagnostics["entry"]["data"].get(CONF_SYSTEM_TITLE) in (None, REDACTED)
    assert diagnostics["entry"]["title"] == f"Gama {REDACTED}"
