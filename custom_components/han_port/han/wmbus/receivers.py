"""Receivers: framing adapters that turn a receiver's byte stream into link-layer frames.

Each adapter takes bytes in chunks of any size (the output does not depend on how the
stream was cut), keeps a bounded buffer, resynchronises after garbage and yields
``Received`` frames (starting at the L-field) with the RSSI where the receiver reports one,
or ``Rejected`` for frames the receiver itself marks or proves broken.

* ``raw``: binary frames (with or without DLL CRCs) or hex lines, one frame per line;
* ``rtlwmbus``: rtl_wmbus text lines ``T1;1;1;<time>;<rssi>;<rssi>;<id>;0x<hex>``;
* ``im871a``: IMST iM871A (and iM170A) HCI frames at 57600 8N1;
* ``amb8465``: Amber/Würth AMB8465-M / AMB8665-M in command mode at 9600 8N1;
* ``cul``: CUL/nanoCUL culfw text lines ``b<hex>`` (T1, format A with CRCs) or ``bY<hex>``
  (C1, format B), with LQI and RSSI appended after ``X21``; 38400 8N1.

``setup_commands()`` gives the bytes to write once to put the receiver in T1 reception.
"""

from __future__ import annotations

from binascii import crc_hqx
from dataclasses import dataclass
from typing import ClassVar

from ..crc import crc16_en13757, crc16_x25  # noqa: TID252
from ..model import ChecksumError, HanError, MalformedError, Rejected, TruncatedError  # noqa: TID252
from .ell import AFL_CI, ELL_CIS
from .link import (
    C_FIELDS,
    FIRST_BLOCK,
    format_a_length,
    plausible_manufacturer,
    strip_format_a,
    strip_format_b,
)
from .telegram import FORMAT
from .tpl import TPL_CIS

MAX_LINE = 1100  # 255-byte frame with CRCs = 580 hex digits, plus prefixes and RSSI
MAX_BUFFER = 4096
_HEX = frozenset(b"0123456789abcdefABCDEF")
_HEX_SEPARATORS = frozenset(b" \t_#")


@dataclass(frozen=True, slots=True)
class Received:
    """One frame from a receiver. ``crcs`` False: DLL CRCs already removed (or verified)."""

    frame: bytes
    rssi: int | None = None
    crcs: bool | None = None


type Item = Received | Rejected


def _reject(error: HanError, size: int) -> Rejected:
    return Rejected(FORMAT, error, size)


class Receiver:
    """Base class: a bounded buffer scanned by ``_scan``."""

    name: ClassVar[str] = "base"
    #: Serial settings the receiver expects (baud rate, 8N1).
    baudrate: ClassVar[int] = 0

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buf = bytearray()
        self.skipped_bytes = 0

    def reset(self) -> None:
        """Forget buffered bytes (after a reconnect)."""
        self._buf.clear()

    def setup_commands(self) -> list[bytes]:
        """Bytes to write, in order, to start T1 reception (none for passive sources)."""
        return []

    def feed(self, data: bytes, *, final: bool = False) -> list[Item]:
        """Add bytes; return the frames and rejections they complete."""
        self._buf += data
        out: list[Item] = []
        consumed = self._scan(bytes(self._buf), out, final=final)
        if consumed:
            del self._buf[:consumed]
        if final and self._buf:
            self.skipped_bytes += len(self._buf)
            self._buf.clear()
        if len(self._buf) > MAX_BUFFER:  # pragma: no cover - scanners never wait this long
            self.skipped_bytes += len(self._buf)
            self._buf.clear()
        return out

    def _scan(self, buf: bytes, out: list[Item], *, final: bool) -> int:
        raise NotImplementedError


class _LineReceiver(Receiver):
    """Text receivers: one frame per line; over-long lines are dropped up to their end."""

    def __init__(self) -> None:
        """Start with an empty buffer, not inside an over-long line."""
        super().__init__()
        self._skipping = False

    def reset(self) -> None:
        """Forget buffered bytes."""
        super().reset()
        self._skipping = False

    def feed(self, data: bytes, *, final: bool = False) -> list[Item]:
        """Add bytes; return the frames and rejections of the lines they complete."""
        out = super().feed(data, final=final)
        if final:
            self._skipping = False
        return out

    def _scan(self, buf: bytes, out: list[Item], *, final: bool) -> int:
        pos = 0
        while pos < len(buf):
            end = buf.find(b"\n", pos, pos + MAX_LINE + 1)
            if end < 0 and len(buf) - pos > MAX_LINE:
                if not self._skipping:
                    out.append(_reject(MalformedError("line too long"), MAX_LINE))
                    self._skipping = True
                end = buf.find(b"\n", pos)
                if end < 0:
                    self.skipped_bytes += len(buf) - pos
                    return len(buf)
            if end < 0:
                if final and not self._skipping:
                    self._line(buf[pos:].strip(), out)
                    return len(buf)
                return pos
            if self._skipping:
                self._skipping = False
            else:
                self._line(buf[pos:end].strip(), out)
            pos = end + 1
        return pos

    def _line(self, line: bytes, out: list[Item]) -> None:
        raise NotImplementedError


