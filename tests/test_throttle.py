"""Sign-in throttling (hub/auth/throttle.py): failures per account and per client in a moving
window held in memory, attempts counted from before their password check, the wait it asks
for, its reset, IPv6 clients by their /64, and no client address kept."""

from __future__ import annotations

import time

import pytest

from hub.auth.throttle import SignInThrottle, Throttled, client_network

CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.23"


def _fail(throttle: SignInThrottle, account: str, client: str, times: int) -> None:
    for _ in range(times):
        throttle.failed(account, client)


def test_five_failures_on_an_account_close_it_for_the_window() -> None:
    throttle = SignInThrottle()
    _fail(throttle, "maria@example.org", CLIENT, 4)
    assert throttle.retry_after("maria@example.org", CLIENT) is None
    throttle.failed("maria@example.org", CLIENT)
    wait = throttle.retry_after("maria@example.org", CLIENT)
    assert wait is not None and 899 <= wait <= 900
    # From any client: the account is what is guessed at.
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) == wait
    assert throttle.retry_after("other@example.org", OTHER_CLIENT) is None


def test_five_failures_from_a_client_close_it_for_every_account() -> None:
    throttle = SignInThrottle(failures=5, window=60)
    for n in range(5):
        assert throttle.retry_after(f"user{n}@example.org", CLIENT) is None
        throttle.failed(f"user{n}@example.org", CLIENT)
    wait = throttle.retry_after("anyone@example.org", CLIENT)
    assert wait is not None and 59 <= wait <= 60
    # Each of those accounts has one failure: another client may still try them.
    assert throttle.retry_after("user0@example.org", OTHER_CLIENT) is None


def test_checking_counts_nothing() -> None:
    throttle = SignInThrottle(failures=3)
    for _ in range(50):
        assert throttle.retry_after("maria@example.org", CLIENT) is None
    _fail(throttle, "maria@example.org", CLIENT, 2)
    for _ in range(50):
        assert throttle.retry_after("maria@example.org", CLIENT) is None
    throttle.failed("maria@example.org", CLIENT)
    assert throttle.retry_after("maria@example.org", CLIENT) is not None


def test_an_account_is_counted_by_its_normalised_email() -> None:
    throttle = SignInThrottle(failures=3)
    for spelling in (" Maria@Example.ORG", "maria@example.org\n", "MARIA@EXAMPLE.ORG"):
        throttle.failed(spelling, f"client {spelling}")
    assert throttle.retry_after("maria@example.org", "a new client") is not None
    # Text that is no email counts too, lower-cased.
    for spelling in ("Not An Email", "not an email", "NOT AN EMAIL  "):
        throttle.failed(spelling, f"client {spelling}")
    assert throttle.retry_after("not an email", "a new client") is not None
    assert throttle.retry_after("not an emai", "a new client") is None


def test_a_success_clears_the_account_but_not_the_client() -> None:
    throttle = SignInThrottle(failures=3)
    _fail(throttle, "maria@example.org", CLIENT, 3)
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) is not None
    throttle.succeeded(" Maria@Example.org")
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) is None
    # The client that made the three guesses still waits, whichever account it names.
    assert throttle.retry_after("maria@example.org", CLIENT) is not None
    assert throttle.retry_after("other@example.org", CLIENT) is not None
    # And the account starts counting again from nothing.
    _fail(throttle, "maria@example.org", OTHER_CLIENT, 2)
    assert throttle.retry_after("maria@example.org", "a third client") is None


def test_the_window_passes_and_sign_in_opens_again() -> None:
    throttle = SignInThrottle(failures=2, window=1)
    started = time.monotonic()
    _fail(throttle, "maria@example.org", CLIENT, 2)
    assert throttle.retry_after("maria@example.org", CLIENT) == 1
    while throttle.retry_after("maria@example.org", CLIENT) is not None:
        assert time.monotonic() - started < 5, "still closed long after its one-second window"
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.9  # not before the window passed
    throttle.failed("maria@example.org", CLIENT)  # one failure in a new window: still open
    assert throttle.retry_after("maria@example.org", CLIENT) is None
    throttle.failed("maria@example.org", CLIENT)
    assert throttle.retry_after("maria@example.org", CLIENT) == 1


def test_the_wait_runs_from_the_oldest_failure_in_the_window() -> None:
    throttle = SignInThrottle(failures=2, window=3)
    throttle.failed("maria@example.org", CLIENT)
    time.sleep(1.1)
    throttle.failed("maria@example.org", CLIENT)
    wait = throttle.retry_after("maria@example.org", CLIENT)
    assert wait == 2  # 3 s from the first failure, 1.1 s ago, rounded up
    # Failures while closed add nothing: the wait does not grow.
    _fail(throttle, "maria@example.org", CLIENT, 5)
    assert throttle.retry_after("maria@example.org", CLIENT) == 2


def test_a_refusal_is_first_once_per_window_for_what_holds_it_back() -> None:
    throttle = SignInThrottle(failures=2, window=1)
    _fail(throttle, "maria@example.org", CLIENT, 2)
    started = time.monotonic()
    # The account is held back: the first refusal is noted, the flood after it is not, from
    # whichever client.
    assert throttle.first_refusal("maria@example.org", CLIENT)
    for client in (CLIENT, OTHER_CLIENT, "192.0.2.1"):
        assert not throttle.first_refusal(" MARIA@example.org", client)
    # Another account held back by its own failures is a refusal of its own.
    _fail(throttle, "ana@example.org", "192.0.2.2", 2)
    assert throttle.first_refusal("ana@example.org", "192.0.2.3")
    # A client held back is noted by itself, whatever account it names next.
    _fail(throttle, "x@example.org", "192.0.2.4", 1)
    _fail(throttle, "y@example.org", "192.0.2.4", 1)
    assert throttle.first_refusal("z@example.org", "192.0.2.4")
    assert not throttle.first_refusal("w@example.org", "192.0.2.4")
    # A window later, a flood that goes on is noted again, once.
    time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
    _fail(throttle, "maria@example.org", CLIENT, 2)
    assert throttle.first_refusal("maria@example.org", OTHER_CLIENT)
    assert not throttle.first_refusal("maria@example.org", OTHER_CLIENT)


