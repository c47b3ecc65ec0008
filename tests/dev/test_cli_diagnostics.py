"""``scripts/han decode --file`` on a diagnostics file: a bug report becomes a test vector.

The diagnostics are made here by the library's capture, as the integration makes them
(``report.capture_section``); the round trip through Home Assistant itself is in
tests/integration/test_capture.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from han.capture import FrameCapture
from han.decoder import Decoder
from han.model import Keys
from han.profiles import get_profile
from hanport_dev.cli import vector_result
from hanport_dev.simulator import MeterSimulator
from tests.common import DK_AK, DK_EK, HDLC_NO, dk_frames, run_cli


def _diagnostics(name: str, pushes: int = 3, keys: Keys | None = None) -> dict[str, Any]:
    """What the integration's diagnostics hold for a simulated meter (the capture part)."""
    sim = MeterSimulator(name, seed=2)
    profile = sim.profile
    capture = FrameCapture()
    decoder = Decoder(
        keys or Keys(sim.keys.ek, sim.keys.ak),
        country=profile.country,
        formats=profile.formats,
        capture=capture,
    )
    for _ in range(pushes):
        decoder.feed(sim.next_frame())
    section = {"profile": profile.id, "settings": "115200 8N1", **capture.snapshot()}
    return {"home_assistant": {"version": "2025.4.4"}, "data": {"capture": section}}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "config_entry-han_port.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_plain_meter_decodes_with_the_profile_the_file_names(tmp_path: Path) -> None:
    path = _write(tmp_path, _diagnostics("ee_elektrilevi_dlms"))
    status, text = run_cli(["decode", "--file", str(path), "--json"])
    assert status == 0
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3
    assert lines[0]["meter"]["id"] == "63326413"
    assert lines[0]["readings"]["1-0:1.7.0"]["unit"] == "W"
    status, table = run_cli(["decode", "--file", str(path)])
    assert status == 0
    assert "Landis+Gyr" in table


def test_the_bare_diagnostics_dict_is_read_too(tmp_path: Path) -> None:
    path = _write(tmp_path, _diagnostics("nl_dsmr")["data"])
    status, text = run_cli(["decode", "--file", str(path), "--json"])
    assert status == 0
    assert len(text.splitlines()) == 3


def test_an_encrypted_capture_needs_the_keys_on_the_command_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _diagnostics("dk_kamstrup"))
    status, text = run_cli(["decode", "--file", str(path), "--json"])
    assert status == 1
    assert {json.loads(line)["error"] for line in text.splitlines()} == {"no_key"}
    ek, ak = MeterSimulator("dk_kamstrup").keys.ek, MeterSimulator("dk_kamstrup").keys.ak
    assert ek is not None
    assert ak is not None
    status, text = run_cli(
        ["decode", "--file", str(path), "--json", "--ek", ek.hex(), "--ak", ak.hex()]
    )
    assert status == 0
    assert len(text.splitlines()) == 3
    assert ek.hex() not in text.lower()


def test_vectors_from_a_capture_decode_like_the_fixtures(tmp_path: Path) -> None:
    path = _write(tmp_path, _diagnostics("ee_elektrilevi_dlms", pushes=4))
    status, text = run_cli(["decode", "--file", str(path), "--vector", "ee-report-1"])
    assert status == 0
    vectors = [json.loads(line) for line in text.splitlines()]
    assert [v["id"] for v in vectors] == [f"ee-report-1-{n}" for n in range(1, 5)]
    first = vectors[0]
    assert first["transport"] == "hdlc"
    assert first["country"] == "EE"
    assert first["keys"] is None
    assert first["meter"] == "Landis+Gyr"
    assert len(bytes.fromhex(first["bytes_hex"])) == 401  # the three frames of one push
    for vector in vectors:
        # A vector decodes as the fixtures do (scripts/han vectors), to what it expects.
        result = vector_result(vector)
        assert result["error"] is None
        assert result["readings"] == vector["expected"]


def test_a_p1_vector_is_a_telegram(tmp_path: Path) -> None:
    path = _write(tmp_path, _diagnostics("ee_elektrilevi", pushes=1))
    status, text = run_cli(["decode", "--file", str(path), "--vector", "ee-p1"])
    assert status == 0
    vector = json.loads(text)
    assert vector["transport"] == "p1-text"
    assert vector["telegram"].startswith("/LGF5E360\r\n")
    assert vector["bytes_hex"] is None
    assert vector_result(vector)["readings"] == vector["expected"]


