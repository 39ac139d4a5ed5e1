"""Sign-in throttling: after `failures` failed sign-ins within a moving window, per account and
per client, sign-in is refused until the oldest of them leaves the window.

A sign-in counts from the moment its password check begins (`SignInThrottle.begin`), not once
it has failed: argon2 takes a while in a worker thread, and a burst of concurrent attempts
checked only against the failures already settled would all be let through. An attempt in
flight counts like a failure; a success then takes its account's count away, a failure stays.

Held in memory only (the `limits` library's MemoryStorage and moving window): a restart
forgets it, and nothing about a client reaches the store or the logs. Even in memory the
client's address is kept only as a keyed hash, with a key made for this instance.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.auth.fields import InvalidAccount, normalize_email

# The part of an IPv6 address a client is counted by: one subscriber gets a whole /64 (RFC
# 6177 even suggests a /56), and may take a new address of it for every request.
IPV6_CLIENT_PREFIX = 64


def client_network(address: str) -> str:
    """What a client is counted by: an IPv4 address as it is, an IPv6 one by its /64 (an
    IPv4-mapped one as its IPv4 address); any other text (no address known) as it is."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # The scope id ("%eth0") is the client's own interface name: not part of the network.
        bare = ipaddress.IPv6Address(ip.packed)
        return str(ipaddress.IPv6Network((bare, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


class Throttled(Exception):
    """A sign-in refused before its password is checked: too many failures, or attempts in
    flight, for its account or its client; `wait` is the seconds to wait (at least 1)."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"too many sign-in attempts: wait {wait} s")
        self.wait = wait


class Attempt:
    """A sign-in whose password is being checked, counted against its account and client
    until it is settled: `succeeded()` or `failed()`, whichever comes first. Used as a context
    manager, an attempt left unsettled (an error, a cancelled request) is settled as failed."""

    def __init__(self, settle: Callable[[bool], None]) -> None:
        self._settle = settle
        self._settled = False

    def succeeded(self) -> None:
        """The password was right: the account's failures are forgotten (not the client's)."""
        self._once(failed=False)

    def failed(self) -> None:
        """The password (or code) was wrong: the attempt stays counted, as a failure."""
        self._once(failed=True)

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        # An attempt whose outcome was never known still spent a guess.
        self._once(failed=True)

    def _once(self, *, failed: bool) -> None:
        if not self._settled:
            self._settled = True
            self._settle(failed)


class SignInThrottle:
    """Counts failed sign-ins by account and by client, and says how long to wait."""

    def __init__(self, *, failures: int = 5, window: int = 900) -> None:
        if failures < 1 or window < 1:
            raise ValueError("a sign-in throttle needs at least one failure and one second")
        self.failures = failures
        self.window = window
        self._limit = RateLimitItemPerSecond(failures, window)
        # One audit entry per held-back account or client and window (`first_refusal`).
        self._noted = RateLimitItemPerSecond(1, window)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._key = secrets.token_bytes(32)
        # Attempts begun and not yet settled, by hashed key.
        self._in_flight: Counter[str] = Counter()
        # The check and the count of `begin` are one step even for requests served by several
        # threads or event loops (a test client without a lifespan has one per request).
        self._lock = threading.Lock()

    def retry_after(self, account_key: str, client: str) -> int | None:
        """Seconds (at least 1) to wait before trying to sign in to this account or from this
        client again, or None when neither has used up its failures (attempts in flight
        included). Counts nothing."""
        with self._lock:
            return self._retry_after(self._account(account_key), self._client(client))

    def begin(self, account_key: str, client: str) -> Attempt:
        """Count a sign-in against the account and the client before its password is checked,
        or raise Throttled when either has no attempt left: failures in the window and
        attempts in flight together reach `failures`. Settle what it returns."""
        account, client_key = self._account(account_key), self._client(client)
        with self._lock:
            wait = self._retry_after(account, client_key)
            if wait is not None:
                raise Throttled(wait)
            self._in_flight[account] += 1
            self._in_flight[client_key] += 1
        return Attempt(functools.partial(self._settle, account, client_key))

    def failed(self, account_key: str, client: str) -> None:
        """Count a failed sign-in against the account and the client (one not begun)."""
        with self._lock:
            self._hit(self._account(account_key), self._client(client))

    def first_refusal(self, account_key: str, client: str) -> bool:
        """Whether a sign-in refused by `retry_after` is the first refusal within a window for
        the account or the client holding it back: the audit log then records it, once, and a
        flood of throttled attempts adds no entry after the first.

        Kept here in memory with the failures rather than in the store: noting there "already
        recorded" would be a write per attempt, the very growth this avoids, and the client
        (a keyed hash) must never reach the store. A restart forgets it, which costs at most
        one more entry per account or client."""
        keys = [self._account(account_key), self._client(client)]
        with self._lock:
            held = [key for key in keys if self._held(key)]
            # Nothing holds it back any more (the window ended since the check): a refusal
            # still happened, and is noted against both.
            # Every key is hit, not only up to the first new one: each starts its own window.
            return any([self._limiter.hit(self._noted, "noted:" + key) for key in held or keys])

    def succeeded(self, account_key: str) -> None:
        """Forget the account's failures (the client's stay: a right password for one
        account says nothing about the guesses it made at others)."""
        with self._lock:
            self._limiter.clear(self._limit, self._account(account_key))

    # -- helpers (callers hold the lock) -------------------------------------------------------

    def _retry_after(self, account: str, client: str) -> int | None:
        waits = [self._wait(key) for key in (account, client) if self._held(key)]
        return max(waits) if waits else None

    def _held(self, key: str) -> bool:
        """Whether the key's failures and attempts in flight leave no attempt."""
        return not self._limiter.test(self._limit, key, cost=1 + self._in_flight[key])

    def _settle(self, account: str, client: str, failed: bool) -> None:
        """An attempt begun is over: a failure stays counted, a success clears the account."""
        with self._lock:
            if failed:
                self._hit(account, client)
            else:
                self._limiter.clear(self._limit, account)
            for key in (account, client):
                self._in_flight[key] -= 1
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]

    def _hit(self, account: str, client: str) -> None:
        # A hit past the limit is refused and adds nothing: a full window only empties.
        self._limiter.hit(self._limit, account)
        self._limiter.hit(self._limit, client)

    def _wait(self, key: str) -> int:
        """Whole seconds until a failure of a full window leaves it, at least 1; held back by
        attempts in flight alone, 1 (they settle within moments, then it is known)."""
        if self._limiter.test(self._limit, key):
            return 1
        reset = self._limiter.get_window_stats(self._limit, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _account(self, account_key: str) -> str:
        try:
            name = normalize_email(account_key)
        except InvalidAccount:
            # Not an email: it still counts (an attacker's typo costs like anyone's), by the
            # text as any sign-in form would look it up.
            name = account_key.strip().lower()
        # Hashed too: the storage's key then has a fixed size whatever was typed.
        return "account:" + self._hash(name)

    def _client(self, client: str) -> str:
        return "client:" + self._hash(client_network(client))

    def _hash(self, text: str) -> str:
        data = text.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()
