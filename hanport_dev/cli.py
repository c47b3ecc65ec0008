"""Command line for the protocol library: ``decode``, ``vectors``, ``simulate``.

Run through ``scripts/han``; it needs no Home Assistant. Keys given on the command line are
used, never printed. ``decode`` prints a table (name, value, unit as Home Assistant shows
them) or, with ``--json``, one JSON object per line; it exits 0 when something decoded, 1
when nothing did, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from han.decoder import Decoder
from han.keys import parse_key, parse_system_title
from han.model import HanError, Keys, Message, Rejected, Result
from han.profiles import PROFILES_BY_ID

from .diagnostics_file import (
    NotDiagnosticsError,
    decode as decode_frames,
    decoder_for,
    read_capture,
    readings_json,
    vectors,
)
from .table import render

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MAX_CAPTURE = 64 * 1024 * 1024
#: What a hex dump may hold besides hex digits: white space, 0x prefixes, separators.
_HEX_NOISE = re.compile(rb"0[xX]|[\s:,\-]")
_HEX_DIGITS = re.compile(rb"^[0-9a-fA-F]*$")


class InputError(ValueError):
    """Input the command cannot use (one line for the user, exit status 2)."""


def _keys(ek: str | None, ak: str | None, system_title: str | None) -> Keys:
    return Keys(
        ek=parse_key(ek) if ek else None,
        ak=parse_key(ak) if ak else None,
        system_title=parse_system_title(system_title) if system_title else None,
    )


def message_json(message: Message) -> dict[str, Any]:
    """One decoded message as a JSON-ready dict."""
    meter = message.meter
    return {
        "format": message.format,
        "meter": {
            "id": meter.meter_id,
            "manufacturer": meter.manufacturer,
            "model": meter.model,
            "list_id": meter.list_id,
            "system_title": meter.system_title,
        },
        "timestamp": message.timestamp.isoformat() if message.timestamp else None,
        "notes": message.notes,
        "readings": readings_json(message),
    }


def rejected_json(rejected: Rejected) -> dict[str, Any]:
    """One rejected frame as a JSON-ready dict (no payload bytes)."""
    return {
        "rejected": rejected.format,
        "error": str(rejected.code),
        "detail": str(rejected.error),
        "size": rejected.size,
    }


def _print_results(results: Iterable[Result], out: TextIO, *, as_json: bool) -> int:
    """Print results; return how many messages decoded."""
    results = list(results)
    decoded = sum(isinstance(result, Message) for result in results)
    if as_json:
        for result in results:
            if isinstance(result, Message):
                out.write(json.dumps(message_json(result), ensure_ascii=False) + "\n")
            else:
                out.write(json.dumps(rejected_json(result)) + "\n")
    else:
        out.write(render(results))
    out.flush()
    return decoded


def _hex_bytes(data: bytes) -> bytes | None:
    """The bytes ``data`` spells in hex (white space, ``0x``, separators ignored), or None."""
    compact = _HEX_NOISE.sub(b"", data)
    if not compact or len(compact) % 2 or not _HEX_DIGITS.match(compact):
        return None
    return bytes.fromhex(compact.decode("ascii"))


def parse_hex(text: str) -> bytes:
    """Bytes from hex digits, ignoring white space, ``0x`` prefixes, ``:``, ``-`` and ``,``."""
    found = _hex_bytes(text.encode("ascii", "replace"))
    if found is None:
        msg = "not hexadecimal bytes (pairs of 0-9, A-F)"
        raise InputError(msg)
    return found


def capture_bytes(raw: bytes) -> bytes:
    """A capture file's bytes: a hex dump is turned into bytes, a text telegram kept as is.

    A telegram saved with bare line feeds (copied from a web page or an editor) gets its
    CR LF back: the P1 CRC covers them.
    """
    found = _hex_bytes(raw)
    if found is not None:
        return found
    if raw.lstrip().startswith(b"/") and b"\n" in raw and b"\r\n" not in raw:
        return raw.replace(b"\n", b"\r\n")
    return raw


def _wmbus_decoder(args: argparse.Namespace) -> Any:
    from han.wmbus import WmbusDecoder  # noqa: PLC0415 - only wireless users pay for it

    keys: dict[str, bytes] = {}
    if args.meter_id and args.ek:
        keys[args.meter_id] = parse_key(args.ek)
    meter_ids = {args.meter_id} if args.meter_id else None
    return WmbusDecoder(keys, meter_ids=meter_ids, receiver=args.receiver)


def _decoder(args: argparse.Namespace) -> Any:
    if args.receiver:
        return _wmbus_decoder(args)
    return decoder_for(_keys(args.ek, args.ak, args.system_title), args.profile, args.country)


async def _read_port(args: argparse.Namespace, decoder: Any, out: TextIO) -> None:
    import serialx  # noqa: PLC0415 - only needed for live ports

    reader, writer = await serialx.open_serial_connection(
        url=args.port, baudrate=args.baud, parity=args.parity
    )
    try:
        seen = 0
        while args.count is None or seen < args.count:
            chunk = await reader.read(4096)
            if not chunk:
                break
            results = decoder.feed(chunk)
            seen += len(results)
            _print_results(results, out, as_json=args.json)
    finally:
        writer.close()


def _read_file(args: argparse.Namespace) -> bytes:
    try:
        return Path(args.file).read_bytes()[:MAX_CAPTURE]
    except OSError as err:
        msg = f"--file: {err.strerror or err}: {args.file}"
        raise InputError(msg) from None


def _input(args: argparse.Namespace, raw: bytes) -> bytes:
    if args.hex is not None:
        try:
            return parse_hex(args.hex)
        except InputError as err:
            msg = f"--hex: {err}"
            raise InputError(msg) from None
    return capture_bytes(raw)


def cmd_decode(args: argparse.Namespace, out: TextIO) -> int:
    """Decode a hex string, a capture file (binary, hex dump, text, diagnostics) or a port."""
    if args.port:
        asyncio.run(_read_port(args, _decoder(args), out))
        return 0
    raw = _read_file(args) if args.file is not None else b""
    if not args.receiver:
        try:
            capture = read_capture(raw)
        except NotDiagnosticsError as err:
            msg = f"--file: {err}"
            raise InputError(msg) from None
        if capture is not None:
            return _decode_diagnostics(args, capture, out)
    if args.vector:
        msg = "--vector needs a diagnostics file (--file)"
        raise InputError(msg)
    decoder = _decoder(args)
    data = _input(args, raw)
    results = decoder.feed(data, final=True) if args.receiver else decoder.decode_capture(data)
    if _print_results(results, out, as_json=args.json):
        return 0
    return _nothing_decoded(results, len(data), f"{len(data)} bytes", out, as_json=args.json)


def _nothing_decoded(
    results: Sequence[Result], size: int, source: str, out: TextIO, *, as_json: bool
) -> int:
    """Say that nothing decoded (with --json: only when not even a frame was refused); 1."""
    if as_json:
        if not results:
            out.write(json.dumps({"rejected": None, "error": "no_frame", "size": size}) + "\n")
    else:
        out.write(f"Nothing decoded from {source}.\n")
    return 1


def _decode_diagnostics(args: argparse.Namespace, capture: Any, out: TextIO) -> int:
    """A diagnostics file's capture: its frames in order, with the entry's profile."""
    keys = _keys(args.ek, args.ak, args.system_title)
    decoder = decoder_for(keys, args.profile or capture.profile, args.country)
    if args.vector:
        written = 0
        for vector in vectors(capture, decoder, args.vector, decoder.country):
            out.write(json.dumps(vector, ensure_ascii=False) + "\n")
            written += 1
        return 0 if written else 1
    results = [
        result for _data, _kind, found in decode_frames(capture, decoder) for result in found
    ]
    if _print_results(results, out, as_json=args.json):
        return 0
    size = sum(len(data) for _, data in capture.frames)
    source = f"the capture ({size} bytes)"
    return _nothing_decoded(results, size, source, out, as_json=args.json)


def vector_result(vector: dict[str, Any]) -> dict[str, Any]:
    """Decode one vector as its country's user would, in the scorer's output schema."""
    keys = vector.get("keys") or {}
    if vector.get("telegram") is not None:
        data = vector["telegram"].encode("latin-1")
    else:
        data = bytes.fromhex(vector.get("bytes_hex") or "")
    try:
        if vector.get("transport") == "wmbus":
            from han.wmbus import decode_vector_bytes  # noqa: PLC0415

            ek = keys.get("ek")
            results: list[Result] = [
                decode_vector_bytes(data, parse_key(ek) if ek else None, vector.get("meter_id"))
            ]
        else:
            decoder = Decoder(
                _keys(keys.get("ek"), keys.get("ak"), keys.get("system_title")),
                country=vector.get("country"),
            )
            results = decoder.decode_capture(data)
    except HanError as err:
        return {"id": vector["id"], "readings": {}, "error": str(err.code)}
    except ValueError:  # a wM-Bus meter_id that is not 8 digits: this vector's error only
        return {"id": vector["id"], "readings": {}, "error": "malformed"}
    readings: dict[str, dict[str, Any]] = {}
    errors = [r for r in results if isinstance(r, Rejected)]
    messages = [r for r in results if isinstance(r, Message)]
    for message in messages:
        readings.update(readings_json(message))
    if messages:
        error = None
    elif errors:
        error = str(errors[0].code)
    else:
        error = "no_frame"
    return {"id": vector["id"], "readings": readings, "error": error}


def cmd_vectors(args: argparse.Namespace, out: TextIO) -> int:
    """Decode every vector of the given JSONL files."""
    for name in args.files:
        with Path(name).open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    result = vector_result(json.loads(line))
                    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def cmd_simulate(argv: Sequence[str]) -> int:
    """Run the simulated meter (see ``simulator``)."""
    from .simulator import main as simulate  # noqa: PLC0415

    return simulate(["simulate", *argv])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(prog="han", description="HAN Port protocol library")
    sub = parser.add_subparsers(dest="command", required=True)

    decode = sub.add_parser("decode", help="decode a capture, a hex string or a live port")
    source = decode.add_mutually_exclusive_group(required=True)
    source.add_argument("--hex", help="bytes as hex")
    source.add_argument(
        "--file",
        help=(
            "a capture: binary, a hex dump, a text telegram (P1), or HAN Port's diagnostics "
            "(JSON: its captured frames, decoded with its profile)"
        ),
    )
    source.add_argument("--port", help="serial port or URL (socket://host:port)")
    decode.add_argument("--baud", type=int, default=115200)
    decode.add_argument("--parity", choices=("N", "E"), default="N")
    decode.add_argument("--count", type=int, help="stop after N results (with --port)")
    decode.add_argument("--country", help="the user's country (ISO code), e.g. NO, SE, PL")
    decode.add_argument(
        "--profile",
        choices=sorted(PROFILES_BY_ID),
        help="a meter profile (its country and formats); a diagnostics file names its own",
    )
    decode.add_argument(
        "--vector",
        metavar="ID",
        help="with a diagnostics file: print one test vector (JSONL) per decoded message",
    )
    decode.add_argument("--ek", help="encryption key (32 hex characters)")
    decode.add_argument("--ak", help="authentication key (32 hex characters)")
    decode.add_argument("--system-title", help="system title override (16 hex characters)")
    decode.add_argument(
        "--receiver",
        choices=("raw", "rtlwmbus", "im871a", "amb8465", "cul"),
        help="decode Wireless M-Bus as received by this receiver",
    )
    decode.add_argument("--meter-id", help="Wireless M-Bus meter id (8 digits)")
    decode.add_argument(
        "--json", action="store_true", help="one JSON object per message or rejected frame"
    )

    vectors = sub.add_parser("vectors", help="decode test vectors (JSONL) for the scorer")
    vectors.add_argument("files", nargs="+")
    sub.add_parser("simulate", help="run a simulated meter (see: simulate --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    if argv[:1] == ["simulate"]:
        return cmd_simulate(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "decode":
            return cmd_decode(args, out)
        return cmd_vectors(args, out)
    except (HanError, InputError) as err:
        sys.stderr.write(f"han: {err}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
