"""A simulated smart meter: real HAN-port frames, replayed with live values.

``MeterSimulator`` takes one real frame (or list pair) per profile from the project's test
vectors (the family modules: ``dsmr``, ``stoen``, ``nordic``, ``denmark``, ``austria``) and
pushes it again and again at the meter's own interval, with values that change the way a
household's do (``physics``): power wanders, voltages stay near 230 V, energy counters only go
up. P1 telegrams get new numbers (same field widths) and a new CRC-16/ARC footer; DLMS lists
get their A-XDR integers re-encoded in place and a new HDLC FCS (or M-Bus checksum);
encrypted profiles are sealed again with AES-GCM under fixed demo keys (``spec``).
"""

from __future__ import annotations

import random
import time
from typing import Final

from han.decoder import Decoder
from han.model import Message
from han.profiles import PROFILES_BY_ID

from . import austria, denmark, dsmr, estonia, nordic, stoen
from .dlms import render_apdu
from .frames import LLC, build_hdlc, build_mbus, glo_ciphering
from .p1 import render_p1, telegram
from .physics import Cde, MeterModel, kind
from .spec import DEMO_EK, LU_AK, DemoKeys, Spec


def _build_spec(name: str) -> Spec:
    match name:
        case "nl_dsmr" | "auto":
            return dsmr.netherlands()
        case "be_fluvius":
            return dsmr.belgium()
        case "se_p1":
            return dsmr.sweden()
        case "ee_elektrilevi":
            return estonia.p1()
        case "lu_smarty":
            return dsmr.luxembourg()
        case "pl_stoen_p1":
            return stoen.poland()
        case "no_aidon":
            return nordic.aidon()
        case "no_kaifa":
            return nordic.kaifa()
        case "no_kamstrup":
            return nordic.kamstrup()
        case "dk_kamstrup":
            return denmark.kamstrup()
        case "at_mbus":
            return austria.kaifa()
        case "ee_elektrilevi_dlms":
            return estonia.dlms()
    msg = f"profile {name!r} has no simulated meter"
    raise ValueError(msg)


def _meter_id(spec: Spec, country: str | None) -> str | None:
    """The meter id in the template, as the library's decoder reads it from the plain frame."""
    plain = telegram(spec.p1.lines) if spec.p1 is not None else LLC + spec.lists[0].apdu
    found = [r for r in Decoder(country=country).decode_capture(plain) if isinstance(r, Message)]
    if not found:  # pragma: no cover - every template is a real frame the library reads
        msg = "the library does not read this template"
        raise ValueError(msg)
    return found[0].meter.meter_id


#: Meters that are a second encoding of a profile's meter (simulated meter -> profile id).
VARIANTS: Final = {"ee_elektrilevi_dlms": "ee_elektrilevi"}
#: Meters the simulator can play: every wired profile's (wireless M-Bus profiles are not
#: simulated), and the variants.
SIMULATED_PROFILES: Final = (
    *(p.id for p in PROFILES_BY_ID.values() if not p.wireless),
    *VARIANTS,
)


class MeterSimulator:
    """One simulated meter of a profile: ``next_frame()`` returns its next push, as on the wire.

    ``seed`` makes the values reproducible; ``start`` is the meter's clock at the first frame
    (default: now). Meter time advances by the profile's push interval per frame, whatever
    pace the frames are actually sent at.
    """

    def __init__(
        self, profile_id: str = "nl_dsmr", *, seed: int | None = None, start: float | None = None
    ) -> None:
        """Create the meter; ValueError for an unknown or unsimulated profile.

        ``profile_id`` is a profile's id or a variant's (``VARIANTS``): ``name`` keeps it,
        ``profile`` is the library's profile a reader would choose.
        """
        profile = PROFILES_BY_ID.get(VARIANTS.get(profile_id, profile_id))
        if profile is None:
            msg = f"unknown profile {profile_id!r}"
            raise ValueError(msg)
        self.name = profile_id
        self.profile = profile
        self._spec = _build_spec(profile_id)
        self._meter_id = _meter_id(self._spec, profile.country)
        self._rng = random.Random(seed)  # noqa: S311 - simulated load, not cryptography
        start = time.time() if start is None else start
        spec = self._spec
        initial: dict[Cde, float] = {}
        gas: dict[int, float] = {}
        tariff = 1
        if spec.p1 is not None:
            initial, gas, tariff = dict(spec.p1.initial), spec.p1.gas, spec.p1.tariff
        for template in spec.lists:
            for cde, value in template.initial.items():
                initial.setdefault(cde, value)
            # Zero voltage in any list means a dead phase: keep it so in every list.
            for cde, value in template.initial.items():
                if kind(cde) == "voltage" and value == 0.0:
                    initial[cde] = 0.0
        self.model = MeterModel(
            self._rng,
            step=profile.interval,
            start=start - profile.interval,
            initial=initial,
            tariff=tariff,
            gas=gas,
        )
        #: Frames produced so far.
        self.frames = 0
        # A real meter's frame counter never goes back, also across restarts.
        self.frame_counter = max(1, int(start) - 1_600_000_000) & 0xFFFFFFFF

    @property
    def keys(self) -> DemoKeys:
        """The demo keys a reader needs for this profile."""
        return self._spec.keys

    @property
    def meter_id(self) -> str | None:
        """The meter id the frames carry (what a decoder reports as the meter's id)."""
        return self._meter_id

    @property
    def interval(self) -> float:
        """Seconds between the real meter's pushes."""
        return self.profile.interval

    @property
    def format(self) -> str:
        """What goes on the wire: p1, stoen, dsmr_gcm, hdlc or mbus."""
        return self._spec.envelope

    def next_frame(self) -> bytes:
        """The next push, with fresh values, checksums and (if encrypted) a new counter."""
        self.model.advance()
        spec = self._spec
        frame_no = self.frames
        self.frames += 1
        if spec.p1 is not None:
            telegram = render_p1(spec.p1, self.model)
            return self._p1_envelope(telegram)
        template = spec.lists[0]
        for candidate in spec.lists[1:]:
            if frame_no % candidate.every == 0:
                template = candidate
        apdu = render_apdu(template, self.model)
        if spec.system_title:
            apdu = self._seal_glo(apdu)
        if spec.envelope == "mbus":
            return build_mbus(spec.addresses[0], spec.addresses[1], apdu)
        if spec.blocks:
            blocks = estonia.split_blocks(apdu, spec.blocks)
            return b"".join(
                build_hdlc(spec.addresses, spec.control, (LLC if n == 0 else b"") + block)
                for n, block in enumerate(blocks)
            )
        return build_hdlc(spec.addresses, spec.control, LLC + apdu)

    def _next_counter(self) -> int:
        self.frame_counter = (self.frame_counter + 1) & 0xFFFFFFFF
        return self.frame_counter

    def _seal_glo(self, plain: bytes) -> bytes:
        spec = self._spec
        ek = spec.keys.ek or DEMO_EK
        ak = spec.keys.ak or (LU_AK if spec.envelope == "dsmr_gcm" else b"")
        return glo_ciphering(spec.security, spec.system_title, self._next_counter(), plain, ek, ak)

    def _p1_envelope(self, telegram: bytes) -> bytes:
        spec = self._spec
        if spec.envelope == "p1":
            return telegram
        if spec.envelope == "dsmr_gcm":
            return self._seal_glo(telegram)
        return stoen.seal(telegram, spec)
