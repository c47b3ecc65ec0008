"""Scaling of numbers a push sends without {scaler, unit}: maker, model and country defaults.

Most pushes name each register's scaler and unit; Kamstrup, Swedish Kaifa, Landis+Gyr CII and
Iskraemeco pushes do not, so the resolution comes from the maker (system title or list id),
the model family when the list names it, and the user's country. Every default cites where it
comes from; where the bytes cannot tell two documented resolutions apart and the two never
overlap in the voltage band, the value picks the one that lands in it (``voltage_alternative``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plausibility import VOLTAGE_BAND  # noqa: TID252
from ..units import base_and_exponent  # noqa: TID252

if TYPE_CHECKING:
    from .axdr import ScalerUnit

#: DLMS unit enumeration (Blue Book) -> unit spelling for ``units.base_and_exponent``.
UNIT_NAMES: dict[int, str] = {
    7: "s",
    9: "°C",
    13: "m3",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    35: "V",
    44: "Hz",
    56: "%",
}

KAMSTRUP = "Kamstrup"
KAIFA = "Kaifa"
AIDON = "Aidon"
ISKRA = "Iskraemeco"
LANDIS_GYR = "Landis+Gyr"
SAGEMCOM = "Sagemcom"

#: System-title prefixes (FLAG ids) of the makers seen on HAN ports.
_FLAG_IDS: dict[bytes, str] = {
    b"KAM": KAMSTRUP,
    b"KFM": KAIFA,
    b"AID": AIDON,
    b"ISK": ISKRA,
    b"LGZ": LANDIS_GYR,
    b"SAG": SAGEMCOM,
}


def _classify(code: bytes) -> tuple[str | None, str]:
    """Quantity of an electricity OBIS code from its C and D fields: (unit, kind)."""
    c, d = code[2], code[3]
    if code[0] != 1 or d not in (7, 8, 6, 4, 5, 24, 25, 27, 28, 29):
        return None, ""
    energy = d in (8, 9, 29)
    if c == 14:
        return "Hz", "frequency"
    base = c % 20 if c < 81 else -1
    if base in (1, 2, 15, 16):
        return ("Wh" if energy else "W"), "energy" if energy else "power"
    if base in (3, 4, 5, 6, 7, 8):
        return ("varh" if energy else "var"), "energy" if energy else "power"
    if base in (9, 10):
        return ("VAh" if energy else "VA"), "energy" if energy else "power"
    if base == 11:
        return "A", "current"
    if base == 12:
        return "V", "voltage"
    if base == 13:
        return None, "pf"
    return None, ""


# VOLTAGE_BAND (the plausibility gate's): where a voltage of the right resolution lands, for
# a maker that may use either of two without saying which (see below).
#: Model families whose default resolutions differ within one maker (from the model string).
_MODEL_FAMILIES = ("E360", "E450", "E570", "AM550")


def model_family(model: str | None) -> str | None:
    """``'E450'`` from a model string such as ``'LGZ E450 ...'`` (None when unknown)."""
    if model:
        upper = model.upper()
        for family in _MODEL_FAMILIES:
            if family in upper:
                return family
    return None


class ListContext:
    """What the list walker knows besides the body: maker, model family, user's country."""

    __slots__ = ("country", "maker", "model")

    def __init__(self, maker: str | None, country: str | None, model: str | None = None) -> None:
        """Hints from the system title (``maker``) and the user's profile (``country``)."""
        self.maker = maker
        self.country = (country or "").upper() or None
        #: Model family (``model_family``), learnt from a model register earlier in the list.
        self.model = model

    def default_scaler(self, kind: str) -> int:
        """Resolution of a value sent without {scaler, unit}, by maker, model and quantity."""
        maker = self.maker
        if maker == KAMSTRUP:
            if kind in ("current", "pf"):
                return -2
            if kind == "energy":
                # Kamstrup counters step 10 Wh (10 varh) in Norway and Denmark, 1 Wh in Sweden.
                # - Norway: NEK list "OBIS List Information - KAMSTRUP" (Kamstrup_V0001,
                #   12.05.2016, amsreader-firmware doc/Norway): A+/A-/R+/R- with 10 Wh resolution;
                #   amshan han/kamstrup.py and amsreader IEC6205675.cpp multiply by 10.
                # - Denmark: the OMNIPOWER HAN spec 5512-2584 (amsreader doc/, a scanned PDF whose
                #   text we could not read) says only that "scaler unit is not part of the push
                #   data"; no Danish guide we found states Wh. The Danish captures in our vectors
                #   (nordic.jsonl gh216-1, gh517-2) carry the Kamstrup_V0001 list and agree with
                #   amsreader's x10 golden master; amsreader has many Danish users ("quite a
                #   number in Denmark", maintainer in amsreader#239) and every factor-10 report
                #   comes from Sweden (amsreader#239, #800, #874; hass-AMS#108 NO/SE). So the
                #   one reading of 5512-2584 as Wh (dlms.jsonl dk-kamstrup-omnipower-hdlc-sc30,
                #   unit inferred, not asserted since the December review) is not followed.
                # - Sweden: amsreader#239/#874 (display vs HAN), amshan-homeassistant#43.
                return 0 if self.country == "SE" else 1
            return 0
        if maker == KAIFA:
            return {"current": -3, "voltage": -1, "pf": -3}.get(kind, 0)
        if maker == ISKRA:
            # AM550 / IE.5: 0.1 V, 0.01 A (esphome-libs/dlms_parser tests/dumps/hdlc_iskra550,
            # whose scalers the meter sends: V -1, A -2; amsreader issue #1072 comment 27).
            return {"current": -2, "voltage": -1, "pf": -3}.get(kind, 0)
        if maker == LANDIS_GYR:
            # Swiss/Austrian CII pushes carry no scaler: 0.01 A; volts are whole on the E450
            # and E570 (amsreader#782, #949: "24 V" once divided by 10; dlms.jsonl/nordic.jsonl
            # gh934-1 234 V) but 0.1 V on the E360 (issue 9; no capture here).
            if kind == "voltage":
                return -1 if self.model == "E360" else 0
            return {"current": -2, "pf": -3}.get(kind, 0)
        if maker == AIDON:
            return {"current": -1, "voltage": -1}.get(kind, 0)
        return 0

    def voltage_alternative(self) -> int | None:
        """A second voltage resolution to use when the default lands outside ``VOLTAGE_BAND``.

        Only where the bytes cannot say which one a meter uses and the two never overlap in
        the band: Kamstrup OMNIPOWER pushes whole volts, but one Danish meter sends 0.01 V
        (amsreader-firmware frames/KamstrupOmnipower_Bornholm_DK_5digitVoltage_9sep25.log:
        22199 = 221.99 V); a Landis+Gyr push of unknown model may be an E360 (0.1 V).
        """
        if self.maker == KAMSTRUP:
            return -2
        if self.maker == LANDIS_GYR and self.model is None:
            return -1
        return None


