"""Decode time per frame: HAN Port's library against the peer libraries, same frames, one process.

Families and peers:
  dsmr   P1 text telegrams (dsmr.jsonl positives with a CRC)  vs dsmr_parser (TelegramParser)
  hdlc   plain DLMS push in HDLC frames (nordic.jsonl)   vs amshan (HdlcFrameReader + AutoDecoder)
  gcm    encrypted DLMS push: dlms.jsonl frames with their keys, and one plain HDLC push per
         meter and list size of nordic.jsonl re-sent glo-ciphered (SC 0x30, test keys)
                                                               vs gurux-dlms (GXDLMSTranslator)
  wmbus  Elgama GAMA 350 wM-Bus frames (decrypt + records)     (no Python peer decodes them)

Each side decodes every frame of its family once per round, framing included; the best of a few
rounds counts (fewer for gurux-dlms, which takes milliseconds a frame). The last line is
``slowest family ratio: R×``, the smallest peer/ours ratio.
Our library is the top-level package ``han`` (as for hanport_dev, whose frame builders this
uses); amshan's top-level package is also named ``han``: it is imported with ours set aside.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from pathlib import Path
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LIB = ROOT / "custom_components" / "han_port" / "han"
#: Keys and system title of the frames this benchmark encrypts itself (no real meter's).
TEST_EK = bytes(range(16))
TEST_AK = bytes(range(0xD0, 0xE0))
TEST_TITLE = b"HANPORT\x01"


def load_ours() -> ModuleType:
    """Import the protocol library as ``han`` (no Home Assistant), with hanport_dev beside it."""
    for path in (str(ROOT), str(LIB.parent)):
        if path not in sys.path:
            sys.path.insert(0, path)
    return importlib.import_module("han")


def _han_modules() -> list[str]:
    return [name for name in sys.modules if name == "han" or name.startswith("han.")]


@contextlib.contextmanager
def amshan() -> Iterator[None]:
    """Import amshan's modules in this block: its top-level package is also named ``han``.

    Ours is set aside meanwhile and is ``han`` again afterwards; amshan's modules, imported
    whole inside the block, keep working through the references the caller holds.
    """
    ours = {name: sys.modules.pop(name) for name in _han_modules()}
    path = sys.path[:]
    sys.path[:] = [entry for entry in path if entry != str(LIB.parent)]
    try:
        yield
    finally:
        for name in _han_modules():
            del sys.modules[name]
        sys.modules.update(ours)
        sys.path[:] = path


def vectors(name: str) -> list[dict[str, Any]]:
    """Positive vectors of one fixture file."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [v for v in map(json.loads, filter(None, lines)) if v["expected"]]


def _seconds(func: Callable[[], object]) -> float:
    """Run ``func`` twice and time the second run (caches hot, as in a loop of pushes)."""
    func()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def timed(
    ours: Callable[[], object],
    peer: Callable[[], object],
    frames: int,
    *,
    rounds: int = 5,
    peer_rounds: int = 5,
) -> tuple[float, float]:
    """Best µs per frame of each side; ``ours``/``peer`` decode ``frames`` frames once each.

    The sides take turns, so both see the same machine load (on a busy 2-core box the speed
    changes, which skews the ratio if one side runs all its rounds first). Each timed run
    follows an untimed one of the same side, so neither is timed with the other's caches.
    """
    best_ours = best_peer = float("inf")
    for index in range(max(rounds, peer_rounds)):
        if index < rounds:
            best_ours = min(best_ours, _seconds(ours))
        if index < peer_rounds:
            best_peer = min(best_peer, _seconds(peer))
    return best_ours / frames * 1e6, best_peer / frames * 1e6


def dsmr_family() -> tuple[float, float, int]:
    """Ours vs dsmr_parser on the DSMR telegrams both can parse."""
    from dsmr_parser import telegram_specifications  # noqa: PLC0415
    from dsmr_parser.parsers import TelegramParser  # noqa: PLC0415

    decoder_mod = importlib.import_module("han.decoder")
    telegrams = [
        v["telegram"]
        for v in vectors("dsmr.jsonl")
        if v["transport"] == "p1-text" and v["telegram"] and "!\r\n" not in v["telegram"]
    ]
    parser = TelegramParser(telegram_specifications.V5)
    usable = []
    for text in telegrams:
        try:
            parser.parse(text)
        except Exception:  # noqa: BLE001, S112 - the peer cannot parse every dialect
            continue
        usable.append(text)
    data = [t.encode("latin-1") for t in usable]
    decoder = decoder_mod.Decoder()

    def ours() -> None:
        for raw in data:
            decoder.feed(raw)

    def peer() -> None:
        for text in usable:
            parser.parse(text)

    assert len(data) == len(usable)
    return (*timed(ours, peer, len(data)), len(data))


def hdlc_family() -> tuple[float, float, int]:
    """Ours vs amshan on the plain HDLC frames amshan decodes."""
    with amshan():
        from han import autodecoder, hdlc  # noqa: PLC0415 - amshan's package is named han

    decoder_mod = importlib.import_module("han.decoder")
    frames = []
    auto = autodecoder.AutoDecoder()
    for v in vectors("nordic.jsonl"):
        if v["transport"] != "hdlc" or v.get("keys"):
            continue
        raw = bytes.fromhex(v["bytes_hex"])
        found = hdlc.HdlcFrameReader(use_octet_stuffing=False).read(raw)
        try:
            decoded = found and all(f.is_good_ffc for f in found) and auto.decode_message(found[-1])
        except Exception:  # noqa: BLE001, S112 - amshan raises on some real frames
            continue
        if decoded:
            frames.append((raw, v.get("country")))

    decoders = {c: decoder_mod.Decoder(country=c) for _, c in frames}

    def ours() -> None:
        for raw, country in frames:
            decoders[country].feed(raw)

    reader = hdlc.HdlcFrameReader(use_octet_stuffing=False)

    def peer() -> None:
        for raw, _ in frames:
            for frame in reader.read(raw):
                auto.decode_message(frame)

    return (*timed(ours, peer, len(frames)), len(frames))


