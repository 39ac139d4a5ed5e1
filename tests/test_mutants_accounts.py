"""Tests that kill the mutants the other tests left alive in hub/auth/accounts.py and
hub/auth/invitations.py (docs/testing.md, "Mutation testing"): the texts of the refusals, the
last admin's count, the scope and defaults a change writes, and a network's name and trust."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyotp
import pytest

from hub.auth import totp
from hub.auth.accounts import Account, Accounts, EmailTaken, UnknownAccount, utc_now
from hub.auth.errors import Refused
from hub.auth.fields import InvalidAccount
from hub.auth.invitations import InvitationInvalid, Invitations
from hub.auth.passwords import PasswordRejected, Passwords
from hub.store import Store, open_store
from tests.conftest import FAST, Clock, LocalZone

PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


# -- accounts: the texts of the refusals -------------------------------------------------------


def test_a_taken_email_is_named_in_the_refusal(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EmailTaken's message dropped, or the email in it turned None (found by the look-up, and
    # by the store's index when another writer got in between).
    accounts.create("maria@example.org", PASSWORD, role="curator")
    with pytest.raises(EmailTaken) as taken:
        accounts.create(" Maria@Example.org", OTHER, role="curator")
    assert str(taken.value) == "an account with the email maria@example.org already exists"
    monkeypatch.setattr(accounts, "_find", lambda email: None)
    with pytest.raises(EmailTaken) as taken:
        accounts.create("MARIA@example.org", OTHER, role="curator")
    assert str(taken.value) == "an account with the email maria@example.org already exists"


def test_an_unknown_email_is_named_normalised_in_the_refusal(accounts: Accounts) -> None:
    # UnknownAccount's message dropped, or the email in it turned None.
    with pytest.raises(UnknownAccount) as unknown:
        accounts.disable("  Ghost@Example.ORG ")
    assert str(unknown.value) == "no account has the email ghost@example.org"
    assert (unknown.value.field, unknown.value.reason) == ("email", "unknown")


def test_an_account_gone_between_the_read_and_the_write_is_unknown(
    accounts: Accounts, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The email of the UnknownAccount a failed update raises: None, or read under another key.
    accounts.create("lan@example.org", PASSWORD, role="curator")
    stale = store.find_one("accounts", email="lan@example.org")
    assert stale is not None
    store.delete("accounts", stale["id"])  # another admin removed it meanwhile
    monkeypatch.setattr(accounts, "_find", lambda email: stale)
    with pytest.raises(UnknownAccount) as unknown:
        accounts.set_display_name("lan@example.org", "Lan")
    assert str(unknown.value) == "no account has the email lan@example.org"


def test_a_wrong_enrolment_code_says_what_to_check(accounts: Accounts, clock: Clock) -> None:
    # The text of the Refused("otp", "wrong") set_two_factor raises: None, or changed.
    accounts.create("maria@example.org", PASSWORD, role="curator")
    secret = totp.new_secret()
    wrong = "000000" if _code(secret, clock.now) != "000000" else "111111"
    with pytest.raises(Refused) as refused:
        accounts.set_two_factor("maria@example.org", secret, wrong)
    assert str(refused.value) == "the code does not match: check the app's time and retry"


def test_the_last_admin_refusal_names_her(accounts: Accounts) -> None:
    # InvalidAccount(last_admin)'s message dropped, and its value turned None or left out.
    accounts.create("boss@example.org", PASSWORD, role="admin")
    with pytest.raises(InvalidAccount) as refused:
        accounts.clear_password("Boss@example.org")
    assert str(refused.value) == "boss@example.org is the only active admin with a password"
    assert (refused.value.field, refused.value.reason) == ("role", "last_admin")
    assert refused.value.value == "boss@example.org"


# -- accounts: the last admin ------------------------------------------------------------------


def test_a_disabled_admin_without_a_password_is_not_subtracted(accounts: Accounts) -> None:
    # The count of admins without a password kept to active ones (active=True dropped): a
    # disabled invited admin would be taken from the two who can sign in, leaving "one".
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.create("deputy@example.org", PASSWORD, role="admin")
    accounts.create("pending@example.org", None, role="admin")
    accounts.disable("pending@example.org")
    assert accounts.disable("boss@example.org").active is False
    assert accounts.get("deputy@example.org").active is True  # type: ignore[union-attr]


def test_the_last_admin_may_be_given_the_admin_role_again(accounts: Accounts) -> None:
    # still_admin=role == "admin" turned None, or compared with another text: keeping the only
    # admin an admin (with a new scope) would be refused as taking her role.
    accounts.create("boss@example.org", PASSWORD, role="admin")
    again = accounts.set_role("boss@example.org", "admin")
    assert (again.email, again.role, again.active) == ("boss@example.org", "admin", True)


# -- accounts: what a change writes ------------------------------------------------------------


def test_set_role_writes_the_new_locales(accounts: Accounts) -> None:
    # The "locales" key of set_role's changes renamed: the old locales stayed in the store.
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.create("lan@example.org", PASSWORD, role="translator", locales=["vi"])
    changed = accounts.set_role("lan@example.org", "translator", locales=["km", "th"])
    assert changed.locales == ("th", "km")
    assert accounts.get("lan@example.org").locales == ("th", "km")  # type: ignore[union-attr]


def test_an_account_made_without_a_name_has_none(accounts: Accounts) -> None:
    # create's display_name default "" turned "XXXX".
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    assert made.display_name == ""
    assert accounts.get("maria@example.org").display_name == ""  # type: ignore[union-attr]


def test_a_new_password_may_not_be_the_display_name(accounts: Accounts) -> None:
    # password_changes checks the policy without the account's email and name (personal=...
    # dropped): a strong text that is her display name would be accepted.
    accounts.create("maria@example.org", PASSWORD, role="curator", display_name="Wq8Zr3Lp7Xn5")
    with pytest.raises(PasswordRejected) as rejected:
        accounts.set_password("maria@example.org", "wq8zr3lp7xn5")
    assert rejected.value.reason == "personal"


def test_the_credentials_marker_is_sixteen_url_safe_characters(
    accounts: Accounts, store: Store
) -> None:
    # secrets.token_urlsafe(12) turned token_urlsafe(None) (32 bytes) or (13).
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    changed = accounts.set_password("maria@example.org", OTHER)
    for marker in (made.credentials_changed, changed.credentials_changed):
        assert re.fullmatch(r"[A-Za-z0-9_-]{16}", marker)
    assert made.credentials_changed != changed.credentials_changed


# -- accounts: a network's name and trust ------------------------------------------------------


def test_a_network_name_is_set_cleaned_and_cleared(accounts: Accounts, store: Store) -> None:
    accounts.create(
        "leader@example.org", PASSWORD, role="leader", corridors=["VN-TW"], locales=["vi"]
    )
    named = accounts.set_network(" Leader@example.org", "  Taipei   Sisters ")
    assert named.network == "Taipei Sisters"
    doc = store.find_one("accounts", email="leader@example.org")
    assert doc is not None and doc["network"] == "Taipei Sisters"
    assert accounts.get("leader@example.org").network == "Taipei Sisters"  # type: ignore[union-attr]
    cleared = accounts.set_network("leader@example.org", "")
    assert cleared.network == ""
    with pytest.raises(UnknownAccount) as unknown:
        accounts.set_network("ghost@example.org", "Net")
    assert str(unknown.value) == "no account has the email ghost@example.org"


@pytest.mark.parametrize(
    ("raw", "reason", "message"),
    [
        ("x" * 101, "too_long", "a network name has at most 100 characters"),
        ("Taipei\x07Sisters", "invalid", "a network name has no control characters"),
    ],
)
def test_a_bad_network_name_is_refused_as_a_network_name(
    accounts: Accounts, raw: str, reason: str, message: str
) -> None:
    accounts.create(
        "leader@example.org", PASSWORD, role="leader", corridors=["VN-TW"], locales=["vi"]
    )
    with pytest.raises(InvalidAccount) as refused:
        accounts.set_network("leader@example.org", raw)
    assert (refused.value.field, refused.value.reason) == ("network", reason)
    assert str(refused.value) == message
    assert isinstance(refused.value.__cause__, InvalidAccount)
    assert accounts.get("leader@example.org").network == ""  # type: ignore[union-attr]


def test_trust_is_set_and_taken_back(accounts: Accounts, store: Store) -> None:
    accounts.create(
        "leader@example.org", PASSWORD, role="leader", corridors=["VN-TW"], locales=["vi"]
    )
    trusted = accounts.set_trusted("Leader@example.org", True)
    assert trusted.trusted is True
    doc = store.find_one("accounts", email="leader@example.org")
    assert doc is not None and doc["trusted"] is True
    assert accounts.get("leader@example.org").trusted is True  # type: ignore[union-attr]
    assert accounts.set_trusted("leader@example.org", False).trusted is False
    doc = store.find_one("accounts", email="leader@example.org")
    assert doc is not None and doc["trusted"] is False
    with pytest.raises(UnknownAccount) as unknown:
        accounts.set_trusted("ghost@example.org", True)
    assert str(unknown.value) == "no account has the email ghost@example.org"


@pytest.mark.parametrize("value", ["on", 1, None, "True"])
def test_trust_is_only_true_or_false(accounts: Accounts, store: Store, value: Any) -> None:
    accounts.create(
        "leader@example.org", PASSWORD, role="leader", corridors=["VN-TW"], locales=["vi"]
    )
    with pytest.raises(InvalidAccount) as refused:
        accounts.set_trusted("leader@example.org", value)
    assert (refused.value.field, refused.value.reason) == ("trusted", "invalid")
    assert str(refused.value) == f"{value!r} is not True or False"
    doc = store.find_one("accounts", email="leader@example.org")
    assert doc is not None and "trusted" not in doc


def test_with_two_factor_a_password_change_during_sign_in_still_wins(
    accounts: Accounts, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a second factor, the step is added to what the sign-in expects (expect |= ...):
    # a mutant replacing the expectation dropped the password's, and signed in anyway.
    accounts.create("maria@example.org", PASSWORD, role="curator")
    secret = totp.new_secret()
    accounts.set_two_factor("maria@example.org", secret, _code(secret, clock.now))
    clock.now = clock.now.replace(minute=31)  # two steps on: the enrolment code's is used
    verify = accounts.passwords.verify

    def verify_then_change(encoded: str | None, password: str) -> bool:
        result = verify(encoded, password)
        doc = store.find_one("accounts", email="maria@example.org")
        assert doc is not None
        store.update("accounts", doc["id"], {"credentials_changed": "changed meanwhile"})
        return result

    monkeypatch.setattr(accounts.passwords, "verify", verify_then_change)
    assert accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now)) is None
    doc = store.find_one("accounts", email="maria@example.org")
    assert doc is not None and doc["last_sign_in"] is None
    monkeypatch.setattr(accounts.passwords, "verify", verify)
    signed_in = accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now))
    assert signed_in is not None and signed_in.last_sign_in == "2025-03-01T08:31:00Z"


def test_an_account_made_before_alerts_has_no_network_and_no_trust(
    accounts: Accounts, store: Store
) -> None:
    # Account.from_document reading an absent "network" or "trusted": the field dropped, or
    # read under another key, or its default turned "XXXX", True or None.
    made = accounts.create(
        "leader@example.org", PASSWORD, role="leader", corridors=["VN-TW"], locales=["vi"]
    )
    doc = store.find_one("accounts", email="leader@example.org")
    assert doc is not None and "network" not in doc and "trusted" not in doc
    for account in (made, accounts.get("leader@example.org")):
        assert account is not None
        assert account.network == ""
        assert account.trusted is False


# -- accounts: locks and clocks ----------------------------------------------------------------


def test_two_accounts_on_one_store_share_the_last_admin_lock(store: Store, tmp_path: Path) -> None:
    # _admin_lock's look-up of the store's lock turned None: each Accounts would get its own
    # lock, and two of them (the app's and a command's) could each see the other admin left.
    first = Accounts(store, Passwords(FAST))
    second = Accounts(store, Passwords(FAST))
    assert first._admin_lock is second._admin_lock
    other = open_store(tmp_path / "other.json")
    try:
        assert Accounts(other, Passwords(FAST))._admin_lock is not first._admin_lock
    finally:
        other.close()


def test_utc_now_is_an_aware_utc_time() -> None:
    # datetime.now(UTC) turned datetime.now(None): a naive local time, which the modules taking
    # utc_now as their clock could not compare with their stored UTC times.
    before = datetime.now(UTC)
    now = utc_now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


@pytest.fixture
def bangkok(local_zone: LocalZone) -> None:
    """The machine's local time zone is Bangkok's (UTC+7) for the test."""
    local_zone("Asia/Bangkok")


@pytest.mark.usefixtures("bangkok")
def test_times_are_written_in_utc_whatever_the_clock_s_zone(store: Store) -> None:
    # _now's astimezone(UTC) turned astimezone(None): the machine's local time, with a "Z".
    hanoi = timezone(timedelta(hours=7))
    accounts = Accounts(
        store, Passwords(FAST), clock=lambda: datetime(2025, 3, 1, 15, 30, tzinfo=hanoi)
    )
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    assert made.created == "2025-03-01T08:30:00Z"
    signed_in = accounts.authenticate("maria@example.org", PASSWORD)
    assert signed_in is not None and signed_in.last_sign_in == "2025-03-01T08:30:00Z"


# -- invitations -------------------------------------------------------------------------------


@pytest.fixture
def invitations(store: Store, accounts: Accounts, clock: Clock) -> Invitations:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    return Invitations(store, accounts, clock=clock)


@pytest.fixture
def invited(accounts: Accounts, invitations: Invitations) -> Account:
    return accounts.create("new@example.org", None, role="translator", locales=["km"])


def test_each_refused_link_says_why_in_words(
    invitations: Invitations, invited: Account, clock: Clock
) -> None:
    # The three messages of InvitationInvalid changed, or not passed on (None).
    with pytest.raises(InvitationInvalid) as refused:
        invitations.peek("no-such-token")
    assert str(refused.value) == "this link is not valid"
    token = invitations.issue(invited, kind="invite", by="cli:root")
    invitations.accept(token, OTHER)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.peek(token)
    assert (refused.value.field, refused.value.reason) == ("token", "used")
    assert str(refused.value) == "this link has already been used"
    late = invitations.issue(invited, kind="reset", by="cli:root")
    clock.now += timedelta(hours=72, seconds=1)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.peek(late)
    assert str(refused.value) == "this link has expired"


def test_a_link_read_back_has_its_id_and_a_43_character_token(
    invitations: Invitations, invited: Account, store: Store
) -> None:
    # Invitation.id turned None; secrets.token_urlsafe(32) turned (33).
    token = invitations.issue(invited, kind="invite", by="cli:root")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    (doc,) = store.find("invitations")
    link, account = invitations.peek(token)
    assert link.id == doc["id"] and link.id
    assert (link.kind, link.created_by, account.email) == ("invite", "cli:root", "new@example.org")


def test_an_unknown_kind_is_named(invitations: Invitations, invited: Account) -> None:
    # The ValueError's message dropped.
    with pytest.raises(ValueError) as refused:
        invitations.issue(invited, kind="promote", by="cli:root")
    assert str(refused.value) == "'promote' is not a kind of invitation"


def test_a_password_set_another_way_meanwhile_makes_the_link_invalid(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After a failed write whose link is still live, InvitationInvalid("invalid"): a mutant
    # passing None or another reason raised a KeyError instead.
    token = invitations.issue(invited, kind="invite", by="cli:root")
    changes = accounts.password_changes

    def changes_then_other_password(account: Account, password: str) -> dict[str, Any]:
        result = changes(account, password)
        store.update("accounts", account.id, {"credentials_changed": "set another way"})
        return result

    monkeypatch.setattr(accounts, "password_changes", changes_then_other_password)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.accept(token, OTHER)
    assert (refused.value.reason, str(refused.value)) == ("invalid", "this link is not valid")


def test_an_account_removed_just_after_the_write_makes_the_link_invalid(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The InvitationInvalid("invalid") when the account is gone after the write: None or
    # another reason raised a KeyError instead.
    token = invitations.issue(invited, kind="invite", by="cli:root")
    get_by_id = accounts.get_by_id
    calls: list[str] = []

    def gone_the_second_time(account_id: str) -> Account | None:
        calls.append(account_id)
        return get_by_id(account_id) if len(calls) == 1 else None

    monkeypatch.setattr(accounts, "get_by_id", gone_the_second_time)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.accept(token, OTHER)
    assert (refused.value.reason, str(refused.value)) == ("invalid", "this link is not valid")
    assert calls == [invited.id, invited.id]


def test_a_link_expiring_this_second_is_not_purged(
    invitations: Invitations, invited: Account, clock: Clock, store: Store
) -> None:
    # purge's doc["expires"] < now turned <=: a link still usable this second was deleted.
    token = invitations.issue(invited, kind="invite", by="cli:root")
    clock.now += timedelta(hours=72)
    assert invitations.purge() == 0
    assert store.count("invitations") == 1
    assert invitations.peek(token)[1].email == "new@example.org"


def test_purge_counts_what_it_deleted_when_one_went_meanwhile(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    clock: Clock,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The one-by-one deletion after a Conflict: its table or id dropped, or sum(None).
    other = accounts.create("other@example.org", None, role="curator")
    invitations.issue(invited, kind="invite", by="cli:root")
    invitations.issue(other, kind="invite", by="cli:root")
    clock.now += timedelta(hours=73)
    find = store.find

    def find_then_one_goes(table: str, /, **equals: Any) -> list[dict[str, Any]]:
        docs = find(table, **equals)
        store.delete("invitations", docs[0]["id"])  # a new link replaced it meanwhile
        return docs

    monkeypatch.setattr(store, "find", find_then_one_goes)
    assert invitations.purge() == 1
    monkeypatch.undo()
    assert store.find("invitations") == []


@pytest.mark.usefixtures("bangkok")
def test_a_link_s_times_are_utc_whatever_the_clock_s_zone(store: Store) -> None:
    # Invitations._now's astimezone(UTC) turned astimezone(None): local times with a "Z".
    hanoi = timezone(timedelta(hours=7))
    accounts = Accounts(store, Passwords(FAST))
    invited = accounts.create("new@example.org", None, role="curator")
    invitations = Invitations(
        store, accounts, clock=lambda: datetime(2025, 3, 1, 15, 30, tzinfo=hanoi)
    )
    link, _ = invitations.peek(invitations.issue(invited, kind="invite", by="cli:root"))
    assert (link.created, link.expires) == ("2025-03-01T08:30:00Z", "2025-03-04T08:30:00Z")
