"""Console accounts in a real store: emails, roles and scopes, passwords, sign-in, and the
migration that makes an email one account (hub/auth/accounts.py, fields.py)."""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pyotp
import pytest
from argon2 import PasswordHasher

from hub.auth import totp
from hub.auth.accounts import Account, Accounts, EmailTaken, UnknownAccount
from hub.auth.errors import Refused
from hub.auth.fields import LOCALES, InvalidAccount, check_scope, normalize_email
from hub.auth.passwords import PasswordRejected, Passwords
from hub.i18n import LOCALES as HUB_LOCALES
from hub.store import Conflict, Store, open_store
from hub.store.migrations import MIGRATIONS
from tests.conftest import FAST, Clock

PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"


def _refused(error: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    exc = error.value
    return (exc.field, exc.reason)  # type: ignore[attr-defined]


# -- emails ------------------------------------------------------------------------------------


def test_an_email_is_kept_trimmed_nfc_and_lower_case() -> None:
    assert normalize_email("  Maria.Santos+HK@Example.ORG \n") == "maria.santos+hk@example.org"
    # Dots and +tags are the address's own; only case and surrounding space are not.
    assert normalize_email("m.a.r.i.a@gmail.com") == "m.a.r.i.a@gmail.com"
    assert normalize_email("Nguye\u0302\u0303n@vi.example") == "nguyễn@vi.example"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "maria",
        "maria@",
        "@example.org",
        "maria@example",
        "maria@example..org",
        "maria@.example.org",
        "ma ria@example.org",
        "maria@@example.org",
        "maria@exa\u200bmple.org",
        "x" * 65 + "@example.org",
        "maria@" + "x" * 250 + ".org",
    ],
)
def test_what_is_not_an_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidAccount) as refused:
        normalize_email(raw)
    assert _refused(refused) == ("email", "invalid")


# -- creating and reading ----------------------------------------------------------------------


