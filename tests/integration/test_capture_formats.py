"""The formats a capture and the no-decode issue name: the decoder's own list, not a copy.

Code review: ``report`` kept its own list of the framers a decoder without a format list
uses; it is now the library's ``han.decoder.DEFAULT_FORMATS``, which builds the decoder.
"""

from __future__ import annotations

import dataclasses

from custom_components.han_port import report
from custom_components.han_port.connection import MeterConfig
from custom_components.han_port.han.decoder import DEFAULT_FORMATS, Decoder
from custom_components.han_port.han.framing import FrameKind
from custom_components.han_port.han.model import Keys
from custom_components.han_port.han.profiles import PROFILES_BY_ID


def test_a_profile_without_formats_is_described_with_the_decoders_list() -> None:
    profile = dataclasses.replace(PROFILES_BY_ID["auto"], formats=())
    meter = MeterConfig(port="/dev/ttyUSB0", profile=profile, keys=Keys())
    assert meter.formats is None
    assert report.formats_in_use(meter) is DEFAULT_FORMATS  # one list, not an equal copy
    # ... the very list a decoder without formats reads with, in its order, without APDU.
    framers = Decoder().reader._framers
    assert tuple(framer.kind for framer in framers) == DEFAULT_FORMATS
    assert FrameKind.APDU not in DEFAULT_FORMATS
    assert report.describe(meter)["formats"] == ", ".join(
        report.FORMAT_NAMES[kind] for kind in DEFAULT_FORMATS
    )