def _hex_frame(text: bytes) -> bytes | None:
    """Bytes of a hex line (separators allowed), None when it is not one."""
    if text[:2] in (b"0x", b"0X"):
        text = text[2:]
    digits = bytes(b for b in text if b not in _HEX_SEPARATORS)
    if not digits or any(b not in _HEX for b in digits) or len(digits) % 2:
        return None
    return bytes.fromhex(digits.decode("ascii"))


def _known_ci(ci: int) -> bool:
    return ci in TPL_CIS or ci in ELL_CIS or ci == AFL_CI or 0xA0 <= ci <= 0xB7


class RawReceiver(Receiver):
    """Binary frames back to back (with or without DLL CRCs), or hex text lines."""

    name = "raw"

    def _scan(self, buf: bytes, out: list[Item], *, final: bool) -> int:
        pos = 0
        while pos < len(buf):
            byte = buf[pos]
            # A hex text line starts a line: hex-looking garbage is not rescanned at every byte.
            at_line_start = pos == 0 or buf[pos - 1] in b"\r\n"
            if at_line_start and (byte in _HEX or buf[pos : pos + 2] in (b"0x", b"0X")):
                status, end = self._hex_line(buf, pos, out, final=final)
                if status == "more":
                    return pos
                if status == "done":
                    pos = end
                    continue
            if byte in b"\r\n \t":
                pos += 1
                continue
            if len(buf) - pos < 2:
                return pos if not final else len(buf)
            length, c_field = buf[pos], buf[pos + 1]
            if length < FIRST_BLOCK or c_field not in C_FIELDS:
                pos += 1
                self.skipped_bytes += 1
                continue
            if len(buf) - pos < FIRST_BLOCK + 2:
                if final:
                    out.append(
                        _reject(TruncatedError("stream ends inside a frame"), len(buf) - pos)
                    )
                    return len(buf)
                return pos
            if not plausible_manufacturer(int.from_bytes(buf[pos + 2 : pos + 4], "little")):
                pos += 1
                self.skipped_bytes += 1
                continue
            first = buf[pos : pos + FIRST_BLOCK]
            with_crcs = crc16_en13757(first) == int.from_bytes(
                buf[pos + FIRST_BLOCK : pos + FIRST_BLOCK + 2], "big"
            )
            if not with_crcs and not _known_ci(buf[pos + FIRST_BLOCK]):
                pos += 1
                self.skipped_bytes += 1
                continue
            size = format_a_length(length) if with_crcs else length + 1
            if len(buf) - pos < size:
                if final:
                    out.append(
                        _reject(TruncatedError("stream ends inside a frame"), len(buf) - pos)
                    )
                    return len(buf)
                return pos
            out.append(Received(buf[pos : pos + size], None, None))
            pos += size
        return pos

    def _hex_line(self, buf: bytes, pos: int, out: list[Item], *, final: bool) -> tuple[str, int]:
        """("done", end) for a hex line, ("more", pos) to wait, ("no", pos) if not hex."""
        end = pos + (2 if buf[pos : pos + 2] in (b"0x", b"0X") else 0)
        limit = min(len(buf), pos + MAX_LINE)
        while end < limit and (buf[end] in _HEX or buf[end] in _HEX_SEPARATORS):
            end += 1
        if end == len(buf) and not final:
            return ("more", pos) if end - pos < MAX_LINE else ("no", pos)
        if end < len(buf) and buf[end] not in b"\r\n":
            return "no", pos
        frame = _hex_frame(buf[pos:end])
        if frame is None or len(frame) < FIRST_BLOCK + 1:
            return "no", pos
        out.append(Received(frame, None, None))
        return "done", end


