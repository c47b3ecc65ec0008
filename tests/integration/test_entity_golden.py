"""Entities stay what users have: unique id, name, device class, unit, device, for every register.

``fixtures/entities_golden.json`` was captured before issue 12 moved OBIS meaning into the
library, from every register the shared vectors and the simulated meters decode to: one row
per register and what decides its entity (unit, whether the value is a number, the M-Bus
device type of its channel). A row that changes changes a user's entity: its unique id (then
the entry needs a version bump and a migration), its name, or its statistics.

Regenerate (only for an intended change, and say so in the commit):
``.venv/bin/python -m tests.test_entity_golden --write``.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from types import SimpleNamespace
from typing import Any

from custom_components.han_port.const import CONF_PROFILE
from custom_components.han_port.data import MeterData
from custom_components.han_port.han.decoder import Decoder
from custom_components.han_port.han.keys import parse_key
from custom_components.han_port.han.model import Keys, Message, Reading
from custom_components.han_port.han.wmbus import decode_vector_bytes
from custom_components.han_port.sensor import (
    HEADROOM,
    METER_SENSORS,
    HanMeterSensor,
    describe,
    register_sensor,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN = FIXTURES / "entities_golden.json"
VECTORS = ("dsmr.jsonl", "nordic.jsonl", "dlms.jsonl", "wmbus.jsonl")
#: The entry's unique id stands here in the golden unique ids.
METER = "<meter>"


def _sample(value: object) -> object:
    """What of a value decides its entity: a number, text, nothing or a boolean."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return 1
    if value is None:
        return None
    return "text"


def _channel_kind(obis: str, readings: dict[str, Reading]) -> object:
    """The M-Bus device type register of a sub-meter register's channel, as sent."""
    head = obis.partition(":")[0]
    a, _, b = head.partition("-")
    if a != "0" or not b.isdigit() or b == "0":
        return None
    kind = readings.get(f"0-{b}:24.1.0")
    return None if kind is None else kind.value


def _context(obis: str, readings: dict[str, Reading]) -> dict[str, Any]:
    reading = readings[obis]
    return {
        "obis": obis,
        "unit": reading.unit,
        "value": _sample(reading.value),
        "kind": _channel_kind(obis, readings),
    }


def _data(context: dict[str, Any]) -> MeterData:
    obis = context["obis"]
    readings = {obis: Reading(obis, context["value"], context["unit"])}
    if context["kind"] is not None:
        channel = obis.partition(":")[0].partition("-")[2]
        kind = f"0-{channel}:24.1.0"
        readings.setdefault(kind, Reading(kind, context["kind"], None))
    return MeterData(readings=readings)


def _coordinator(data: MeterData) -> Any:
    """Enough of a coordinator for an entity to name itself and its device."""
    entry = SimpleNamespace(title="Meter", data={CONF_PROFILE: "auto"})
    return SimpleNamespace(meter_key=METER, data=data, config_entry=entry, scale=1.0, fuse=0)


def _entity(context: dict[str, Any]) -> dict[str, Any]:
    """What users see of the register's entity (``entity`` None: the register has none)."""
    data = _data(context)
    obis = context["obis"]
    description, channel = describe(obis, data)
    if description is None:
        return {"entity": None, "channel": channel}
    entity = register_sensor(_coordinator(data), obis, description, channel)
    device = entity.device_info or {}
    return {
        "unique_id": entity.unique_id,
        "entity": type(entity).__name__,
        "channel": channel,
        "device": sorted(device.get("identifiers", ())),
        "device_key": device.get("translation_key"),
        **_fields(description),
        "scaled": description.scaled,
        "numeric": description.numeric,
    }


def _fields(description: Any) -> dict[str, Any]:
    """The Home Assistant fields of a description that shape the entity."""
    placeholders = description.translation_placeholders
    return {
        "key": description.key,
        "translation_key": description.translation_key,
        "translation_placeholders": dict(placeholders) if placeholders else None,
        "device_class": description.device_class,
        "state_class": description.state_class,
        "native_unit_of_measurement": description.native_unit_of_measurement,
        "suggested_display_precision": description.suggested_display_precision,
        "entity_category": description.entity_category,
        "entity_registry_enabled_default": description.entity_registry_enabled_default,
    }


def _meter_sensors() -> dict[str, Any]:
    coordinator = _coordinator(MeterData())
    return {
        description.key: {
            "unique_id": HanMeterSensor(coordinator, description).unique_id,
            **_fields(description),
        }
        for description in (*METER_SENSORS, *HEADROOM)
    }


def _vector_messages() -> list[Message]:
    """Every message the fixture vectors decode to, as each country's user would decode it."""
    out: list[Message] = []
    for name in VECTORS:
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            vector = json.loads(line)
            keys = vector.get("keys") or {}
            if vector.get("telegram") is not None:
                data = vector["telegram"].encode("latin-1")
            else:
                data = bytes.fromhex(vector.get("bytes_hex") or "")
            ek = parse_key(keys["ek"]) if keys.get("ek") else None
            if vector.get("transport") == "wmbus":
                try:
                    results: list[Any] = [decode_vector_bytes(data, ek, vector.get("meter_id"))]
                except ValueError:
                    continue
            else:
                ak = parse_key(keys["ak"]) if keys.get("ak") else None
                decoder = Decoder(Keys(ek=ek, ak=ak), country=vector.get("country"))
                results = decoder.decode_capture(data)
            out.extend(r for r in results if isinstance(r, Message))
    return out


