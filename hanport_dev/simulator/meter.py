"""A simulated smart meter: real HAN-port frames, replayed with live values, over TCP or a PTY.

``MeterSimulator`` takes one real frame (or list pair) per profile from the project's test
vectors and pushes it again and again at the meter's own interval, with values that change
the way a household's do: power wanders, voltages stay near 230 V, energy counters only go
up. P1 telegrams get new numbers (same field widths) and a new CRC-16/ARC footer; DLMS lists
get their A-XDR integers re-encoded in place and a new HDLC FCS (or M-Bus checksum);
encrypted profiles are sealed again with AES-GCM under fixed demo keys.

Faults for testing a reader's robustness: bit flips, truncated frames, silent periods and
dropped TCP connections.

Command line (``scripts/han simulate ...``)::

    simulate --profile nl_dsmr --tcp 127.0.0.1:18124   # Home Assistant: socket://127.0.0.1:18124
    simulate --profile dk_kamstrup --pty               # prints the PTY's path, e.g. /dev/pts/7
    simulate --profile no_aidon --count 3 > frames.bin # no output option: frames to stdout

The demo keys are obviously fake and the same everywhere (never a real meter's keys):

* EK (encryption key, GUEK, GPK60): ``000102030405060708090A0B0C0D0E0F``
* AK (authentication key, GAK, GPK61): ``101112131415161718191A1B1C1D1E1F``
* Luxembourg uses the public AK of its P1 specification, ``00112233445566778899AABBCCDDEEFF``,
  so only the EK is configured for ``lu_smarty``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import math
import os
import random
import re
import sys
import time
from typing import TYPE_CHECKING, BinaryIO, Final, Literal

from han.crc import crc16_arc, crc16_x25
from han.crypto import gcm_seal
from han.p1 import pick_meter_id
from han.profiles import PROFILES_BY_ID, Profile

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEMO_AK",
    "DEMO_EK",
    "LU_AK",
    "SIMULATED_PROFILES",
    "DemoKeys",
    "Faults",
    "MeterModel",
    "MeterSimulator",
    "PtyMeter",
    "StreamMeter",
    "TcpMeterServer",
    "apply_faults",
    "main",
    "run",
]

#: Demo encryption key 00 01 02 ... 0F (obviously fake; documented in the README).
DEMO_EK: Final = bytes(range(16))
#: Demo authentication key 10 11 12 ... 1F.
DEMO_AK: Final = bytes(range(16, 32))
#: The Luxembourg Smarty P1 specification's fixed AK (public, the same on every meter).
LU_AK: Final = bytes.fromhex("00112233445566778899AABBCCDDEEFF")

_LLC: Final = b"\xe6\xe7\x00"
_SC_ENC_AUTH: Final = 0x30
_SC_ENC: Final = 0x20
#: A TCP client that lets this much pile up unread is dropped (a stuck reader).
_MAX_CLIENT_BACKLOG: Final = 256 * 1024


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


# --------------------------------------------------------------------------------------
# Templates: real frames from tests/fixtures (ids in the comments), embedded so that the
# simulator also runs from an installed integration without the test tree.
# --------------------------------------------------------------------------------------

#: fixture dp_v5
_P1_NL: Final = (
    "/ISk5\\2MT382-1000",
    "",
    "1-3:0.2.8(50)",
    "0-0:1.0.0(170102192002W)",
    "0-0:96.1.1(4B384547303034303436333935353037)",
    "1-0:1.8.1(000004.426*kWh)",
    "1-0:1.8.2(000002.399*kWh)",
    "1-0:2.8.1(000002.444*kWh)",
    "1-0:2.8.2(000000.000*kWh)",
    "0-0:96.14.0(0002)",
    "1-0:1.7.0(00.244*kW)",
    "1-0:2.7.0(00.000*kW)",
    "0-0:96.7.21(00013)",
    "0-0:96.7.9(00000)",
    "1-0:99.97.0(0)(0-0:96.7.19)",
    "1-0:32.32.0(00000)",
    "1-0:52.32.0(00000)",
    "1-0:72.32.0(00000)",
    "1-0:32.36.0(00000)",
    "1-0:52.36.0(00000)",
    "1-0:72.36.0(00000)",
    "0-0:96.13.0()",
    "1-0:32.7.0(0230.0*V)",
    "1-0:52.7.0(0230.0*V)",
    "1-0:72.7.0(0229.0*V)",
    "1-0:31.7.0(0.48*A)",
    "1-0:51.7.0(0.44*A)",
    "1-0:71.7.0(0.86*A)",
    "1-0:21.7.0(00.070*kW)",
    "1-0:41.7.0(00.032*kW)",
    "1-0:61.7.0(00.142*kW)",
    "1-0:22.7.0(00.000*kW)",
    "1-0:42.7.0(00.000*kW)",
    "1-0:62.7.0(00.000*kW)",
    "0-1:24.1.0(003)",
    "0-1:96.1.0(3232323241424344313233343536373839)",
    "0-1:24.2.1(170102161005W)(00000.107*m3)",
    "0-2:24.1.0(003)",
    "0-2:96.1.0()",
)
#: fixture dp_fluvius_v171
_P1_BE: Final = (
    "/FLU5\\253769484_A",
    "",
    "0-0:96.1.4(50217)",
    "0-0:96.1.1(3153414733313031303231363035)",
    "0-0:1.0.0(200512135409S)",
    "1-0:1.8.1(000000.034*kWh)",
    "1-0:1.8.2(000015.758*kWh)",
    "1-0:2.8.1(000000.000*kWh)",
    "1-0:2.8.2(000000.011*kWh)",
    "1-0:1.4.0(02.351*kW)",
    "1-0:1.6.0(200509134558S)(02.589*kW)",
    (
        "0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)(200"
        "401000000S)(200305122139S)(05.980*kW)(200301000000S)(200210035421W)(04.318*kW)"
    ),
    "0-0:96.14.0(0001)",
    "1-0:1.7.0(00.000*kW)",
    "1-0:2.7.0(00.000*kW)",
    "1-0:21.7.0(00.000*kW)",
    "1-0:41.7.0(00.000*kW)",
    "1-0:61.7.0(00.000*kW)",
    "1-0:22.7.0(00.000*kW)",
    "1-0:42.7.0(00.000*kW)",
    "1-0:62.7.0(00.000*kW)",
    "1-0:32.7.0(234.7*V)",
    "1-0:52.7.0(234.7*V)",
    "1-0:72.7.0(234.7*V)",
    "1-0:31.7.0(000.00*A)",
    "1-0:51.7.0(000.00*A)",
    "1-0:71.7.0(000.00*A)",
    "0-0:96.3.10(1)",
    "0-0:17.0.0(999.9*kW)",
    "1-0:31.4.0(999*A)",
    "0-0:96.13.0()",
    "0-1:24.1.0(003)",
    "0-1:96.1.1(37464C4F32313139303333373333)",
    "0-1:24.4.0(1)",
    "0-1:24.2.3(200512134558S)(00112.384*m3)",
    "0-2:24.1.0(007)",
    "0-2:96.1.1(3853414731323334353637383930)",
    "0-2:24.2.1(200512134558S)(00872.234*m3)",
)
#: fixture amshan-p1-a-landisgyr-360
_P1_SE: Final = (
    "/LGF5E360",
    "",
    "0-0:1.0.0(210222161900W)",
    "1-0:1.8.0(00000896.020*kWh)",
    "1-0:2.8.0(00000048.792*kWh)",
    "1-0:3.8.0(00000518.309*kVArh)",
    "1-0:4.8.0(00000023.732*kVArh)",
    "1-0:1.7.0(0000.000*kW)",
    "1-0:2.7.0(0000.020*kW)",
    "1-0:3.7.0(0000.000*kVAr)",
    "1-0:4.7.0(0000.308*kVAr)",
    "1-0:21.7.0(0000.000*kW)",
    "1-0:22.7.0(0000.012*kW)",
    "1-0:41.7.0(0000.000*kW)",
    "1-0:42.7.0(0000.071*kW)",
    "1-0:61.7.0(0000.063*kW)",
    "1-0:62.7.0(0000.000*kW)",
    "1-0:23.7.0(0000.000*kVAr)",
    "1-0:24.7.0(0000.146*kVAr)",
    "1-0:43.7.0(0000.000*kVAr)",
    "1-0:44.7.0(0000.135*kVAr)",
    "1-0:63.7.0(0000.000*kVAr)",
    "1-0:64.7.0(0000.026*kVAr)",
    "1-0:32.7.0(230.1*V)",
    "1-0:52.7.0(232.2*V)",
    "1-0:72.7.0(230.4*V)",
    "1-0:31.7.0(000.6*A)",
    "1-0:51.7.0(000.6*A)",
    "1-0:71.7.0(000.3*A)",
)
#: fixture lux_smarty_plain_meterlogger
_P1_LU: Final = (
    "/Lux5\\253663629_D",
    "",
    "1-3:0.2.8(42)",
    "0-0:1.0.0(260403175431S)",
    "0-0:42.0.0(53414731303330373030303132373031)",
    "1-0:1.8.0(000273.764*kWh)",
    "1-0:2.8.0(112743.030*kWh)",
    "1-0:3.8.0(000462.590*kvarh)",
    "1-0:4.8.0(007109.230*kvarh)",
    "1-0:1.7.0(00.000*kW)",
    "1-0:2.7.0(00.897*kW)",
    "1-0:3.7.0(00.000*kvar)",
    "1-0:4.7.0(00.154*kvar)",
    "0-0:17.0.0(027.6*kVA)",
    "1-0:9.7.0(00.000*kVA)",
    "1-0:10.7.0(00.913*kVA)",
    "1-1:31.4.0(040*A)(-040*A)",
    "0-0:96.3.10(1)",
    "0-1:96.3.10(0)",
    "0-2:96.3.10(0)",
    "0-0:96.7.21(01067)",
    "1-0:32.32.0(00014)",
    "1-0:52.32.0(00015)",
    "1-0:72.32.0(00012)",
    "1-0:32.36.0(00000)",
    "1-0:52.36.0(00000)",
    "1-0:72.36.0(00000)",
    "0-0:96.13.0()",
    "0-0:96.13.2()",
    "0-0:96.13.3()",
    "0-0:96.13.4()",
    "0-0:96.13.5()",
    "1-0:32.7.0(231.0*V)",
    "1-0:52.7.0(229.0*V)",
    "1-0:72.7.0(230.0*V)",
    "1-0:31.7.0(001*A)",
    "1-0:51.7.0(001*A)",
    "1-0:71.7.0(001*A)",
    "1-0:21.7.0(00.000*kW)",
    "1-0:41.7.0(00.000*kW)",
    "1-0:61.7.0(00.000*kW)",
    "1-0:22.7.0(00.319*kW)",
    "1-0:42.7.0(00.300*kW)",
    "1-0:62.7.0(00.277*kW)",
    "1-0:23.7.0(00.000*kvar)",
    "1-0:43.7.0(00.000*kvar)",
    "1-0:63.7.0(00.000*kvar)",
    "1-0:24.7.0(00.046*kvar)",
    "1-0:44.7.0(00.065*kvar)",
    "1-0:64.7.0(00.041*kvar)",
    "0-1:24.1.0(003)",
    "0-1:96.1.0(464C4F313832333730313230333530)",
    "0-1:24.2.1(260403174542S)(14239.771*m3)",
    "0-1:24.4.0(1)",
)
#: the data lines of fixture pl-stoen-kaifa-ma309m-p1-rebuilt-envelope (real plaintext, AMS
#: #1067), under the clear ident line the meter sends before its envelope
_P1_PL: Final = (
    "/KFM5KAIFA-METER",
    "",
    "0-0:1.0.0(251125105643W)",
    "0-0:96.1.0(3330303537373735)",
    "1-0:1.8.0(000336.420*kWh)",
    "1-0:1.8.1(000336.420*kWh)",
    "1-0:1.8.2(000000.000*kWh)",
    "1-0:1.8.3(000000.000*kWh)",
    "1-0:1.8.4(000000.000*kWh)",
    "1-0:2.8.0(000000.000*kWh)",
    "1-0:2.8.1(000000.000*kWh)",
    "1-0:2.8.2(000000.000*kWh)",
    "1-0:2.8.3(000000.000*kWh)",
    "1-0:2.8.4(000000.000*kWh)",
    "1-0:1.7.0(00.132*kW)",
    "1-0:2.7.0(00.000*kW)",
    "1-0:3.7.0(00.000*kvar)",
    "1-0:4.7.0(00.257*kvar)",
    "1-0:32.7.0(229.6*V)",
    "1-0:52.7.0(229.1*V)",
    "1-0:72.7.0(230.3*V)",
    "0-0:17.0.0(00000)",
    "0-0:96.1.1(4D413330394D)",
    "0-0:17.0.0(00000)",
    "0-0:17.0.0(00000)",
    "0-0:94.98.31(00000)",
    "0-0:94.98.32(00000)",
    "0-0:96.13.0(3)",
    "0-0:96.13.0()",
)
#: fixture hassams-aidon-short
_HDLC_AIDON_LIST2: Final = _hex(
    "7ea11e41088313eeeee6e7000f4000000000010d020209060101000281ff0a0b4149444f4e5f563030303102"
    "0209060000600100ff0a1037333539393932383935393133313935020209060000600107ff0a043635333402"
    "0309060100010700ff0600001b1e02020f00161b020309060100020700ff060000000002020f00161b020309"
    "060100030700ff060000000002020f00161d020309060100040700ff060000027602020f00161d0203090601"
    "001f0700ff1000c102020fff1621020309060100330700ff10001702020fff1621020309060100470700ff10"
    "005102020fff1621020309060100200700ff12092702020fff1623020309060100340700ff12094f02020fff"
    "1623020309060100480700ff12093402020fff16231bb77e"
)
#: fixture hassams-aidon-hourly
_HDLC_AIDON_LIST3: Final = _hex(
    "7ea18a41088313ebfde6e7000f40000000000112020209060101000281ff0a0b4149444f4e5f563030303102"
    "0209060000600100ff0a1037333539393932383935393133313935020209060000600107ff0a043635333402"
    "0309060100010700ff06000006e902020f00161b020309060100020700ff060000000002020f00161b020309"
    "060100030700ff060000000002020f00161d020309060100040700ff06000003b302020f00161d0203090601"
    "001f0700ff10002e02020fff1621020309060100330700ff10000302020fff1621020309060100470700ff10"
    "002002020fff1621020309060100200700ff12098d02020fff1623020309060100340700ff12099902020fff"
    "1623020309060100480700ff12098e02020fff1623020209060000010000ff090c07e4071502150000ff0000"
    "00020309060100010800ff06008f87fb02020f01161e020309060100020800ff060000000002020f01161e02"
    "0309060100030800ff06000002ef02020f011620020309060100040800ff06000ee8a802020f011620ca917e"
)
#: fixture hassams-kaifa-ma304h3e-long
_HDLC_KAIFA_LIST2: Final = _hex(
    "7ea079010201108093e6e7000f40000000090c07e60b0701092c28ff800000020d09074b464d5f3030310910"
    "3639373036333134303431323939353409084d41333034483345060000022206000000000600000000060000"
    "0051060000030d0600000725060000080e06000009100600000000060000092c6fde7e"
)
#: fixture hassams-kaifa-hourly
_HDLC_KAIFA_LIST3: Final = _hex(
    "7ea09b01020110eeaee6e7000f40000000090c07e402030110000aff800000021209074b464d5f3030310910"
    "3639373036333134303538303834363909084d41333034483345060000007706000000000600000000060000"
    "012106000002a6060000032806000003fb06000008ef060000000006000008fa090c07e402030110000aff80"
    "00000600a0240f0600000000060001358106001f6eaf2b027e"
)
#: fixture hassams-kamstrup
_HDLC_KAMSTRUP_LIST1: Final = _hex(
    "7ea0e22b2113239ae6e7000f000000000c07e5060e0111251eff80008002190a0e4b616d73747275705f5630"
    "30303109060101000005ff0a103537303635363732373539343038343109060101600101ff0a123638343131"
    "3338414e32343331303130393009060101010700ff06000004b209060101020700ff06000000000906010103"
    "0700ff060000002009060101040700ff06000000df090601011f0700ff060000008e09060101330700ff0600"
    "00019f09060101470700ff060000004909060101200700ff1200ec09060101340700ff1200ed090601014807"
    "00ff1200f051357e"
)
#: fixture hassams-kamstrup-hourly
_HDLC_KAMSTRUP_LIST2: Final = _hex(
    "7ea12c2b2113fc04e6e7000f000000000c07e60b1a060f0005ff80000002230a0e4b616d73747275705f5630"
    "30303109060101000005ff0a103537303635363732373135383934313909060101600101ff0a123638343131"
    "3231424e32343331303130343009060101010700ff0600000a8209060101020700ff06000000000906010103"
    "0700ff060000000009060101040700ff06000000da090601011f0700ff060000011c09060101330700ff0600"
    "00038009060101470700ff06000003fd09060101200700ff1200ee09060101340700ff1200ef090601014807"
    "00ff1200f009060001010000ff090c07e60b1a060f0005ff80000009060101010800ff0600ecddb309060101"
    "020800ff060000000009060101030800ff060004f2c109060101040800ff06000b0d8a21c77e"
)
#: fixture dk-kamstrup-omnipower-hdlc-sc30, plaintext (decrypted with the vector keys)
_APDU_DK: Final = _hex(
    "0f000000000c07ea030c040f181eff80000002410a0e4b616d73747275705f563030303109060101010800ff"
    "0600603eaa09060101020800ff060000000009060101030800ff060004fad809060101040800ff0600206919"
    "09060101000001ff0600bc586809060101010700ff060000043b09060101020700ff06000000000906010103"
    "0700ff060000000009060101040700ff06000002ce09060001010000ff090c07ea030c040f181eff80000009"
    "060101200700ff1200de09060101340700ff1200dd09060101480700ff1200e3090601011f0700ff06000000"
    "3909060101330700ff06000000e409060101470700ff060000014d09060101150700ff060000002409060101"
    "290700ff06000001a8090601013d0700ff060000026f09060101210700ff12001f09060101350700ff120057"
    "09060101490700ff120055090601010d0700ff12005309060101160700ff0600000000090601012a0700ff06"
    "00000000090601013e0700ff060000000009060101160800ff0600000000090601012a0800ff060000000009"
    "0601013e0800ff060000000009060101150800ff0600127cfc09060101290800ff060024bf10090601013d08"
    "00ff060029029c"
)
#: fixture at-netznoe-kaifa-ma309-mbus-sc20, plaintext (brochure key)
_APDU_AT: Final = _hex(
    "0f8006870e0c07e5091b01092f0f00ff88800223090c07e5091b01092f0f00ff888009060100010800ff0600"
    "00328902020f00161e09060100020800ff060000000002020f00161e09060100010700ff060000000002020f"
    "00161b09060100020700ff060000000002020f00161b09060100200700ff12092102020fff16230906010034"
    "0700ff12000002020fff162309060100480700ff12000002020fff1623090601001f0700ff12000002020ffe"
    "162109060100330700ff12000002020ffe162109060100470700ff12000002020ffe1621090601000d0700ff"
    "1203e802020ffd16ff090c313831323230303030303039"
)

# --------------------------------------------------------------------------------------
# The meter's physics: what a household draws, phase by phase
# --------------------------------------------------------------------------------------

#: OBIS (C, D, E) as the simulator addresses quantities.
type Cde = tuple[int, int, int]

_NOMINAL_VOLTAGE: Final = 230.0


class MeterModel:
    """Three phases of a household's load, in SI units (W, var, VA, V, A, Wh, varh, Hz).

    Power per phase wanders towards a target that now and then jumps (an appliance switches),
    voltages stay within a few volts of 230 V, energy registers integrate the power and never
    decrease. Each ``advance`` moves the model on by ``step`` seconds of meter time.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        step: float,
        start: float,
        initial: dict[Cde, float] | None = None,
        tariff: int = 1,
        gas: dict[int, float] | None = None,
    ) -> None:
        """Start from the template's values (``initial``: instantaneous values and registers)."""
        initial = initial or {}
        self._rng = rng
        self.step = step
        self.time = start
        self.tariff = tariff
        total = initial.get((1, 7, 0), 0.0)
        self.power: list[float] = []
        self.voltage: list[float] = []
        self.dead_phase: list[bool] = []
        for phase in (1, 2, 3):
            power = initial.get((20 * phase + 1, 7, 0), total / 3)
            self.power.append(min(max(power, 150.0), 4000.0))
            volts = initial.get((20 * phase + 12, 7, 0))
            # A phase whose voltage the real meter reported as 0 (IT networks measure L2 as
            # the reference) stays at 0 V; everything else is near 230 V.
            self.dead_phase.append(volts == 0.0)
            nominal = volts if volts and 200 < volts < 260 else _NOMINAL_VOLTAGE
            self.voltage.append(nominal)
        self.target = list(self.power)
        self.reactive = [p * 0.12 for p in self.power]
        self.frequency = 50.0
        self.registers: dict[tuple[int, int], float] = {
            (c, e): value for (c, d, e), value in initial.items() if d == 8
        }
        self.gas = dict(gas or {})

    def advance(self) -> None:
        """Move on by one push interval."""
        rng, step = self._rng, self.step
        self.time += step
        pull = 1.0 - math.exp(-step / 20.0)  # power settles on its target in about a minute
        noise = 25.0 * math.sqrt(step)
        for i in range(3):
            if rng.random() < min(1.0, step / 180.0):  # an appliance switches every few minutes
                self.target[i] = rng.uniform(80.0, 2500.0)
            power = self.power[i] + (self.target[i] - self.power[i]) * pull + rng.gauss(0, noise)
            self.power[i] = min(max(power, 20.0), 6000.0)
            self.reactive[i] = max(0.0, self.power[i] * 0.12 + rng.gauss(0, 8.0))
            volts = self.voltage[i]
            volts += (_NOMINAL_VOLTAGE + 1.5 * (i - 1) - volts) * min(1.0, 0.2 * step)
            volts += rng.gauss(0, 0.6)
            self.voltage[i] = min(max(volts, 223.0), 237.0)
        self.frequency = min(
            max(50.0 + (self.frequency - 50.0) * 0.8 + rng.gauss(0, 0.01), 49.9), 50.1
        )
        hours = step / 3600.0
        for (c, e), value in self.registers.items():
            if e in (0, self.tariff):
                self.registers[c, e] = value + self._power(c) * hours
        for channel, value in self.gas.items():
            self.gas[channel] = value + 0.7 / 3600 * step * rng.uniform(0.5, 1.5)

    def _phase(self, phase: int, x: int) -> float | None:
        i = phase - 1
        p, q = self.power[i], self.reactive[i]
        volts = 0.0 if self.dead_phase[i] else self.voltage[i]
        s = math.hypot(p, q)
        values = {
            1: p,  # active import
            2: 0.0,  # active export
            3: q,  # reactive import
            4: 0.0,  # reactive export
            9: s,  # apparent import
            10: 0.0,  # apparent export
            11: s / (volts or _NOMINAL_VOLTAGE),  # current
            12: volts,
            13: p / s if s else 1.0,  # power factor
        }
        return values.get(x)

    def _power(self, c: int) -> float:
        """The power that feeds register C.8.x (W, var or VA)."""
        value = self.instantaneous(c)
        return value if value is not None else 0.0

    def instantaneous(self, c: int) -> float | None:
        """OBIS C.7.0 now (``None`` for a quantity the model does not know)."""
        phase, x = divmod(c, 20)
        if 1 <= phase <= 3 and 1 <= x <= 13:
            return self._phase(phase, x)
        if phase != 0:
            return None
        if x in (1, 2, 3, 4, 9, 10):
            return sum(self._phase(ph, x) or 0.0 for ph in (1, 2, 3))
        if x == 13:
            p = sum(self.power)
            s = math.hypot(p, sum(self.reactive))
            return p / s if s else 1.0
        if x == 14:
            return self.frequency
        return None

    def value(self, cde: Cde) -> float | None:
        """OBIS C.D.E: instantaneous values (D=7) and registers (D=8)."""
        c, d, e = cde
        if d == 7 and e == 0:
            return self.instantaneous(c)
        if d == 8:
            return self.registers.get((c, e))
        return None


