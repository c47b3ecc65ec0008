"""Simulated smart meters: real HAN-port frames, replayed with live values, over TCP or a PTY.

Command line (``scripts/han simulate ...``)::

    simulate --profile nl_dsmr --tcp 127.0.0.1:18124   # Home Assistant: socket://127.0.0.1:18124
    simulate --profile dk_kamstrup --pty               # prints the PTY's path, e.g. /dev/pts/7
    simulate --profile no_aidon --count 3 > frames.bin # no output option: frames to stdout

Where things are: ``meter`` (``MeterSimulator``), ``physics`` (the household's load), ``p1`` and
``dlms`` (rewriting a real frame's values), the meter families ``dsmr`` (NL, BE, SE/EE, LU),
``stoen`` (PL), ``nordic`` (NO), ``denmark`` and ``austria``, ``frames`` (HDLC, M-Bus and
glo-ciphering encoders; decoding is the library's), ``spec`` (demo keys), ``faults``,
``serve`` (TCP, PTY, stream) and ``cli``. Faults for testing a reader's robustness: bit flips,
truncated frames, silent periods and dropped TCP connections.
"""

from .cli import main
from .faults import Faults, apply_faults
from .frames import build_hdlc, build_mbus, glo_ciphering, parse_hdlc
from .meter import SIMULATED_PROFILES, MeterSimulator
from .p1 import with_crc
from .physics import MeterModel
from .serve import PtyMeter, StreamMeter, TcpMeterServer, run
from .spec import DEMO_AK, DEMO_EK, LU_AK, DemoKeys

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
    "build_hdlc",
    "build_mbus",
    "glo_ciphering",
    "main",
    "parse_hdlc",
    "run",
    "with_crc",
]
