"""The library's command line: decode and vectors, on real fixture frames."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from custom_components.han_port.han.cli import main, vector_result

FIXTURES = Path(__file__).parent / "fixtures"


def _vector(name: str, vector_id: str) -> dict:
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        vector = json.loads(line)
        if vector["id"] == vector_id:
            return vector
    raise KeyError(vector_id)


def _run(argv: list[str]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    status = main(argv, out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


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