def test_an_account_is_created_and_read_back(accounts: Accounts, store: Store) -> None:
    made = accounts.create(
        " Maria@Example.org ",
        PASSWORD,
        role="leader",
        display_name="  Maria   Santos ",
        corridors=["ph-hk"],
        locales=["fil", "en"],
    )
    assert (made.email, made.display_name, made.role) == (
        "maria@example.org",
        "Maria Santos",
        "leader",
    )
    assert (made.corridors, made.locales) == (("PH-HK",), ("en", "fil"))
    assert made.active is True
    assert (made.created, made.last_sign_in) == ("2025-03-01T08:30:00Z", None)
    assert accounts.get("MARIA@example.ORG") == made
    assert accounts.get_by_id(made.id) == made
    assert accounts.get("nobody@example.org") is None
    doc = store.get("accounts", made.id)
    assert doc is not None and doc["email"] == "maria@example.org"
    assert doc["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in json.dumps(doc)
    assert not hasattr(made, "password_hash")


def test_accounts_are_listed_by_email(accounts: Accounts) -> None:
    accounts.create("zoe@example.org", PASSWORD, role="admin")
    accounts.create("ana@example.org", PASSWORD, role="translator", locales=["th"])
    accounts.create("mai@example.org", None, role="translator", locales=["vi"])
    assert [a.email for a in accounts.all()] == [
        "ana@example.org",
        "mai@example.org",
        "zoe@example.org",
    ]
    assert [a.email for a in accounts.all(role="translator")] == [
        "ana@example.org",
        "mai@example.org",
    ]


@pytest.mark.parametrize(
    "again",
    ["maria@example.org", "MARIA@EXAMPLE.ORG", "  Maria@Example.Org\t", "maria@EXAMPLE.org"],
)
def test_a_second_account_with_the_same_email_is_refused(accounts: Accounts, again: str) -> None:
    accounts.create("maria@example.org", PASSWORD, role="curator")
    with pytest.raises(EmailTaken) as refused:
        accounts.create(again, OTHER, role="admin")
    assert _refused(refused) == ("email", "taken")
    # Taken is said first: no password is judged or hashed for an email that cannot be had.
    with pytest.raises(EmailTaken):
        accounts.create(again, "password1234", role="admin")
    assert [(a.email, a.role) for a in accounts.all()] == [("maria@example.org", "curator")]


def test_the_store_itself_keeps_an_email_to_one_account(tmp_path: Path) -> None:
    path = tmp_path / "own" / "hub.json"
    store = open_store(path)
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert MIGRATIONS[1].__name__ == "m2_accounts"
        store.insert("accounts", {"email": "maria@example.org"})
        with pytest.raises(Conflict):
            store.insert("accounts", {"email": "maria@example.org"})
    finally:
        store.close()
    reopened = open_store(path)
    try:
        with pytest.raises(Conflict):
            reopened.insert("accounts", {"email": "maria@example.org"})
        assert reopened.count("accounts") == 1
    finally:
        reopened.close()


def test_a_duplicate_that_slips_past_the_look_up_is_still_refused(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.create("maria@example.org", PASSWORD, role="curator")
    monkeypatch.setattr(accounts, "_find", lambda email: None)  # another writer got in between
    with pytest.raises(EmailTaken):
        accounts.create("Maria@example.org", OTHER, role="curator")


def test_a_new_account_s_password_follows_the_policy(accounts: Accounts) -> None:
    for password, reason in [
        ("short", "too_short"),
        ("password1234", "common"),
        ("Maria Santos 1985", "personal"),
    ]:
        with pytest.raises(PasswordRejected) as refused:
            accounts.create(
                "maria.santos@example.org", password, role="curator", display_name="Maria Santos"
            )
        assert _refused(refused) == ("password", reason)
    assert accounts.all() == []


def test_display_names_are_bounded(accounts: Accounts) -> None:
    with pytest.raises(InvalidAccount) as refused:
        accounts.create("a@example.org", PASSWORD, role="curator", display_name="x" * 101)
    assert _refused(refused) == ("display_name", "too_long")
    assert accounts.create("b@example.org", PASSWORD, role="curator", display_name="x" * 100)


# -- roles and scopes --------------------------------------------------------------------------


def test_the_locales_are_the_hub_s_seven() -> None:
    assert tuple(HUB_LOCALES) == LOCALES


def test_a_scope_is_normalised() -> None:
    assert check_scope("leader", [" ph-hk", "PH-SG", "PH-HK", "mm-th"], ["TH", "my", "th "]) == (
        ("MM-TH", "PH-HK", "PH-SG"),
        ("th", "my"),
    )
    assert check_scope("translator", [], ["km"]) == ((), ("km",))
    assert check_scope("admin", [], []) == ((), ())


@pytest.mark.parametrize(
    ("role", "corridors", "locales", "refused"),
    [
        ("owner", [], [], ("role", "unknown")),
        ("leader", ["PHHK"], ["en"], ("corridors", "invalid")),
        ("leader", ["PH-HKG"], ["en"], ("corridors", "invalid")),
        ("leader", ["PH-"], ["en"], ("corridors", "invalid")),
        ("leader", ["PH-XX"], ["en"], ("corridors", "invalid")),  # not a country code
        ("leader", ["ZZ-HK"], ["en"], ("corridors", "invalid")),  # CLDR's "Unknown Region"
        ("leader", ["PH-EU"], ["en"], ("corridors", "invalid")),  # not a country
        ("leader", ["TH-TH"], ["th"], ("corridors", "invalid")),
        ("leader", ["PH→HK"], ["en"], ("corridors", "invalid")),
        ("leader", ["PH-HK"], ["tl"], ("locales", "unknown")),
        ("leader", ["PH-HK"], ["fr"], ("locales", "unknown")),
        ("leader", [], ["fil"], ("corridors", "required")),
        ("leader", ["PH-HK"], [], ("locales", "required")),
        ("translator", [], [], ("locales", "required")),
        ("translator", ["PH-HK"], ["fil"], ("corridors", "not_allowed")),
        ("curator", [], ["fil"], ("locales", "not_allowed")),
        ("admin", ["PH-HK"], [], ("corridors", "not_allowed")),
    ],
)
def test_a_scope_that_does_not_fit_is_refused(
    accounts: Accounts,
    role: str,
    corridors: list[str],
    locales: list[str],
    refused: tuple[str, str],
) -> None:
    with pytest.raises(InvalidAccount) as error:
        accounts.create(
            "leader@example.org", PASSWORD, role=role, corridors=corridors, locales=locales
        )
    assert _refused(error) == refused
    assert accounts.all() == []


def test_a_display_name_is_changed_cleaned(accounts: Accounts) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="curator", display_name="Maria")
    changed = accounts.set_display_name("MARIA@example.org", "  Maria \t Santos ")
    assert changed.display_name == "Maria Santos"
    assert accounts.get("maria@example.org") == changed
    assert changed.credentials_changed == made.credentials_changed  # sessions go on
    with pytest.raises(InvalidAccount) as refused:
        accounts.set_display_name("maria@example.org", "x" * 101)
    assert _refused(refused) == ("display_name", "too_long")
    assert accounts.get("maria@example.org") == changed
    with pytest.raises(UnknownAccount):
        accounts.set_display_name("ghost@example.org", "Ghost")


def test_set_role_replaces_role_and_scope(accounts: Accounts) -> None:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.create("lan@example.org", PASSWORD, role="translator", locales=["vi"])
    changed = accounts.set_role("LAN@example.org", "leader", corridors=["VN-TW"], locales=["vi"])
    assert (changed.role, changed.corridors, changed.locales) == ("leader", ("VN-TW",), ("vi",))
    assert accounts.get("lan@example.org") == changed
    with pytest.raises(InvalidAccount):
        accounts.set_role("lan@example.org", "leader", corridors=["VN-VN"], locales=["vi"])
    assert accounts.get("lan@example.org") == changed
    with pytest.raises(UnknownAccount) as refused:
        accounts.set_role("ghost@example.org", "curator")
    assert _refused(refused) == ("email", "unknown")


def test_the_last_active_admin_stays(accounts: Accounts) -> None:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    with pytest.raises(InvalidAccount) as refused:
        accounts.disable("boss@example.org")
    assert _refused(refused) == ("role", "last_admin")
    with pytest.raises(InvalidAccount) as refused:
        accounts.set_role("boss@example.org", "curator")
    assert _refused(refused) == ("role", "last_admin")
    assert accounts.get("boss@example.org").active is True  # type: ignore[union-attr]
    accounts.create("deputy@example.org", PASSWORD, role="admin")
    assert accounts.set_role("boss@example.org", "curator").role == "curator"
    with pytest.raises(InvalidAccount):
        accounts.disable("deputy@example.org")


def test_an_admin_who_cannot_sign_in_is_not_the_admin_left(accounts: Accounts) -> None:
    # An invited admin whose link is unused, or one whose password was cleared, cannot sign in:
    # the admin who can must stay, whatever the order of the changes.
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.create("admin2@example.org", PASSWORD, role="admin")
    accounts.create("pending@example.org", None, role="admin")
    accounts.disable("admin2@example.org")
    with pytest.raises(InvalidAccount) as refused:
        accounts.set_role("boss@example.org", "curator")
    assert _refused(refused) == ("role", "last_admin")
    with pytest.raises(InvalidAccount) as refused:
        accounts.disable("boss@example.org")
    assert _refused(refused) == ("role", "last_admin")
    with pytest.raises(InvalidAccount) as refused:
        accounts.clear_password("boss@example.org")
    assert _refused(refused) == ("role", "last_admin")
    boss = accounts.get("boss@example.org")
    assert boss is not None and (boss.role, boss.active, boss.has_password) == ("admin", True, True)
    # The pending admin herself may be changed: she takes no usable admin away.
    assert accounts.set_role("pending@example.org", "curator").role == "curator"
    # A cleared password counts like an unused invitation.
    accounts.enable("admin2@example.org")
    accounts.clear_password("admin2@example.org")
    with pytest.raises(InvalidAccount) as refused:
        accounts.disable("boss@example.org")
    assert _refused(refused) == ("role", "last_admin")
    accounts.set_password("admin2@example.org", OTHER)
    assert accounts.disable("boss@example.org").active is False


def _usable_admins(store: Store) -> int:
    return sum(
        1
        for doc in store.find("accounts", role="admin", active=True)
        if doc["password_hash"] is not None
    )


def _at_once(barrier: threading.Barrier, change: Callable[[], object], results: list[str]) -> None:
    """Make a change once every thread is ready; note "done" or the refusal's reason."""
    barrier.wait(timeout=10)
    try:
        change()
        results.append("done")
    except InvalidAccount as exc:
        results.append(exc.reason)


@pytest.fixture
def threads_switch_often() -> Iterator[None]:
    # Python hands the interpreter to another thread every 5 ms by default, longer than a
    # check and its change take: the race then shows once in hundreds of trials. Switching
    # every 10 microseconds makes it show in about a third of them when nothing prevents it.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("threads_switch_often")
def test_two_racing_changes_never_leave_no_admin(store: Store) -> None:
    # Two admins, two tabs: one disables the other while the other gives up her own role.
    # Either alone is fine; both together would leave nobody to manage accounts.
    accounts = Accounts(store, Passwords(FAST))
    boss = accounts.create("boss@example.org", PASSWORD, role="admin")
    deputy = accounts.create("deputy@example.org", PASSWORD, role="admin")
    both_admins = {"role": "admin", "active": True, "corridors": [], "locales": []}
    changes: list[Callable[[], object]] = [
        lambda: accounts.disable("deputy@example.org"),
        lambda: accounts.set_role("boss@example.org", "curator"),
    ]
    for trial in range(200):
        for made in (boss, deputy):
            assert store.update("accounts", made.id, both_admins)
        barrier = threading.Barrier(len(changes))
        results: list[str] = []
        threads = [
            threading.Thread(target=_at_once, args=(barrier, change, results)) for change in changes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
        assert _usable_admins(store) == 1, (trial, results)
        # One of them went through, the other was refused for what the first did.
        assert sorted(results) == ["done", "last_admin"], (trial, results)


# -- signing in --------------------------------------------------------------------------------


class CountingHasher(PasswordHasher):
    """Counts the argon2 verifications run."""

    calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        CountingHasher.calls += 1
        return super().verify(hash, password)


def test_sign_in_records_the_time(accounts: Accounts, clock: Clock) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    clock.now += timedelta(days=2, seconds=5)
    signed_in = accounts.authenticate(" Maria@Example.org", PASSWORD)
    assert signed_in is not None and signed_in.id == made.id
    assert signed_in.last_sign_in == "2025-03-03T08:30:05Z"
    assert accounts.get("maria@example.org") == signed_in


def test_unknown_email_and_wrong_password_are_answered_alike(store: Store) -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts = Accounts(store, Passwords(hasher))
    accounts.create("maria@example.org", PASSWORD, role="curator")
    accounts.create("invited@example.org", None, role="curator")
    before = store.find("accounts")
    for email, password in [
        ("maria@example.org", OTHER),  # wrong password
        ("nobody@example.org", PASSWORD),  # unknown email
        ("not an email", PASSWORD),
        ("invited@example.org", PASSWORD),  # no password set yet
        ("invited@example.org", ""),
    ]:
        CountingHasher.calls = 0
        assert accounts.authenticate(email, password) is None
        assert CountingHasher.calls == 1, email  # one argon2 verification, like a right one
    assert store.find("accounts") == before  # and nothing written
    CountingHasher.calls = 0
    assert accounts.authenticate("maria@example.org", PASSWORD) is not None
    assert CountingHasher.calls == 1


def test_a_disabled_account_cannot_sign_in(accounts: Accounts) -> None:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    disabled = accounts.disable("maria@example.org")
    assert disabled.active is False
    assert disabled.credentials_changed != made.credentials_changed
    assert accounts.authenticate("maria@example.org", PASSWORD) is None
    assert accounts.get("maria@example.org") == disabled  # no sign-in time recorded
    enabled = accounts.enable("maria@example.org")
    assert enabled.active is True
    assert enabled.credentials_changed == disabled.credentials_changed  # old sessions stay ended
    assert accounts.authenticate("maria@example.org", PASSWORD) is not None


def test_set_password_checks_the_policy_and_ends_sessions(accounts: Accounts) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    with pytest.raises(PasswordRejected) as refused:
        accounts.set_password("maria@example.org", "password1234")
    assert _refused(refused) == ("password", "common")
    assert accounts.authenticate("maria@example.org", PASSWORD) is not None
    changed = accounts.set_password("MARIA@example.org", OTHER)
    assert changed.credentials_changed != made.credentials_changed
    assert accounts.authenticate("maria@example.org", PASSWORD) is None
    assert accounts.authenticate("maria@example.org", OTHER) is not None
    with pytest.raises(UnknownAccount):
        accounts.set_password("ghost@example.org", OTHER)


def test_clear_password_stops_sign_in_until_a_new_one_is_set(accounts: Accounts) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    cleared = accounts.clear_password("MARIA@example.org")
    assert cleared.credentials_changed != made.credentials_changed  # its sessions end
    assert accounts.get("maria@example.org") == cleared
    assert accounts.authenticate("maria@example.org", PASSWORD) is None
    accounts.set_password("maria@example.org", OTHER)
    assert accounts.authenticate("maria@example.org", OTHER) is not None
    with pytest.raises(UnknownAccount):
        accounts.clear_password("ghost@example.org")


def test_an_account_stored_before_two_factor_existed_has_none(
    accounts: Accounts, store: Store
) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    assert made.two_factor is False
    doc = store.find_one("accounts", email="maria@example.org")
    assert doc is not None
    del doc["two_factor"]
    store.delete("accounts", made.id)
    store.insert("accounts", doc)
    assert accounts.get("maria@example.org") == made
    assert accounts.authenticate("maria@example.org", PASSWORD) is not None


def test_an_account_says_whether_it_has_a_password(accounts: Accounts) -> None:
    def stored(email: str) -> Account:
        found = accounts.get(email)
        assert found is not None
        return found

    invited = accounts.create("new@example.org", None, role="translator", locales=["km"])
    assert not invited.has_password and not stored("new@example.org").has_password
    assert accounts.set_password("new@example.org", PASSWORD).has_password
    assert stored("new@example.org").has_password
    # An admin's forced reset: none again until the person sets one through her link.
    assert not accounts.clear_password("new@example.org").has_password
    assert not stored("new@example.org").has_password
    made = accounts.create("maria@example.org", PASSWORD, role="curator")
    assert made.has_password and stored("maria@example.org") == made


def test_an_invited_account_signs_in_once_its_password_is_set(accounts: Accounts) -> None:
    accounts.create("new@example.org", None, role="translator", locales=["km"])
    assert accounts.authenticate("new@example.org", "") is None
    accounts.set_password("new@example.org", PASSWORD)
    assert accounts.authenticate("new@example.org", PASSWORD) is not None


def test_an_old_hash_is_redone_at_the_next_sign_in(store: Store) -> None:
    old = Accounts(store, Passwords(FAST))
    old.create("maria@example.org", PASSWORD, role="curator")
    before = store.find_one("accounts", email="maria@example.org")
    assert before is not None and "m=8,t=1,p=1" in before["password_hash"]
    stronger = Accounts(
        store, Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    )
    assert stronger.authenticate("maria@example.org", OTHER) is None
    assert store.find_one("accounts", email="maria@example.org") == before  # not on a failure
    assert stronger.authenticate("maria@example.org", PASSWORD) is not None
    after = store.find_one("accounts", email="maria@example.org")
    assert after is not None and "m=16,t=2,p=1" in after["password_hash"]
    # A rehash is not a change of password: sessions go on.
    assert after["credentials_changed"] == before["credentials_changed"]
    assert stronger.authenticate("maria@example.org", PASSWORD) is not None
    again = store.find_one("accounts", email="maria@example.org")
    assert again is not None and again["password_hash"] == after["password_hash"]


def test_a_password_change_during_sign_in_wins(
    accounts: Accounts, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.create("maria@example.org", PASSWORD, role="curator")
    verify = accounts.passwords.verify

    def verify_then_change(encoded: str | None, password: str) -> bool:
        result = verify(encoded, password)
        doc = store.find_one("accounts", email="maria@example.org")
        assert doc is not None
        store.update("accounts", doc["id"], {"credentials_changed": "changed meanwhile"})
        return result

    monkeypatch.setattr(accounts.passwords, "verify", verify_then_change)
    assert accounts.authenticate("maria@example.org", PASSWORD) is None
    doc = store.find_one("accounts", email="maria@example.org")
    assert doc is not None and doc["last_sign_in"] is None


def test_nothing_about_readers_or_addresses_is_kept(accounts: Accounts, store: Store) -> None:
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.authenticate("boss@example.org", PASSWORD)
    (doc,) = store.find("accounts")
    assert set(doc) == {
        "id",
        "email",
        "display_name",
        "role",
        "corridors",
        "locales",
        "active",
        "created",
        "last_sign_in",
        "password_hash",
        "credentials_changed",
        "two_factor",
        "totp_secret",
        "totp_step",
    }


# -- second factor -----------------------------------------------------------------------------


# A secret pyotp takes (16 bytes), but shorter than the 20 the hub makes.
SHORT_SECRET = base64.b32encode(b"0123456789abcdef").decode().rstrip("=")


def _code(secret: str, at: datetime, steps: int = 0) -> str:
    """The code an authenticator app shows (pyotp's own TOTP, RFC 6238)."""
    return pyotp.TOTP(secret).at(at, counter_offset=steps)


def _enrolled(accounts: Accounts, clock: Clock, email: str = "maria@example.org") -> str:
    """Make an account with a second factor; its secret."""
    accounts.create(email, PASSWORD, role="admin")
    secret = totp.new_secret()
    accounts.set_two_factor(email, secret, _code(secret, clock.now))
    clock.now += timedelta(seconds=30)  # the next step: the enrolment code's is used
    return secret


def test_two_factor_is_turned_on_by_a_code_from_the_app(
    accounts: Accounts, store: Store, clock: Clock
) -> None:
    made = accounts.create("maria@example.org", PASSWORD, role="admin")
    secret = totp.new_secret()
    before = store.find("accounts")
    for secret_sent, code in [
        (secret, _code(secret, clock.now, steps=3)),  # not now
        (secret, ""),
        (totp.new_secret(), _code(secret, clock.now)),  # another secret
        (SHORT_SECRET, _code(SHORT_SECRET, clock.now)),  # 128 bits: not one the hub makes
        (secret.lower(), _code(secret, clock.now)),
    ]:
        with pytest.raises(Refused) as refused:
            accounts.set_two_factor("maria@example.org", secret_sent, code)
        assert _refused(refused) == ("otp", "wrong")
    assert store.find("accounts") == before
    on = accounts.set_two_factor("maria@example.org", secret, _code(secret, clock.now))
    assert on.two_factor is True and made.two_factor is False
    assert on.credentials_changed == made.credentials_changed  # the session enrolling goes on
    doc = store.find_one("accounts", email="maria@example.org")
    assert doc is not None
    assert (doc["totp_secret"], doc["totp_step"]) == (secret, int(clock.now.timestamp()) // 30)
    assert secret not in repr(on)  # the Account the web layer holds has no secret
    with pytest.raises(UnknownAccount):
        accounts.set_two_factor("ghost@example.org", secret, _code(secret, clock.now))


def test_with_two_factor_a_sign_in_needs_a_current_code(accounts: Accounts, clock: Clock) -> None:
    secret = _enrolled(accounts, clock)
    for otp in (None, "", "000000" if _code(secret, clock.now) != "000000" else "111111"):
        assert accounts.authenticate("maria@example.org", PASSWORD, otp) is None
    assert accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now, 2)) is None
    assert accounts.authenticate("maria@example.org", OTHER, _code(secret, clock.now)) is None
    signed_in = accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now))
    assert signed_in is not None and signed_in.two_factor is True


