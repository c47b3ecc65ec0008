"""``scripts/han simulate``: a simulated meter over TCP, a pseudo-terminal or stdout."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .faults import Faults
from .meter import SIMULATED_PROFILES, MeterSimulator
from .serve import PtyMeter, Sink, StreamMeter, TcpMeterServer, run


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
            f"simulating {profile.name} [{meter.name}]: {meter.format} frames, "
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
