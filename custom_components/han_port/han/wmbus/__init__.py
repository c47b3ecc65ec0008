"""Wireless M-Bus (EN 13757-4, OMS) decoding: Elgama GAMA 150/350 and other wM-Bus meters.

``WmbusDecoder`` is the entry point: bytes from a receiver in, ``Message`` or ``Rejected``
out. It lists every meter it hears in ``heard`` (so a config flow can offer the user's
meter) and, when ``meter_ids`` is given, decodes only those meters, ignoring the neighbours
quietly. Layers: :mod:`.receivers` (serial framing), :mod:`.link` (DLL and CRCs),
:mod:`.ell` (ELL, AFL), :mod:`.tpl`, :mod:`.security` (modes 5/7, ELL AES-CTR),
:mod:`.records` (DIF/VIF) and :mod:`.meaning` (units and OBIS-style keys).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import plausibility  # noqa: TID252
from ..model import HanError, Message, Rejected  # noqa: TID252
from .compact import FormatStore
from .receivers import RECEIVERS, Received, Receiver, make_receiver
from .telegram import FORMAT, Identity, decode_telegram

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = [
    "PROFILE_RECEIVERS",
    "FormatStore",
    "HeardMeter",
    "WmbusDecoder",
    "decode_vector_bytes",
]

#: Receiver profile names a user can choose.
PROFILE_RECEIVERS: tuple[str, ...] = tuple(RECEIVERS)
#: Meters remembered in ``heard`` at most (oldest forgotten first).
MAX_HEARD = 256


@dataclass(slots=True)
class HeardMeter:
    """A meter seen on air: enough for a user to recognise and pick theirs."""

    meter_id: str
    manufacturer: str
    medium: str
    device_type: int
    version: int
    security_mode: int | None = None
    frames: int = 0
    rssi: int | None = None
    configured: bool = False


def _normalise_id(meter_id: str) -> str:
    text = meter_id.strip().lower()
    if len(text) != 8 or any(ch not in "0123456789abcdef" for ch in text):
        msg = f"meter id {meter_id!r} is not 8 digits"
        raise ValueError(msg)
    return text


class WmbusDecoder:
    """Decode wM-Bus frames from one receiver for the configured meters.

    ``keys`` maps meter ids (8 digits as printed on the meter) to their 16-byte AES keys.
    ``meter_ids`` limits decoding to those meters (frames of others are ignored, but listed
    in ``heard``); None decodes every meter heard. ``receiver`` is a ``PROFILE_RECEIVERS``
    name.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes] | None = None,
        *,
        meter_ids: Collection[str] | None = None,
        receiver: str = "raw",
    ) -> None:
        """Create a decoder; raise ValueError for a malformed id, key or receiver name."""
        self._keys: dict[str, bytes] = {}
        for meter_id, key in (keys or {}).items():
            if len(key) != 16:
                msg = f"the key for meter {meter_id} must be 16 bytes (32 hex characters)"
                raise ValueError(msg)
            self._keys[_normalise_id(meter_id)] = bytes(key)
        self.meter_ids = {_normalise_id(m) for m in meter_ids} if meter_ids is not None else None
        self.receiver: Receiver = make_receiver(receiver)
        self.formats = FormatStore()  # compact-frame layouts learnt from this receiver's meters
        self.heard: OrderedDict[str, HeardMeter] = OrderedDict()
        self._rssi: int | None = None
        self._crcs_seen = False  # a frame with verified DLL CRCs came from this source

    def __repr__(self) -> str:
        """Never show keys."""
        return (
            f"WmbusDecoder(receiver={self.receiver.name!r}, keys={len(self._keys)} set, "
            f"meter_ids={sorted(self.meter_ids) if self.meter_ids is not None else None})"
        )

    def setup_commands(self) -> list[bytes]:
        """Bytes to write to the receiver once after opening it (T1 reception)."""
        return self.receiver.setup_commands()

    def diagnostics(self) -> dict[str, Any]:
        """The ids of the meters heard (``heard``), sorted: detection offers them to pick from."""
        return {"heard": sorted(self.heard)}

    def feed(self, data: bytes, *, final: bool = False) -> list[Message | Rejected]:
        """Add bytes from the receiver; return every message or rejection they complete."""
        out: list[Message | Rejected] = []
        for item in self.receiver.feed(data, final=final):
            if isinstance(item, Rejected):
                out.append(item)
                continue
            result = self.decode_received(item)
            if result is not None:
                out.append(result)
        return out

    def decode_received(self, item: Received) -> Message | Rejected | None:
        """Decode one frame a receiver delivered."""
        return self.decode_frame(item.frame, rssi=item.rssi, crcs=item.crcs)

    def decode_frame(
        self, frame: bytes, *, rssi: int | None = None, crcs: bool | None = None
    ) -> Message | Rejected | None:
        """Decode one link-layer frame; None when it comes from a meter not configured."""
        self._rssi = rssi
        if crcs is None and self._crcs_seen:
            crcs = True  # this source sends DLL CRCs: a frame failing them is damaged
        try:
            message = decode_telegram(
                frame,
                self._key,
                formats=self.formats,
                crcs=crcs,
                accept=self._accept if self.meter_ids is not None else None,
                on_identity=self._heard,
            )
            if message is not None:
                plausibility.check(message)
        except HanError as err:
            return Rejected(FORMAT, err, len(frame))
        if (
            not self._crcs_seen
            and message is not None
            and any(note.startswith("dll_crc_") for note in message.notes)
        ):
            self._crcs_seen = True
        if message is not None and rssi is not None:
            message.add("rssi", rssi, "dBm")
        return message

    def _key(self, meter_id: str) -> bytes | None:
        return self._keys.get(meter_id)

    def _accept(self, meter_id: str) -> bool:
        return self.meter_ids is not None and meter_id in self.meter_ids

    def _heard(self, identity: Identity) -> None:
        entry = self.heard.get(identity.meter_id)
        if entry is None:
            entry = HeardMeter(
                identity.meter_id,
                identity.manufacturer,
                identity.medium,
                identity.device_type,
                identity.version,
            )
            self.heard[identity.meter_id] = entry
            while len(self.heard) > MAX_HEARD:
                self.heard.popitem(last=False)
        else:
            self.heard.move_to_end(identity.meter_id)
        if identity.security_mode is not None:
            entry.security_mode = identity.security_mode
        entry.frames += 1
        entry.rssi = self._rssi
        entry.configured = (
            identity.meter_id in self.meter_ids
            if self.meter_ids is not None
            else identity.meter_id in self._keys
        )


def decode_vector_bytes(
    data: bytes,
    key: bytes | None,
    meter_id: str | None,
    *,
    formats: FormatStore | None = None,
) -> Message | Rejected:
    """Decode one frame as captured, with ``key`` for ``meter_id`` (any meter when None).

    ``formats`` lets a caller share learnt compact-frame layouts between calls; without it
    a compact frame decodes only when its layout is one of the shipped Kamstrup layouts.
    """
    wanted = _normalise_id(meter_id) if meter_id else None

    def lookup(frame_id: str) -> bytes | None:
        return key if wanted is None or frame_id == wanted else None

    store = formats if formats is not None else FormatStore()
    try:
        message = decode_telegram(data, lookup, formats=store)
        if message is not None:
            plausibility.check(message)
    except HanError as err:
        return Rejected(FORMAT, err, len(data))
    if message is None:  # pragma: no cover - no filter is set, so every frame is decoded
        return Rejected(FORMAT, HanError("frame ignored"), len(data))
    return message
