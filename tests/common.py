"""Helpers shared by every test directory: the one loader of the real fixture frames
(``tests/fixtures/*.jsonl``), frequently used frames, a PTY meter and a TCP meter.

No Home Assistant here: ``tests/han`` and ``tests/dev`` import this module too. The protocol
library is imported as the top-level package ``han`` (pytest's ``pythonpath``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import functools
import io
import json
import os
from pathlib import Path
import tty
from typing import Any

from han.crc import crc16_x25
from han.crypto import gcm_open
from han.model import Keys
from hanport_dev.cli import main as cli_main
from hanport_dev.simulator import build_hdlc, glo_ciphering, parse_hdlc

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> list[dict[str, Any]]:
    """Every vector of one fixture file, in file order: ``dsmr`` or ``dsmr.jsonl`` (nordic, ...)."""
    path = FIXTURES / f"{name.removesuffix('.jsonl')}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def vector(name: str, vector_id: str) -> dict[str, Any]:
    """One fixture vector by file name (dsmr, nordic, dlms, wmbus) and id."""
    for item in load(name):
        if item["id"] == vector_id:
            return item
    raise KeyError(vector_id)


def vectors_by_id(*names: str) -> dict[str, dict[str, Any]]:
    """Every vector of the named fixture files (dsmr, nordic, dlms, wmbus), by id."""
    return {item["id"]: item for name in names for item in load(name)}


def wire(item: dict[str, Any]) -> bytes:
    """The bytes a meter puts on the wire for a vector."""
    if item.get("telegram"):
        return item["telegram"].encode("latin-1")
    return bytes.fromhex(item["bytes_hex"])


def keys_of(item: dict[str, Any]) -> Keys:
    """A vector's keys (EK, AK; either may be absent)."""
    keys = item.get("keys") or {}
    ek, ak = keys.get("ek"), keys.get("ak")
    return Keys(ek=bytes.fromhex(ek) if ek else None, ak=bytes.fromhex(ak) if ak else None)


@functools.cache
def _binary_vectors() -> dict[str, dict[str, Any]]:
    return vectors_by_id("nordic", "dlms")


def raw(vector_id: str) -> bytes:
    """The bytes of a Nordic or DLMS vector (``nordic``, ``dlms``) by id."""
    return wire(_binary_vectors()[vector_id])