def _kind(cde: Cde) -> str | None:
    """What a C.D.E measures, for scaler tables: P (power), I, U, PF, F, E (energy)."""
    c, d, e = cde
    phase, x = divmod(c, 20)
    if phase > 3:
        return None
    if d == 8 and x in (1, 2, 3, 4, 9, 10):
        return "E"
    if d != 7 or e != 0:
        return None
    kinds = {1: "P", 2: "P", 3: "P", 4: "P", 9: "P", 10: "P", 11: "I", 12: "U", 13: "PF"}
    if phase == 0 and x == 14:
        return "F"
    return kinds.get(x)


# --------------------------------------------------------------------------------------
# P1 text
# --------------------------------------------------------------------------------------

_P1_LINE: Final = re.compile(r"(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)(?:\*\d+)?(\(.*)")
_P1_GROUP: Final = re.compile(r"\(([^()]*)\)")
_P1_NUMBER: Final = re.compile(r"(\d+)(?:\.(\d+))?(?:\*(.+))?")
_P1_CLOCK: Final = re.compile(r"\d{12}[SW]")
_P1_FACTOR: Final = {
    "kw": 1000.0,
    "kvar": 1000.0,
    "kva": 1000.0,
    "kwh": 1000.0,
    "kvarh": 1000.0,
    "kvah": 1000.0,
}


