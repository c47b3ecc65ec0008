"""Where a simulated meter's frames go: TCP clients (ser2net style), a PTY, or a stream."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
from typing import TYPE_CHECKING, BinaryIO, Final

from .faults import Faults, apply_faults

if TYPE_CHECKING:
    from .meter import MeterSimulator

#: A TCP client that lets this much pile up unread is dropped (a stuck reader).
_MAX_CLIENT_BACKLOG: Final = 256 * 1024


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
