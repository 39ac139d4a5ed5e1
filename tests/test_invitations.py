"""Invitation and reset links in a real store (hub/auth/invitations.py): only the token's hash
kept, valid 72 hours to the second, used once even by two racing requests, one live link per
account, and the sessions a new password ends."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.auth.accounts import Account, Accounts
from hub.auth.invitations import INVITATION_HOURS, Invitation, InvitationInvalid, Invitations
from hub.auth.passwords import PasswordRejected, Passwords
from hub.auth.sessions import Sessions
from hub.store import Store
from tests.conftest import FAST, Clock

PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"
THIRD = "Wd3$hJy6^bNc"
VALID = timedelta(hours=72)


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    accounts = Accounts(store, Passwords(FAST), clock=clock)
    accounts.create("boss@example.org", PASSWORD, role="admin")
    return accounts


@pytest.fixture
def invitations(store: Store, accounts: Accounts, clock: Clock) -> Invitations:
    return Invitations(store, accounts, clock=clock)


@pytest.fixture
def invited(accounts: Accounts) -> Account:
    return accounts.create("new@example.org", None, role="translator", locales=["km"])


def _reason(error: pytest.ExceptionInfo[InvitationInvalid]) -> tuple[str, str]:
    return (error.value.field, error.value.reason)


def test_seventy_two_hours() -> None:
    assert INVITATION_HOURS == 72


def test_a_link_keeps_only_the_hash_of_its_token(
    invitations: Invitations, store: Store, invited: Account, path: Path
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    assert len(token) >= 43
    (doc,) = store.find("invitations")
    assert doc == {
        "id": doc["id"],
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "account_id": invited.id,
        "kind": "invite",
        "created": "2025-03-01T08:30:00Z",
        "expires": "2025-03-04T08:30:00Z",
        "created_by": "boss@example.org",
        "used": None,
    }
    written = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert doc["token_hash"].encode() in written
    assert token.encode() not in written


def test_a_link_is_read_before_it_is_used(invitations: Invitations, invited: Account) -> None:
    token = invitations.issue(invited, kind="invite", by="cli:root")
    link, account = invitations.peek(token)
    assert account == invited
    assert link == Invitation(
        id=link.id,
        account_id=invited.id,
        kind="invite",
        created="2025-03-01T08:30:00Z",
        expires="2025-03-04T08:30:00Z",
        created_by="cli:root",
    )
    assert invitations.peek(token) == (link, account)  # peeking uses nothing up


def test_accepting_sets_the_password_and_uses_the_link_up(
    invitations: Invitations, accounts: Accounts, invited: Account, store: Store, clock: Clock
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    clock.now += timedelta(hours=1)
    accepted = invitations.accept(token, PASSWORD)
    assert accepted.email == "new@example.org"
    assert accepted.credentials_changed != invited.credentials_changed
    assert accounts.get("new@example.org") == accepted
    assert accounts.authenticate("new@example.org", PASSWORD) is not None
    (doc,) = store.find("invitations")
    assert doc["used"] == "2025-03-01T09:30:00Z"
    for attempt in (lambda: invitations.peek(token), lambda: invitations.accept(token, OTHER)):
        with pytest.raises(InvitationInvalid) as refused:
            attempt()
        assert _reason(refused) == ("token", "used")
    assert accounts.authenticate("new@example.org", OTHER) is None


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (VALID - timedelta(seconds=1), None),
        (VALID, None),
        (VALID + timedelta(seconds=1), "expired"),
        (VALID + timedelta(days=30), "expired"),
    ],
)
def test_a_link_lasts_seventy_two_hours_to_the_second(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    clock: Clock,
    after: timedelta,
    reason: str | None,
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    clock.now += after
    if reason is None:
        assert invitations.peek(token)[1] == invited
        assert invitations.accept(token, PASSWORD).id == invited.id
        return
    for attempt in (lambda: invitations.peek(token), lambda: invitations.accept(token, PASSWORD)):
        with pytest.raises(InvitationInvalid) as refused:
            attempt()
        assert _reason(refused) == ("token", reason)
    assert accounts.authenticate("new@example.org", PASSWORD) is None


def test_an_unknown_link_is_invalid(invitations: Invitations, invited: Account) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    hashed = hashlib.sha256(token.encode()).hexdigest()
    for other in ("", token[:-1], token + "x", hashed, "x" * 10_000):
        with pytest.raises(InvitationInvalid) as refused:
            invitations.accept(other, PASSWORD)
        assert _reason(refused) == ("token", "invalid")
    assert invitations.peek(token)[1] == invited


def test_a_refused_password_changes_nothing(
    invitations: Invitations, invited: Account, store: Store
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    before = (store.find("invitations"), store.find("accounts"))
    for weak, reason in [("short", "too_short"), ("password1234", "common")]:
        with pytest.raises(PasswordRejected) as refused:
            invitations.accept(token, weak)
        assert refused.value.reason == reason
    assert (store.find("invitations"), store.find("accounts")) == before
    assert invitations.accept(token, PASSWORD).id == invited.id


def test_a_link_of_a_disabled_or_removed_account_is_invalid(
    invitations: Invitations, accounts: Accounts, invited: Account, store: Store
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    accounts.disable("new@example.org")
    for attempt in (lambda: invitations.peek(token), lambda: invitations.accept(token, PASSWORD)):
        with pytest.raises(InvitationInvalid) as refused:
            attempt()
        assert _reason(refused) == ("token", "invalid")
    accounts.enable("new@example.org")
    assert invitations.peek(token)[1].active is True  # enabled again, the link works again
    store.delete("accounts", invited.id)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.accept(token, PASSWORD)
    assert _reason(refused) == ("token", "invalid")


def test_an_account_disabled_while_the_password_is_hashed_keeps_no_password(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    password_changes = accounts.password_changes

    def disabled_meanwhile(account: Account, password: str) -> dict[str, Any]:
        changes = password_changes(account, password)
        accounts.disable(account.email)
        return changes

    monkeypatch.setattr(accounts, "password_changes", disabled_meanwhile)
    with pytest.raises(InvitationInvalid) as refused:
        invitations.accept(token, PASSWORD)
    assert _reason(refused) == ("token", "invalid")
    (doc,) = store.find("invitations")
    assert doc["used"] is None
    monkeypatch.undo()
    accounts.enable("new@example.org")
    assert accounts.authenticate("new@example.org", PASSWORD) is None
    assert invitations.accept(token, PASSWORD).id == invited.id


def test_two_requests_racing_with_one_link_set_one_password(
    invitations: Invitations,
    accounts: Accounts,
    invited: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = invitations.issue(invited, kind="invite", by="boss@example.org")
    # Both requests have checked the link before either writes: only the store can choose.
    both_checked = threading.Barrier(2, timeout=10)
    password_changes = accounts.password_changes

    def in_step(account: Account, password: str) -> dict[str, Any]:
        both_checked.wait()
        return password_changes(account, password)

    monkeypatch.setattr(accounts, "password_changes", in_step)
    results: dict[str, Account | InvitationInvalid] = {}

    def accept(password: str) -> None:
        try:
            results[password] = invitations.accept(token, password)
        except InvitationInvalid as exc:
            results[password] = exc

    threads = [threading.Thread(target=accept, args=(p,)) for p in (OTHER, THIRD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [p for p, r in results.items() if isinstance(r, Account)]
    losers = [r for r in results.values() if isinstance(r, InvitationInvalid)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].reason == "used"
    (winner,) = winners
    loser = THIRD if winner == OTHER else OTHER
    monkeypatch.undo()
    assert accounts.authenticate("new@example.org", winner) is not None
    assert accounts.authenticate("new@example.org", loser) is None


def test_a_new_link_replaces_the_account_s_unused_one(
    invitations: Invitations, accounts: Accounts, invited: Account, store: Store
) -> None:
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_token = invitations.issue(boss, kind="reset", by="cli:root")
    first = invitations.issue(invited, kind="invite", by="boss@example.org")
    second = invitations.issue(invited, kind="invite", by="boss@example.org")
    with pytest.raises(InvitationInvalid) as refused:
        invitations.peek(first)
    assert _reason(refused) == ("token", "invalid")
    assert store.count("invitations", account_id=invited.id) == 1
    invitations.accept(second, PASSWORD)
    # A used link stays (used) when a later one is issued; another account's is untouched.
    invitations.issue(invited, kind="reset", by="boss@example.org")
    assert store.count("invitations", account_id=invited.id) == 2
    assert invitations.peek(boss_token)[1] == boss


def test_a_forced_reset_ends_sessions_and_the_link_sets_a_new_password(
    store: Store, invitations: Invitations, accounts: Accounts
) -> None:
    maria = accounts.create("maria@example.org", PASSWORD, role="curator")
    sessions = Sessions(store, accounts, idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
    before, _ = sessions.start(maria)
    cleared = accounts.clear_password("maria@example.org")
    token = invitations.issue(cleared, kind="reset", by="boss@example.org")
    assert sessions.resume(before) is None
    assert accounts.authenticate("maria@example.org", PASSWORD) is None
    link, _ = invitations.peek(token)
    assert link.kind == "reset"
    accepted = invitations.accept(token, OTHER)
    between, _ = sessions.start(accepted)
    assert sessions.resume(between) is not None
    assert accounts.authenticate("maria@example.org", OTHER) is not None
    # Accepting a link ends the sessions started before it, like any new password.
    again = invitations.issue(accepted, kind="reset", by="boss@example.org")
    invitations.accept(again, THIRD)
    assert sessions.resume(between) is None


def test_revoke_ends_an_account_s_unused_link_only(
    invitations: Invitations, accounts: Accounts, invited: Account, store: Store
) -> None:
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_token = invitations.issue(boss, kind="reset", by="cli:root")
    invitations.accept(invitations.issue(invited, kind="invite", by="cli:root"), PASSWORD)
    pending = invitations.issue(invited, kind="reset", by="cli:root")
    assert invitations.revoke(invited.id) == 1
    with pytest.raises(InvitationInvalid) as refused:
        invitations.accept(pending, OTHER)
    assert _reason(refused) == ("token", "invalid")
    assert store.count("invitations", account_id=invited.id) == 1  # the used one stays
    assert invitations.peek(boss_token)[1] == boss
    assert invitations.revoke(invited.id) == 0


def test_only_two_kinds(invitations: Invitations, invited: Account) -> None:
    with pytest.raises(ValueError):
        invitations.issue(invited, kind="welcome", by="boss@example.org")


def test_purge_deletes_used_and_expired_links(
    invitations: Invitations, accounts: Accounts, invited: Account, store: Store, clock: Clock
) -> None:
    boss = accounts.get("boss@example.org")
    assert boss is not None
    invitations.accept(invitations.issue(invited, kind="invite", by="cli:root"), PASSWORD)
    expired = invitations.issue(boss, kind="reset", by="cli:root")
    clock.now += VALID + timedelta(seconds=1)
    other = accounts.create("other@example.org", None, role="curator")
    live = invitations.issue(other, kind="invite", by="boss@example.org")
    assert invitations.purge() == 2
    assert store.count("invitations") == 1
    assert invitations.peek(live)[1] == other
    with pytest.raises(InvitationInvalid) as refused:
        invitations.peek(expired)
    assert _reason(refused) == ("token", "invalid")