def test_an_encrypted_vector_carries_no_key(tmp_path: Path) -> None:
    keys = Keys(bytes.fromhex(DK_EK), bytes.fromhex(DK_AK))
    capture = FrameCapture()
    decoder = Decoder(keys, country="DK", capture=capture)
    first, second = dk_frames(2)
    broken = bytearray(second)
    broken[-10] ^= 0x01  # the FCS fails: refused, and no part of the next vector
    for frame in (first, bytes(broken), second):
        decoder.feed(frame)
    section = {"profile": "dk_kamstrup", **capture.snapshot()}
    path = _write(tmp_path, {"data": {"capture": section}})
    status, text = run_cli(
        ["decode", "--file", str(path), "--vector", "dk", "--ek", DK_EK, "--ak", DK_AK]
    )
    assert status == 0
    vectors = [json.loads(line) for line in text.splitlines()]
    assert [bytes.fromhex(v["bytes_hex"]) for v in vectors] == [first, second]
    assert DK_EK.lower() not in text.lower()
    assert DK_AK.lower() not in text.lower()
    assert json.loads(text.splitlines()[0])["keys"] is None


def test_nothing_decodes_from_raw_bytes_only(tmp_path: Path) -> None:
    capture = FrameCapture()
    decoder = Decoder(capture=capture, formats=get_profile("ee_elektrilevi").formats)
    decoder.feed(b"\x55\xaa" * 300)
    path = _write(
        tmp_path, {"data": {"capture": {"profile": "ee_elektrilevi", **capture.snapshot()}}}
    )
    status, text = run_cli(["decode", "--file", str(path)])
    assert status == 1
    assert text == "Nothing decoded from the capture (600 bytes).\n"
    status, text = run_cli(["decode", "--file", str(path), "--json"])
    assert status == 1
    assert json.loads(text) == {"rejected": None, "error": "no_frame", "size": 600}
    status, text = run_cli(["decode", "--file", str(path), "--vector", "x"])
    assert (status, text) == (1, "")


def test_profile_on_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    document = _diagnostics("ee_elektrilevi_dlms")
    document["data"]["capture"]["profile"] = "nl_dsmr"  # a profile without HDLC
    path = _write(tmp_path, document)
    assert run_cli(["decode", "--file", str(path)])[0] == 1
    assert run_cli(["decode", "--file", str(path), "--profile", "ee_elektrilevi"])[0] == 0


def test_an_unknown_profile_in_the_file_decodes_with_every_format(tmp_path: Path) -> None:
    document = _diagnostics("no_kaifa")
    document["data"]["capture"]["profile"] = "xx_unknown"
    path = _write(tmp_path, document)
    status, text = run_cli(["decode", "--file", str(path), "--json", "--country", "NO"])
    assert status == 0
    assert all(isinstance(json.loads(line)["readings"], dict) for line in text.splitlines())


def test_profile_applies_to_a_plain_capture_too(tmp_path: Path) -> None:
    """The profile's formats: a P1-only profile finds nothing in an HDLC capture."""
    path = tmp_path / "capture.hex"
    path.write_text(HDLC_NO.hex())
    assert run_cli(["decode", "--file", str(path)])[0] == 0
    assert run_cli(["decode", "--file", str(path), "--profile", "no_kaifa"])[0] == 0
    assert run_cli(["decode", "--file", str(path), "--profile", "nl_dsmr"])[0] == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"data": {"entry": {}}}, "without a HAN Port capture"),
        ({"capture": {"frames": "7e7e"}}, "without a HAN Port capture"),
        ({"data": {"capture": {"frames": [{"hex": "zz"}]}}}, "not hexadecimal bytes"),
    ],
)
def test_json_that_is_no_diagnostics_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: Any, message: str
) -> None:
    path = _write(tmp_path, document)
    status, _ = run_cli(["decode", "--file", str(path)])
    assert status == 2
    assert message in capsys.readouterr().err


def test_vector_needs_a_diagnostics_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run_cli(["decode", "--hex", "00", "--vector", "x"])
    assert status == 2
    assert "--vector needs a diagnostics file" in capsys.readouterr().err


def test_a_file_that_only_looks_like_json_is_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "odd.bin"
    path.write_bytes(b"{ not json" + bytes(20))
    status, text = run_cli(["decode", "--file", str(path)])
    assert status == 1
    assert text.startswith("Nothing decoded")
