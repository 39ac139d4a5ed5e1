"""Console sessions in a real store (hub/auth/sessions.py): the token only as a hash, idle
timeout and absolute lifetime to the second, and every way a session ends."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hub.auth.accounts import Account, Accounts
from hub.auth.passwords import Passwords
from hub.auth.sessions import Sessions
from hub.store import Store
from tests.conftest import Clock

PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=8)


@pytest.fixture
def sessions(store: Store, accounts: Accounts, clock: Clock) -> Sessions:
    return Sessions(store, accounts, idle=IDLE, lifetime=LIFETIME, clock=clock)


@pytest.fixture
def maria(accounts: Accounts) -> Account:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    return accounts.create("maria@example.org", PASSWORD, role="curator")


def _folder_bytes(path: Path) -> bytes:
    """Everything the store wrote to its folder: the snapshot, the journal, the lock."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.iterdir()) if p.is_file())


# -- starting ----------------------------------------------------------------------------------


def test_a_session_keeps_only_the_hash_of_its_token(
    sessions: Sessions, store: Store, maria: Account, path: Path
) -> None:
    token, session = sessions.start(maria)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    (doc,) = store.find("sessions")
    assert set(doc) == {
        "id",
        "token_hash",
        "account_id",
        "csrf_token",
        "created",
        "last_seen",
        "credentials_changed",
    }
    assert doc["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert (doc["account_id"], doc["created"], doc["last_seen"]) == (
        maria.id,
        "2025-03-01T08:30:00Z",
        "2025-03-01T08:30:00Z",
    )
    assert session.id == doc["id"] and session.id not in (token, doc["token_hash"])
    assert session.csrf_token == doc["csrf_token"] and len(session.csrf_token) >= 43
    # Written, durably, and the token is nowhere in what was written; its hash is.
    written = _folder_bytes(path)
    assert doc["token_hash"].encode() in written
    assert token.encode() not in written
    assert token not in repr(doc)


def test_each_session_has_its_own_token_and_csrf_token(sessions: Sessions, maria: Account) -> None:
    started = [sessions.start(maria) for _ in range(3)]
    assert len({token for token, _ in started}) == 3
    assert len({session.csrf_token for _, session in started}) == 3
    assert len({session.id for _, session in started}) == 3


def test_a_token_resumes_its_session_and_nothing_else_does(
    sessions: Sessions, maria: Account
) -> None:
    token, session = sessions.start(maria)
    resumed = sessions.resume(token)
    assert resumed is not None
    assert resumed == (session, maria)
    hashed = hashlib.sha256(token.encode()).hexdigest()
    for other in ("", token[:-1], token + "x", hashed, session.id, "x" * 10_000):
        assert sessions.resume(other) is None, other
    assert sessions.resume(token) is not None  # a wrong guess ends nothing


# -- time --------------------------------------------------------------------------------------


def test_the_idle_timeout_ends_a_session_one_second_past_it(
    sessions: Sessions, store: Store, maria: Account, clock: Clock
) -> None:
    at_edge, _ = sessions.start(maria)
    past_edge, _ = sessions.start(maria)
    clock.now += IDLE
    assert sessions.resume(at_edge) is not None
    clock.now += timedelta(seconds=1)
    assert sessions.resume(past_edge) is None
    assert store.count("sessions") == 1  # the ended one is deleted
    assert sessions.resume(past_edge) is None


def test_use_renews_last_seen_at_most_once_a_minute(
    sessions: Sessions, store: Store, maria: Account, clock: Clock
) -> None:
    token, _ = sessions.start(maria)
    clock.now += timedelta(seconds=60)
    resumed = sessions.resume(token)
    assert resumed is not None and resumed[0].last_seen == "2025-03-01T08:30:00Z"
    assert store.find("sessions")[0]["last_seen"] == "2025-03-01T08:30:00Z"  # no write
    clock.now += timedelta(seconds=1)
    resumed = sessions.resume(token)
    assert resumed is not None and resumed[0].last_seen == "2025-03-01T08:31:01Z"
    assert store.find("sessions")[0]["last_seen"] == "2025-03-01T08:31:01Z"
    # The idle timeout now counts from the renewal.
    clock.now += IDLE
    assert sessions.resume(token) is not None