def sealed_frames() -> list[tuple[bytes, dict[str, str], str | None]]:
    """One plain single-frame HDLC push per meter and APDU size (nordic.jsonl), glo-ciphered.

    The data-notification goes into a general-glo-ciphering APDU (SC 0x30: encrypted and
    authenticated) under the test keys, in an HDLC frame with the original addresses.
    """
    simulator = importlib.import_module("hanport_dev.simulator")
    framer = importlib.import_module("han.dlms.hdlc").HdlcFramer()
    stream = importlib.import_module("han.stream")
    keys = {"ek": TEST_EK.hex(), "ak": TEST_AK.hex()}
    seen = set()
    out = []
    for counter, v in enumerate(vectors("nordic.jsonl"), start=1):
        if v["transport"] != "hdlc" or v.get("keys"):
            continue
        found = stream.StreamReader([framer]).feed(bytes.fromhex(v["bytes_hex"]), final=True)
        if len(found) != 1 or not hasattr(found[0], "payload") or found[0].segmented:
            continue
        frame = found[0]
        llc, apdu = frame.payload[:3], frame.payload[3:]
        key = (v.get("meter", "").split(" ")[0], len(apdu))
        if llc != b"\xe6\xe7\x00" or apdu[:1] != b"\x0f" or key in seen:
            continue
        seen.add(key)
        glo = simulator.glo_ciphering(0x30, TEST_TITLE, counter, apdu, TEST_EK, TEST_AK)
        wire = simulator.build_hdlc(frame.address, frame.control, llc + glo)
        out.append((wire, keys, v.get("country")))
    return out


def gcm_family() -> tuple[float, float, int]:
    """Ours vs gurux-dlms on encrypted DLMS frames with known keys."""
    from gurux_dlms import GXByteBuffer, GXDLMSTranslator  # noqa: PLC0415
    from gurux_dlms.enums import Security  # noqa: PLC0415

    decoder_mod = importlib.import_module("han.decoder")
    model = importlib.import_module("han.model")
    cases = []
    for v in vectors("dlms.jsonl"):
        keys = v.get("keys") or {}
        if v["transport"] in ("hdlc", "mbus-long-frame") and keys.get("ek"):
            cases.append((bytes.fromhex(v["bytes_hex"]), keys, v.get("country")))
    cases += sealed_frames()

    def make_translator(keys: dict[str, str | None]) -> Any:
        translator = GXDLMSTranslator()
        translator.comments = True  # gurux decrypts only when it may add comments
        translator.security = Security.AUTHENTICATION_ENCRYPTION
        translator.blockCipherKey = GXByteBuffer.hexToBytes(keys["ek"])
        if keys.get("ak"):
            translator.authenticationKey = GXByteBuffer.hexToBytes(keys["ak"])
        return translator

    def gurux_decodes(raw: bytes, keys: dict[str, str | None]) -> bool:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                xml: str = make_translator(keys).messageToXml(GXByteBuffer(raw))
        except ValueError:
            return False
        return "DataNotification" in xml

    def make_decoder(keys: dict[str, str | None], country: str | None) -> Any:
        ek, ak = keys["ek"], keys.get("ak")
        return decoder_mod.Decoder(
            model.Keys(ek=bytes.fromhex(ek or ""), ak=bytes.fromhex(ak) if ak else None),
            country=country,
        )

    def ours_decodes(raw: bytes, keys: dict[str, str | None], country: str | None) -> bool:
        results = make_decoder(keys, country).feed(raw)
        return any(getattr(r, "readings", None) for r in results)

    # Keep the frames both decode (gurux's output then holds the data-notification).
    cases = [c for c in cases if gurux_decodes(c[0], c[1]) and ours_decodes(*c)]
    translators = [make_translator(k) for _, k, _ in cases]
    decoders = [make_decoder(k, c) for _, k, c in cases]

    def ours() -> None:
        for (raw, _, _), decoder in zip(cases, decoders, strict=True):
            decoder.feed(raw)

    def peer() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # gurux prints as it decrypts
            for (raw, _, _), translator in zip(cases, translators, strict=True):
                translator.messageToXml(GXByteBuffer(raw))

    return (*timed(ours, peer, len(cases), peer_rounds=2), len(cases))


def wmbus_family() -> float | None:
    """µs per GAMA 350 frame (decrypt + records); no peer."""
    try:
        bench = importlib.import_module("hanport_dev.bench.wmbus")
    except ImportError:
        return None
    result: float = bench.bench_gama350(1000)
    return result


def main() -> int:
    """Print one line per family and the slowest ratio."""
    load_ours()
    importlib.import_module("han.decoder")
    ratios = []
    for name, peer_name, family in (
        ("dsmr", "dsmr_parser", dsmr_family),
        ("hdlc", "amshan", hdlc_family),
        ("gcm", "gurux-dlms", gcm_family),
    ):
        ours, peer, count = family()
        ratio = peer / ours
        ratios.append(ratio)
        print(
            f"{name:6} {count:3} frames  ours {ours:8.1f} µs/frame  "
            f"{peer_name} {peer:9.1f} µs/frame  ratio {ratio:6.1f}×"
        )
    wmbus = wmbus_family()
    if wmbus is not None:
        print(f"wmbus  GAMA 350     ours {wmbus:8.1f} µs/frame  (no Python peer decodes it)")
    print(f"slowest family ratio: {min(ratios):.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
