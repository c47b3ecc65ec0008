"""Prepare a Home Assistant configuration directory for development and the browser test.

Usage: PYTHONPATH=.:custom_components/han_port .venv/bin/python scripts/dev_config.py CONFIG_DIR

Creates, once, an owner user dev / dev (through Home Assistant's own auth code), marks
onboarding done, and (unless HAN_SIM=0) adds a HAN Port entry for the simulated meter
(HAN_SIM_PROFILE, HAN_SIM_PORT). Files that already exist are kept; an owner that exists is kept.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import sys

from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.util.ulid import ulid_now

from han.decoder import Decoder
from han.model import Keys, Message
from hanport_dev.simulator import MeterSimulator

config = Path(sys.argv[1])
storage = config / ".storage"
storage.mkdir(parents=True, exist_ok=True)
#: Without a simulator (HAN_SIM=0, or the browser test, which adds meters through the UI)
#: no HAN Port entry is written.
with_entry = os.environ.get("HAN_SIM", "1") != "0"
profile = os.environ.get("HAN_SIM_PROFILE", "nl_dsmr")
port = f"socket://127.0.0.1:{os.environ.get('HAN_SIM_PORT', '18123')}"
marker = config / ".han_port_develop"
STEPS = ["user", "core_config", "analytics", "integration"]


def write_json(path: Path, data: object, *, private: bool = False) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.chmod(0o600 if private else 0o644)
    tmp.replace(path)


async def ensure_owner() -> bool:
    """Create the owner dev/dev through Home Assistant's own auth code, unless an owner exists."""
    hass = HomeAssistant(str(config))
    hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    provider = hass.auth.auth_providers[0]
    await provider.async_initialize()
    if any(user.is_owner for user in await hass.auth.async_get_users()):
        return False
    if any(u["username"] == "dev" for u in provider.data.users):
        print("scripts/develop: a user 'dev' exists but no owner; finish onboarding in the UI")
        return False
    user = await hass.auth.async_create_user("Developer", group_ids=[GROUP_ID_ADMIN])
    await provider.async_add_auth("dev", "dev")  # saved at once
    credentials = await provider.async_get_or_create_credentials({"username": "dev"})
    await hass.auth.async_link_user(user, credentials)
    # The user store saves with a delay; a never-started hass ignores async_stop, so ask
    # every store with pending data to write now, as Home Assistant does when it stops.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    return user.is_owner


def han_entry() -> dict[str, object]:
    """A config entry like the config flow creates for the simulated meter."""
    sim = MeterSimulator(profile, seed=0)
    data: dict[str, object] = {"port": port, "profile": profile, **sim.keys.entry_data()}
    meter_id, name = sim.meter_id, sim.profile.name
    decoder = Decoder(Keys(sim.keys.ek, sim.keys.ak), country=sim.profile.country)
    for result in decoder.feed(sim.next_frame()):
        if isinstance(result, Message):
            data["format"] = str(result.format)
            meter_id = result.meter.meter_id or meter_id
            parts = (result.meter.manufacturer, result.meter.model)
            name = " ".join(p for p in parts if p) or name
    unique_id = meter_id or port
    now = datetime.now(UTC).isoformat()
    return {
        "created_at": now,
        "data": data,
        "discovery_keys": {},
        "disabled_by": None,
        "domain": "han_port",
        "entry_id": ulid_now(),
        "minor_version": 1,
        "modified_at": now,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": f"{name} {unique_id}" if meter_id else name,
        "unique_id": unique_id,
        "version": 1,
    }


def ensure_entry() -> str | None:
    path = storage / "core.config_entries"
    if path.exists():
        if marker.exists():
            return None  # prepared before: respect what the developer did since
        stored = json.loads(path.read_text(encoding="utf-8"))
        entries = stored["data"]["entries"]
        if any(e.get("domain") == "han_port" for e in entries):
            return None
    else:
        stored = {"version": 1, "minor_version": 5, "key": "core.config_entries"}
        stored["data"] = {"entries": []}
        entries = stored["data"]["entries"]
    entry = han_entry()
    entries.append(entry)
    write_json(path, stored)
    return str(entry["title"])


created = asyncio.run(ensure_owner())
onboarding = storage / "onboarding"
if not onboarding.exists():
    stored = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": STEPS}}
    write_json(onboarding, stored, private=True)
title = ensure_entry() if with_entry else None
marker.write_text("scripts/develop prepared this configuration once\n", encoding="utf-8")
if created:
    print("scripts/develop: created the owner user: log in as dev / dev")
if title:
    print(f"scripts/develop: added HAN Port entry '{title}' on {port} (profile {profile})")
