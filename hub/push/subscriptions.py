"""Push subscriptions kept in the store: endpoint, keys and preferences, nothing of the person.

A phone subscribes once and is answered an id and a token; the store keeps only the token's
SHA-256 (as hub/auth/sessions.py keeps a session's), and every later read, change or deletion
is looked up by that hash, so a wrong token is never compared byte by byte with a right one.
What is stored is exactly: id, token_hash, endpoint, push_service, keys, locale, origin,
destination, corridor, topics, discreet, created, confirmed, last_delivery. No address, no
user agent, no time of day beyond those. A deleted subscription takes its link from its
deliveries with it, in the same batch (hub.push.outbox.unlink).

An endpoint belongs to the browser that holds its keys: subscribing again with a stored
endpoint replaces that subscription only with the same keys (the same browser, its token
lost); other keys, or a change to an endpoint another subscription holds, is refused
(SubscriptionTaken) and nothing changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from limits import RateLimitItemPerHour
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.auth.accounts import utc_now
from hub.auth.sessions import MAX_TOKEN, TIME_FORMAT, token_hash
from hub.auth.throttle import client_network
from hub.push import TOPICS
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.push.outbox import unlink
from hub.store import Store
from hub.store.base import Conflict, Document

__all__ = [
    "InvalidSubscription",
    "SubscribeLimit",
    "Subscriber",
    "SubscriptionTaken",
    "Subscriptions",
]

TABLE = "subscriptions"
# The fields a reader may read back with her token (never the token's hash).
PUBLIC_FIELDS = (
    "id",
    "endpoint",
    "keys",
    "locale",
    "origin",
    "destination",
    "corridor",
    "topics",
    "discreet",
    "created",
    "confirmed",
    "last_delivery",
)
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
P256DH_BYTES = 65
AUTH_BYTES = 16
# A document id the store made (hub/store: token_hex) or any short plain one; longer is not ours.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Tries of a deletion whose deliveries changed between the read and the batch.
TRIES = 5
TAKEN = "another subscription holds this endpoint: nothing was changed"


class SubscriptionTaken(InvalidSubscription):
    """The endpoint is another subscription's (other keys, or another id): the API answers
    409 and nothing changes."""

    def __init__(self) -> None:
        super().__init__("endpoint", TAKEN)


def same_keys(stored: object, given: dict[str, str]) -> bool:
    """Whether a stored subscription's keys are these (in constant time: `auth` is a secret)."""
    if not isinstance(stored, dict):
        return False
    return all(
        hmac.compare_digest(str(stored.get(name) or "").encode(), given[name].encode())
        for name in ("p256dh", "auth")
    )


@dataclass(frozen=True)
class Subscriber:
    """A subscription as a request asks for it, every field checked."""

    endpoint: str
    push_service: str
    keys: dict[str, str]
    locale: str
    origin: str
    destination: str
    topics: list[str]
    discreet: bool

    def fields(self) -> dict[str, Any]:
        """The stored fields it sets (the corridor made from the two countries)."""
        return {
            "endpoint": self.endpoint,
            "push_service": self.push_service,
            "keys": dict(self.keys),
            "locale": self.locale,
            "origin": self.origin,
            "destination": self.destination,
            "corridor": f"{self.origin}-{self.destination}",
            "topics": list(self.topics),
            "discreet": self.discreet,
        }


def _decode(text: object, field: str, size: int) -> str:
    """A base64url key of `size` bytes, as given; InvalidSubscription otherwise."""
    if not isinstance(text, str) or not BASE64URL.fullmatch(text) or len(text) > 4 * size:
        raise InvalidSubscription(field, f"{field} must be base64url")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubscription(field, f"{field} must be base64url") from exc
    if len(raw) != size:
        raise InvalidSubscription(field, f"{field} must be {size} bytes, not {len(raw)}")
    if field == "p256dh":
        if raw[0] != 0x04:
            raise InvalidSubscription(field, "p256dh must be an uncompressed point (0x04 first)")
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise InvalidSubscription(field, "p256dh is not a point on the P-256 curve") from exc
    return text


class SubscribeLimit:
    """Subscription requests per client and hour, in memory only, by a keyed hash of the
    client's address (an IPv6 one by its /64, as hub/auth/throttle.py counts sign-ins)."""

    def __init__(self, per_hour: int) -> None:
        if per_hour < 1:
            raise ValueError("a subscribe limit needs at least one request an hour")
        self.per_hour = per_hour
        self._limit = RateLimitItemPerHour(per_hour)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def hit(self, client: str) -> bool:
        """Count a request of this client; False (and not counted) when it has none left."""
        with self._lock:
            return bool(self._limiter.hit(self._limit, self._client(client)))

    def _client(self, client: str) -> str:
        data = client_network(client).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()