def test_no_client_address_or_email_is_kept_even_in_memory() -> None:
    throttle = SignInThrottle()
    throttle.failed("maria@example.org", CLIENT)
    throttle.failed("not an email at all", "2001:db8::1")
    storage = throttle._limiter.storage
    kept = repr(vars(storage))
    assert "events" in kept and "account:" in kept and "client:" in kept
    for text in (CLIENT, "2001:db8::1", "maria", "not an email"):
        assert text not in kept
    # Another instance's key hashes the same client to another name.
    other = SignInThrottle()
    assert other._client(CLIENT) != throttle._client(CLIENT)
    assert other._client(CLIENT) == other._client(CLIENT)


def test_a_throttle_needs_a_failure_and_a_second() -> None:
    for failures, window in [(0, 900), (5, 0)]:
        with pytest.raises(ValueError):
            SignInThrottle(failures=failures, window=window)


# -- Attempts in flight ------------------------------------------------------------------------


def test_attempts_in_flight_count_like_failures_for_the_account() -> None:
    throttle = SignInThrottle(failures=3, window=900)
    attempts = [throttle.begin("maria@example.org", f"192.0.2.{n}") for n in range(3)]
    # Three passwords being checked, none settled: a fourth waits, from any client.
    with pytest.raises(Throttled) as held:
        throttle.begin(" Maria@Example.org", "198.51.100.1")
    assert held.value.wait == 1  # they settle within moments: then the answer is known
    assert throttle.retry_after("maria@example.org", "198.51.100.1") == 1
    # Another account is not held back by them.
    throttle.begin("ana@example.org", "198.51.100.1").failed()
    # Two fail, one succeeds: the account's count is cleared, the failures were its own.
    attempts[0].failed()
    attempts[1].failed()
    assert throttle.retry_after("maria@example.org", "198.51.100.1") == 1
    attempts[2].succeeded()
    assert throttle.retry_after("maria@example.org", "198.51.100.1") is None
    # Settled once: a second outcome changes nothing.
    attempts[2].failed()
    attempts[0].succeeded()
    assert throttle.retry_after("maria@example.org", "198.51.100.1") is None


def test_failures_of_attempts_in_flight_stay_and_close_the_window() -> None:
    throttle = SignInThrottle(failures=3, window=900)
    attempts = [throttle.begin("maria@example.org", CLIENT) for _ in range(3)]
    for attempt in attempts:
        attempt.failed()
    wait = throttle.retry_after("maria@example.org", OTHER_CLIENT)
    assert wait is not None and 899 <= wait <= 900
    with pytest.raises(Throttled):
        throttle.begin("maria@example.org", OTHER_CLIENT)


def test_attempts_in_flight_count_for_the_client() -> None:
    throttle = SignInThrottle(failures=3, window=900)
    attempts = [throttle.begin(f"user{n}@example.org", CLIENT) for n in range(3)]
    with pytest.raises(Throttled):
        throttle.begin("someone@example.org", CLIENT)
    assert throttle.begin("someone@example.org", OTHER_CLIENT)
    # Successes leave nothing against the client: a shared office signs in all day.
    for attempt in attempts:
        attempt.succeeded()
    for n in range(10):
        throttle.begin(f"user{n}@example.org", CLIENT).succeeded()
    assert throttle.retry_after("someone@example.org", CLIENT) is None


def test_an_attempt_left_unsettled_counts_as_a_failure() -> None:
    throttle = SignInThrottle(failures=2, window=900)
    for _ in range(2):
        with pytest.raises(RuntimeError), throttle.begin("maria@example.org", CLIENT):
            raise RuntimeError("the request was cancelled")
    assert throttle.retry_after("maria@example.org", OTHER_CLIENT) is not None
    # Settled inside the block, it keeps its outcome.
    other = SignInThrottle(failures=2, window=900)
    for _ in range(5):
        with other.begin("maria@example.org", CLIENT) as attempt:
            attempt.succeeded()
    assert other.retry_after("maria@example.org", CLIENT) is None


# -- Clients by network ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:a::b", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
        ("", ""),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(address: str, network: str) -> None:
    assert client_network(address) == network


def test_one_ipv6_64_is_one_client() -> None:
    throttle = SignInThrottle(failures=3, window=900)
    # Each guess from a new address of the same /64 (a subscriber has 2^64 of them).
    for n, address in enumerate(["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:a:b:c:d"]):
        throttle.failed(f"user{n}@example.org", address)
    assert throttle.retry_after("x@example.org", "2001:db8:1:2:ffff::9") is not None
    assert throttle.retry_after("x@example.org", "2001:db8:1:3::1") is None
    # IPv4 stays by the address: neighbours behind other addresses are other clients.
    for n in range(3):
        throttle.failed(f"v4-{n}@example.org", "198.51.100.30")
    assert throttle.retry_after("x@example.org", "198.51.100.30") is not None
    assert throttle.retry_after("x@example.org", "::ffff:198.51.100.30") is not None
    assert throttle.retry_after("x@example.org", "198.51.100.31") is None