@dataclass(frozen=True, slots=True)
class _P1Field:
    """One value in a telegram line that the simulator rewrites."""

    line: int
    start: int  # span of the text inside the parentheses, before the unit
    end: int
    what: Literal["value", "gas", "clock"]
    cde: Cde = (0, 0, 0)  # for "value"; the M-Bus channel in [0] for "gas"
    width: int = 0
    decimals: int = 0
    factor: float = 1.0


def _p1_number(text: str) -> tuple[float, int, int, float] | None:
    """``000123.456*kWh`` -> (value in SI units, width, decimals, factor)."""
    match = _P1_NUMBER.fullmatch(text)
    if match is None:
        return None
    whole, frac, unit = match.groups()
    factor = _P1_FACTOR.get((unit or "").lower(), 1.0)
    number = float(f"{whole}.{frac}" if frac else whole)
    width = len(whole) + (len(frac) + 1 if frac else 0)
    return number * factor, width, len(frac or ""), factor


@dataclass(slots=True)
class _P1Template:
    lines: list[str]
    fields: list[_P1Field] = field(default_factory=list)
    initial: dict[Cde, float] = field(default_factory=dict)
    gas: dict[int, float] = field(default_factory=dict)
    tariff: int = 1
    meter_id: str | None = None


_P1_ID_KEYS: Final = ("0-0:96.1.1", "0-0:42.0.0", "0-0:96.1.0")


