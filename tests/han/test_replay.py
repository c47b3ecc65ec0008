"""Replay protection and the decoder's security policy, on the real Danish frame sealed again.

The Danish Kamstrup vector is the only authenticated DLMS frame with published keys; the
test seals its real plaintext again with other invocation counters, as the meter does for
every push.
"""

from __future__ import annotations

import pytest

from han.decoder import Decoder
from han.model import (
    ErrorCode,
    Keys,
    Message,
    Rejected,
    ReplayedError,
    Security,
)
from han.replay import MAX_SENDERS, ReplayGuard, guarded
from tests.common import DK_AK, DK_COUNTER, DK_EK, DK_TITLE, P1_NL, dk_frame

KEYS = Keys(ek=bytes.fromhex(DK_EK), ak=bytes.fromhex(DK_AK))
TITLE = DK_TITLE.hex().upper()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure protocol-library tests: no Home Assistant instance per test."""


def codes(results: list[Message | Rejected]) -> list[str]:
    return ["ok" if isinstance(r, Message) else str(r.code) for r in results]


def test_only_authenticated_titled_messages_are_guarded() -> None:
    assert guarded(Security(TITLE, 5, authenticated=True))
    assert not guarded(Security(TITLE, 5, authenticated=False))
    # The Polish Stoen envelope has no system title and a frame counter that stays 0.
    assert not guarded(Security(None, 0, authenticated=True))
    assert not guarded(None)
    guard = ReplayGuard()
    for _ in range(3):
        assert guard.check(Security(None, 0, authenticated=True)) is False
        assert guard.check(Security(TITLE, 7, authenticated=False)) is False
    assert guard.counters == {}


def test_counter_must_rise_per_sender() -> None:
    guard = ReplayGuard()
    assert guard.check(Security(TITLE, 10, authenticated=True))
    # Not yet seen to change: a constant counter (the Stoen envelope's 0) is no replay.
    assert guard.check(Security(TITLE, 10, authenticated=True))
    with pytest.raises(ReplayedError, match="went back"):  # lower is refused from anyone
        guard.check(Security(TITLE, 9, authenticated=True))
    assert guard.check(Security(TITLE, 11, authenticated=True))  # seen to change from here on
    assert guard.check(Security("0102030405060708", 3, authenticated=True))
    for counter in (11, 10, 0):
        with pytest.raises(ReplayedError) as err:
            guard.check(Security(TITLE, counter, authenticated=True))
        assert err.value.code is ErrorCode.REPLAYED
        assert TITLE not in str(err.value)
    assert guard.refused == {TITLE}
    assert guard.check(Security(TITLE, 12, authenticated=True))
    assert guard.refused == set()
    # Only moving senders are stored: a stored counter is guarded against repeats at once.
    assert guard.counters == {TITLE: 12}
    assert guard.check(Security("0102030405060708", 4, authenticated=True))
    assert guard.counters == {TITLE: 12, "0102030405060708": 4}
    restarted = ReplayGuard(guard.counters)
    with pytest.raises(ReplayedError, match="repeated"):
        restarted.check(Security(TITLE, 12, authenticated=True))


def test_a_counter_that_never_changes_is_never_refused_nor_stored() -> None:
    """The Stoen envelope's counter is 0 in every capture (review of issue 12, item 3)."""
    guard = ReplayGuard()
    for _ in range(5):
        assert guard.check(Security(TITLE, 0, authenticated=True))
    assert guard.counters == {}
    assert guard.refused == set()
    # After a restart (nothing stored) the same holds.
    restarted = ReplayGuard(guard.counters)
    assert restarted.check(Security(TITLE, 0, authenticated=True))


def test_forget_accepts_a_reset_counter() -> None:
    guard = ReplayGuard({TITLE: 1000})
    with pytest.raises(ReplayedError, match="went back"):
        guard.check(Security(TITLE, 5, authenticated=True))
    guard.forget(TITLE)
    assert guard.refused == set()
    assert guard.check(Security(TITLE, 5, authenticated=True))
    assert guard.counters == {}  # not seen to change since the reset
    assert guard.check(Security(TITLE, 6, authenticated=True))
    assert guard.counters == {TITLE: 6}


