"""The console's sign-in guards at the edges the other tests leave open, found by the second
mutation run over hub/auth/passwords.py, totp.py and throttle.py (the first run's are in
tests/test_auth_edges.py): how long a refused sign-in stays noted for the audit log, the wait
counted on the clock, a successful attempt's reset, and old TOTP codes refused quickly."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import limits.storage.memory
import pytest

import hub.auth.throttle
from hub.auth import totp
from hub.auth.throttle import SignInThrottle

CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.23"
# RFC 6238, appendix B: the SHA-1 seed; at 59 s (step 1) its code is 94287082, six digits 287082.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


class FakeClock:
    """The wall clock of the throttle and of its in-memory storage, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(hub.auth.throttle, "time", fake)
    return fake


# -- the sign-in throttle ---------------------------------------------------------------------


def test_a_refusal_is_noted_once_for_the_whole_window(clock: FakeClock) -> None:
    # Kills the noted refusals counted in a window of one second (its length dropped or None)
    # and as many as the window has seconds (the window passed as the count).
    throttle = SignInThrottle(failures=1, window=900)
    throttle.failed("maria@example.org", CLIENT)
    assert throttle.first_refusal("maria@example.org", CLIENT) is True
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT) is False
    clock.now += 2
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) == 898
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT) is False
    clock.now += 897
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) == 1
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT) is False
    # The window is over: the failure has left it, and a refusal is noted afresh.
    clock.now += 2
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) is None
    throttle.failed("maria@example.org", CLIENT)
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT) is True
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT) is False


def test_an_attempt_that_succeeds_takes_the_account_s_earlier_failures_away() -> None:
    # Kills the success of an attempt that clears no account (the account's key None or
    # dropped): two failures would then stay and the next one close the account.
    throttle = SignInThrottle(failures=3, window=900)
    for client in (CLIENT, OTHER_CLIENT):
        throttle.begin("maria@example.org", client).failed()
    throttle.begin("maria@example.org", "192.0.2.9").succeeded()
    throttle.failed("maria@example.org", "192.0.2.10")
    assert throttle.retry_after("maria@example.org", "192.0.2.11") is None
    throttle.failed("maria@example.org", "192.0.2.10")
    assert throttle.retry_after("maria@example.org", "192.0.2.11") is None
    throttle.failed("maria@example.org", "192.0.2.10")
    assert throttle.retry_after("maria@example.org", "192.0.2.11") is not None


# -- the TOTP codes -----------------------------------------------------------------------------


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_a_code_from_the_first_minutes_of_the_epoch_is_refused_two_steps_later() -> None:
    # Kills the window started at step 0 (its lower end dropped), which accepts every old code
    # and, at today's date, walks 59 million steps per check.
    assert totp.verify(RFC_SECRET, "287082", after_step=None, at=_at(59)) == 1
    assert totp.verify(RFC_SECRET, "287082", after_step=None, at=_at(89)) == 1
    assert totp.verify(RFC_SECRET, "287082", after_step=None, at=_at(120)) is None
    assert totp.verify(RFC_SECRET, "287082", after_step=None, at=_at(150)) is None
