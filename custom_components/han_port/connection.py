"""What a config entry says about its meter, and the one loop that reads the port it is on.

Shared by the config flow (detection) and the coordinator (the running reader): both open the
port, then read it through ``MeterLink`` (read -> decode -> yield what decoded -> close). Nothing
here logs or formats key material: keys travel as ``Keys`` (whose repr hides the bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
import os
from pathlib import Path
import stat
from typing import TYPE_CHECKING, Any, Protocol, Self

from homeassistant.const import CONF_PORT
import serialx

from .const import (
    CONF_AK,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_EK,
    CONF_FORMAT,
    CONF_METER_ID,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_RECEIVER,
    CONF_SYSTEM_TITLE,
    DEFAULT_PROFILE,
    DEFAULT_RECEIVER,
    RECEIVERS,
)
from .han import keys
from .han.decoder import Decoder
from .han.framing import FrameKind
from .han.model import Keys, Message, Rejected
from .han.profiles import PROFILES_BY_ID, Parity, Profile, SerialSettings, get_profile
from .han.wmbus import WmbusDecoder

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Mapping, Sequence

    from .han.capture import FrameCapture
    from .han.replay import ReplayGuard

type Connection = tuple[asyncio.StreamReader, serialx.SerialStreamWriter[Any]]

#: Bytes asked for per read: a read returns what the port has buffered, up to this.
READ_SIZE = 4096
#: URL schemes whose line settings mean nothing (the far end sets them).
_NETWORK_SCHEMES = ("socket://", "tcp://")
#: What detection stores as the entry's format (``Message.format``) -> the framers that
#: carry it. Reading only those keeps a '/' in binary DLMS data from starting a P1
#: candidate, and DLMS's inner ``DB 08`` from passing for an encrypted P1 envelope.
_FORMAT_KINDS: dict[str, tuple[FrameKind, ...]] = {
    "p1": (FrameKind.P1, FrameKind.P1_STOEN, FrameKind.DSMR_GCM),
    "dlms": (FrameKind.HDLC, FrameKind.MBUS, FrameKind.APDU),
}
#: Device majors of pseudo-terminal slaves (Linux Documentation/admin-guide/devices.txt:
#: 3 = BSD-style ttyp*, 136-143 = Unix98 /dev/pts/*).
_PTY_MAJORS = frozenset({3, *range(136, 144)})


class FeedDecoder(Protocol):
    """What reads a port: the wired ``Decoder`` and the wireless ``WmbusDecoder`` both are one."""

    def feed(self, data: bytes, /) -> Sequence[Message | Rejected]:
        """Add bytes; return what they completed."""

    def setup_commands(self) -> Sequence[bytes]:
        """Bytes to write once after opening the port (a wM-Bus receiver's T1 mode)."""

    def diagnostics(self) -> dict[str, Any]:
        """What the decoder saw, for diagnostics (never keys or payload bytes)."""


#: Keys and system titles are parsed by the library (``han.keys``); the flows import them here.
InvalidKeyError = keys.InvalidKeyError
parse_key = keys.parse_key
parse_system_title = keys.parse_system_title


def parse_meter_id(text: str) -> str:
    """A wireless M-Bus meter id: 8 digits as printed on the meter."""
    compact = text.strip()
    if len(compact) == 8 and compact.isdigit():
        return compact
    raise InvalidKeyError


def _optional_bytes(data: Mapping[str, Any], key: str) -> bytes | None:
    value = data.get(key)
    if not value:
        return None
    return bytes.fromhex(str(value))


def entry_profile(data: Mapping[str, Any]) -> Profile:
    """The profile an entry's data names (the default profile for an unknown one)."""
    return PROFILES_BY_ID.get(data.get(CONF_PROFILE, DEFAULT_PROFILE)) or get_profile(
        DEFAULT_PROFILE
    )


def is_network_port(port: str) -> bool:
    """True for a TCP URL, where baud rate and parity are set at the far end."""
    return port.lower().startswith(_NETWORK_SCHEMES)


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """Everything needed to read one meter."""

    port: str
    profile: Profile
    keys: Keys
    meter_id: str | None = None
    receiver: str = DEFAULT_RECEIVER
    settings: SerialSettings | None = None
    #: The format detection found ("p1", "dlms"); the reader then tries only its framers.
    format: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, with_format: bool = False) -> MeterConfig:
        """Build from config entry data (keys stored as hex).

        ``with_format`` applies the format detection found (the running reader); the
        flows leave it out so that detecting again can find another format.
        """
        profile = entry_profile(data)
        settings = None
        if data.get(CONF_BAUDRATE):
            settings = SerialSettings(
                int(data[CONF_BAUDRATE]),
                Parity(data.get(CONF_PARITY, Parity.NONE.value)),
                int(data.get(CONF_BYTESIZE, 8)),
            )
        return cls(
            port=data[CONF_PORT],
            profile=profile,
            keys=Keys(
                ek=_optional_bytes(data, CONF_EK),
                ak=_optional_bytes(data, CONF_AK),
                system_title=_optional_bytes(data, CONF_SYSTEM_TITLE),
            ),
            meter_id=data.get(CONF_METER_ID) or None,
            receiver=data.get(CONF_RECEIVER, DEFAULT_RECEIVER),
            settings=settings,
            format=(data.get(CONF_FORMAT) or None) if with_format else None,
        )

    @property
    def wireless(self) -> bool:
        """True for a wireless M-Bus receiver."""
        return self.profile.wireless

    def candidate_settings(self) -> tuple[SerialSettings, ...]:
        """Serial settings to try, most likely first."""
        if self.settings is not None:
            return (self.settings,)
        if self.wireless:
            baudrate = RECEIVERS.get(self.receiver)
            if baudrate is not None:
                return (SerialSettings(baudrate),)
        serial = self.profile.serial or (SerialSettings(115200),)
        if is_network_port(self.port):
            return serial[:1]
        return serial

    @property
    def formats(self) -> tuple[FrameKind, ...] | None:
        """The framers to try: the profile's, narrowed to the detected format if known."""
        allowed = self.profile.formats or None
        kinds = _FORMAT_KINDS.get(self.format or "")
        if kinds is None:
            return allowed
        narrowed = tuple(kind for kind in (allowed or kinds) if kind in kinds)
        return narrowed or allowed

    @property
    def require_encryption(self) -> bool:
        """The profile's meters encrypt: a frame in clear is refused (a downgrade)."""
        return self.profile.encrypts

    def new_decoder(
        self, replay: ReplayGuard | None = None, capture: FrameCapture | None = None
    ) -> FeedDecoder:
        """A fresh decoder for this meter (one per connection).

        ``replay`` is the entry's replay guard, kept across connections and restarts, and
        ``capture`` its capture for bug reports (wired meters only). A wireless decoder
        without a meter id listens to every meter (detection lists them).
        """
        if self.wireless:
            meter_id = self.meter_id
            return WmbusDecoder(
                {meter_id: self.keys.ek} if meter_id and self.keys.ek else {},
                meter_ids=[meter_id] if meter_id else None,
                receiver=self.receiver,
            )
        return Decoder(
            self.keys,
            country=self.profile.country,
            formats=self.formats,
            require_encryption=self.require_encryption,
            replay=replay,
            capture=capture,
        )