def test_state_is_bounded() -> None:
    guard = ReplayGuard(max_senders=3)
    for n in range(5):
        guard.check(Security(f"{n:016X}", 1, authenticated=True))
        guard.check(Security(f"{n:016X}", 2, authenticated=True))
    assert list(guard.counters) == [f"{n:016X}" for n in (2, 3, 4)]
    # An evicted sender starts over: its repeat is not refused (it is not known to move).
    assert guard.check(Security(f"{0:016X}", 2, authenticated=True))
    guard = ReplayGuard()
    for n in range(MAX_SENDERS * 4):
        guard.seed(f"{n:016X}", n)
    assert len(guard.counters) == MAX_SENDERS
    last = MAX_SENDERS * 4 - 1
    with pytest.raises(ReplayedError, match="repeated"):
        guard.check(Security(f"{last:016X}", last, authenticated=True))
    guard.seed("AAAAAAAAAAAAAAAA", 1)  # evicts the oldest, and any refusal it had
    assert len(guard.refused) == 1


def test_decoder_refuses_a_repeated_frame_and_a_lower_counter() -> None:
    decoder = Decoder(KEYS, country="DK")
    wire = [
        dk_frame(DK_COUNTER),
        dk_frame(DK_COUNTER + 1),
        dk_frame(DK_COUNTER + 1),  # recorded and played back
        dk_frame(DK_COUNTER),
        dk_frame(DK_COUNTER - 5),  # counter went back
        dk_frame(DK_COUNTER + 2),
    ]
    results = [result for frame in wire for result in decoder.feed(frame)]
    assert codes(results) == ["ok", "ok", "replayed", "replayed", "replayed", "ok"]
    assert decoder.replay.counters == {TITLE: DK_COUNTER + 2}


def test_a_shared_guard_outlives_the_decoder() -> None:
    """The integration makes a new decoder per connection and keeps one guard per entry."""
    guard = ReplayGuard()
    first = dk_frame(DK_COUNTER) + dk_frame(DK_COUNTER + 1)
    assert codes(Decoder(KEYS, replay=guard).feed(first)) == ["ok", "ok"]
    assert codes(Decoder(KEYS, replay=guard).feed(dk_frame(DK_COUNTER + 1))) == ["replayed"]
    assert codes(Decoder(KEYS).feed(dk_frame(DK_COUNTER + 1))) == ["ok"]  # a guard of its own


def test_bare_apdus_pass_the_guard_too() -> None:
    decoder = Decoder(KEYS)
    assert codes(decoder.decode_capture(dk_frame(DK_COUNTER)[11:-3])) == ["ok"]
    apdu = dk_frame(DK_COUNTER + 1)[11:-3]
    assert codes(decoder.decode_capture(apdu)) == ["ok"]
    assert codes(decoder.decode_capture(apdu)) == ["replayed"]


def test_unauthenticated_frames_are_not_guarded() -> None:
    """Without an AK the counter proves nothing, so a repeat is not called a replay."""
    decoder = Decoder(Keys(ek=bytes.fromhex(DK_EK)), country="DK")
    results = decoder.feed(dk_frame(DK_COUNTER) * 2)
    assert codes(results) == ["ok", "ok"]
    assert all(r.notes == ["tag_not_verified"] for r in results if isinstance(r, Message))


@pytest.mark.parametrize(
    ("keys", "require"),
    [(Keys(ak=bytes(16)), False), (Keys(), True), (KEYS, False)],
)
def test_plain_p1_is_refused_with_an_ak_or_when_the_profile_encrypts(
    keys: Keys, *, require: bool
) -> None:
    results = Decoder(keys, require_encryption=require).feed(P1_NL)
    assert len(results) == 1
    assert isinstance(results[0], Rejected)
    assert results[0].code is ErrorCode.AUTH_FAILED
    assert codes(Decoder(Keys(ek=bytes(16))).feed(P1_NL)) == ["ok"]
    assert codes(Decoder().feed(P1_NL)) == ["ok"]


def test_profile_that_encrypts_refuses_a_frame_in_clear_but_takes_the_real_one() -> None:
    decoder = Decoder(KEYS, require_encryption=True)
    clear = dk_frame(DK_COUNTER + 1, sc=0x00)
    assert codes(decoder.feed(clear)) == ["auth_failed"]
    assert codes(decoder.feed(dk_frame(DK_COUNTER))) == ["ok"]