def _contexts(messages: list[Message]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for message in messages:
        for obis in message.readings:
            context = _context(obis, message.readings)
            seen.setdefault(json.dumps(context, sort_keys=True), context)
    return [seen[key] for key in sorted(seen)]


def _load() -> dict[str, Any]:
    golden: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return golden


def _normal(value: Any) -> Any:
    """JSON's view of a value (enums as their strings, tuples as lists)."""
    return json.loads(json.dumps(value))


def _rows() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(context, entity) of every golden register."""
    golden = _load()
    entities = golden["entities"]
    return [
        (
            dict(zip(("obis", "unit", "value", "kind"), row[:4], strict=True)),
            {**entities[row[4]], **({"unique_id": row[5]} if row[5] else {})},
        )
        for row in golden["registers"]
    ]


def test_every_golden_register_keeps_its_entity() -> None:
    rows = _rows()
    changed = [
        (context, expected, entity)
        for context, expected in rows
        if (entity := _normal(_entity(context))) != expected
    ]
    assert not changed, changed[:3]
    assert len(rows) > 1000


def test_meter_sensors_keep_their_entities() -> None:
    assert _normal(_meter_sensors()) == _load()["meter_sensors"]


def test_every_register_the_vectors_decode_to_is_in_the_golden_list() -> None:
    known = {json.dumps(context, sort_keys=True) for context, _ in _rows()}
    missing = [
        context
        for context in _contexts(_vector_messages())
        if json.dumps(context, sort_keys=True) not in known
    ]
    assert not missing, missing[:5]


def _simulated_messages(frames: int = 25) -> list[Message]:  # pragma: no cover - writer only
    """Messages of every simulated profile (hourly lists included), decoded with its keys."""
    from hanport_dev import simulator

    out: list[Message] = []
    for profile in simulator.SIMULATED_PROFILES:
        sim = simulator.MeterSimulator(profile, seed=3, start=1_750_000_000.0)
        keys = sim.keys
        decoder = Decoder(Keys(ek=keys.ek, ak=keys.ak), country=sim.profile.country)
        for _ in range(frames):
            out.extend(r for r in decoder.feed(sim.next_frame()) if isinstance(r, Message))
    return out


def _table_contexts() -> list[dict[str, Any]]:  # pragma: no cover - writer only
    """Registers no capture holds: every table entry, sub-meter kinds and units, odd codes."""
    from custom_components.han_port.sensor import ABSTRACT, ELECTRICITY

    out = [
        {"obis": f"1-{b}:{cde}", "unit": unit, "value": value, "kind": None}
        for cde in ELECTRICITY
        for b in (0, 1)
        for unit, value in ((None, 1), ("W", "text"))
    ]
    out += [
        {"obis": obis, "unit": None, "value": value, "kind": None}
        for obis in (*ABSTRACT, "0-0:96.1.0", "0-0:96.1.4", "0-0:42.0.0", "0-0:1.0.0")
        for value in (1, "text", None)
    ]
    out += [
        {"obis": f"0-{channel}:{cde}", "unit": unit, "value": 1, "kind": kind}
        for channel in (1, 2, 4)
        for cde in ("24.2.1", "24.2.3", "24.3.0", "24.2.0", "24.1.0", "96.1.0", "24.4.0")
        for unit in ("m³", "m3", "GJ", "Wh", "kWh", None)
        for kind in (None, 3, 4, 6, 7, "7", 12, "x")
    ]
    odd = (
        "1-0:0.0.0",
        "1-0:0.2.1",
        "1-1:0.2.129",
        "1-0:0.9.1",
        "1-0:99.97.0",
        "1-0:99.1.0",
        "1-0:98.1.0",
        "0-0:98.1.0",
        "1-0:96.5.5",
        "0-0:96.13.1",
        "0-0:96.50.68",
        "1-0:32.7.1",
        "1-0:1.8.5",
        "1-0:81.7.10",
        "2-0:1.8.0",
        "7-0:3.0.0",
        "0-1:1.0.0",
        "wmbus:0BABC8FC10",
        "1-0:1.8.0.255",
        "1-0:1.8",
        "x",
        "1-0:31.4.0",
        "1-0:51.4.0",
        "1-0:91.7.0",
    )
    out += [
        {"obis": obis, "unit": unit, "value": value, "kind": None}
        for obis in odd
        for unit, value in ((None, "text"), ("W", 1), (None, None))
    ]
    return out


def write() -> None:  # pragma: no cover - run by hand
    """Capture the golden list from the vectors, the simulated meters and the tables."""
    contexts = _contexts(_vector_messages() + _simulated_messages())
    known = {json.dumps(c, sort_keys=True) for c in contexts}
    contexts += [c for c in _table_contexts() if json.dumps(c, sort_keys=True) not in known]
    entities: list[dict[str, Any]] = []
    rows = []
    for context in contexts:
        entity = _normal(_entity(context))
        unique_id = entity.pop("unique_id", None)
        if entity not in entities:
            entities.append(entity)
        rows.append([*context.values(), entities.index(entity), unique_id])
    lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    shared = ",\n".join(json.dumps(entity, ensure_ascii=False) for entity in entities)
    meter = json.dumps(_normal(_meter_sensors()), ensure_ascii=False)
    text = (
        f'{{"registers": [\n{lines}\n],\n"entities": [\n{shared}\n],\n"meter_sensors": {meter}}}\n'
    )
    GOLDEN.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--write"]:
        write()
