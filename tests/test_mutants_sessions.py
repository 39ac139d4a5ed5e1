"""Console sessions at the edges the other tests leave open, found by a mutation run over
hub/auth/sessions.py: the sizes of the tokens, a text that is no cookie, the limits' own
refusal, and one account's sessions kept apart from another's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.auth.accounts import Account, Accounts
from hub.auth.sessions import Sessions
from hub.store import Store
from tests.conftest import Clock, LocalZone

PASSWORD = "kx7#Qm2!vR9z"
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=8)


@pytest.fixture
def sessions(store: Store, accounts: Accounts, clock: Clock) -> Sessions:
    return Sessions(store, accounts, idle=IDLE, lifetime=LIFETIME, clock=clock)


@pytest.fixture
def maria(accounts: Accounts) -> Account:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    return accounts.create("maria@example.org", PASSWORD, role="curator")


@pytest.fixture
def ana(accounts: Accounts) -> Account:
    return accounts.create("ana@example.org", PASSWORD, role="curator")


def test_a_session_s_tokens_are_32_random_bytes_and_it_names_its_account(
    sessions: Sessions, maria: Account
) -> None:
    # Kills 33 bytes for the cookie's token or the CSRF token, and a session without its
    # account's id.
    token, session = sessions.start(maria)
    assert len(token) == 43
    assert len(session.csrf_token) == 43
    assert session.account_id == maria.id


def test_a_token_with_a_lone_surrogate_is_no_session_and_raises_nothing(
    sessions: Sessions, maria: Account
) -> None:
    # Kills the token's hash without "surrogatepass" (dropped or misspelt).
    sessions.start(maria)
    assert sessions.resume("abc\udcff") is None
    assert sessions.end("abc\udcff") is False


@pytest.mark.parametrize(
    ("idle", "lifetime"), [(timedelta(0), LIFETIME), (IDLE, timedelta(0)), (IDLE, -IDLE)]
)
def test_a_zero_limit_is_refused_word_for_word(
    store: Store, accounts: Accounts, idle: timedelta, lifetime: timedelta
) -> None:
    # Kills a lifetime of zero accepted (`<` for `<=`) and the refusal's words altered.
    with pytest.raises(ValueError) as refused:
        Sessions(store, accounts, idle=idle, lifetime=lifetime)
    assert str(refused.value) == "a session's idle timeout and lifetime must be positive"


def test_end_all_keeping_one_session_leaves_other_accounts_alone(
    sessions: Sessions, maria: Account, ana: Account
) -> None:
    # Kills end_all and count reading every account's sessions.
    _, kept = sessions.start(maria)
    sessions.start(maria)
    ana_token, _ = sessions.start(ana)
    assert sessions.count(maria.id) == 2
    assert sessions.count(ana.id) == 1
    assert sessions.end_all(maria.id, keep=kept.id) == 1
    assert sessions.count(maria.id) == 1
    assert sessions.count(ana.id) == 1
    assert sessions.resume(ana_token) is not None


@pytest.fixture
def bangkok_zone(local_zone: LocalZone) -> None:
    """The machine's local zone set to UTC+7 for one test (the hub runs wherever it is put)."""
    local_zone("Asia/Bangkok")


@pytest.mark.usefixtures("bangkok_zone")
def test_times_are_kept_in_utc_whatever_the_machine_s_zone(
    sessions: Sessions, maria: Account, clock: Clock
) -> None:
    # Kills the moment turned into the machine's zone instead of UTC: written with a "Z", it
    # would be seven hours off, and every session would look idle at once.
    token, session = sessions.start(maria)
    assert (session.created, session.last_seen) == ("2025-03-01T08:30:00Z", "2025-03-01T08:30:00Z")
    clock.now += timedelta(minutes=29)
    assert sessions.resume(token) is not None