class Subscriptions:
    """The phones subscribed to alerts."""

    def __init__(
        self,
        store: Store,
        *,
        services: PushServices,
        confirm_days: int,
        locales: Iterable[str] = (),
        origins: Iterable[str] = (),
        destinations: Iterable[str] = (),
        per_hour: int = 20,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self.services = services
        self.confirm_days = confirm_days
        self.locales = frozenset(locales)
        self.origins = frozenset(origins)
        self.destinations = frozenset(destinations)
        self.limit = SubscribeLimit(per_hour)
        self.clock = clock
        self._purged: date | None = None
        self._purge_lock = threading.Lock()

    # -- checking a request ------------------------------------------------------------------

    def check(self, body: object) -> Subscriber:
        """The subscription a request body asks for, or InvalidSubscription naming the field.

        Shape: {"subscription": {"endpoint", "keys": {"p256dh", "auth"}, ...}, "locale",
        "origin", "destination", "topics": [...], "discreet": bool (default true)}."""
        if not isinstance(body, dict):
            raise InvalidSubscription("body", "the body must be a JSON object")
        subscription = body.get("subscription")
        if not isinstance(subscription, dict):
            raise InvalidSubscription("subscription", "subscription must be a PushSubscription")
        push_service = self.services.match(subscription.get("endpoint"))
        keys = subscription.get("keys")
        if not isinstance(keys, dict):
            raise InvalidSubscription("keys", "subscription.keys must hold p256dh and auth")
        p256dh = _decode(keys.get("p256dh"), "p256dh", P256DH_BYTES)
        auth = _decode(keys.get("auth"), "auth", AUTH_BYTES)
        locale = body.get("locale")
        if not isinstance(locale, str) or locale not in self.locales:
            raise InvalidSubscription("locale", "locale must be one of the site's languages")
        origin = body.get("origin")
        if not isinstance(origin, str) or origin not in self.origins:
            raise InvalidSubscription("origin", "origin must be one of the site's home countries")
        destination = body.get("destination")
        if not isinstance(destination, str) or destination not in self.destinations:
            raise InvalidSubscription(
                "destination", "destination must be one of the site's countries of work"
            )
        if origin == destination:
            raise InvalidSubscription("destination", "destination must differ from origin")
        topics = body.get("topics")
        if (
            not isinstance(topics, list)
            or not topics
            or not all(isinstance(t, str) and t in TOPICS for t in topics)
        ):
            raise InvalidSubscription("topics", f"topics must be some of {', '.join(TOPICS)}")
        discreet = body.get("discreet", True)
        if not isinstance(discreet, bool):
            raise InvalidSubscription("discreet", "discreet must be true or false")
        return Subscriber(
            endpoint=subscription["endpoint"],
            push_service=push_service,
            keys={"p256dh": p256dh, "auth": auth},
            locale=locale,
            origin=origin,
            destination=destination,
            # In the hub's order, each once: the same choice is stored the same way.
            topics=[t for t in TOPICS if t in topics],
            discreet=discreet,
        )

    # -- the reader's own subscription ---------------------------------------------------------

    def subscribe(self, body: object) -> tuple[str, str]:
        """Store a checked subscription: its id and its new token, shown only here.

        The same endpoint again with the same keys (the browser subscribing anew after losing
        its token) replaces its preferences and token under the same id; with other keys it
        is SubscriptionTaken, and the stored one is left as it was."""
        subscriber = self.check(body)
        token = secrets.token_urlsafe(32)
        now = self._now()
        fields = {
            **subscriber.fields(),
            "token_hash": token_hash(token),
            "confirmed": now,
        }
        for _ in range(3):
            existing = self._store.find_one(TABLE, endpoint=subscriber.endpoint)
            if existing is not None:
                if not same_keys(existing.get("keys"), subscriber.keys):
                    raise SubscriptionTaken
                expect = {"endpoint": subscriber.endpoint, "keys": existing.get("keys")}
                if self._store.update(TABLE, existing["id"], fields, expect=expect):
                    return existing["id"], token
                continue  # deleted or changed meanwhile: look again
            try:
                doc_id = self._store.insert(
                    TABLE, {**fields, "created": now, "last_delivery": None}
                )
            except Conflict:
                continue  # the same endpoint subscribed at the same moment: compare with it
            return doc_id, token
        raise InvalidSubscription("endpoint", "the endpoint is changing: try again")

    def read(self, doc_id: str, token: str) -> Document | None:
        """The subscription with this id and token (its public fields), or None for any
        mismatch: the answer never says whether the id exists."""
        doc = self._own(doc_id, token)
        return None if doc is None else {name: doc.get(name) for name in PUBLIC_FIELDS}

    def update(self, doc_id: str, token: str, body: object) -> Document | None:
        """Replace the subscription's endpoint, keys and preferences and renew `confirmed`
        (the page does this each time it is opened); None for a wrong id or token.

        InvalidSubscription for a bad body; SubscriptionTaken for an endpoint another
        subscription holds (only its own browser may change or delete that one)."""
        doc = self._own(doc_id, token)
        if doc is None:
            return None
        subscriber = self.check(body)
        changes = {**subscriber.fields(), "confirmed": self._now()}
        other = self._store.find_one(TABLE, endpoint=subscriber.endpoint)
        if other is not None and other["id"] != doc["id"]:
            raise SubscriptionTaken
        try:
            if not self._store.update(
                TABLE, doc["id"], changes, expect={"token_hash": doc["token_hash"]}
            ):
                return None
        except Conflict as exc:
            # Another subscription took the endpoint in between (the unique index refused it).
            raise SubscriptionTaken from exc
        return self.read(doc_id, token)

    def changes(self, doc_id: str, token: str, body: object) -> bool:
        """Whether `update` with this body would change more than `confirmed` (the subscribe
        limit counts only those). False for a wrong id or token or a bad body."""
        doc = self._own(doc_id, token)
        if doc is None:
            return False
        try:
            wanted = self.check(body).fields()
        except InvalidSubscription:
            return False
        return any(doc.get(name) != value for name, value in wanted.items())

    def confirm(self, doc_id: str, token: str) -> bool:
        """Renew `confirmed` (the phone still has this subscription); whether it was found."""
        doc = self._own(doc_id, token)
        if doc is None:
            return False
        return self._store.update(TABLE, doc["id"], {"confirmed": self._now()})

    def delete(self, doc_id: str, token: str) -> bool:
        """Delete the subscription with this id and token, and cut its deliveries from it;
        whether there was one."""
        doc = self._own(doc_id, token)
        if doc is None:
            return False
        return self._delete(doc["id"], {"token_hash": doc["token_hash"]})

    def purge_unconfirmed(self) -> int:
        """Delete every subscription not confirmed for `confirm_days` (Apple's service accepts
        messages for subscriptions long expired), cutting their deliveries; how many."""
        limit = self.clock().astimezone(UTC) - timedelta(days=self.confirm_days)
        cutoff = limit.strftime(TIME_FORMAT)
        stale = [doc for doc in self._store.find(TABLE) if doc["confirmed"] < cutoff]
        deleted = 0
        for doc in stale:
            deleted += self._delete(doc["id"], {"confirmed": doc["confirmed"]})
        return deleted

    def purge_due(self) -> int:
        """`purge_unconfirmed` at most once a day (a new subscription calls it: the hub needs
        no timer of its own); how many were deleted."""
        today = self.clock().astimezone(UTC).date()
        with self._purge_lock:
            if self._purged == today:
                return 0
            self._purged = today
        return self.purge_unconfirmed()

    # -- for the alerts and the sender ---------------------------------------------------------

    def matching(
        self, corridors: Iterable[str], locales: Iterable[str], topic: str
    ) -> list[Document]:
        """Subscriptions whose corridor is in `corridors`, locale in `locales` and that chose
        `topic`."""
        wanted = frozenset(locales)
        found: list[Document] = []
        for corridor in dict.fromkeys(corridors):
            found.extend(
                doc
                for doc in self._store.find(TABLE, corridor=corridor)
                if doc.get("locale") in wanted and topic in doc.get("topics", ())
            )
        return found

    def count_matching(self, corridors: Iterable[str], locales: Iterable[str], topic: str) -> int:
        """How many subscriptions `matching` would give (a leader's reach)."""
        return len(self.matching(corridors, locales, topic))

    def get_by_id(self, doc_id: str) -> Document | None:
        """The stored subscription with this id, or None."""
        return self._store.get(TABLE, doc_id)

    def remove(self, doc_id: str) -> bool:
        """Delete a subscription its push service says is gone (404, 410), cutting its
        deliveries; whether it was."""
        return self._delete(doc_id, None)

    def delivered(self, doc_id: str, when: datetime | str) -> bool:
        """Record the time of the last message its push service accepted."""
        moment = when if isinstance(when, str) else _format(when)
        return self._store.update(TABLE, doc_id, {"last_delivery": moment})

    def count(self) -> int:
        """How many phones are subscribed."""
        return self._store.count(TABLE)

    # -- helpers -------------------------------------------------------------------------------

    def _delete(self, doc_id: str, expect: dict[str, Any] | None) -> bool:
        """Delete a subscription whose fields equal `expect`, and in the same batch cut its
        deliveries from it (hub.push.outbox.unlink); whether it was deleted."""
        for _ in range(TRIES):
            try:
                with self._store.batch() as batch:
                    batch.delete(TABLE, doc_id, expect=expect)
                    unlink(self._store, batch, doc_id, self._now())
            except Conflict:
                current = self._store.get(TABLE, doc_id)
                if current is None or not all(
                    current.get(k) == v for k, v in (expect or {}).items()
                ):
                    return False
                continue  # one of its deliveries changed meanwhile: read them again
            return True
        return False

    def _own(self, doc_id: str, token: str) -> Document | None:
        """The document of this id whose token this is, found by the token's hash."""
        if not token or len(token) > MAX_TOKEN or not ID.fullmatch(doc_id or ""):
            return None
        doc = self._store.find_one(TABLE, token_hash=token_hash(token))
        if doc is None or not hmac.compare_digest(str(doc["id"]), doc_id):
            return None
        return doc

    def _now(self) -> str:
        return _format(self.clock())


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)
