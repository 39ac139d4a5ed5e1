"""Single-use links that let a person set her own password: an invitation to a new account,
or a reset an admin forced. Valid INVITATION_HOURS; the store keeps only the token's hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.auth.accounts import TABLE as ACCOUNTS
from hub.auth.accounts import Account, Accounts, utc_now
from hub.auth.errors import Refused
from hub.auth.sessions import MAX_TOKEN, TIME_FORMAT, token_hash
from hub.store.base import Conflict, Store

TABLE = "invitations"
INVITATION_HOURS = 72
KINDS = ("invite", "reset")


class InvitationInvalid(Refused):
    """A link that cannot set a password: reason "invalid" (unknown, or its account is gone
    or disabled), "expired" or "used"."""

    def __init__(self, reason: str) -> None:
        messages = {
            "invalid": "this link is not valid",
            "expired": "this link has expired",
            "used": "this link has already been used",
        }
        super().__init__("token", reason, messages[reason])


@dataclass(frozen=True)
class Invitation:
    """One link as the console sees it (never its token)."""

    id: str
    account_id: str
    kind: str  # "invite" | "reset"
    created: str
    expires: str
    created_by: str  # the email of the admin, or "cli:<user>"

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Invitation:
        """The invitation a store document holds."""
        return cls(
            id=doc["id"],
            account_id=doc["account_id"],
            kind=doc["kind"],
            created=doc["created"],
            expires=doc["expires"],
            created_by=doc["created_by"],
        )


class Invitations:
    """Invitation and reset links in a store: issued by an admin, accepted once."""

    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        *,
        valid: timedelta = timedelta(hours=INVITATION_HOURS),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.valid = valid
        self.clock = clock

    def issue(self, account: Account, *, kind: str, by: str) -> str:
        """A new link's token (shown only here) for an account; the account's earlier unused
        links stop working (one live link per account)."""
        if kind not in KINDS:
            raise ValueError(f"{kind!r} is not a kind of invitation")
        token = secrets.token_urlsafe(32)
        now = self._now()
        doc = {
            "token_hash": token_hash(token),
            "account_id": account.id,
            "kind": kind,
            "created": _format(now),
            "expires": _format(now + self.valid),
            "created_by": by,
            "used": None,
        }
        with self.store.batch() as batch:
            batch.delete_where(TABLE, account_id=account.id, used=None)
            batch.insert(TABLE, doc)
        return token

    def peek(self, token: str) -> tuple[Invitation, Account]:
        """The link of a token and its account, if it can still set a password; else
        InvitationInvalid."""
        doc, account = self._live(token)
        return Invitation.from_document(doc), account

    def accept(self, token: str, password: str) -> Account:
        """Set the account's password through a link and use the link up; the account's
        sessions end.

        PasswordRejected (nothing changes) for a password the policy refuses; InvitationInvalid
        for a link that is unknown, expired or used, or whose account is gone or disabled.
        Of two requests racing with one link, exactly one sets its password."""
        doc, account = self._live(token)
        changes = self.accounts.password_changes(account, password)
        try:
            # One write: the link is used up if and only if the password is set. `expect`
            # makes the loser of a race fail whole, and an account changed meanwhile
            # (disabled, or another password set) refuses the link.
            with self.store.batch() as batch:
                batch.update(
                    TABLE, doc["id"], {"used": _format(self._now())}, expect={"used": None}
                )
                batch.update(
                    ACCOUNTS,
                    account.id,
                    changes,
                    expect={"active": True, "credentials_changed": account.credentials_changed},
                )
        except Conflict:
            self._live(token)  # says why: used, or its account disabled or gone
            raise InvitationInvalid("invalid") from None
        changed = self.accounts.get_by_id(account.id)
        if changed is None:  # removed in the instant since the write
            raise InvitationInvalid("invalid")
        return changed

    def revoke(self, account_id: str) -> int:
        """Make an account's unused link stop working (its password was set another way, e.g.
        `hub users reset-password`); how many were deleted."""
        return self.store.delete_where(TABLE, account_id=account_id, used=None)

    def purge(self) -> int:
        """Delete the links that can no longer be used (used or expired); how many."""
        now = _format(self._now())
        gone = [
            doc["id"]
            for doc in self.store.find(TABLE)
            if doc["used"] is not None or doc["expires"] < now
        ]
        try:
            with self.store.batch() as batch:
                for doc_id in gone:
                    batch.delete(TABLE, doc_id)
        except Conflict:  # one went meanwhile (a new link replaced it)
            return sum(self.store.delete(TABLE, doc_id) for doc_id in gone)
        return len(gone)

    # -- helpers -------------------------------------------------------------------------------

    def _live(self, token: str) -> tuple[dict[str, Any], Account]:
        """The document of a usable link and its active account, or InvitationInvalid."""
        if not token or len(token) > MAX_TOKEN:
            raise InvitationInvalid("invalid")
        doc = self.store.find_one(TABLE, token_hash=token_hash(token))
        if doc is None:
            raise InvitationInvalid("invalid")
        if doc["used"] is not None:
            raise InvitationInvalid("used")
        # Both are UTC in one fixed format: as text they sort as the times do.
        if _format(self._now()) > doc["expires"]:
            raise InvitationInvalid("expired")
        account = self.accounts.get_by_id(doc["account_id"])
        if account is None or not account.active:
            raise InvitationInvalid("invalid")
        return doc, account

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)


def _format(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)