def test_a_code_signs_in_once(accounts: Accounts, clock: Clock) -> None:
    secret = _enrolled(accounts, clock)
    code = _code(secret, clock.now)
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is not None
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is None  # replayed
    # Still within its window 30 s on, and still refused; so is the step before it.
    clock.now += timedelta(seconds=30)
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is None
    assert (
        accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now, -2)) is None
    )
    # The next step's code signs in.
    assert (
        accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now)) is not None
    )


def test_the_code_that_turned_two_factor_on_cannot_sign_in(
    accounts: Accounts, clock: Clock
) -> None:
    accounts.create("maria@example.org", PASSWORD, role="admin")
    secret = totp.new_secret()
    code = _code(secret, clock.now)
    accounts.set_two_factor("maria@example.org", secret, code)
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is None


def test_two_sign_ins_racing_with_one_code_let_one_in(
    accounts: Accounts, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _enrolled(accounts, clock)
    code = _code(secret, clock.now)
    verify = accounts.passwords.verify
    inner: list[Account | None] = []

    def verify_while_another_signs_in(encoded: str | None, password: str) -> bool:
        result = verify(encoded, password)
        if not inner:  # the other request reads, checks and writes in between
            inner.append(None)
            inner[0] = accounts.authenticate("maria@example.org", PASSWORD, code)
        return result

    monkeypatch.setattr(accounts.passwords, "verify", verify_while_another_signs_in)
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is None
    assert inner[0] is not None


def test_a_wrong_code_costs_the_same_work_and_tells_nothing(
    store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts = Accounts(store, Passwords(hasher), clock=clock)
    secret = _enrolled(accounts, clock)
    accounts.create("plain@example.org", PASSWORD, role="curator")
    checks: list[str] = []
    verify = totp.verify

    def counted(secret: str, code: str, *, after_step: int | None, at: datetime) -> int | None:
        checks.append(code)
        return verify(secret, code, after_step=after_step, at=at)

    monkeypatch.setattr(totp, "verify", counted)
    code = _code(secret, clock.now)
    wrong = "000000" if code != "000000" else "111111"
    before = store.find("accounts")
    for email, password, otp in [
        ("maria@example.org", PASSWORD, wrong),  # right password, wrong code
        ("maria@example.org", PASSWORD, None),  # right password, no code
        ("maria@example.org", OTHER, code),  # wrong password, right code
        ("maria@example.org", OTHER, wrong),
        ("nobody@example.org", PASSWORD, code),
        ("plain@example.org", OTHER, code),
    ]:
        CountingHasher.calls = 0
        checks.clear()
        assert accounts.authenticate(email, password, otp) is None
        # One argon2 verification and one code check every time: nothing returns early.
        assert (CountingHasher.calls, checks) == (1, [otp or ""]), (email, password, otp)
    assert store.find("accounts") == before  # the right code was not used up by a failure
    CountingHasher.calls = 0
    checks.clear()
    assert accounts.authenticate("maria@example.org", PASSWORD, code) is not None
    assert (CountingHasher.calls, checks) == (1, [code])
    # An account without a second factor ignores a code sent along.
    assert accounts.authenticate("plain@example.org", PASSWORD, "123456") is not None


def test_a_disabled_account_with_two_factor_cannot_sign_in(
    accounts: Accounts, clock: Clock
) -> None:
    secret = _enrolled(accounts, clock, "maria@example.org")
    accounts.create("boss@example.org", PASSWORD, role="admin")
    accounts.disable("maria@example.org")
    assert accounts.authenticate("maria@example.org", PASSWORD, _code(secret, clock.now)) is None


def test_two_factor_is_turned_off(accounts: Accounts, store: Store, clock: Clock) -> None:
    secret = _enrolled(accounts, clock)
    off = accounts.clear_two_factor("MARIA@example.org")
    assert off.two_factor is False
    doc = store.find_one("accounts", email="maria@example.org")
    assert doc is not None and (doc["totp_secret"], doc["totp_step"]) == (None, None)
    assert accounts.authenticate("maria@example.org", PASSWORD) is not None
    assert secret not in repr(store.find("accounts"))
    with pytest.raises(UnknownAccount):
        accounts.clear_two_factor("ghost@example.org")