def is_pty(port: str) -> bool:
    """True for a pseudo-terminal (socat, a simulator, a ser2net PTY): it has no line."""
    try:
        mode = Path(port).stat()
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode.st_mode) and os.major(mode.st_rdev) in _PTY_MAJORS


def line_settings(port: str, settings: SerialSettings) -> SerialSettings:
    """The settings to open ``port`` with: 8N1 on a pseudo-terminal.

    A PTY has no line, and Linux keeps it at 8 data bits without parity whatever is asked
    (drivers/tty/pty.c, ``pty_set_termios``). glibc's ``tcsetattr`` reads the settings back
    and fails with EINVAL when the only change asked for was PARENB or CSIZE and it did not
    stick: so the first open of a PTY at 8E1 works (the speed changes too) and every
    reopen at 8E1 fails (issue 10 item 8). Asking for what the PTY does anyway avoids it.
    """
    if settings.parity is Parity.NONE and settings.bytesize == 8:
        return settings
    if is_network_port(port) or not is_pty(port):
        return settings
    return replace(settings, parity=Parity.NONE, bytesize=8)


async def open_port(port: str, settings: SerialSettings) -> Connection:
    """Open a serial device or URL with these line settings (OSError when it cannot)."""
    settings = line_settings(port, settings)
    try:
        return await serialx.open_serial_connection(
            url=port,
            baudrate=settings.baudrate,
            parity=settings.parity.value,
            bytesize=settings.bytesize,
        )
    except (ValueError, serialx.SerialException) as err:
        # A malformed URL, or a setting the port refuses: treat like a missing port.
        raise OSError(str(err)) from err


