"""Console accounts in the store: email, role and scope, active or disabled, and sign-in.

Accounts are for CSO staff and peer leaders only; readers never have one, and no account
records an IP address. Emails are kept normalised (`hub.auth.fields.normalize_email`), unique by the
`accounts.email` index of migration 2. Times are UTC, ISO 8601 to the second ("...Z").
"""

from __future__ import annotations

import secrets
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.auth import totp
from hub.auth.errors import Refused
from hub.auth.fields import InvalidAccount, check_scope, clean_display_name, normalize_email
from hub.auth.passwords import Passwords, check_password
from hub.store.base import Conflict, Store

TABLE = "accounts"
# Checked against when there is no second factor, for the same work as when there is one.
_NO_SECRET = totp.new_secret()
# One lock per store, shared by every Accounts on it: two Accounts made on one store (the app's
# and a test's, say) must not each check the last admin on their own.
_ADMIN_LOCKS: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_ADMIN_LOCKS_MU = threading.Lock()


def _admin_lock(store: Store) -> threading.Lock:
    """The lock that makes the last-admin check and its change one step on this store."""
    with _ADMIN_LOCKS_MU:
        lock = _ADMIN_LOCKS.get(store)
        if lock is None:
            lock = _ADMIN_LOCKS[store] = threading.Lock()
        return lock


class EmailTaken(Refused):
    """Another account already has this email (after normalisation)."""

    def __init__(self, email: str) -> None:
        super().__init__("email", "taken", f"an account with the email {email} already exists")


class UnknownAccount(Refused, LookupError):
    """No account has this email."""

    def __init__(self, email: str) -> None:
        super().__init__("email", "unknown", f"no account has the email {email}")


@dataclass(frozen=True)
class Account:
    """One account as the consoles see it (its password hash stays in the store)."""

    id: str
    email: str
    display_name: str
    role: str
    corridors: tuple[str, ...]
    locales: tuple[str, ...]
    active: bool
    created: str
    last_sign_in: str | None
    # Renewed when the password changes or the account is disabled: a session keeps the value
    # it started with, and ends when the account's no longer equals it.
    credentials_changed: str
    # A TOTP second factor is on (its secret and last used step stay in the store).
    two_factor: bool = False
    # A password is set: False for an invited account, or one whose password an admin cleared,
    # until the person sets one through her link (the hash itself stays in the store).
    has_password: bool = False
    # The public name of her peer network, shown to readers with each alert she posts (never
    # her own name); "" until an admin or curator sets it.
    network: str = ""
    # A curator trusts this leader: her alerts are published without waiting for review.
    trusted: bool = False

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Account:
        """The account a store document holds."""
        return cls(
            id=doc["id"],
            email=doc["email"],
            display_name=doc["display_name"],
            role=doc["role"],
            corridors=tuple(doc["corridors"]),
            locales=tuple(doc["locales"]),
            active=doc["active"],
            created=doc["created"],
            last_sign_in=doc["last_sign_in"],
            credentials_changed=doc["credentials_changed"],
            # Accounts made before the second factor existed have no such field.
            two_factor=bool(doc.get("two_factor", False)),
            has_password=doc.get("password_hash") is not None,
            # Accounts made before alerts existed have neither field.
            network=str(doc.get("network") or ""),
            trusted=bool(doc.get("trusted", False)),
        )


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


