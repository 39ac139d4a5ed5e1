"""Console accounts in a real store: emails, roles and scopes, passwords, sign-in, and the
migration that makes an email one account (hub/auth/accounts.py, fields.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from hub.auth.accounts import Accounts, EmailTaken, UnknownAccount
from hub.auth.fields import LOCALES, InvalidAccount, check_scope, normalize_email
from hub.auth.passwords import PasswordRejected, Passwords
from hub.i18n import LOCALES as HUB_LOCALES
from hub.store import Conflict, Store, open_store
from hub.store.migrations import MIGRATIONS

PASSWORD = "kx7#Qm2!vR9z"
OTHER = "Tv4&pLq8@wZn"
# Cheap parameters (argon2's least memory): these tests are about accounts, not cost.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "hub.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = open_store(path)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    return Accounts(store, Passwords(FAST), clock=clock)


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
    }