# Frequently used frames.
P1_NL = wire(vector("dsmr", "dp_v5"))  # DSMR 5 with a gas meter on M-Bus channel 1
P1_NL_TWO_MBUS = wire(vector("dsmr", "dp_v5_two_mbus"))
HDLC_NO = wire(vector("nordic", "hassams-kaifa-ma304h3e-long"))  # Kaifa, Norway, plain
KAIFA_SHORT = wire(vector("nordic", "hassams-kaifa-ma304h3e-short"))  # power only: no id
LU = vector("dsmr", "lux_smarty_msn_encrypted")  # encrypted DSMR, EK + AK, meter id
LU_FRAME = wire(LU)
LU_EK = LU["keys"]["ek"]
LU_AK = LU["keys"]["ak"]
_corrupt = bytearray(LU_FRAME)
_corrupt[len(_corrupt) // 2] ^= 0xFF
LU_CORRUPT = bytes(_corrupt)  # the GCM tag no longer verifies
AT = vector("dlms", "at-netznoe-kaifa-ma309-mbus-sc20")  # encrypted DLMS, EK only
AT_FRAME = wire(AT)
AT_EK = AT["keys"]["ek"]
DK = vector("dlms", "dk-kamstrup-omnipower-hdlc-sc30")  # encrypted DLMS, EK + AK, no meter id
DK_FRAME = wire(DK)
DK_EK = DK["keys"]["ek"]
DK_AK = DK["keys"]["ak"]
AT_WRONG_KEY = wire(vector("dlms", "at-netznoe-kaifa-ma309-wrong-key"))
WMBUS_PLAIN = wire(vector("wmbus", "wmbusmeters-amiplus-1-10101010"))
WMBUS_GAMA = vector("wmbus", "wmbusmeters-pr2038-elgama-gama350-30584551-mode5")
WMBUS_GAMA_FRAME = wire(WMBUS_GAMA)
WMBUS_GAMA_KEY = WMBUS_GAMA["keys"]["ek"]


def hdlc(info: bytes, *, segmented: bool = False) -> bytes:
    """A valid HDLC frame (dst 0x41, src 0x03, ctrl 0x13) around ``info``, built by hand."""
    size = 2 + 1 + 1 + 1 + (2 + len(info) if info else 0) + 2
    head = bytes((0xA0 | (0x08 if segmented else 0) | (size >> 8), size & 0xFF)) + b"\x41\x03\x13"
    body = head + crc16_x25(head).to_bytes(2, "little") + info if info else head
    return b"\x7e" + body + crc16_x25(body).to_bytes(2, "little") + b"\x7e"


def _dk_parts() -> tuple[bytes, int, bytes, bytes, bytes]:
    """The Danish vector's HDLC addresses, control, system title, counter and plaintext."""
    addresses, control, info, _segmented = parse_hdlc(DK_FRAME)
    apdu = info[3:]  # after the LLC header
    title, fc = apdu[2:10], apdu[14:18]
    plain = gcm_open(0x30, title, fc, apdu[18:], bytes.fromhex(DK_EK), bytes.fromhex(DK_AK))
    return addresses, control, title, int.from_bytes(fc), plain


DK_ADDRESSES, DK_CONTROL, DK_TITLE, DK_COUNTER, DK_PLAIN = _dk_parts()


def dk_frame(counter: int, *, sc: int = 0x30, plain: bytes = DK_PLAIN) -> bytes:
    """The Danish frame sealed again with invocation counter ``counter`` (and SC ``sc``).

    A real meter raises the counter with every push; repeating one frame is a replay.
    """
    apdu = glo_ciphering(sc, DK_TITLE, counter, plain, bytes.fromhex(DK_EK), bytes.fromhex(DK_AK))
    return build_hdlc(DK_ADDRESSES, DK_CONTROL, b"\xe6\xe7\x00" + apdu)


def dk_frames(count: int, start: int = DK_COUNTER) -> list[bytes]:
    """``count`` pushes of the Danish meter with rising counters from ``start``."""
    return [dk_frame(start + n) for n in range(count)]


def lu_frames(count: int) -> list[bytes]:
    """``count`` Luxembourg frames with rising counters (same telegram, sealed again)."""
    title, sc, fc = LU_FRAME[2:10], LU_FRAME[13], LU_FRAME[14:18]
    ek, ak = bytes.fromhex(LU_EK), bytes.fromhex(LU_AK)
    plain = gcm_open(sc, title, fc, LU_FRAME[18:], ek, ak)
    first = int.from_bytes(fc)
    return [glo_ciphering(sc, title, first + n, plain, ek, ak) for n in range(count)]


async def wait_for(condition: Callable[[], object], limit: float = 4.0) -> None:
    """Wait until ``condition()`` is true (readers run in the background), at most ``limit`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``scripts/han ARGV`` in this process: its exit status and what it printed."""
    out = io.StringIO()
    status = cli_main(argv, out)
    return status, out.getvalue()


class Pty:
    """A pseudo-terminal: the integration opens ``path``, the test writes to the master."""

    def __init__(self) -> None:
        """Open a raw PTY (no echo, no CR/LF translation)."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    async def write(self, data: bytes) -> None:
        """Write all of ``data`` without blocking the loop."""
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self.master, view)
            except BlockingIOError:
                await asyncio.sleep(0.005)
                continue
            view = view[sent:]

    def drain(self) -> None:
        """Throw away anything the integration wrote (receiver commands)."""
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.master, 4096):
                pass

    def close(self) -> None:
        """Close both ends."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class Meter:
    """Writes frames again and again, like a meter pushing every ``interval`` seconds."""

    frames: list[bytes]
    interval: float = 0.05
    sent: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def start_pty(self, pty: Pty) -> None:
        """Push into a PTY."""
        self._task = asyncio.get_running_loop().create_task(self._run_pty(pty))

    async def _run_pty(self, pty: Pty) -> None:
        while True:
            frame = self.frames[self.sent % len(self.frames)]
            await pty.write(frame)
            pty.drain()
            self.sent += 1
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop pushing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class TcpMeter:
    """A loopback TCP server that pushes frames to whoever connects (ser2net style)."""

    def __init__(self, frames: list[bytes], interval: float = 0.05) -> None:
        """Prepare; call ``start``."""
        self.frames = frames
        self.interval = interval
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """The serialx URL of the server."""
        return f"socket://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Listen (on ``port``, or any free port)."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        sent = 0
        try:
            while not writer.is_closing():
                writer.write(self.frames[sent % len(self.frames)])
                await writer.drain()
                sent += 1
                await asyncio.sleep(self.interval)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        """Close the server and every connection (the port 'vanishes')."""
        if self.server is not None:
            self.server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)
            self._tasks.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)
            self.server = None
