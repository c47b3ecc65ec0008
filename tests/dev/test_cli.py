"""The library's command line: decode and vectors, on real fixture frames."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
import threading

import pytest

from han.wmbus.receivers import RECEIVERS
from hanport_dev.cli import build_parser, vector_result
from tests.common import FIXTURES, Pty, run_cli, vector as _vector


def _run(argv: list[str]) -> tuple[int, list[dict]]:
    """Run with --json (decode) and parse the output lines."""
    if argv[0] == "decode":
        argv = [*argv, "--json"]
    status, text = run_cli(argv)
    return status, [json.loads(line) for line in text.splitlines()]


def test_receiver_choices_are_the_library_receivers() -> None:
    """``--receiver`` lists its choices by hand (the wM-Bus code is imported only when used)."""
    decode = build_parser()._subparsers._group_actions[0].choices["decode"]
    (receiver,) = [a for a in decode._actions if a.dest == "receiver"]
    assert list(receiver.choices) == list(RECEIVERS)


def test_decode_hex_prints_readings() -> None:
    vector = _vector("nordic.jsonl", "amshan-aidon-no-list-1")
    status, lines = _run(["decode", "--hex", vector["bytes_hex"], "--country", "NO"])
    assert status == 0
    assert lines[0]["readings"]["1-0:1.7.0"] == {"value": 280, "unit": "W"}


def test_decode_file_and_rejections(tmp_path: Path) -> None:
    telegram = _vector("dsmr.jsonl", "dp_v5")["telegram"].encode()
    broken = bytearray(telegram)
    broken[40] ^= 0x01
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"noise" + telegram + bytes(broken))
    status, lines = _run(["decode", "--file", str(capture)])
    assert status == 0
    assert lines[0]["format"] == "p1"
    assert lines[0]["readings"]["1-0:1.8.1"]["unit"] == "Wh"
    assert lines[1]["rejected"] == "p1"
    assert lines[1]["error"] == "checksum"


def test_decode_nothing_found() -> None:
    status, lines = _run(["decode", "--hex", "00112233"])
    assert status == 1
    assert lines == [{"rejected": None, "error": "no_frame", "size": 4}]


def test_bad_key_is_reported_without_echo(capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = _run(["decode", "--hex", "00", "--ek", "not-a-key"])
    assert status == 2
    assert "not-a-key" not in capsys.readouterr().err


def test_encrypted_vector_with_keys() -> None:
    vector = _vector("dlms.jsonl", "dk-kamstrup-omnipower-hdlc-sc30")
    keys = vector["keys"]
    status, lines = _run(
        ["decode", "--hex", vector["bytes_hex"], "--ek", keys["ek"], "--ak", keys["ak"]]
    )
    assert status == 0
    assert "1-1:1.7.0" in lines[0]["readings"]
    assert keys["ek"] not in json.dumps(lines)


def test_vectors_command(tmp_path: Path) -> None:
    subset = tmp_path / "subset.jsonl"
    wanted = {"dp_v5", "dp_v5_badcrc", "amshan-aidon-no-list-1"}
    lines = [
        line
        for name in ("dsmr.jsonl", "nordic.jsonl")
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()
        if json.loads(line)["id"] in wanted
    ]
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, results = _run(["vectors", str(subset)])
    assert status == 0
    by_id = {r["id"]: r for r in results}
    assert by_id["dp_v5"]["error"] is None
    assert by_id["amshan-aidon-no-list-1"]["readings"]["1-0:1.7.0"]["value"] == 280
    bad = [r for r in results if r["id"] not in {"dp_v5", "amshan-aidon-no-list-1"}]
    assert all(r["error"] for r in bad)


def test_wmbus_vector_result() -> None:
    for line in (FIXTURES / "wmbus.jsonl").read_text(encoding="utf-8").splitlines():
        vector = json.loads(line)
        if vector["expected"] and vector.get("keys") and vector["country"] == "PL":
            result = vector_result(vector)
            assert result["error"] is None
            assert result["readings"]
            break
    else:  # pragma: no cover - the fixture holds GAMA 350 frames
        pytest.fail("no keyed Polish wM-Bus vector")


def test_bad_key_in_vector_is_an_error() -> None:
    vector = dict(_vector("dlms.jsonl", "dk-kamstrup-omnipower-hdlc-sc30"))
    vector["keys"] = {"ek": "zz", "ak": None}
    assert vector_result(vector)["error"] == "malformed"


# ---------------------------------------------------------------------- the readable table


def _row(text: str, name: str) -> list[str]:
    """The cells of the table row whose name is ``name``."""
    for line in text.splitlines():
        if line.startswith(f"  {name}  "):
            return line.split()
    raise AssertionError(name)


def test_table_is_the_default(tmp_path: Path) -> None:
    telegram = _vector("dsmr.jsonl", "dp_v5")["telegram"]
    capture = tmp_path / "telegram.txt"
    # Saved with bare line feeds, as an editor or a web page gives it: still decodes.
    capture.write_bytes(telegram.replace("\r\n", "\n").encode())
    status, text = run_cli(["decode", "--file", str(capture)])
    assert status == 0
    lines = text.splitlines()
    assert lines[0].startswith("Message 1: p1 · ISk MT382-1000 · meter K8EG004046395507")
    assert lines[1].split() == ["Name", "Value", "Unit", "OBIS"]
    # Energy in kWh as Home Assistant shows it; W, V, A as they are.
    assert _row(text, "Energy import tariff 1")[-3:] == ["4.426", "kWh", "1-0:1.8.1"]
    assert _row(text, "Active power import")[-3:] == ["244", "W", "1-0:1.7.0"]
    assert _row(text, "L1 voltage")[-3:] == ["230.0", "V", "1-0:32.7.0"]
    # Hex-encoded ids decoded; the sub-meter named by its medium.
    assert _row(text, "Equipment id")[-2:] == ["K8EG004046395507", "0-0:96.1.1"]
    assert _row(text, "Gas meter id")[-2:] == ["2222ABCD123456789", "0-1:96.1.0"]
    assert _row(text, "Gas meter reading")[-3:] == ["0.107", "m³", "0-1:24.2.1"]


def test_profile_log_rows() -> None:
    telegram = _vector("dsmr.jsonl", "dp_v4_2")["telegram"]
    status, text = run_cli(["decode", "--hex", telegram.encode().hex()])
    assert status == 0
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Power failure log" in line)
    assert "3 entries" in lines[start]
    assert lines[start + 1].split() == ["#1", "2000-01-04T17:03:20+00:00", "237126", "s"]
    assert lines[start + 3].split()[0] == "#3"


def test_hex_dump_file(tmp_path: Path) -> None:
    frame = bytes.fromhex(_vector("nordic.jsonl", "amshan-aidon-no-list-1")["bytes_hex"])
    dump = tmp_path / "dump.txt"
    dump.write_text(
        "\n".join(
            " ".join(f"0x{b:02X}" for b in frame[i : i + 16]) for i in range(0, len(frame), 16)
        )
        + "\n"
    )
    status, text = run_cli(["decode", "--file", str(dump), "--country", "NO"])
    assert status == 0
    assert _row(text, "Active power import")[-3:] == ["280", "W", "1-0:1.7.0"]


def test_bad_hex_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, text = run_cli(["decode", "--hex", "zz"])
    assert status == 2
    assert text == ""
    err = capsys.readouterr().err
    assert err == "han: --hex: not hexadecimal bytes (pairs of 0-9, A-F)\n"


def test_missing_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_cli(["decode", "--file", str(tmp_path / "none.bin")])
    assert status == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_nothing_decoded_is_exit_1() -> None:
    status, text = run_cli(["decode", "--hex", "00112233"])
    assert status == 1
    assert text == "Nothing decoded from 4 bytes.\n"
    telegram = _vector("dsmr.jsonl", "dp_v5")["telegram"].encode()
    broken = bytearray(telegram)
    broken[40] ^= 0x01
    status, text = run_cli(["decode", "--hex", bytes(broken).hex()])
    assert status == 1
    assert text.startswith("Rejected p1 frame (")
    assert text.splitlines()[-1] == f"Nothing decoded from {len(broken)} bytes."


def test_live_port_prints_a_table(pty: Pty) -> None:
    telegram = _vector("dsmr.jsonl", "dp_v5")["telegram"].encode()
    # Opening the port flushes what is waiting: keep pushing, as a meter does.
    stop = threading.Event()

    def push() -> None:
        while not stop.wait(0.05):
            with contextlib.suppress(OSError):
                os.write(pty.master, telegram)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        status, text = run_cli(["decode", "--port", pty.path, "--count", "1"])
    finally:
        stop.set()
        pusher.join()
    assert status == 0
    assert _row(text, "Active power import")[-3:] == ["244", "W", "1-0:1.7.0"]


def test_wireless_mbus_hex() -> None:
    vector = _vector("wmbus.jsonl", "wmbusmeters-amiplus-1-10101010")
    status, text = run_cli(["decode", "--hex", vector["bytes_hex"], "--receiver", "raw"])
    assert status == 0
    assert text.startswith("Message 1: wmbus")


def test_a_system_title_is_16_hex_digits_never_8_ascii_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review of issue 12, item 7: ``--system-title`` went through ``parse_key(length=8)``,
    which also takes 8 ASCII characters; system titles are only ever written in hex."""
    vector = _vector("dlms.jsonl", "pl-stoen-gama150-p1-rebuilt-envelope")
    keys = vector["keys"]
    argv = ["decode", "--hex", vector["bytes_hex"], "--ek", keys["ek"], "--ak", keys["ak"]]
    status, _ = _run([*argv, "--system-title", "EGM5G150"])
    assert status == 2
    err = capsys.readouterr().err
    assert "system title must be 16 hexadecimal characters" in err
    assert "EGM5G150" not in err
    # The 16 hex digits of the same 8 bytes are taken (and this envelope's IV title is zero).
    status, lines = _run([*argv, "--system-title", "00 00 00 00 00 00 00 00"])
    assert status == 0
    assert lines[0]["readings"]["1-0:1.8.0"]["unit"] == "Wh"
