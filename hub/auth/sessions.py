"""Console sessions kept on the server: the cookie holds a random token, the store only its hash.

A session ends when it has been idle longer than the idle timeout, when it is older than its
absolute lifetime, when it is ended (sign-out, "end sessions"), or when its account is gone,
disabled or has new credentials (password changed, cleared or the account disabled: the
account's `credentials_changed` then differs from the value the session started with).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.auth.accounts import Account, Accounts, utc_now
from hub.store.base import Conflict, Store

TABLE = "sessions"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# last_seen is rewritten at most this often: a write (an fsync) per request would be the
# store's busiest work for no gain, and the idle timeout is counted in minutes.
RENEW_AFTER = timedelta(seconds=60)
# secrets.token_urlsafe(32) is 43 characters; a cookie far longer is not one of ours and is
# not worth hashing.
MAX_TOKEN = 256


@dataclass(frozen=True)
class Session:
    """One signed-in session as the web layer sees it (never its token)."""

    id: str  # the store document's id, not the token
    account_id: str
    csrf_token: str  # secrets.token_urlsafe(32), per session; every console form carries it
    created: str
    last_seen: str

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Session:
        """The session a store document holds."""
        return cls(
            id=doc["id"],
            account_id=doc["account_id"],
            csrf_token=doc["csrf_token"],
            created=doc["created"],
            last_seen=doc["last_seen"],
        )


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    # A plain hash suffices (no salt, no slow hash): the token has 256 random bits, so a copy
    # of the store cannot be turned back into cookies by guessing.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    """Sessions in a store: started at sign-in, resumed from the cookie on each request."""

    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        *,
        idle: timedelta,
        lifetime: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if idle <= timedelta(0) or lifetime <= timedelta(0):
            raise ValueError("a session's idle timeout and lifetime must be positive")
        self.store = store
        self.accounts = accounts
        self.idle = idle
        self.lifetime = lifetime
        self.clock = clock

    def start(self, account: Account) -> tuple[str, Session]:
        """A new session for an account that has just signed in: the token for the cookie
        (shown only here) and the session."""
        token = secrets.token_urlsafe(32)
        now = _format(self._now())
        doc: dict[str, Any] = {
            "token_hash": token_hash(token),
            "account_id": account.id,
            "csrf_token": secrets.token_urlsafe(32),
            "created": now,
            "last_seen": now,
            "credentials_changed": account.credentials_changed,
        }
        doc["id"] = self.store.insert(TABLE, doc)
        return token, Session.from_document(doc)

    def resume(self, token: str) -> tuple[Session, Account] | None:
        """The live session of a cookie's token and its account, its last_seen renewed when
        more than a minute old; None for an unknown token or an ended session (deleted)."""
        if not token or len(token) > MAX_TOKEN:
            return None
        doc = self.store.find_one(TABLE, token_hash=token_hash(token))
        if doc is None:
            return None
        now = self._now()
        account = self.accounts.get_by_id(doc["account_id"])
        if account is None or not self._alive(doc, account, now):
            self.store.delete(TABLE, doc["id"])
            return None
        if now - _parse(doc["last_seen"]) > RENEW_AFTER:
            seen = _format(now)
            # Ended meanwhile (sign-out elsewhere, end_all): the update finds nothing.
            if not self.store.update(TABLE, doc["id"], {"last_seen": seen}):
                return None
            doc["last_seen"] = seen
        return Session.from_document(doc), account

    def end(self, token: str) -> bool:
        """End the session of a token (sign-out); whether there was one."""
        if not token or len(token) > MAX_TOKEN:
            return False
        return self.store.delete_where(TABLE, token_hash=token_hash(token)) > 0

    def end_all(self, account_id: str, *, keep: str | None = None) -> int:
        """End every session of an account but the one with id `keep` (when given); how many
        ended."""
        if keep is None:
            return self.store.delete_where(TABLE, account_id=account_id)
        ended = 0
        for doc in self.store.find(TABLE, account_id=account_id):
            if doc["id"] != keep and self.store.delete(TABLE, doc["id"]):
                ended += 1
        return ended

    def purge(self) -> int:
        """Delete every session that has ended without being deleted (expired, or its account
        gone, disabled or with new credentials); how many."""
        now = self._now()
        accounts: dict[str, Account | None] = {}
        dead = []
        for doc in self.store.find(TABLE):
            account_id = doc["account_id"]
            if account_id not in accounts:
                accounts[account_id] = self.accounts.get_by_id(account_id)
            account = accounts[account_id]
            if account is None or not self._alive(doc, account, now):
                dead.append(doc)
        # One durable write for all of them; `expect` keeps a session renewed since it was
        # read (a clock a second behind another) from being deleted under its user.
        try:
            with self.store.batch() as batch:
                for doc in dead:
                    batch.delete(TABLE, doc["id"], expect={"last_seen": doc["last_seen"]})
        except Conflict:
            return sum(
                self.store.delete(TABLE, doc["id"], expect={"last_seen": doc["last_seen"]})
                for doc in dead
            )
        return len(dead)

    def count(self, account_id: str) -> int:
        """How many live sessions an account has."""
        account = self.accounts.get_by_id(account_id)
        if account is None:
            return 0
        now = self._now()
        return sum(
            self._alive(doc, account, now) for doc in self.store.find(TABLE, account_id=account_id)
        )

    # -- helpers -------------------------------------------------------------------------------

    def _alive(self, doc: Mapping[str, Any], account: Account, now: datetime) -> bool:
        """Whether a session has not ended: within both time limits, its account active and
        with the credentials the session started with."""
        return (
            now - _parse(doc["last_seen"]) <= self.idle
            and now - _parse(doc["created"]) <= self.lifetime
            and account.active
            and account.credentials_changed == doc["credentials_changed"]
        )

    def _now(self) -> datetime:
        # To the second, like the stored times: a limit then falls on a whole second, the same
        # whichever fraction of it the session started in.
        return self.clock().astimezone(UTC).replace(microsecond=0)


def _format(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
