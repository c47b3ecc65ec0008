"""Estonia: the Landis+Gyr E360 of Elektrilevi / Imatra Elekter, in both encodings it may use.

BELIEFS, NOT ESTONIAN CAPTURES. No capture of an Estonian E360 exists anywhere we searched
(README, "Estonia"; the ``ee_elektrilevi`` profile's comment). These two meters play what the
E360 family sends elsewhere, so that the tolerant profile can be tested end to end:

* ``ee_elektrilevi`` (P1 text): the Swedish E360 telegram ``/LGF5E360`` (fixture
  amshan-p1-a-landisgyr-360, toreamun/amshan tests/test_dlde.py), the variant Finland's SESKO
  SK 13-1 adopts and the one we think most likely;
* ``ee_elektrilevi_dlms`` (DLMS/COSEM in HDLC): a real Landis+Gyr push (fixture
  amsreader-landis-gyr-gh740, an E450 of Regionalwerke Baden, Switzerland: a push-object list
  and its values, plain, in three general-block-transfer blocks of three HDLC frames), the form
  the E360 family takes in Switzerland. It carries no voltages (the Estonian operator says its
  meter sends them): another reason to treat it as a shape, not as Estonia's register list.
"""

from __future__ import annotations

from typing import Final

from han.dlms.scaling import LANDIS_GYR, ListContext

from .dlms import parse_dlms
from .dsmr import sweden
from .frames import LLC, parse_hdlc
from .spec import Spec

#: fixture amsreader-landis-gyr-gh740: the three HDLC frames of one push.
_GH740: Final = (
    bytes.fromhex(
        "7ea084ceff0313128be6e700e04000010000700f0021a4330c07e8021d04163032ff800000020e010e"
        "020412002809060008190900ff0f02120000020412002809060008190900ff0f01120000020412000109"
        "060000600100ff0f02120000020412000309060100010700ff0f02120000020412000309060100020700"
        "ff0f02120000cf157e"
    ),
    bytes.fromhex(
        "7ea07dceff0313d045e040000200006c020412000309060101010800ff0f02120000020412000309060101"
        "020800ff0f02120000020412000309060101050800ff0f02120000020412000309060101060800ff0f02"
        "120000020412000309060101070800ff0f02120000020412000309060101080800ff0f02120000c1957e"
    ),
    bytes.fromhex(
        "7ea08aceff0313aaeae0c000030000790204120003090601001f0700ff0f02120000020412000309060100"
        "330700ff0f02120000020412000309060100470700ff0f0212000009060008190900ff09083633333236"
        "343133060000016a060000000006002322260600000418060000876f06000000000600000a7306000ac6"
        "a812003312006912003446537e"
    ),
)
#: The integers of the push-object list (class id, attribute, data index: 3 per object, 14
#: objects) come before the values; the values, in the list's order (meter id not counted).
_GH740_OBJECT_INTEGERS: Final = 3 * 14
_GH740_VALUES: Final = (
    (1, 7, 0),
    (2, 7, 0),
    (1, 8, 0),
    (2, 8, 0),
    (5, 8, 0),
    (6, 8, 0),
    (7, 8, 0),
    (8, 8, 0),
    (31, 7, 0),
    (51, 7, 0),
    (71, 7, 0),
)
#: general-block-transfer: tag, control, block number (2), acknowledged block (2).
_GBT_TAG: Final = 0xE0
_GBT_STREAMING: Final = 0x40
_GBT_LAST: Final = 0x80


def _gbt_blocks(frames: tuple[bytes, ...]) -> tuple[bytes, tuple[int, ...]]:
    """The APDU the blocks carry, and the size of each block's data."""
    apdu = b""
    sizes: list[int] = []
    for frame in frames:
        info = parse_hdlc(frame)[2].removeprefix(LLC)
        if info[0] != _GBT_TAG or info[6] >= 0x80:  # pragma: no cover - the fixture's form
            msg = "not a general-block-transfer block with a one-byte length"
            raise ValueError(msg)
        data = info[7 : 7 + info[6]]
        apdu += data
        sizes.append(len(data))
    return apdu, tuple(sizes)


def p1() -> Spec:
    """An E360 on a Nordic P1 port: the Swedish telegram (no meter id in it)."""
    return sweden()


def dlms() -> Spec:
    """An E360 pushing DLMS in HDLC as the Swiss L+G meters do (blocks of the real push)."""
    apdu, sizes = _gbt_blocks(_GH740)
    addresses, control, _, _ = parse_hdlc(_GH740[0])
    spec = Spec("hdlc", addresses=addresses, control=control, blocks=sizes)
    template = parse_dlms(
        apdu,
        positional=_GH740_VALUES,
        skip=_GH740_OBJECT_INTEGERS,
        context=ListContext(LANDIS_GYR, "EE"),
    )
    spec.lists.append(template)
    return spec


def split_blocks(apdu: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    """``apdu`` in general-block-transfer blocks of ``sizes`` bytes (the last takes the rest)."""
    blocks: list[bytes] = []
    pos = 0
    for number, size in enumerate(sizes, start=1):
        last = number == len(sizes)
        data = apdu[pos:] if last else apdu[pos : pos + size]
        pos += size
        control = _GBT_STREAMING | (_GBT_LAST if last else 0)
        head = bytes((_GBT_TAG, control)) + number.to_bytes(2) + bytes(2) + bytes((len(data),))
        blocks.append(head + data)
    return blocks