def maker_from_title(system_title: bytes | None) -> str | None:
    """Maker from a system title's three-letter FLAG id."""
    if not system_title:
        return None
    return _FLAG_IDS.get(bytes(system_title[:3]).upper())


def maker_from_list_id(list_id: str) -> str | None:
    """Maker from a list id such as ``Kamstrup_V0001``, ``AIDON_V0001`` or ``KFM_001``."""
    upper = list_id.upper()
    for prefix, maker in (("KAMSTRUP", KAMSTRUP), ("AIDON", AIDON), ("KFM", KAIFA), ("ISK", ISKRA)):
        if upper.startswith(prefix):
            return maker
    return None


#: How to scale one number: decimal exponent, normalised unit, and for a voltage without
#: scaler whose resolution varies, the alternative exponent (else None).
type _Plan = tuple[int, str | None, int | None]
#: (code, scaler, unit enum, maker, country, model) -> plan.
_PLANS: dict[tuple[Any, ...], _Plan] = {}
_NO_UNIT = 255


def plan_number(code: bytes | None, su: ScalerUnit | None, ctx: ListContext) -> _Plan:
    """How to scale a number: the total power of ten and the normalised unit (cached)."""
    key = (
        code,
        su.scaler if su is not None else 0,
        su.unit if su is not None else -1,
        ctx.maker,
        ctx.country,
        ctx.model,
    )
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    unit: str | None
    alternative = None
    if su is not None:
        unit, scaler = UNIT_NAMES.get(su.unit), su.scaler
    elif code is not None:
        unit, kind = _classify(code)
        scaler = ctx.default_scaler(kind)
        if kind == "voltage":
            alternative = ctx.voltage_alternative()
    else:
        unit, scaler = None, 0
    norm_unit, shift = base_and_exponent(unit)
    plan = (scaler + shift, norm_unit, None if alternative is None else alternative + shift)
    if len(_PLANS) < 4096:
        _PLANS[key] = plan
    return plan


def ranged(value: Any, exponent: int, alternative: int) -> Any:
    """A voltage at ``exponent``, or at ``alternative`` if only that lands in the band."""
    low, high = VOLTAGE_BAND
    scaled = scale(value, exponent)
    if not low <= abs(scaled) <= high:
        other = scale(value, alternative)
        if low <= abs(other) <= high:
            return other
    return scaled


def scale(value: Any, exponent: int) -> Any:
    """``value`` times ten to the ``exponent``, without binary noise."""
    if exponent > 0:
        return value * 10**exponent
    if exponent == 0:
        return value
    if type(value) is int and exponent >= -9:
        # A correctly rounded quotient already equals round(value / 10**k, 9) for k <= 9.
        return value / 10**-exponent
    return round(value / 10**-exponent, 9)