def _hex_text(value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value
    return raw.decode("ascii") if raw and all(0x20 <= b < 0x7F for b in raw) else value


def _parse_p1(lines: Sequence[str]) -> _P1Template:
    """Find every line value the simulator keeps alive, and the meter's starting state."""
    template = _P1Template(list(lines))
    ids: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _P1_LINE.fullmatch(line)
        if match is None:
            continue
        a, b, c, d, e = (int(x) for x in match.groups()[:5])
        groups = list(_P1_GROUP.finditer(line, match.start(6)))
        if not groups:
            continue
        key = f"{a}-{b}:{c}.{d}.{e}"
        if key in _P1_ID_KEYS and groups[0].group(1).strip("0"):
            ids[key] = _hex_text(groups[0].group(1))
        if a == 0 and (c, d, e) == (96, 14, 0) and groups[0].group(1).isdigit():
            template.tariff = int(groups[0].group(1)) or 1
        if a == 0 and (c, d, e) == (1, 0, 0):
            _p1_clock(template, index, groups[0])
        elif a == 0 and b > 0 and c == 24 and d == 2 and len(groups) == 2:
            _p1_gas(template, index, b, groups)
        elif a == 1 and _kind((c, d, e)) is not None:
            _p1_value(template, index, (c, d, e), groups[-1])
    template.meter_id = pick_meter_id([ids[k] for k in _P1_ID_KEYS if k in ids])
    return template


def _p1_clock(template: _P1Template, index: int, group: re.Match[str]) -> None:
    if _P1_CLOCK.fullmatch(group.group(1)):
        template.fields.append(_P1Field(index, group.start(1), group.end(1), "clock"))


def _p1_gas(template: _P1Template, index: int, channel: int, groups: list[re.Match[str]]) -> None:
    stamp, reading = groups
    number = _p1_number(reading.group(1))
    if number is None or not reading.group(1).lower().endswith("*m3"):
        return
    value, width, decimals, _ = number
    _p1_clock(template, index, stamp)
    end = reading.start(1) + width
    template.fields.append(
        _P1Field(index, reading.start(1), end, "gas", (channel, 0, 0), width, decimals)
    )
    template.gas[channel] = value


def _p1_value(template: _P1Template, index: int, cde: Cde, group: re.Match[str]) -> None:
    number = _p1_number(group.group(1))
    if number is None:
        return
    value, width, decimals, factor = number
    end = group.start(1) + width
    template.fields.append(
        _P1Field(index, group.start(1), end, "value", cde, width, decimals, factor)
    )
    template.initial[cde] = value


def _format_number(value: float, width: int, decimals: int) -> str:
    value = max(value, 0.0)
    if decimals:
        return f"{value:0{width}.{decimals}f}"
    return f"{round(value):0{width}d}"


def _p1_stamp(when: float) -> str:
    local = time.localtime(when)
    return time.strftime("%y%m%d%H%M%S", local) + ("S" if local.tm_isdst > 0 else "W")


def render_p1(template: _P1Template, model: MeterModel) -> bytes:
    """The telegram with the model's values, footer ``!CRC`` and CR LF."""
    lines = list(template.lines)
    # Right to left within a line, so earlier spans stay valid.
    for item in sorted(template.fields, key=lambda f: (f.line, -f.start)):
        if item.what == "clock":
            when = model.time
            if lines[item.line].startswith("0-") and ":24.2." in lines[item.line]:
                when -= when % 300  # gas readings are stamped every 5 minutes
            text = _p1_stamp(when)
        elif item.what == "gas":
            text = _format_number(model.gas[item.cde[0]], item.width, item.decimals)
        else:
            value = model.value(item.cde)
            if value is None:
                continue
            text = _format_number(value / item.factor, item.width, item.decimals)
        line = lines[item.line]
        lines[item.line] = line[: item.start] + text + line[item.end :]
    body = ("\r\n".join(lines) + "\r\n!").encode("latin-1")
    return body + f"{crc16_arc(body):04X}\r\n".encode("ascii")


# --------------------------------------------------------------------------------------
# DLMS: A-XDR lists in HDLC or M-Bus frames
# --------------------------------------------------------------------------------------

#: A-XDR integer tags -> (size, signed).
_INTEGERS: Final = {
    0x05: (4, True),
    0x06: (4, False),
    0x0F: (1, True),
    0x10: (2, True),
    0x11: (1, False),
    0x12: (2, False),
    0x14: (8, True),
    0x15: (8, False),
}
_FIXED: Final = {0x00: 0, 0x03: 1, 0x0D: 1, 0x16: 1, 0x17: 4, 0x18: 8, 0x19: 12, 0x1A: 5, 0x1B: 4}
_STRINGS: Final = (0x09, 0x0A, 0x0C)
_OCTET_STRING: Final = 0x09
_ENUM: Final = 0x16
_INTEGER8: Final = 0x0F


@dataclass(frozen=True, slots=True)
class _Prim:
    """One primitive A-XDR value: its tag and where its content is."""

    tag: int
    offset: int
    length: int


def _ber(buf: bytes, pos: int) -> tuple[int, int]:
    """BER length at ``pos`` -> (length, position after it)."""
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    return int.from_bytes(buf[pos + 1 : pos + 1 + size]), pos + 1 + size


def _ber_encode(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    if length < 0x100:
        return bytes((0x81, length))
    return bytes((0x82,)) + length.to_bytes(2)


def _walk(buf: bytes, pos: int, out: list[_Prim]) -> int:
    """Collect the primitives of the A-XDR value at ``pos``; return the position after it."""
    tag = buf[pos]
    pos += 1
    if tag in (0x01, 0x02):
        count, pos = _ber(buf, pos)
        for _ in range(count):
            pos = _walk(buf, pos, out)
        return pos
    if tag in _STRINGS:
        length, pos = _ber(buf, pos)
    elif tag == 0x04:
        bits, pos = _ber(buf, pos)
        length = (bits + 7) // 8
    elif tag in _INTEGERS:
        length = _INTEGERS[tag][0]
    elif tag in _FIXED:
        length = _FIXED[tag]
    else:
        msg = f"unsupported A-XDR tag 0x{tag:02X} at {pos - 1}"
        raise ValueError(msg)
    out.append(_Prim(tag, pos, length))
    return pos + length


def _is_clock(buf: bytes, offset: int) -> bool:
    """A 12-byte COSEM date-time with a plausible year."""
    return 2000 <= int.from_bytes(buf[offset : offset + 2]) <= 2100


@dataclass(frozen=True, slots=True)
class _Slot:
    """An integer in the APDU that carries a quantity the model knows."""

    offset: int
    size: int
    signed: bool
    cde: Cde
    scaler: int


@dataclass(slots=True)
class _DlmsTemplate:
    apdu: bytes
    every: int
    slots: list[_Slot] = field(default_factory=list)
    clocks: list[int] = field(default_factory=list)
    strings: list[_Prim] = field(default_factory=list)
    initial: dict[Cde, float] = field(default_factory=dict)
    meter_id: str | None = None


def _apdu_body(apdu: bytes) -> tuple[int, int | None]:
    """Data-notification header -> (position of the body, offset of its date-time or None)."""
    if apdu[:1] != b"\x0f":
        msg = "template is not a data-notification APDU"
        raise ValueError(msg)
    pos = 5
    if apdu[pos] == 0x00:
        return pos + 1, None
    if apdu[pos] == 0x0C:
        return pos + 13, pos + 1
    if apdu[pos] == _OCTET_STRING and apdu[pos + 1] == 0x0C:
        return pos + 14, pos + 2
    msg = "unexpected date-time field in the data-notification"
    raise ValueError(msg)


def _parse_dlms(
    apdu: bytes,
    *,
    every: int = 1,
    positional: Sequence[Cde] = (),
    scalers: dict[str, int] | None = None,
) -> _DlmsTemplate:
    """Locate the integers to rewrite, the clocks and the identity strings of an APDU.

    Lists that tag values with OBIS codes (Aidon, Kamstrup, Austrian Kaifa) are matched by
    code; a scaler-unit structure right after a value gives its scaler, else ``scalers``
    (by kind: P, I, U, PF, F, E) does. Kaifa's Norwegian lists carry no codes: ``positional``
    names their integers in order.
    """
    scalers = scalers or {}
    template = _DlmsTemplate(apdu, every)
    body, clock = _apdu_body(apdu)
    prims: list[_Prim] = []
    _walk(apdu, body, prims)
    if clock is not None:
        template.clocks.append(clock)
    obis_prims: set[int] = set()
    ids: dict[str, str] = {}
    if positional:
        integers = [p for p in prims if p.tag in _INTEGERS]
        pairs = list(zip(integers, positional, strict=False))
        for prim, cde in pairs:
            _add_slot(template, prim, cde, scalers.get(_kind(cde) or "", 0))
        texts = [p for p in prims if p.tag in (0x09, 0x0A) and not _clock_prim(apdu, p)]
        if len(texts) >= 2:
            ids["96.1.0"] = apdu[texts[1].offset : texts[1].offset + texts[1].length].decode(
                "latin-1"
            )
    else:
        for i, prim in enumerate(prims):
            if prim.tag != _OCTET_STRING or prim.length != 6 or i + 1 >= len(prims):
                continue
            obis_prims.add(i)
            _a, _b, c, d, e, _f = apdu[prim.offset : prim.offset + 6]
            value = prims[i + 1]
            if value.tag in (0x09, 0x0A) and (c, d, e) in ((96, 1, 0), (0, 0, 5)):
                ids["96.1.0"] = apdu[value.offset : value.offset + value.length].decode("latin-1")
            cde = (c, d, e)
            if value.tag not in _INTEGERS or _kind(cde) is None:
                continue
            scaler = scalers.get(_kind(cde) or "", 0)
            if i + 3 < len(prims) and prims[i + 2].tag == _INTEGER8 and prims[i + 3].tag == _ENUM:
                scaler = int.from_bytes(
                    apdu[prims[i + 2].offset : prims[i + 2].offset + 1], signed=True
                )
            _add_slot(template, value, cde, scaler)
    for i, prim in enumerate(prims):
        if _clock_prim(apdu, prim):
            template.clocks.append(prim.offset)
        elif prim.tag in (0x09, 0x0A) and i not in obis_prims:
            template.strings.append(prim)
    if "96.1.0" not in ids and prims and prims[-1].tag in (0x09, 0x0A):
        # Austrian Kaifa lists end with the meter number, without an OBIS code.
        last = apdu[prims[-1].offset : prims[-1].offset + prims[-1].length]
        if last.isascii() and last.decode("ascii").isprintable():
            ids["96.1.0"] = last.decode("ascii")
    template.meter_id = ids.get("96.1.0")
    return template


def _clock_prim(apdu: bytes, prim: _Prim) -> bool:
    return prim.tag == _OCTET_STRING and prim.length == 12 and _is_clock(apdu, prim.offset)


def _add_slot(template: _DlmsTemplate, prim: _Prim, cde: Cde, scaler: int) -> None:
    size, signed = _INTEGERS[prim.tag]
    raw = int.from_bytes(template.apdu[prim.offset : prim.offset + size], signed=signed)
    template.slots.append(_Slot(prim.offset, size, signed, cde, scaler))
    template.initial[cde] = raw * 10.0**scaler


def _unify_identity(primary: _DlmsTemplate, other: _DlmsTemplate) -> None:
    """Give a second list of a profile the first list's meter id and model strings."""
    apdu = bytearray(other.apdu)
    for mine, theirs in zip(primary.strings, other.strings, strict=False):
        if mine.length == theirs.length:
            apdu[theirs.offset : theirs.offset + theirs.length] = primary.apdu[
                mine.offset : mine.offset + mine.length
            ]
    other.apdu = bytes(apdu)
    other.meter_id = primary.meter_id


def _clock_bytes(when: float, template: bytes) -> bytes:
    """COSEM date-time for ``when`` (local time), keeping the template's tail bytes."""
    local = time.localtime(when)
    dow = template[4] if template[4] not in range(1, 8) else local.tm_wday + 1
    head = local.tm_year.to_bytes(2) + bytes(
        (local.tm_mon, local.tm_mday, dow, local.tm_hour, local.tm_min, local.tm_sec)
    )
    return head + template[8:12]


def render_apdu(template: _DlmsTemplate, model: MeterModel) -> bytes:
    """The APDU with the model's values and clocks."""
    apdu = bytearray(template.apdu)
    for slot in template.slots:
        value = model.value(slot.cde)
        if value is None:
            continue
        raw = round(value / 10.0**slot.scaler)
        bits = 8 * slot.size
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if slot.signed else (0, (1 << bits) - 1)
        )
        raw = min(max(raw, low), high)
        apdu[slot.offset : slot.offset + slot.size] = raw.to_bytes(slot.size, signed=slot.signed)
    for offset in template.clocks:
        apdu[offset : offset + 12] = _clock_bytes(model.time, template.apdu[offset : offset + 12])
    return bytes(apdu)


def parse_hdlc(frame: bytes) -> tuple[bytes, int, bytes, bool]:
    """HDLC frame -> (addresses, control, information field, segmented); checks HCS and FCS."""
    if len(frame) < 9 or frame[0] != 0x7E or frame[-1] != 0x7E or frame[1] >> 4 != 0xA:
        msg = "not an HDLC frame"
        raise ValueError(msg)
    length = ((frame[1] & 0x07) << 8) | frame[2]
    body = frame[1 : 1 + length]
    pos = 2
    for _ in range(2):  # destination, then source address: the last byte has bit 0 set
        while not body[pos] & 1:
            pos += 1
        pos += 1
    addresses, control = body[2:pos], body[pos]
    pos += 1
    if int.from_bytes(body[pos : pos + 2], "little") != crc16_x25(body[:pos]):
        msg = "HDLC header checksum (HCS) does not match"
        raise ValueError(msg)
    if int.from_bytes(body[-2:], "little") != crc16_x25(body[:-2]):
        msg = "HDLC frame checksum (FCS) does not match"
        raise ValueError(msg)
    return addresses, control, body[pos + 2 : -2], bool(frame[1] & 0x08)


def build_hdlc(addresses: bytes, control: int, info: bytes, *, segmented: bool = False) -> bytes:
    """An HDLC frame (type 3 format) with HCS and FCS (CRC-16/X.25)."""
    length = 2 + len(addresses) + 1 + 2 + len(info) + 2
    if length > 0x7FF:
        msg = "information field too long for one HDLC frame"
        raise ValueError(msg)
    head = (0xA000 | (0x0800 if segmented else 0) | length).to_bytes(2) + addresses
    head += bytes((control,))
    head += crc16_x25(head).to_bytes(2, "little")
    body = head + info
    return b"\x7e" + body + crc16_x25(body).to_bytes(2, "little") + b"\x7e"


#: User data per wired M-Bus long frame, after C, A, CI and the two STSAP/DTSAP bytes.
_MBUS_CHUNK: Final = 245


def build_mbus(c: int, a: int, payload: bytes) -> bytes:
    """Wired M-Bus long frames (EN 13757-2) carrying ``payload``, as Austrian meters split it.

    Each frame is ``68 L L 68 C A CI 01 67 data CS 16``; CI counts the segments and has
    bit 0x10 set on the last one.
    """
    out = bytearray()
    chunks = [payload[i : i + _MBUS_CHUNK] for i in range(0, len(payload), _MBUS_CHUNK)]
    for index, chunk in enumerate(chunks):
        ci = (index & 0x0F) | (0x10 if index == len(chunks) - 1 else 0)
        user = bytes((c, a, ci, 0x01, 0x67)) + chunk
        out += bytes((0x68, len(user), len(user), 0x68)) + user
        out += bytes((sum(user) & 0xFF, 0x16))
    return bytes(out)


def glo_ciphering(
    security: int, system_title: bytes, counter: int, plain: bytes, ek: bytes, ak: bytes
) -> bytes:
    """general-glo-ciphering APDU ``DB 08 <system title> <len> SC FC ciphertext [tag]``."""
    fc = counter.to_bytes(4)
    sealed = gcm_seal(security, system_title, fc, plain, ek, ak)
    secured = bytes((security,)) + fc + sealed
    return b"\xdb\x08" + system_title + _ber_encode(len(secured)) + secured


# --------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------

_KAIFA_LIST2: Final[tuple[Cde, ...]] = (
    (1, 7, 0),
    (2, 7, 0),
    (3, 7, 0),
    (4, 7, 0),
    (31, 7, 0),
    (51, 7, 0),
    (71, 7, 0),
    (32, 7, 0),
    (52, 7, 0),
    (72, 7, 0),
)
_KAIFA_LIST3: Final[tuple[Cde, ...]] = (*_KAIFA_LIST2, (1, 8, 0), (2, 8, 0), (3, 8, 0), (4, 8, 0))
_KAIFA_SCALERS: Final = {"P": 0, "I": -3, "U": -1, "E": 0}
#: Kamstrup sends no scalers: current in 10 mA, energy in 10 Wh (Norway and Denmark, see
#: ``dlms.scaling.ListContext.default_scaler``).
_KAMSTRUP_NO_SCALERS: Final = {"P": 0, "I": -2, "U": 0, "E": 1}
_KAMSTRUP_DK_SCALERS: Final = {"P": 0, "I": -2, "U": 0, "E": 1, "PF": -2}
#: Lists with a clock-hour content (energy registers) are pushed every this many frames
#: (hourly on a real meter; here often enough that energy shows up soon).
HOURLY_EVERY: Final = 10

_DK_SYSTEM_TITLE: Final = b"KAME\x01\x34\x90\x83"
_AT_SYSTEM_TITLE: Final = b"KFMgP\x00\x00\x09"
_LU_SYSTEM_TITLE: Final = b"SAG\x10\x30\x00\x01\x27"

type _Envelope = Literal["p1", "stoen", "dsmr_gcm", "hdlc", "mbus"]


@dataclass(frozen=True, slots=True)
class DemoKeys:
    """Keys a reader needs for a simulated profile (demo keys, never real ones)."""

    ek: bytes | None = None
    ak: bytes | None = None

    def entry_data(self) -> dict[str, str]:
        """The keys as a HAN Port config entry stores them (hex)."""
        data: dict[str, str] = {}
        if self.ek:
            data["encryption_key"] = self.ek.hex().upper()
        if self.ak:
            data["authentication_key"] = self.ak.hex().upper()
        return data


@dataclass(slots=True)
class _Spec:
    envelope: _Envelope
    keys: DemoKeys = field(default_factory=DemoKeys)
    p1: _P1Template | None = None
    lists: list[_DlmsTemplate] = field(default_factory=list)
    addresses: bytes = b""
    control: int = 0x13
    system_title: bytes = b""
    security: int = 0


def _hdlc_lists(
    frames: Sequence[bytes],
    *,
    positional: Sequence[Sequence[Cde]] = (),
    scalers: dict[str, int] | None = None,
) -> _Spec:
    """A spec for plain HDLC list frames; the first is the regular push, the next hourly."""
    addresses, control, _, _ = parse_hdlc(frames[0])
    spec = _Spec("hdlc", addresses=addresses, control=control)
    for index, frame in enumerate(frames):
        info = parse_hdlc(frame)[2]
        apdu = info.removeprefix(_LLC)
        names = positional[index] if positional else ()
        every = 1 if index == 0 else HOURLY_EVERY
        spec.lists.append(_parse_dlms(apdu, every=every, positional=names, scalers=scalers))
    for other in spec.lists[1:]:
        _unify_identity(spec.lists[0], other)
    return spec


def _build_spec(profile: Profile) -> _Spec:
    match profile.id:
        case "nl_dsmr" | "auto":
            return _Spec("p1", p1=_parse_p1(_P1_NL))
        case "be_fluvius":
            return _Spec("p1", p1=_parse_p1(_P1_BE))
        case "se_p1" | "ee_elektrilevi":
            return _Spec("p1", p1=_parse_p1(_P1_SE))
        case "lu_smarty":
            return _Spec(
                "dsmr_gcm",
                keys=DemoKeys(DEMO_EK),
                p1=_parse_p1(_P1_LU),
                system_title=_LU_SYSTEM_TITLE,
                security=_SC_ENC_AUTH,
            )
        case "pl_stoen_p1":
            return _Spec(
                "stoen",
                keys=DemoKeys(DEMO_EK, DEMO_AK),
                p1=_parse_p1(_P1_PL),
                system_title=bytes(8),
                security=_SC_ENC_AUTH,
            )
        case "no_aidon":
            return _hdlc_lists((_HDLC_AIDON_LIST2, _HDLC_AIDON_LIST3))
        case "no_kaifa":
            return _hdlc_lists(
                (_HDLC_KAIFA_LIST2, _HDLC_KAIFA_LIST3),
                positional=(_KAIFA_LIST2, _KAIFA_LIST3),
                scalers=_KAIFA_SCALERS,
            )
        case "no_kamstrup":
            return _hdlc_lists(
                (_HDLC_KAMSTRUP_LIST1, _HDLC_KAMSTRUP_LIST2), scalers=_KAMSTRUP_NO_SCALERS
            )
        case "dk_kamstrup":
            return _Spec(
                "hdlc",
                keys=DemoKeys(DEMO_EK, DEMO_AK),
                lists=[_parse_dlms(_APDU_DK, scalers=_KAMSTRUP_DK_SCALERS)],
                addresses=b"\x41\x03",
                control=0x13,
                system_title=_DK_SYSTEM_TITLE,
                security=_SC_ENC_AUTH,
            )
        case "at_mbus":
            return _Spec(
                "mbus",
                keys=DemoKeys(DEMO_EK),
                lists=[_parse_dlms(_APDU_AT)],
                addresses=b"\x53\xff",
                system_title=_AT_SYSTEM_TITLE,
                security=_SC_ENC,
            )
    msg = f"profile {profile.id!r} has no simulated meter"
    raise ValueError(msg)


#: Profiles the simulator can play (wireless M-Bus profiles are not simulated).
SIMULATED_PROFILES: Final = tuple(p.id for p in PROFILES_BY_ID.values() if not p.wireless)


class MeterSimulator:
    """One simulated meter of a profile: ``next_frame()`` returns its next push, as on the wire.

    ``seed`` makes the values reproducible; ``start`` is the meter's clock at the first frame
    (default: now). Meter time advances by the profile's push interval per frame, whatever
    pace the frames are actually sent at.
    """

    def __init__(
        self, profile_id: str = "nl_dsmr", *, seed: int | None = None, start: float | None = None
    ) -> None:
        """Create the meter; ValueError for an unknown or unsimulated profile."""
        profile = PROFILES_BY_ID.get(profile_id)
        if profile is None:
            msg = f"unknown profile {profile_id!r}"
            raise ValueError(msg)
        self.profile = profile
        self._spec = _build_spec(profile)
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
                if _kind(cde) == "U" and value == 0.0:
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
        spec = self._spec
        if spec.p1 is not None:
            return spec.p1.meter_id
        return spec.lists[0].meter_id if spec.lists else None

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
        return build_hdlc(spec.addresses, spec.control, _LLC + apdu)

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
        # Polish Stoen: the ident line and an empty line in clear, then 00 (no system title)
        # 82 len SC FC ciphertext tag, then a "!XXXX" footer in clear. The ciphertext holds the
        # DATA LINES only (the real captures' declared lengths leave no room for the ident line
        # or the footer: ../shared/reference/dlms-encrypted.md §1 "Plaintext extent"); here
        # each data line keeps its CR LF. What the real ciphertexts' 1-2 bytes beyond their
        # data lines hold is unknown (no capture with its keys). The frame counter is 0 in
        # every real capture (GAMA 150, GAMA 350, Kaifa MA309M), so it is 0 here too. The
        # footer's four digits match no known checksum on real meters; readers ignore them.
        ek, ak = spec.keys.ek or DEMO_EK, spec.keys.ak or DEMO_AK
        fc = bytes(4)
        ident, _, rest = telegram.partition(b"\r\n\r\n")
        data_lines = rest[: rest.index(b"\n!") + 1]
        sealed = gcm_seal(spec.security, bytes(8), fc, data_lines, ek, ak)
        secured = bytes((spec.security,)) + fc + sealed
        head = ident + b"\r\n\r\n\x00\x82" + len(secured).to_bytes(2) + secured + b"!"
        return head + f"{crc16_arc(head):04X}\r\n".encode("ascii")


# --------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong on the simulated line.

    ``bitflip`` and ``truncate`` are per-frame probabilities (one random bit flipped; the
    frame cut at a random byte). Every ``silence_every`` frames the meter says nothing for
    ``silence_for`` seconds; every ``disconnect_every`` frames TCP clients are dropped.
    """

    bitflip: float = 0.0
    truncate: float = 0.0
    silence_every: int = 0
    silence_for: float = 0.0
    disconnect_every: int = 0


def apply_faults(frame: bytes, faults: Faults, rng: random.Random) -> bytes:
    """The frame as the line delivers it: maybe one bit flipped, maybe cut short."""
    data = bytearray(frame)
    if faults.bitflip and rng.random() < faults.bitflip:
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    if faults.truncate and len(data) > 1 and rng.random() < faults.truncate:
        del data[rng.randrange(1, len(data)) :]
    return bytes(data)


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------


class TcpMeterServer:
    """A TCP server that pushes the meter's frames to every connected client.

    Like a meter's port, it talks to whoever listens; it does not replay the past to a late
    client. Frames flow only while at least one client is connected.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare a server on ``host:port`` (port 0: any free port)."""
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._listening = asyncio.Event()

    async def start(self) -> tuple[str, int]:
        """Start listening; return the bound address."""
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = port
        return host, port

    @property
    def clients(self) -> int:
        """Clients connected now."""
        return len(self._clients)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        self._listening.set()
        try:
            while await reader.read(4096):  # a meter ignores what it is sent
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self._drop(writer)

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        self._clients.discard(writer)
        if not self._clients:
            self._listening.clear()
        writer.close()

    async def wait_listener(self) -> None:
        """Wait until a client is connected."""
        await self._listening.wait()

    async def send(self, data: bytes) -> None:
        """Push bytes to every client; a client that stopped reading is dropped."""
        for writer in list(self._clients):
            transport = writer.transport
            if writer.is_closing() or transport.get_write_buffer_size() > _MAX_CLIENT_BACKLOG:
                self._drop(writer)
                continue
            writer.write(data)
        await asyncio.sleep(0)

    async def disconnect(self) -> None:
        """Drop every client (they may reconnect)."""
        for writer in list(self._clients):
            self._drop(writer)

    async def aclose(self) -> None:
        """Stop serving."""
        await self.disconnect()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)


class PtyMeter:
    """A pseudo-terminal: readers open ``path`` as if it were the meter's serial port."""

    def __init__(self) -> None:
        """Open the PTY pair; the slave end is raw (no CR/LF translation, no echo)."""
        import pty  # noqa: PLC0415 - POSIX only, imported when a PTY is asked for
        import termios  # noqa: PLC0415
        import tty  # noqa: PLC0415

        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        os.set_blocking(self._master, False)
        self._termios = termios
        self.path = os.ttyname(self._slave)

    async def wait_listener(self) -> None:
        """A serial line has no notion of a listener: return at once."""

    async def send(self, data: bytes) -> None:
        """Write to the line; if nobody has read for a long time, drop what is stale."""
        view = memoryview(data)
        retried = False
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                if retried:
                    return
                # The buffer is full of frames nobody read: discard them, keep the new one.
                self._termios.tcflush(self._slave, self._termios.TCIFLUSH)
                retried = True
                continue
            view = view[written:]
        await asyncio.sleep(0)

    async def disconnect(self) -> None:
        """A serial line cannot be disconnected by the meter: nothing happens."""

    async def aclose(self) -> None:
        """Close both ends."""
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class StreamMeter:
    """Frames to a binary stream (stdout by default), e.g. to pipe into a decoder."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        """Write to ``stream`` (a binary file object) or to stdout."""
        self._stream = stream if stream is not None else sys.stdout.buffer

    async def wait_listener(self) -> None:
        """Nothing to wait for."""

    async def send(self, data: bytes) -> None:
        """Write and flush."""
        self._stream.write(data)
        self._stream.flush()
        await asyncio.sleep(0)

    async def disconnect(self) -> None:
        """Nothing to disconnect."""

    async def aclose(self) -> None:
        """Nothing to close."""


type Sink = TcpMeterServer | PtyMeter | StreamMeter


async def run(
    meter: MeterSimulator,
    sink: Sink,
    *,
    interval: float | None = None,
    faults: Faults | None = None,
    count: int | None = None,
    seed: int | None = None,
) -> int:
    """Push frames to ``sink`` every ``interval`` seconds; return how many were sent.

    Stops after ``count`` frames (never, if None). Faults come from ``faults``.
    """
    faults = faults or Faults()
    rng = random.Random(seed)  # noqa: S311 - simulated line noise
    interval = meter.interval if interval is None else interval
    loop = asyncio.get_running_loop()
    sent = 0
    next_at = loop.time()
    while count is None or sent < count:
        if isinstance(sink, TcpMeterServer) and not sink.clients:
            await sink.wait_listener()
            next_at = loop.time()
        await sink.send(apply_faults(meter.next_frame(), faults, rng))
        sent += 1
        if faults.disconnect_every and sent % faults.disconnect_every == 0:
            await sink.disconnect()
        if faults.silence_every and sent % faults.silence_every == 0:
            await asyncio.sleep(faults.silence_for)
            next_at = loop.time()
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    return sent


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="han simulate",
        description=(
            "Simulate a smart meter's HAN port: real frames with live values, over TCP "
            "(Home Assistant: socket://HOST:PORT), a pseudo-terminal, or stdout."
        ),
    )
    parser.add_argument("--profile", default="nl_dsmr", choices=SIMULATED_PROFILES)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--tcp", metavar="HOST:PORT", help="serve every client that connects")
    out.add_argument("--pty", action="store_true", help="create a PTY and print its path")
    parser.add_argument(
        "--interval", type=float, help="seconds between frames (default: the meter's)"
    )
    parser.add_argument(
        "--bitflip",
        type=float,
        default=0.0,
        metavar="P",
        help="per-frame probability of one flipped bit",
    )
    parser.add_argument(
        "--truncate",
        type=float,
        default=0.0,
        metavar="P",
        help="per-frame probability of a cut-off frame",
    )
    parser.add_argument(
        "--silence-every", type=int, default=0, metavar="N", help="go quiet after every N frames"
    )
    parser.add_argument(
        "--silence-for", type=float, default=5.0, metavar="S", help="for S seconds (default 5)"
    )
    parser.add_argument(
        "--disconnect-every",
        type=int,
        default=0,
        metavar="N",
        help="drop TCP clients after every N frames",
    )
    parser.add_argument("--count", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--seed", type=int, help="make values and faults reproducible")
    return parser


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        msg = f"--tcp needs HOST:PORT, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return host or "127.0.0.1", int(port)


def _describe(meter: MeterSimulator) -> str:
    profile = meter.profile
    lines = [
        (
            f"simulating {profile.name} [{profile.id}]: {meter.format} frames, "
            f"meter id {meter.meter_id or '-'}"
        ),
    ]
    for name, value in meter.keys.entry_data().items():
        lines.append(f"  demo {name.replace('_', ' ')}: {value}")
    return "\n".join(lines) + "\n"


async def _amain(args: argparse.Namespace, meter: MeterSimulator) -> int:
    faults = Faults(
        args.bitflip, args.truncate, args.silence_every, args.silence_for, args.disconnect_every
    )
    sink: Sink
    if args.tcp:
        server = TcpMeterServer(*_address(args.tcp))
        host, port = await server.start()
        sys.stderr.write(
            f"listening on {host}:{port} (Home Assistant port: socket://{host}:{port})\n"
        )
        sink = server
    elif args.pty:
        pty_meter = PtyMeter()
        sys.stdout.write(pty_meter.path + "\n")
        sys.stdout.flush()
        sink = pty_meter
    else:
        sink = StreamMeter()
    sys.stderr.flush()
    try:
        await run(
            meter, sink, interval=args.interval, faults=faults, count=args.count, seed=args.seed
        )
    finally:
        await sink.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``simulate --profile ID [--tcp HOST:PORT | --pty] [...]``; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["simulate"]:
        args_list = args_list[1:]
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.tcp:
        try:
            _address(args.tcp)
        except argparse.ArgumentTypeError as err:
            parser.error(str(err))
    meter = MeterSimulator(args.profile, seed=args.seed)
    sys.stderr.write(_describe(meter))
    try:
        return asyncio.run(_amain(args, meter))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
    except OSError as err:
        sys.stderr.write(f"simulate: {err}\n")
        return 1