def test_the_lifetime_ends_a_session_however_much_it_is_used(
    sessions: Sessions, maria: Account, clock: Clock
) -> None:
    token, _ = sessions.start(maria)
    start = clock.now
    while clock.now < start + LIFETIME:
        clock.now = min(clock.now + timedelta(minutes=20), start + LIFETIME)
        assert sessions.resume(token) is not None, clock.now
    assert clock.now == start + LIFETIME  # alive at the very edge
    clock.now += timedelta(seconds=1)
    assert sessions.resume(token) is None


def test_a_clock_s_fraction_of_a_second_does_not_move_the_edge(
    store: Store, accounts: Accounts, maria: Account, clock: Clock
) -> None:
    clock.now = clock.now.replace(microsecond=900_000)
    sessions = Sessions(store, accounts, idle=IDLE, lifetime=LIFETIME, clock=clock)
    token, session = sessions.start(maria)
    assert session.created == "2025-03-01T08:30:00Z"
    clock.now = clock.now.replace(microsecond=0) + IDLE + timedelta(microseconds=999_999)
    assert sessions.resume(token) is not None


def test_limits_must_be_positive(store: Store, accounts: Accounts) -> None:
    for idle, lifetime in [(timedelta(0), LIFETIME), (IDLE, timedelta(seconds=-1))]:
        with pytest.raises(ValueError):
            Sessions(store, accounts, idle=idle, lifetime=lifetime)


# -- the account -------------------------------------------------------------------------------


def test_disabling_an_account_ends_all_its_sessions_for_good(
    sessions: Sessions, accounts: Accounts, store: Store, maria: Account
) -> None:
    tokens = [sessions.start(maria)[0] for _ in range(2)]
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_token, _ = sessions.start(boss)
    accounts.disable("maria@example.org")
    assert [sessions.resume(t) for t in tokens] == [None, None]
    accounts.enable("maria@example.org")
    assert [sessions.resume(t) for t in tokens] == [None, None]  # not back with the account
    assert sessions.resume(boss_token) is not None
    assert store.count("sessions") == 1


def test_an_inactive_account_has_no_session_even_with_its_old_credentials(
    sessions: Sessions, store: Store, maria: Account
) -> None:
    # Accounts.disable renews the credentials too; this holds without that (a document
    # changed by some other path).
    token, _ = sessions.start(maria)
    store.update("accounts", maria.id, {"active": False})
    assert sessions.resume(token) is None


@pytest.mark.parametrize("change", ["set_password", "clear_password"])
def test_a_new_or_cleared_password_ends_all_the_account_s_sessions(
    sessions: Sessions, accounts: Accounts, maria: Account, change: str
) -> None:
    tokens = [sessions.start(maria)[0] for _ in range(2)]
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_token, _ = sessions.start(boss)
    if change == "set_password":
        accounts.set_password("maria@example.org", OTHER)
    else:
        accounts.clear_password("maria@example.org")
    assert [sessions.resume(t) for t in tokens] == [None, None]
    assert sessions.resume(boss_token) is not None
    # A session started after the change lives.
    changed = accounts.get("maria@example.org")
    assert changed is not None
    after, _ = sessions.start(changed)
    assert sessions.resume(after) is not None


def test_a_rehash_or_a_role_change_ends_no_session(
    sessions: Sessions, accounts: Accounts, store: Store, maria: Account
) -> None:
    token, _ = sessions.start(maria)
    stronger = Accounts(
        store, Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    )
    assert stronger.authenticate("maria@example.org", PASSWORD) is not None
    accounts.set_role("maria@example.org", "translator", locales=["th"])
    resumed = sessions.resume(token)
    assert resumed is not None and resumed[1].role == "translator"  # the account as it is now


def test_a_session_of_a_removed_account_ends(
    sessions: Sessions, store: Store, maria: Account
) -> None:
    token, _ = sessions.start(maria)
    store.delete("accounts", maria.id)
    assert sessions.resume(token) is None
    assert store.count("sessions") == 0