class RtlWmbusReceiver(_LineReceiver):
    """rtl_wmbus output: only lines whose CRC and 3-of-6 flags are both 1 become frames."""

    name = "rtlwmbus"

    def _line(self, line: bytes, out: list[Item]) -> None:
        fields = line.split(b";")
        if len(fields) < 8 or not fields[-1].lower().startswith(b"0x"):
            return  # not a telegram line (start-up text, blank line)
        frame = _hex_frame(fields[-1])
        if frame is None:
            out.append(_reject(MalformedError("rtl_wmbus line with bad hex"), len(line)))
            return
        if fields[1] != b"1" or fields[2] != b"1":
            out.append(_reject(ChecksumError("rtl_wmbus reports a failed CRC"), len(frame)))
            return
        try:
            rssi: int | None = int(fields[4])
        except ValueError:
            rssi = None
        out.append(Received(frame, rssi, crcs=False))


class CulReceiver(_LineReceiver):
    """culfw wM-Bus lines: ``b`` + hex (format A with CRCs) or ``bY`` + hex (format B)."""

    name = "cul"
    baudrate = 38400

    def setup_commands(self) -> list[bytes]:
        """T1 reception, then start the receiver reporting LQI and RSSI."""
        return [b"brt\r\n", b"X21\r\n"]

    def _line(self, line: bytes, out: list[Item]) -> None:
        if not line.startswith(b"b"):
            return  # TMODE, version and other replies
        format_b = line.startswith(b"bY")
        text = line[2:] if format_b else line[1:]
        if len(text) % 2:
            msg = "odd number of hex digits: the CUL firmware truncated a long telegram"
            out.append(_reject(TruncatedError(msg), len(text) // 2))
            return
        data = _hex_frame(text)
        if data is None or len(data) < FIRST_BLOCK + 2:
            out.append(_reject(MalformedError("CUL line with bad hex"), len(text) // 2))
            return
        expected = data[0] + 1 if format_b else format_a_length(data[0])
        rssi = None
        if len(data) == expected + 2:
            raw = data[-1] - 256 if data[-1] >= 128 else data[-1]
            rssi = int(raw / 2) - 74
            data = data[:-2]
        elif len(data) != expected:
            out.append(_reject(TruncatedError("CUL telegram shorter than its L-field"), len(data)))
            return
        try:
            plain = strip_format_b(data) if format_b else strip_format_a(data)
        except HanError as err:
            out.append(_reject(err, len(data)))
            return
        out.append(Received(plain, rssi, crcs=False))


def _imst_rssi(raw: int) -> int:
    """iM871A RSSI byte to dBm (wmbusmeters' linear fit of the Si1002 curve)."""
    if raw >= 230:
        return 0
    return int(-100 + 80.0 / 160.0 * (raw - 45))


def _imst_crc_ok(body: bytes, crc: bytes) -> bool:
    received = int.from_bytes(crc, "little")
    return received in (crc16_x25(body), crc_hqx(body, 0xFFFF) ^ 0xFFFF)


class _StickReceiver(Receiver):
    """A USB stick with a binary protocol: frames start at a sync byte; it has a link mode."""

    sync: ClassVar[int]

    def __init__(self, link_mode: str = "T1") -> None:
        """Receiver for ``link_mode`` (T1 for GAMA 350)."""
        super().__init__()
        self.link_mode = link_mode

    def _next_sync(self, buf: bytes, pos: int) -> int:
        """The next sync byte from ``pos`` (``len(buf)`` if none); skipped bytes are counted."""
        start = buf.find(self.sync, pos)
        if start < 0:
            start = len(buf)
        self.skipped_bytes += start - pos
        return start


class Im871aReceiver(_StickReceiver):
    """IMST iM871A / iM170A HCI: ``A5`` ctrl msg-id len payload [time(4)] [RSSI] [CRC16].

    C1+T1 reception needs firmware 1.4 or later.
    """

    name = "im871a"
    sync = 0xA5
    baudrate = 57600
    _VALID: ClassVar[dict[int, range]] = {
        1: range(0x01, 0x28),
        2: range(0x01, 0x06),
        3: range(0x01, 0x08),
        4: range(1, 3),
    }
    #: Link mode numbers of DEVMGMT SET_CONFIG.
    LINK_MODES: ClassVar[dict[str, int]] = {"S1": 0, "T1": 3, "C1": 6, "C1+T1": 10}

    def setup_commands(self) -> list[bytes]:
        """DEVMGMT SET_CONFIG: volatile, link mode, RSSI attached, no timestamp."""
        mode = self.LINK_MODES[self.link_mode]
        return [bytes((0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, mode, 0x30, 0x01, 0x00))]

    def _scan(self, buf: bytes, out: list[Item], *, final: bool) -> int:
        pos = 0
        while True:
            pos = self._next_sync(buf, pos)
            if pos == len(buf):
                return pos
            if len(buf) - pos < 4:
                return pos
            ctrl, msg_id, length = buf[pos + 1], buf[pos + 2], buf[pos + 3]
            flags, endpoint = ctrl >> 4, ctrl & 0x0F
            if flags & 1 or msg_id not in self._VALID.get(endpoint, ()):
                pos += 1
                self.skipped_bytes += 1
                continue
            size = 4 + length + (4 if flags & 2 else 0) + (1 if flags & 4 else 0)
            size += 2 if flags & 8 else 0
            if len(buf) - pos < size:
                if final:
                    out.append(_reject(TruncatedError("stream ends inside an HCI frame"), size))
                    return len(buf)
                return pos
            frame = buf[pos : pos + size]
            if flags & 8 and not _imst_crc_ok(frame[1:-2], frame[-2:]):
                out.append(_reject(ChecksumError("HCI CRC mismatch"), size))
                pos += 1
                continue
            pos += size
            if endpoint != 2 or msg_id != 3 or length < FIRST_BLOCK:
                continue  # command responses and other indications
            rssi = _imst_rssi(frame[4 + length + (4 if flags & 2 else 0)]) if flags & 4 else None
            payload = frame[4 : 4 + length]
            out.append(Received(bytes((length,)) + payload, rssi, crcs=False))


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


class Amb8465Receiver(_StickReceiver):
    """Amber AMB8465-M / AMB8665-M command mode: ``FF`` cmd len payload [RSSI] XOR-checksum.

    Received telegrams arrive as command 0x83 (data indication) with the frame from the
    C-field on and no CRCs. Whether the stick appends RSSI is a stored setting, so both
    layouts are tried (with RSSI first); the checksum decides.
    """

    name = "amb8465"
    sync = 0xFF
    baudrate = 9600
    #: CMD_SET_MODE_REQ mode numbers (the stick's "T2-other" mode receives T1 meters).
    LINK_MODES: ClassVar[dict[str, int]] = {"S1": 0x03, "T1": 0x08, "C1": 0x0E, "C1+T1": 0x09}

    def setup_commands(self) -> list[bytes]:
        """CMD_SET_MODE_REQ (volatile) for the link mode."""
        body = bytes((0xFF, 0x04, 0x01, self.LINK_MODES[self.link_mode]))
        return [body + bytes((_xor(body),))]

    def _scan(self, buf: bytes, out: list[Item], *, final: bool) -> int:
        pos = 0
        while True:
            pos = self._next_sync(buf, pos)
            if pos == len(buf):
                return pos
            if len(buf) - pos < 4:
                return pos
            cmd, length = buf[pos + 1], buf[pos + 2]
            sizes = (length + 5, length + 4) if cmd == 0x83 else (length + 4,)
            if len(buf) - pos < sizes[0]:
                if final:
                    out.append(_reject(TruncatedError("stream ends inside a command"), sizes[0]))
                    return len(buf)
                return pos
            size = next((s for s in sizes if _xor(buf[pos : pos + s]) == 0), None)
            if size is None:
                out.append(_reject(ChecksumError("Amber checksum mismatch"), sizes[0]))
                pos += 1
                continue
            frame = buf[pos : pos + size]
            pos += size
            if cmd != 0x83 or length < FIRST_BLOCK:
                continue  # command confirmations
            rssi = None
            if size == length + 5:
                raw = frame[-2]
                rssi = int((raw - 256 if raw >= 128 else raw) / 2) - 74
            out.append(Received(bytes((length,)) + frame[3 : 3 + length], rssi, crcs=False))


RECEIVERS: dict[str, type[Receiver]] = {
    "raw": RawReceiver,
    "rtlwmbus": RtlWmbusReceiver,
    "im871a": Im871aReceiver,
    "amb8465": Amb8465Receiver,
    "cul": CulReceiver,
}
#: The baud rate (8N1) of each receiver; None where the source sets its own (rtl_wmbus, a
#: raw capture). The one table of them: profiles and the integration's forms read it here.
BAUD_RATES: dict[str, int | None] = {
    name: receiver.baudrate or None for name, receiver in RECEIVERS.items()
}


def make_receiver(name: str) -> Receiver:
    """A fresh receiver adapter by profile name."""
    try:
        factory = RECEIVERS[name]
    except KeyError:
        msg = f"unknown receiver {name!r}; choose one of {', '.join(RECEIVERS)}"
        raise ValueError(msg) from None
    return factory()
