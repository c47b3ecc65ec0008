"""Names a person recognises: the maker behind a three-letter code, a meter's title, sub-meters.

Meters identify their maker with a three-letter code: the FLAG id of a DLMS system title, the
first letters of a P1 ident line (``/ISk5MT382-1000``), the manufacturer field of an M-Bus
frame. Codes come from the FLAG id register the DLMS User Association keeps (it also assigns
M-Bus manufacturer codes); only codes seen on HAN ports are listed, others are shown as sent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .han.dlms.scaling import AIDON, ISKRA, KAIFA, KAMSTRUP, LANDIS_GYR, SAGEMCOM
from .han.obis import Medium, medium

if TYPE_CHECKING:
    from .han.model import MeterIdentity
    from .han.profiles import Profile

#: Three-letter maker codes -> the maker's name (upper-cased code); the names the library
#: gives the makers whose lists it decodes, as it spells them.
MAKERS: dict[str, str] = {
    "AID": AIDON,
    "EGM": "Elgama",
    "ELS": "Elster",
    "ISK": ISKRA,
    "KAM": KAMSTRUP,
    "KFM": KAIFA,
    "LGF": LANDIS_GYR,  # P1 ident of the L+G E360 ("/LGF5E360")
    "LGZ": LANDIS_GYR,
    "SAG": SAGEMCOM,
    "XMX": "Xemex",
}
#: Digits of the system title shown when a meter has no id register.
SHORT_ID_DIGITS = 4
#: Sub-meter media with a device name of their own ("Gas meter"); others are "Sub-meter".
_DEVICE_NAMES: dict[Medium, str] = {
    Medium.GAS: "gas",
    Medium.HEAT: "heat",
    Medium.WATER: "water",
    Medium.HOT_WATER: "water",
}
_CODE_ID = re.compile(r"^([A-Z]{3})\d{6,}$")


def maker_name(code: str | None) -> str | None:
    """The maker's name for a three-letter code (``ISk`` -> Iskraemeco); else ``code``."""
    if not code:
        return None
    return MAKERS.get(code.upper(), code)


def profile_model(profile: Profile, maker: str | None) -> str | None:
    """The model a profile implies when it lists one meter of this maker ("Omnipower").

    Used only when the frames name no model (Danish Kamstrup lists carry none).
    """
    if len(profile.meters) != 1 or not maker:
        return None
    first, _, rest = profile.meters[0].partition(" ")
    return rest or None if first.lower() == maker.lower() else None


def short_id(meter: MeterIdentity) -> str | None:
    """A short id for a meter that sends no id register: the end of its system title.

    The whole system title stays out of names (diagnostics redact it); its last digits tell
    two meters apart and, on the meters seen so far (Kaifa: title ...0000009 for meter id
    181220000009), match the end of the serial number printed on the meter.
    """
    if meter.meter_id or not meter.system_title:
        return None
    return meter.system_title[-SHORT_ID_DIGITS:]


def maker_and_model(meter: MeterIdentity, profile: Profile) -> tuple[str | None, str | None]:
    """The meter's maker by name and its model, as far as its frames and profile tell."""
    maker = maker_name(meter.manufacturer)
    return maker, meter.model or profile_model(profile, maker)


def meter_title(
    meter: MeterIdentity, profile: Profile, *, meter_id: str | None = None, port: str = ""
) -> str:
    """An entry title: maker, model and the meter id (a short id, or the port, without one)."""
    maker, model = maker_and_model(meter, profile)
    name = " ".join(part for part in (maker, model) if part) or profile.name
    ident = meter_id or meter.meter_id or short_id(meter) or port
    return f"{name} {ident}" if ident else name


def submeter_maker(serial: str | None) -> str | None:
    """The maker of an M-Bus sub-meter whose id starts with its manufacturer code.

    Luxembourg gas meters send ``FLO1823701203350``: three letters, then the serial number.
    Dutch ids (``G0039001936990619``) carry no code: None.
    """
    if not serial:
        return None
    match = _CODE_ID.match(serial)
    return maker_name(match.group(1)) if match else None


def submeter_translation_key(kind: object, channel: int) -> str:
    """The device translation key of the sub-meter on ``channel`` with M-Bus type ``kind``.

    "Gas meter", "Water meter", "Heat meter"; from channel 2 on with the channel number,
    where a second meter of the same medium may be.
    """
    found = medium(kind)
    name = _DEVICE_NAMES.get(found) if found is not None else None
    if name is None:
        return "submeter"
    return f"{name}_meter" if channel == 1 else f"{name}_meter_channel"
