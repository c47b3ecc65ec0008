"""The simulated meter: valid, changing frames per profile; faults; TCP and PTY outputs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import sys

import pytest

from han.crc import crc16_arc, crc16_x25
from han.crypto import gcm_open
from han.model import Keys, Message, Security
from hanport_dev.simulator import (
    DEMO_AK,
    DEMO_EK,
    LU_AK,
    SIMULATED_PROFILES,
    Faults,
    MeterSimulator,
    PtyMeter,
    StreamMeter,
    TcpMeterServer,
    apply_faults,
    build_hdlc,
    main,
    parse_hdlc,
    run,
)

try:
    from han.decoder import Decoder
except ImportError:  # pragma: no cover - the decoder is part of the tree
    Decoder = None  # type: ignore[assignment,misc]

P1_PROFILES = ("nl_dsmr", "be_fluvius", "se_p1")
#: The meter id each profile's real template carries (None: the meter sends none).
METER_IDS = {
    "auto": "K8EG004046395507",
    "nl_dsmr": "K8EG004046395507",
    "be_fluvius": "1SAG3101021605",
    "se_p1": None,
    "ee_elektrilevi": None,
    "ee_elektrilevi_dlms": "63326413",
    "lu_smarty": "SAG1030700012701",
    "pl_stoen_p1": "30057775",
    "no_aidon": "7359992895913195",
    "no_kaifa": "6970631404129954",
    "no_kamstrup": "5706567275940841",
    "dk_kamstrup": None,
    "at_mbus": "181220000009",
}
ENERGY = re.compile(rb"^1-0:1\.8\.([0-2])\((\d+\.\d+)\*kWh\)", re.MULTILINE)


def frames(profile: str, n: int, seed: int = 7) -> tuple[MeterSimulator, list[bytes]]:
    sim = MeterSimulator(profile, seed=seed, start=1_750_000_000.0)
    return sim, [sim.next_frame() for _ in range(n)]


def p1_crc_ok(telegram: bytes) -> bool:
    bang = telegram.rfind(b"!")
    if bang < 0:
        return False
    return telegram[bang + 1 : bang + 5] == f"{crc16_arc(telegram[: bang + 1]):04X}".encode()


# ---------------------------------------------------------------------------- P1 text


@pytest.mark.parametrize("profile", P1_PROFILES)
def test_p1_frames_verify_and_values_move(profile: str) -> None:
    _, out = frames(profile, 40)
    for telegram in out:
        assert telegram.startswith(b"/")
        assert telegram.endswith(b"\r\n")
        assert p1_crc_ok(telegram)
    assert len(set(out)) == len(out)  # every telegram differs (values, clock)
    powers = {re.search(rb"1-0:1\.7\.0\(([\d.]+)\*kW\)", t).group(1) for t in out}
    assert len(powers) > 10
    voltages = [float(v) for t in out for v in re.findall(rb"1-0:[357]2\.7\.0\((\d+\.\d+)\*V\)", t)]
    assert voltages
    assert all(220 <= v <= 240 for v in voltages)


def test_p1_energy_never_decreases() -> None:
    _, out = frames("nl_dsmr", 300)
    previous: dict[bytes, float] = {}
    for telegram in out:
        for tariff, value in ENERGY.findall(telegram):
            assert float(value) >= previous.get(tariff, 0.0)
            previous[tariff] = float(value)
    first = dict(ENERGY.findall(out[0]))
    assert any(float(previous[t]) > float(first[t]) for t in first)


def test_p1_keeps_field_widths() -> None:
    _, (telegram,) = frames("nl_dsmr", 1)
    assert re.search(rb"\r\n1-0:1\.8\.1\(\d{6}\.\d{3}\*kWh\)\r\n", telegram)
    assert re.search(rb"\r\n1-0:32\.7\.0\(\d{4}\.\d\*V\)\r\n", telegram)
    assert re.search(rb"\r\n0-0:1\.0\.0\(\d{12}[SW]\)\r\n", telegram)


# ------------------------------------------------------------------------ encrypted P1


def test_lu_frames_decrypt_with_demo_key_and_public_ak() -> None:
    sim, out = frames("lu_smarty", 3)
    assert sim.keys.ek == DEMO_EK
    counters = []
    for frame in out:
        assert frame[:2] == b"\xdb\x08"
        system_title = frame[2:10]
        assert frame[10] == 0x82
        length = int.from_bytes(frame[11:13])
        assert len(frame) == 13 + length
        assert frame[13] == 0x30
        fc = frame[14:18]
        counters.append(int.from_bytes(fc))
        plain = gcm_open(0x30, system_title, fc, frame[18:], DEMO_EK, LU_AK)
        assert plain.startswith(b"/Lux5")
        assert p1_crc_ok(plain)
    assert counters == sorted(counters)
    assert len(set(counters)) == 3


def test_stoen_envelope_decrypts_with_demo_keys() -> None:
    sim, out = frames("pl_stoen_p1", 2)
    assert (sim.keys.ek, sim.keys.ak) == (DEMO_EK, DEMO_AK)
    for frame in out:
        head, _, rest = frame.partition(b"\r\n\r\n")
        assert head == b"/KFM5KAIFA-METER"
        assert rest[:2] == b"\x00\x82"
        length = int.from_bytes(rest[2:4])
        secured = rest[4 : 4 + length]
        assert secured[0] == 0x30
        footer = rest[4 + length :]
        assert re.fullmatch(rb"![0-9A-F]{4}\r\n", footer)
        # The frame counter is 0, as on every real Stoen meter.
        assert secured[1:5] == bytes(4)
        plain = gcm_open(0x30, bytes(8), secured[1:5], secured[5:], DEMO_EK, DEMO_AK)
        # The ciphertext holds the data lines only: no ident line, no footer.
        assert plain.startswith(b"0-0:1.0.0(")
        assert plain.endswith(b")\r\n")
        assert b"/" not in plain
        assert b"!" not in plain
        lines = plain.decode("ascii").split("\r\n")[:-1]
        assert all(re.fullmatch(r"\d-\d:[\d.]+\(.*\)", line) for line in lines)
        assert len(lines) == 27
    # The decoder reads it: model from the clear ident line, values from the data lines.
    decoder = Decoder(Keys(ek=DEMO_EK, ak=DEMO_AK), country="PL")
    messages = [r for frame in out for r in decoder.feed(frame)]
    assert all(isinstance(m, Message) for m in messages)
    assert len(messages) == 2
    first = messages[0]
    assert isinstance(first, Message)
    assert (first.meter.manufacturer, first.meter.model) == ("KFM", "KAIFA-METER")
    assert first.meter.meter_id == sim.meter_id == "30057775"
    assert first.security == Security(None, 0, authenticated=True)


# -------------------------------------------------------------------------------- DLMS


@pytest.mark.parametrize("profile", ["no_aidon", "no_kaifa", "no_kamstrup", "dk_kamstrup"])
def test_hdlc_frames_have_valid_checksums_and_change(profile: str) -> None:
    _, out = frames(profile, 12)
    infos = []
    for frame in out:
        addresses, control, info, _ = parse_hdlc(frame)  # raises on a bad HCS/FCS
        assert build_hdlc(addresses, control, info) == frame
        assert info[:3] == b"\xe6\xe7\x00"
        infos.append(info)
    assert len(set(infos)) == len(infos)


def test_parse_hdlc_refuses_what_is_not_one_valid_frame() -> None:
    _, (frame,) = frames("no_kamstrup", 1)
    bad_fcs = frame[:-3] + bytes((frame[-3] ^ 1,)) + frame[-2:]
    for data in (bad_fcs, frame + b"\x00", frame[:-1], b"\x7e\x7e"):
        with pytest.raises(ValueError, match="not one valid HDLC frame"):
            parse_hdlc(data)


def test_hdlc_long_list_comes_first_and_every_tenth_frame() -> None:
    _, out = frames("no_aidon", 11)
    sizes = [len(f) for f in out]
    assert sizes[0] == sizes[10] > sizes[1] == sizes[5]


def test_dk_frames_decrypt_with_demo_keys() -> None:
    _, out = frames("dk_kamstrup", 2)
    for frame in out:
        info = parse_hdlc(frame)[2]
        assert info[3:5] == b"\xdb\x08"
        system_title = info[5:13]
        assert info[13] == 0x82
        length = int.from_bytes(info[14:16])
        secured = info[16 : 16 + length]
        assert secured[0] == 0x30
        plain = gcm_open(0x30, system_title, secured[1:5], secured[5:], DEMO_EK, DEMO_AK)
        assert plain[:1] == b"\x0f"
        assert b"Kamstrup_V0001" in plain


def test_at_mbus_frames_decrypt_with_demo_key() -> None:
    sim, out = frames("at_mbus", 2)
    assert sim.keys.ak is None
    for frame in out:
        payload = bytearray()
        pos = 0
        while pos < len(frame):
            assert frame[pos] == frame[pos + 3] == 0x68
            length = frame[pos + 1]
            user = frame[pos + 4 : pos + 4 + length]
            assert frame[pos + 4 + length] == sum(user) & 0xFF
            assert frame[pos + 5 + length] == 0x16
            payload += user[5:]
            pos += length + 6
        assert payload[:2] == b"\xdb\x08"
        sc, fc = payload[12], bytes(payload[13:17])
        assert sc == 0x20
        plain = gcm_open(sc, bytes(payload[2:10]), fc, bytes(payload[17:]), DEMO_EK, None)
        assert plain[:1] == b"\x0f"


# ----------------------------------------------------------------------- the decoder


@pytest.mark.skipif(Decoder is None, reason="han.decoder not importable")
@pytest.mark.parametrize("profile", SIMULATED_PROFILES)
def test_decoder_decodes_every_profile(profile: str) -> None:
    sim, out = frames(profile, 12)
    decoder = Decoder(Keys(sim.keys.ek, sim.keys.ak), country=sim.profile.country)
    results = [r for frame in out for r in decoder.feed(frame)]
    messages = [r for r in results if isinstance(r, Message)]
    assert len(messages) == len(results) == 12
    last = messages[-1]
    power = next(r for k, r in last.readings.items() if k.endswith(":1.7.0"))
    assert power.unit == "W"
    assert power.value > 0
    assert last.meter.meter_id == sim.meter_id == METER_IDS[profile]
    energy = [
        [m.readings[k].value for m in messages if k in m.readings]
        for k in last.readings
        if re.search(r":1\.8\.[0-2]$", k)
    ]
    for series in energy:
        assert series == sorted(series)


@pytest.mark.skipif(Decoder is None, reason="han.decoder not importable")
def test_decoder_rejects_corrupted_frames() -> None:
    sim, out = frames("nl_dsmr", 20)
    rng_faults = Faults(bitflip=1.0)
    rng = random.Random(3)
    decoder = Decoder(country="NL")
    corrupted = [apply_faults(f, rng_faults, rng) for f in out]
    messages = [r for f in corrupted for r in decoder.feed(f) if isinstance(r, Message)]
    # A flip in the trailing CR LF leaves a telegram intact; everywhere else it is caught.
    assert len(messages) <= 2
    del sim


# --------------------------------------------------------------------------------- faults


def test_bitflip_flips_exactly_one_bit() -> None:
    _, (frame,) = frames("nl_dsmr", 1)
    out = apply_faults(frame, Faults(bitflip=1.0), random.Random(1))
    assert len(out) == len(frame)
    diff = [a ^ b for a, b in zip(frame, out, strict=True) if a != b]
    assert len(diff) == 1
    assert diff[0].bit_count() == 1
    assert not p1_crc_ok(out) or out[-2:] != frame[-2:]


def test_truncate_cuts_and_zero_probability_is_clean() -> None:
    _, (frame,) = frames("no_kamstrup", 1)
    rng = random.Random(2)
    cut = apply_faults(frame, Faults(truncate=1.0), rng)
    assert 1 <= len(cut) < len(frame)
    assert frame.startswith(cut)
    assert apply_faults(frame, Faults(bitflip=0.0, truncate=0.0), rng) == frame


async def test_silence_pauses_the_stream() -> None:
    sim = MeterSimulator("nl_dsmr", seed=1)
    times: list[float] = []
    loop = asyncio.get_running_loop()

    class Clock(StreamMeter):
        async def send(self, data: bytes) -> None:
            del data
            times.append(loop.time())

    faults = Faults(silence_every=2, silence_for=0.2)
    assert await run(sim, Clock(), interval=0.01, faults=faults, count=3) == 3
    assert times[2] - times[1] >= 0.19
    assert times[1] - times[0] < 0.15


# --------------------------------------------------------------------------------- outputs


async def test_tcp_server_delivers_frames(socket_enabled: None) -> None:
    server = TcpMeterServer("127.0.0.1", 0)
    host, port = await server.start()
    sim = MeterSimulator("nl_dsmr", seed=1)
    task = asyncio.create_task(run(sim, server, interval=0.01, count=3))
    try:
        reader, writer = await asyncio.open_connection(host, port)
        data = b""
        while data.count(b"!") < 3:
            chunk = await asyncio.wait_for(reader.read(65536), 2)
            assert chunk
            data += chunk
        assert await asyncio.wait_for(task, 2) == 3
        telegrams = [b"/ISk5" + t for t in data.split(b"/ISk5")[1:]]
        assert len(telegrams) == 3
        assert all(p1_crc_ok(t) for t in telegrams)
        writer.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.aclose()


async def test_tcp_disconnect_fault_closes_the_client(socket_enabled: None) -> None:
    server = TcpMeterServer("127.0.0.1", 0)
    host, port = await server.start()
    sim = MeterSimulator("no_kaifa", seed=1)
    task = asyncio.create_task(
        run(sim, server, interval=0.01, faults=Faults(disconnect_every=2), count=4)
    )
    try:
        reader, writer = await asyncio.open_connection(host, port)
        data = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 2):
            data += chunk
        # Two frames arrived, then the meter hung up.
        assert data.count(b"\x7e\xa0") == 2
        writer.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.aclose()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
async def test_pty_frames_are_readable_from_the_slave() -> None:
    meter = PtyMeter()
    try:
        fd = os.open(meter.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            sim = MeterSimulator("dk_kamstrup", seed=1)
            await run(sim, meter, interval=0.01, count=2)
            data = b""
            for _ in range(50):
                with contextlib.suppress(BlockingIOError):
                    data += os.read(fd, 65536)
                if len(data) >= 2 * 491:  # two 491-byte frames
                    break
                await asyncio.sleep(0.01)
        finally:
            os.close(fd)
    finally:
        await meter.aclose()
    size = (((data[1] & 0x07) << 8) | data[2]) + 2
    first = data[:size]
    addresses, _, info, _ = parse_hdlc(first)
    assert addresses == b"\x41\x03"
    assert int.from_bytes(first[-3:-1], "little") == crc16_x25(first[1:-3])
    assert len(data) == 2 * len(first)
    del info


# ------------------------------------------------------------------------------ command line


def test_main_writes_frames_to_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["simulate", "--profile", "se_p1", "--count", "2", "--interval", "0.01"]) == 0
    out, err = capfdbinary.readouterr()
    assert out.count(b"/LGF5E360") == 2
    assert b"simulating" in err


def test_main_prints_demo_keys_for_encrypted_profiles(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert main(["--profile", "pl_stoen_p1", "--count", "1", "--interval", "0"]) == 0
    _, err = capfdbinary.readouterr()
    assert DEMO_EK.hex().upper().encode() in err
    assert DEMO_AK.hex().upper().encode() in err


def test_unknown_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        MeterSimulator("xx")
    with pytest.raises(ValueError, match="no simulated meter"):
        MeterSimulator("wmbus_oms")
    with pytest.raises(SystemExit):
        main(["--profile", "nl_dsmr", "--tcp", "nonsense"])
