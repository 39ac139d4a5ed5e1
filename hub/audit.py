"""The audit log: who did what to what, and when, appended to the store's "audit" table.

Every sign-in (success and failure), account change and, later, content edit and alert action
is one entry: time, actor, action, target and the change. An entry never holds reader data, an
IP address, a user agent, a password, a hash, a token or a TOTP secret: `record` refuses a
change with a key named like one of those.

Entry ids sort in the order the entries were recorded: the time in microseconds, raised past
the previous id when the clock has not moved on (or went back), then a little randomness. So
"newest first" holds within one second, and the id is the cursor of the next page.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from hub.auth.accounts import utc_now
from hub.store.base import Store

TABLE = "audit"

ACTIONS = frozenset(
    {
        "sign_in",
        "sign_in_failed",
        "sign_in_throttled",
        "sign_out",
        "account_created",
        "account_invited",
        "invitation_accepted",
        "role_changed",
        "account_disabled",
        "account_enabled",
        "password_reset",
        "password_changed",
        "two_factor_enabled",
        "two_factor_disabled",
        "sessions_ended",
        "name_changed",
        # Alerts (hub/push/alerts.py): the leader's steps, then the curator's.
        "alert_previewed",
        "alert_submitted",
        "alert_refused",
        "alert_withdrawn",
        "alert_corrected",
        "alert_approved",
        "alert_rejected",
        "alert_edited",
        # A leader's peer network and trust (the admin console's account and alert pages).
        "network_changed",
        "trust_changed",
        # A content file saved from the console (hub/views/console/saving.py), with its text
        # before and after; a restore from the history page is one too (what: "restored").
        "content_saved",
    }
)

# Words a key of a change may not contain, whatever its case or separators: credentials, and
# what would tie an entry to a device or a place.
SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "hash", "totp", "csrf")
SECRET_PARTS = frozenset({"otp", "pin", "ip", "ipaddress", "cookie", "agent", "useragent"})

# Export reads this many entries at a time, so a long log never sits whole in the export's
# memory. Large, because each page of the embedded store ranks the whole table again: for
# 100,000 entries 500 a page took 66 s, 5,000 a page 13 s.
EXPORT_PAGE = 5000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(r"(\d{8}T\d{6})\.(\d{6})Z-[0-9a-f]+")


@dataclass(frozen=True)
class Entry:
    """One thing done: when (UTC, to the second), by whom, what, to what, and what changed."""

    id: str
    at: str
    actor: str
    action: str
    target: str
    change: dict[str, Any]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Entry:
        """The entry a store document holds."""
        return cls(
            id=doc["id"],
            at=doc["at"],
            actor=doc["actor"],
            action=doc["action"],
            target=doc["target"],
            change=dict(doc["change"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The entry as one JSON object (the fields in a fixed order)."""
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "change": self.change,
        }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The `change` of an edit: {field: {"from": old, "to": new}} for each field that differs."""
    return {
        field: {"from": before.get(field), "to": value}
        for field, value in after.items()
        if before.get(field) != value
    }


class _Sequence:
    """The last id stamp given out for one store: shared by every AuditLog on that store in
    this process, so ids stay in recording order whichever log wrote them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: int | None = None


_SEQUENCES: weakref.WeakKeyDictionary[Store, _Sequence] = weakref.WeakKeyDictionary()
_SEQUENCES_LOCK = threading.Lock()


def _sequence(store: Store) -> _Sequence:
    """The sequence of ids of this store (one of its own for a store that takes no weak
    reference: then only its AuditLog keeps the order)."""
    with _SEQUENCES_LOCK:
        try:
            sequence = _SEQUENCES.get(store)
            if sequence is None:
                sequence = _SEQUENCES[store] = _Sequence()
        except TypeError:
            sequence = _Sequence()
        return sequence


class AuditLog:
    """The audit entries kept in a store: append, read newest first, export."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock
        self._sequence = _sequence(store)

    def record(
        self,
        action: str,
        *,
        actor: str,
        target: str = "",
        change: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Append an entry (ValueError for an unknown action or a change naming a secret).

        `actor` is an account's email, "cli:<os user>" for the hub command, or "" when nobody
        is signed in; `target` what was acted on (an account's email), or ""."""
        if action not in ACTIONS:
            raise ValueError(f"{action!r} is not an audit action")
        kept = dict(change or {})
        _refuse_secrets(kept)
        now = self.clock().astimezone(UTC)
        doc = {
            "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "actor": actor,
            "action": action,
            "target": target,
            "change": kept,
        }
        sequence = self._sequence
        # Held across the insert: the entry with the greater id is also the one written later.
        with sequence.lock:
            if sequence.last is None:
                sequence.last = self._newest_stamp()
            stamp = max((now - _EPOCH) // timedelta(microseconds=1), sequence.last + 1)
            doc["id"] = _format_id(stamp)
            self.store.insert(TABLE, doc)
            sequence.last = stamp
        return Entry.from_document(json.loads(json.dumps(doc)))

    def page(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Entry]:
        """At most `limit` entries, newest first, matching the filters given (None: any),
        starting after the entry whose id is `before` (the last of the previous page)."""
        where = {
            name: value
            for name, value in (("actor", actor), ("action", action), ("target", target))
            if value is not None
        }
        docs = self.store.page(
            TABLE,
            where,
            order_by="id",
            descending=True,
            after=None if before is None else {"id": before},
            limit=limit,
        )
        return [Entry.from_document(doc) for doc in docs]

    def export(self, out: IO[str]) -> int:
        """Write every entry as JSON Lines, oldest first, a page at a time; return how many."""
        count = 0
        for entry in self._oldest_first():
            out.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count

    def _oldest_first(self) -> Iterator[Entry]:
        after: dict[str, Any] | None = None
        while True:
            docs = self.store.page(TABLE, order_by="id", after=after, limit=EXPORT_PAGE)
            for doc in docs:
                yield Entry.from_document(doc)
            if len(docs) < EXPORT_PAGE:
                return
            after = {"id": docs[-1]["id"]}

    def _newest_stamp(self) -> int:
        """The stamp of the newest entry already stored (another run's), or 0."""
        newest = self.store.page(TABLE, order_by="id", descending=True, limit=1)
        return _parse_id(newest[0]["id"]) if newest else 0


def _format_id(stamp: int) -> str:
    """An id that sorts as its stamp (microseconds since 1970) does: readable, fixed width."""
    moment = _EPOCH + timedelta(microseconds=stamp)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond:06d}Z-{secrets.token_hex(3)}"


def _parse_id(entry_id: str) -> int:
    """The stamp an id was made from (0 for an id this module did not make)."""
    match = _ID.fullmatch(entry_id)
    if not match:
        return 0
    seconds = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return (seconds - _EPOCH) // timedelta(microseconds=1) + int(match[2])


def _refuse_secrets(value: Any, path: str = "change") -> None:
    """ValueError when a key anywhere in `value` names a credential or a reader's device."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key).lower()
            parts = set(re.split(r"[^a-z0-9]+", name)) | {re.sub(r"[^a-z0-9]+", "", name)}
            if any(word in name for word in SECRET_WORDS) or parts & SECRET_PARTS:
                raise ValueError(f"{path}: {key!r} may not be in the audit log")
            _refuse_secrets(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{path}[{index}]")