def test_a_session_ended_while_being_renewed_stays_ended(
    sessions: Sessions,
    accounts: Accounts,
    maria: Account,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, _ = sessions.start(maria)
    clock.now += timedelta(minutes=5)
    get_by_id = accounts.get_by_id

    def signed_out_meanwhile(account_id: str) -> Account | None:
        sessions.end(token)
        return get_by_id(account_id)

    monkeypatch.setattr(accounts, "get_by_id", signed_out_meanwhile)
    assert sessions.resume(token) is None


# -- ending ------------------------------------------------------------------------------------


def test_sign_out_ends_one_session(sessions: Sessions, maria: Account) -> None:
    token, _ = sessions.start(maria)
    other, _ = sessions.start(maria)
    assert sessions.end(token) is True
    assert sessions.resume(token) is None
    assert sessions.end(token) is False
    assert sessions.end("") is False
    assert sessions.resume(other) is not None


def test_end_all_ends_every_session_of_one_account(
    sessions: Sessions, accounts: Accounts, maria: Account
) -> None:
    tokens = [sessions.start(maria)[0] for _ in range(3)]
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_token, _ = sessions.start(boss)
    assert sessions.end_all(maria.id) == 3
    assert [sessions.resume(t) for t in tokens] == [None, None, None]
    assert sessions.resume(boss_token) is not None
    assert sessions.end_all(maria.id) == 0


def test_end_all_can_keep_the_session_asking(sessions: Sessions, maria: Account) -> None:
    mine, session = sessions.start(maria)
    others = [sessions.start(maria)[0] for _ in range(2)]
    assert sessions.end_all(maria.id, keep=session.id) == 2
    assert sessions.resume(mine) is not None
    assert [sessions.resume(t) for t in others] == [None, None]


def test_purge_deletes_every_ended_session_and_count_sees_live_ones(
    sessions: Sessions, accounts: Accounts, store: Store, maria: Account, clock: Clock
) -> None:
    boss = accounts.get("boss@example.org")
    assert boss is not None
    start = clock.now
    old, _ = sessions.start(maria)  # past its lifetime, though used
    _idle, _ = sessions.start(maria)  # never used again
    while clock.now < start + timedelta(hours=7, minutes=40):
        clock.now += timedelta(minutes=20)
        assert sessions.resume(old) is not None
    clock.now = start + timedelta(hours=7, minutes=50)
    live, _ = sessions.start(maria)
    _boss_old, _ = sessions.start(boss)
    clock.now += timedelta(minutes=1)
    accounts.set_password("boss@example.org", OTHER)  # ends _boss_old
    boss = accounts.get("boss@example.org")
    assert boss is not None
    boss_live, _ = sessions.start(boss)
    clock.now = start + LIFETIME + timedelta(minutes=1)  # old: 21 min idle, 8 h 1 min old
    assert sessions.resume(live) is not None
    assert sessions.resume(boss_live) is not None
    assert store.count("sessions") == 5
    assert sessions.count(maria.id) == 1
    assert sessions.count(boss.id) == 1
    assert sessions.count("no-such-account") == 0
    assert sessions.purge() == 3
    assert store.count("sessions") == 2
    assert sessions.resume(live) is not None and sessions.resume(boss_live) is not None
    assert sessions.purge() == 0


def test_purge_spares_a_session_renewed_while_it_runs(
    sessions: Sessions,
    accounts: Accounts,
    store: Store,
    maria: Account,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renewed, renewed_session = sessions.start(maria)
    idle, _ = sessions.start(maria)
    clock.now += IDLE + timedelta(seconds=1)
    get_by_id = accounts.get_by_id

    def renewed_meanwhile(account_id: str) -> Account | None:
        # As if a request had renewed it just before this purge read the time.
        store.update("sessions", renewed_session.id, {"last_seen": "2025-03-01T09:00:01Z"})
        return get_by_id(account_id)

    monkeypatch.setattr(accounts, "get_by_id", renewed_meanwhile)
    assert sessions.purge() == 1
    monkeypatch.undo()
    assert sessions.resume(idle) is None
    assert [doc["id"] for doc in store.find("sessions")] == [renewed_session.id]
    assert sessions.resume(renewed) is not None