def start_receiver(decoder: FeedDecoder, writer: serialx.SerialStreamWriter[Any]) -> None:
    """Send the decoder's setup commands (a wM-Bus receiver into T1 reception)."""
    for command in decoder.setup_commands():
        writer.write(command)


async def close_port(writer: serialx.SerialStreamWriter[Any]) -> None:
    """Close a port opened with ``open_port``; never raises."""
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one read of the port produced, decoded."""

    #: Bytes read; 0 when nothing arrived within the wait (``SILENCE``).
    size: int
    results: Sequence[Message | Rejected] = ()
    #: The decoder raised on these bytes: they were dropped, and a fresh decoder reads on.
    failure: Exception | None = None


#: Nothing arrived within the wait.
SILENCE = Chunk(0)


class MeterLink:
    """One open connection to a meter: bytes in, decoded results out, the port closed at the end.

    The read loop of both the config flow's detection and the running reader::

        async with MeterLink(connection, config.new_decoder) as link:
            async for chunk in link.chunks(wait):
                ...  # SILENCE, or what one read decoded; stop whenever
    """

    def __init__(self, connection: Connection, new_decoder: Callable[[], FeedDecoder]) -> None:
        """Read ``connection`` (already open) with decoders made by ``new_decoder``."""
        self._reader, self._writer = connection
        self._new_decoder = new_decoder
        #: The decoder in use (None until reading starts); diagnostics show what it saw.
        self.decoder: FeedDecoder | None = None
        #: Bytes received on this connection.
        self.received = 0
        #: The far end closed the connection (end of stream).
        self.closed = False
        self._chunks: AsyncGenerator[Chunk] | None = None

    @classmethod
    async def async_open(
        cls, port: str, settings: SerialSettings, new_decoder: Callable[[], FeedDecoder]
    ) -> MeterLink:
        """Open ``port`` at ``settings`` (OSError when it cannot)."""
        return cls(await open_port(port, settings), new_decoder)

    async def __aenter__(self) -> Self:
        """Nothing to do: the port is already open."""
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop reading and close the port, whatever ended the reading (cancellation too)."""
        if self._chunks is not None:
            await self._chunks.aclose()
        await close_port(self._writer)

    def chunks(self, wait: Callable[[], float]) -> AsyncGenerator[Chunk]:
        """Decode what the port sends until the far end closes it (then ``closed`` is set).

        The decoder's setup commands are written first. Before each read ``wait()`` gives
        the seconds to wait for bytes; ``SILENCE`` is yielded when they pass without any.
        After each chunk the loop yields to the event loop, however fast bytes come. A port
        that fails raises OSError.
        """
        self._chunks = self._read(wait)
        return self._chunks

    async def _read(self, wait: Callable[[], float]) -> AsyncGenerator[Chunk]:
        decoder = self.decoder = self._new_decoder()
        start_receiver(decoder, self._writer)
        while True:
            try:
                data = await asyncio.wait_for(self._reader.read(READ_SIZE), max(wait(), 0))
            except TimeoutError:
                yield SILENCE
                continue
            if not data:
                self.closed = True
                return
            self.received += len(data)
            yield self._decode(data)
            await asyncio.sleep(0)  # let the loop breathe between chunks

    def _decode(self, data: bytes) -> Chunk:
        decoder = self.decoder
        assert decoder is not None
        try:
            return Chunk(len(data), decoder.feed(data))
        except Exception as err:  # noqa: BLE001 - a decoder bug must not end the connection
            self.decoder = self._new_decoder()
            return Chunk(len(data), failure=err)
