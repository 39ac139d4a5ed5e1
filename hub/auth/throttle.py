"""Sign-in throttling: after `failures` failed sign-ins within a moving window, per account and
per client, sign-in is refused until the oldest of them leaves the window.

Held in memory only (the `limits` library's MemoryStorage and moving window): a restart
forgets it, and nothing about a client reaches the store or the logs. Even in memory the
client's address is kept only as a keyed hash, with a key made for this instance.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.auth.fields import InvalidAccount, normalize_email


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

    def retry_after(self, account_key: str, client: str) -> int | None:
        """Seconds (at least 1) to wait before trying to sign in to this account or from this
        client again, or None when neither has used up its failures. Counts nothing."""
        waits = [
            self._wait(key)
            for key in (self._account(account_key), self._client(client))
            if not self._limiter.test(self._limit, key)
        ]
        return max(waits) if waits else None

    def failed(self, account_key: str, client: str) -> None:
        """Count a failed sign-in against the account and the client."""
        # A hit past the limit is refused and adds nothing: a full window only empties.
        self._limiter.hit(self._limit, self._account(account_key))
        self._limiter.hit(self._limit, self._client(client))

    def first_refusal(self, account_key: str, client: str) -> bool:
        """Whether a sign-in refused by `retry_after` is the first refusal within a window for
        the account or the client holding it back: the audit log then records it, once, and a
        flood of throttled attempts adds no entry after the first.

        Kept here in memory with the failures rather than in the store: noting there "already
        recorded" would be a write per attempt, the very growth this avoids, and the client
        (a keyed hash) must never reach the store. A restart forgets it, which costs at most
        one more entry per account or client."""
        held = [
            key
            for key in (self._account(account_key), self._client(client))
            if not self._limiter.test(self._limit, key)
        ]
        # Nothing holds it back any more (the window ended since the check): a refusal still
        # happened, and is noted against both.
        keys = held or [self._account(account_key), self._client(client)]
        # Every key is hit, not only up to the first new one: each starts its own window.
        return any([self._limiter.hit(self._noted, "noted:" + key) for key in keys])

    def succeeded(self, account_key: str) -> None:
        """Forget the account's failures (the client's stay: a right password for one
        account says nothing about the guesses it made at others)."""
        self._limiter.clear(self._limit, self._account(account_key))

    # -- helpers -------------------------------------------------------------------------------

    def _wait(self, key: str) -> int:
        """Whole seconds until a failure of a full window leaves it, at least 1."""
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
        return "client:" + self._hash(client)

    def _hash(self, text: str) -> str:
        data = text.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()
