"""A Home Assistant diagnostics file read back: its capture decoded, or turned into test vectors.

HAN Port's diagnostics (*Download diagnostics*) carry ``capture``: the last frames of the line
exactly as received, in hex, the profile and the formats in use (``han.capture``;
``custom_components/han_port/report.py``). They never carry keys, so a user who wants an
encrypted capture decoded gives them on the command line (``--ek``/``--ak``), and a vector
written from it has ``keys: null``. ``scripts/han decode --file diagnostics.json`` decodes it;
``--vector ID`` prints one test vector per decoded message (the frames that made it, and the
readings as ``expected``), in the schema of ``tests/fixtures/*.jsonl``.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import TYPE_CHECKING, Any

from han.capture import frames_from_snapshot
from han.decoder import Decoder
from han.framing import FrameKind
from han.model import Keys, Message, Result
from han.profiles import PROFILES_BY_ID

if TYPE_CHECKING:
    from collections.abc import Iterator

#: A frame kind -> the ``transport`` of a test vector.
_TRANSPORTS: dict[str, str] = {
    FrameKind.P1: "p1-text",
    FrameKind.P1_STOEN: "dsmr-encrypted",
    FrameKind.DSMR_GCM: "dsmr-encrypted",
    FrameKind.HDLC: "hdlc",
    FrameKind.MBUS: "mbus-long-frame",
    FrameKind.APDU: "raw-apdu",
}


class NotDiagnosticsError(ValueError):
    """The file is JSON, but no HAN Port diagnostics with a capture."""


@dataclass(frozen=True, slots=True)
class Capture:
    """What a diagnostics file's capture holds."""

    profile: str | None
    frames: list[tuple[str, bytes]]


def read_capture(raw: bytes) -> Capture | None:
    """The capture of a diagnostics file; None when the file is not JSON at all.

    Accepts the downloaded file (Home Assistant's envelope with ``data``) and the bare
    diagnostics dict. NotDiagnosticsError for JSON without a capture.
    """
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    data = document.get("data", document) if isinstance(document, dict) else None
    capture = data.get("capture") if isinstance(data, dict) else None
    frames = capture.get("frames") if isinstance(capture, dict) else None
    if not isinstance(frames, list) or not all(isinstance(f, dict) for f in frames):
        msg = "a JSON file without a HAN Port capture (download the diagnostics of the entry)"
        raise NotDiagnosticsError(msg)
    assert isinstance(capture, dict)
    try:
        found = list(frames_from_snapshot(capture))
    except ValueError:
        msg = "the capture's frames are not hexadecimal bytes"
        raise NotDiagnosticsError(msg) from None
    profile = capture.get("profile")
    return Capture(profile if isinstance(profile, str) else None, found)


def decoder_for(keys: Keys, profile: str | None, country: str | None) -> Decoder:
    """A decoder as a reader with this profile has: its country (unless given) and formats."""
    chosen = PROFILES_BY_ID.get(profile or "")
    if chosen is None:
        return Decoder(keys, country=country)
    return Decoder(keys, country=country or chosen.country, formats=chosen.formats or None)


def readings_json(message: Message) -> dict[str, dict[str, Any]]:
    """A message's readings as ``{obis: {"value": ..., "unit": ...}}``."""
    return {
        obis: {"value": reading.value, "unit": reading.unit}
        for obis, reading in message.readings.items()
    }


def decode(capture: Capture, decoder: Decoder) -> Iterator[tuple[bytes, str, list[Result]]]:
    """Feed the frames in the order they came; each frame's bytes, kind and results."""
    for index, (kind, data) in enumerate(capture.frames):
        yield data, kind, decoder.feed(data, final=index == len(capture.frames) - 1)


def vectors(
    capture: Capture, decoder: Decoder, vector_id: str, country: str | None
) -> Iterator[dict[str, Any]]:
    """One test vector per decoded message: its frames (since the last result), its readings."""
    pending: list[tuple[str, bytes]] = []
    count = 0
    for data, kind, results in decode(capture, decoder):
        pending.append((kind, data))
        for result in results:
            if isinstance(result, Message):
                count += 1
                yield _vector(f"{vector_id}-{count}", pending, result, country)
        if results:
            pending = []  # a refused frame is no part of the next message


def _vector(
    vector_id: str, frames: list[tuple[str, bytes]], message: Message, country: str | None
) -> dict[str, Any]:
    kind = frames[-1][0]
    data = b"".join(part for _, part in frames)
    transport = _TRANSPORTS.get(kind, kind)
    text = transport == "p1-text"
    meter = message.meter
    return {
        "id": vector_id,
        "source": "HAN Port diagnostics capture",
        "country": country,
        "meter": " ".join(part for part in (meter.manufacturer, meter.model) if part) or None,
        "transport": transport,
        "bytes_hex": None if text else data.hex(),
        "telegram": data.decode("latin-1") if text else None,
        "keys": None,
        "expected": readings_json(message),
        "expected_by": "HAN Port's decoder (check the values against the meter's display)",
        "notes": "Written by scripts/han decode --file --vector; keys are never written.",
    }