class Accounts:
    """The accounts kept in a store, and sign-in against them.

    At least one admin who can sign in (active, with a password) always stays: a change that
    could leave none (`disable`, `set_role`, `clear_password`) is refused with reason
    last_admin. The check and the change are one step: the embedded store belongs to one
    process, so a lock per store held around both keeps two racing changes (two tabs, two
    admins) from each seeing the other admin still there. A PostgreSQL store, shared by several
    processes, would do the same in a transaction that locks the admin rows (SELECT ... FOR
    UPDATE) or with one conditional UPDATE whose WHERE counts the admins left."""

    def __init__(
        self,
        store: Store,
        passwords: Passwords | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.passwords = passwords or Passwords()
        self.clock = clock
        self._admin_lock = _admin_lock(store)

    # -- reading -------------------------------------------------------------------------------

    def get(self, email: str) -> Account | None:
        """The account with this email (normalised first), or None (InvalidAccount for a
        text that is not an email)."""
        doc = self._find(email)
        return Account.from_document(doc) if doc else None

    def get_by_id(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        doc = self.store.get(TABLE, account_id)
        return Account.from_document(doc) if doc else None

    def all(self, *, role: str | None = None) -> list[Account]:
        """Every account (of one role, when given), by email."""
        docs = self.store.find(TABLE) if role is None else self.store.find(TABLE, role=role)
        return sorted((Account.from_document(d) for d in docs), key=lambda a: a.email)

    # -- changing ------------------------------------------------------------------------------

    def create(
        self,
        email: str,
        password: str | None,
        *,
        role: str,
        display_name: str = "",
        corridors: Iterable[str] = (),
        locales: Iterable[str] = (),
    ) -> Account:
        """Add an active account, or raise InvalidAccount, PasswordRejected or EmailTaken.

        With password None the account cannot sign in until `set_password` (an invitation)."""
        email = normalize_email(email)
        name = clean_display_name(display_name)
        kept_corridors, kept_locales = check_scope(role, corridors, locales)
        if self._find(email) is not None:
            raise EmailTaken(email)
        password_hash = None
        if password is not None:
            check_password(password, personal=(email, name))
            password_hash = self.passwords.hash(password)
        doc = {
            "email": email,
            "display_name": name,
            "role": role,
            "corridors": list(kept_corridors),
            "locales": list(kept_locales),
            "active": True,
            "created": self._now(),
            "last_sign_in": None,
            "password_hash": password_hash,
            "credentials_changed": _marker(),
            "two_factor": False,
            "totp_secret": None,
            # The last time step whose code signed in (or confirmed the secret): replays refused.
            "totp_step": None,
            # No "network" nor "trusted" until one is set: Account reads their absence as "" and
            # False, the same for an account made before alerts existed.
        }
        try:
            doc["id"] = self.store.insert(TABLE, doc)
        except Conflict as exc:  # taken between the look-up and the insert
            raise EmailTaken(email) from exc
        return Account.from_document(doc)

    def disable(self, email: str) -> Account:
        """Stop an account from signing in and end its sessions (UnknownAccount; InvalidAccount
        with reason last_admin for the only admin who can sign in)."""
        with self._admin_lock:
            doc = self._require(email)
            self._keep_an_admin(doc, still_admin=False)
            return self._change(doc, {"active": False, "credentials_changed": _marker()})

    def enable(self, email: str) -> Account:
        """Let a disabled account sign in again (its old sessions stay ended)."""
        return self._change(self._require(email), {"active": True})

    def set_role(
        self,
        email: str,
        role: str,
        *,
        corridors: Iterable[str] = (),
        locales: Iterable[str] = (),
    ) -> Account:
        """Give an account a role and that role's scope (replacing the old scope; InvalidAccount
        with reason last_admin when it would take the role from the only admin who can sign
        in)."""
        kept_corridors, kept_locales = check_scope(role, corridors, locales)
        changes = {"role": role, "corridors": list(kept_corridors), "locales": list(kept_locales)}
        with self._admin_lock:
            doc = self._require(email)
            self._keep_an_admin(doc, still_admin=role == "admin")
            return self._change(doc, changes)

    def set_display_name(self, email: str, display_name: str) -> Account:
        """Give an account a new display name (cleaned; InvalidAccount when too long or with
        control characters)."""
        doc = self._require(email)
        return self._change(doc, {"display_name": clean_display_name(display_name)})

    def set_network(self, email: str, network: str) -> Account:
        """Give an account the public name of its peer network (cleaned as a display name is;
        "" clears it; InvalidAccount with field network when too long or with control or
        invisible characters)."""
        doc = self._require(email)
        return self._change(doc, {"network": clean_network(network)})

    def set_trusted(self, email: str, trusted: bool) -> Account:
        """Trust an account's alerts to go out without review, or stop trusting them."""
        if not isinstance(trusted, bool):
            # A form's "on" or a JSON 1 would be stored as it is and compare unequal to True.
            raise InvalidAccount("trusted", "invalid", f"{trusted!r} is not True or False")
        doc = self._require(email)
        return self._change(doc, {"trusted": trusted})

    def set_password(self, email: str, password: str) -> Account:
        """Set a new password (policy-checked: PasswordRejected) and end the account's
        sessions."""
        doc = self._require(email)
        return self._change(doc, self.password_changes(Account.from_document(doc), password))

    def password_changes(self, account: Account, password: str) -> dict[str, Any]:
        """The store changes that give an account a new password and end its sessions, for a
        caller writing them along with its own (policy-checked: PasswordRejected)."""
        check_password(password, personal=(account.email, account.display_name))
        return {"password_hash": self.passwords.hash(password), "credentials_changed": _marker()}

    def clear_password(self, email: str) -> Account:
        """Remove an account's password and end its sessions (an admin's forced reset: the
        person sets a new one through a reset link; InvalidAccount with reason last_admin for
        the only admin who can sign in)."""
        with self._admin_lock:
            doc = self._require(email)
            self._keep_an_admin(doc, still_admin=False)
            return self._change(doc, {"password_hash": None, "credentials_changed": _marker()})

    # -- signing in ----------------------------------------------------------------------------

    def authenticate(self, email: str, password: str, otp: str | None = None) -> Account | None:
        """The active account with this email and password (and, when it has a second factor,
        a current TOTP code `otp` not used before), its sign-in time recorded, or None.

        An unknown or malformed email, a wrong password, an account without a password, a
        disabled account and a missing, wrong or used code all give None after the same work
        (one argon2 verification, then a TOTP check), so neither the answer nor its time tells
        whether the email has an account or the password was right. A hash made with old
        parameters is redone. A password change or disabling that lands while this runs wins,
        and so does another sign-in with the same code: this one then gives None."""
        try:
            doc = self._find(email)
        except InvalidAccount:
            doc = None
        encoded = doc["password_hash"] if doc else None
        password_ok = self.passwords.verify(encoded, password)
        two_factor = bool(doc and doc.get("two_factor"))
        # Checked whatever the password gave and whether the account has a second factor (with
        # a secret no account has), so that nothing before the answer depends on either.
        last_step = doc.get("totp_step") if doc and two_factor else None
        step = totp.verify(
            doc["totp_secret"] if doc and two_factor else _NO_SECRET,
            otp or "",
            after_step=last_step,
            at=self.clock(),
        )
        if not password_ok or doc is None or not doc["active"] or (two_factor and step is None):
            return None
        changes: dict[str, Any] = {"last_sign_in": self._now()}
        if encoded is not None and self.passwords.needs_rehash(encoded):
            changes["password_hash"] = self.passwords.hash(password)
        # Disabling renews the marker too: a change of either kind since the read refuses this.
        expect = {"password_hash": encoded, "credentials_changed": doc["credentials_changed"]}
        if two_factor:
            # The step is used up: the same code (or an older one) never signs in again, even
            # by a request racing this one (its `expect` then fails).
            changes["totp_step"] = step
            expect |= {"two_factor": True, "totp_step": last_step}
        if not self.store.update(TABLE, doc["id"], changes, expect=expect):
            return None
        return Account.from_document({**doc, **changes})

    # -- second factor -------------------------------------------------------------------------

    def set_two_factor(self, email: str, secret: str, code: str) -> Account:
        """Turn on the TOTP second factor with a new secret, once `code` shows the person's app
        has it (Refused("otp", "wrong") otherwise, and for a secret the hub did not make).

        The confirming code's step counts as used: it cannot also sign in."""
        doc = self._require(email)
        step = totp.verify(secret, code, after_step=None, at=self.clock())
        if not totp.valid_secret(secret) or step is None:
            raise Refused("otp", "wrong", "the code does not match: check the app's time and retry")
        changes = {"two_factor": True, "totp_secret": secret, "totp_step": step}
        return self._change(doc, changes)

    def clear_two_factor(self, email: str) -> Account:
        """Turn off an account's second factor (its secret is deleted)."""
        doc = self._require(email)
        return self._change(doc, {"two_factor": False, "totp_secret": None, "totp_step": None})

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _find(self, email: str) -> dict[str, Any] | None:
        return self.store.find_one(TABLE, email=normalize_email(email))

    def _require(self, email: str) -> dict[str, Any]:
        doc = self._find(email)
        if doc is None:
            raise UnknownAccount(normalize_email(email))
        return doc

    def _change(self, doc: Mapping[str, Any], changes: Mapping[str, Any]) -> Account:
        """Apply changes to an account as it was read (UnknownAccount if it went meanwhile)."""
        if not self.store.update(TABLE, doc["id"], changes):
            raise UnknownAccount(doc["email"])
        return Account.from_document({**doc, **changes})

    def _keep_an_admin(self, doc: Mapping[str, Any], *, still_admin: bool) -> None:
        """Refuse a change that would leave no admin who can sign in: nobody could manage
        accounts from the console any more. Called with `_admin_lock` held, `doc` read under it.

        An admin still owing her password (an unused invitation, a forced reset) or a disabled
        one does not count: she cannot sign in."""
        if still_admin or not _can_sign_in_as_admin(doc):
            return
        active = self.store.count(TABLE, role="admin", active=True)
        without_password = self.store.count(TABLE, role="admin", active=True, password_hash=None)
        if active - without_password <= 1:
            raise InvalidAccount(
                "role",
                "last_admin",
                f"{doc['email']} is the only active admin with a password",
                value=doc["email"],
            )


def clean_network(raw: str) -> str:
    """A network's public name, cleaned by the display name's rules (trimmed, NFC, one space
    between words, at most MAX_NAME characters, no control or invisible characters but ZWNJ
    and ZWJ); may be empty. Refused with InvalidAccount, field network."""
    try:
        return clean_display_name(raw)
    except InvalidAccount as refused:
        raise InvalidAccount(
            "network", refused.reason, str(refused).replace("a display name", "a network name")
        ) from refused


def _can_sign_in_as_admin(doc: Mapping[str, Any]) -> bool:
    """The account is an active admin with a password."""
    return doc["role"] == "admin" and bool(doc["active"]) and doc.get("password_hash") is not None


def _marker() -> str:
    """A new value for `credentials_changed`."""
    return secrets.token_urlsafe(12)
