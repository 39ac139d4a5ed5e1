"""The admin console through the real app (issue 10, points 2 and 6): inviting a person,
her role and scope, disabling, forcing a password reset, the last admin kept, refusals shown by
their field, and the audit log each change writes and the admin reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pyotp
import pytest
from starlette.testclient import TestClient

from hub.audit import ACTIONS, AuditLog, Entry
from hub.auth import Account, totp
from tests.conftest import CONSOLE_ACCOUNTS, CONSOLE_PASSWORD, csrf_of, sign_in, sign_in_as

PASSWORD = "kx7#Qm2!vR9z-harbour"
NEW_PASSWORD = "Tv4&pLq8@wZn-lantern"
ADMIN = CONSOLE_ACCOUNTS["admin"][0]
LEADER = CONSOLE_ACCOUNTS["leader"][0]
LINK = re.compile(r'value="(http://testserver/invitation\?token=[^"]+)"')


@dataclass
class Person:
    """A browser of its own on the shared app: its cookies, and the CSRF token its forms carry."""

    client: TestClient
    csrf: str

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url, follow_redirects=False)

    def post(self, url: str, data: dict[str, Any]) -> httpx.Response:
        return self.client.post(url, data={"csrf_token": self.csrf, **data}, follow_redirects=False)


def state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def browser(client: TestClient) -> TestClient:
    """Another browser on the same running app (a cookie jar of its own; no second lifespan)."""
    return TestClient(client.app)


def signed_in(client: TestClient, email: str, password: str = CONSOLE_PASSWORD) -> Person:
    """A browser of its own, signed in through /login as `email`."""
    own = browser(client)
    assert sign_in(own, email, password).status_code == 303
    return Person(own, csrf_of(own.get("/account").text))


def anonymous(client: TestClient, url: str = "/login") -> tuple[Person, httpx.Response]:
    """A browser nobody is signed in on, after opening `url` (its pre-session CSRF token)."""
    own = browser(client)
    page = own.get(url, follow_redirects=False)
    return Person(own, csrf_of(page.text)), page


def entries(client: TestClient, since: str = "") -> list[Entry]:
    """The audit log, newest first; only the entries after the one with id `since`."""
    found: list[Entry] = state(client).audit.page(limit=10_000)
    return [entry for entry in found if entry.id > since]


def newest(client: TestClient) -> str:
    """The id of the newest entry of the audit log: where a test's own entries start."""
    found = entries(client)
    return found[0].id if found else ""


def summary(found: list[Entry]) -> list[tuple[str, str, str]]:
    """(actor, action, target) of entries, oldest first."""
    return [(e.actor, e.action, e.target) for e in reversed(found)]


def assert_no_secrets(client: TestClient, *secrets: str) -> None:
    """No entry of the audit log holds any of the secrets, anywhere."""
    for entry in entries(client):
        text = json.dumps([entry.actor, entry.target, entry.change], ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, entry


def refusal_next_to(html: str, field_id: str) -> str:
    """The refusal text the page shows with the id `<field_id>-error`."""
    found = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, f"no refusal for {field_id}"
    return unescape(found[1]).strip()


@pytest.fixture
def client(console_client: TestClient) -> TestClient:
    """The app with an account of each role (tests/conftest.py's CONSOLE_ACCOUNTS)."""
    return console_client


@pytest.fixture
def admin(client: TestClient) -> Account:
    found: Account = state(client).accounts.get(ADMIN)
    return found


@pytest.fixture
def leader(client: TestClient) -> Account:
    found: Account = state(client).accounts.get(LEADER)
    assert (found.corridors, found.locales) == (("PH-HK",), ("en", "fil"))
    return found


@pytest.fixture
def boss(client: TestClient) -> Person:
    """The admin, signed in (on the fixture's own client)."""
    sign_in_as(client, "admin")
    return Person(client, csrf_of(client.get("/admin/").text))


@pytest.fixture
def mark(client: TestClient, boss: Person) -> str:
    """Where the test's own audit entries start (after the admin's sign-in)."""
    return newest(client)


def account_url(account: Account) -> str:
    return f"/admin/accounts/{account.id}"


# -- Inviting -----------------------------------------------------------------------------------


def test_invite_link_set_password_sign_in(client: TestClient, boss: Person, mark: str) -> None:
    form_page = boss.get("/admin/accounts/new")
    assert form_page.status_code == 200
    # Every corridor of the site is offered (6 origins x 9 destinations, Thailand to itself no).
    assert len(re.findall(r'name="corridors" value="[A-Z]{2}-[A-Z]{2}"', form_page.text)) == 53
    response = boss.post(
        "/admin/accounts/new",
        {
            "email": " Maria.Santos@Example.ORG ",
            "display_name": "Maria  Santos",
            "role": "leader",
            "corridors": ["PH-SG", "PH-HK"],
            "locales": ["fil"],
        },
    )
    assert response.status_code == 200, response.text[:500]
    links = LINK.findall(response.text)
    assert len(links) == 1
    link = unescape(links[0])
    token = parse_qs(urlsplit(link).query)["token"][0]
    maria = state(client).accounts.get("maria.santos@example.org")
    assert maria is not None
    assert (maria.display_name, maria.role) == ("Maria Santos", "leader")
    assert (maria.corridors, maria.locales) == (("PH-HK", "PH-SG"), ("fil",))
    # Shown once: the account's page does not show it again, and the store never held it.
    again = boss.get(account_url(maria))
    assert again.status_code == 200 and token not in again.text
    assert "maria.santos@example.org" in again.text
    stored = json.dumps(state(client).store.find("invitations"))
    assert token not in stored
    # She cannot sign in before she has a password.
    maria_browser = browser(client)
    assert sign_in(maria_browser, maria.email, PASSWORD).status_code == 400
    # She opens the link as sent, sets her password, and signs in with it.
    person, page = anonymous(client, link.removeprefix("http://testserver"))
    assert page.status_code == 200
    accepted = person.post(
        f"/invitation?token={token}", {"password": PASSWORD, "confirm": PASSWORD}
    )
    assert accepted.status_code == 303
    signed = sign_in(maria_browser, "maria.santos@example.org", PASSWORD)
    assert signed.status_code == 303 and signed.headers["location"] == "/leaders/"
    home = maria_browser.get("/leaders/")
    assert home.status_code == 200
    assert re.findall(r'href="/leaders/([A-Z]{2}-[A-Z]{2})"', home.text) == ["PH-HK", "PH-SG"]
    # The link worked once.
    assert person.get(f"/invitation?token={token}").status_code == 410

    assert summary(entries(client, mark)) == [
        (ADMIN, "account_created", "maria.santos@example.org"),
        (ADMIN, "account_invited", "maria.santos@example.org"),
        ("", "sign_in_failed", "maria.santos@example.org"),  # before she had a password
        ("maria.santos@example.org", "invitation_accepted", "maria.santos@example.org"),
        ("maria.santos@example.org", "sign_in", "maria.santos@example.org"),
    ]
    created = next(e for e in entries(client) if e.action == "account_created")
    assert created.change == {
        "display_name": "Maria Santos",
        "role": "leader",
        "corridors": ["PH-HK", "PH-SG"],
        "locales": ["fil"],
    }
    assert_no_secrets(client, token, PASSWORD)


def test_an_invitation_refused_shows_why_and_makes_nothing(
    client: TestClient, boss: Person, leader: Account, mark: str
) -> None:
    before = state(client).accounts.all()
    taken = boss.post(
        "/admin/accounts/new",
        {"email": "Leader@HUB.example", "role": "leader", "corridors": "PH-HK", "locales": "fil"},
    )
    assert taken.status_code == 400
    assert "already exists" in refusal_next_to(taken.text, "email")
    # What was typed stays in the form.
    assert 'value="Leader@HUB.example"' in taken.text
    assert re.search(r'value="PH-HK" checked', taken.text)
    no_corridor = boss.post(
        "/admin/accounts/new", {"email": "new@example.org", "role": "leader", "locales": "fil"}
    )
    assert no_corridor.status_code == 400
    assert "at least one corridor" in refusal_next_to(no_corridor.text, "corridors")
    not_email = boss.post("/admin/accounts/new", {"email": "nobody", "role": "curator"})
    assert not_email.status_code == 400
    assert "not an email" in refusal_next_to(not_email.text, "email")
    assert LINK.search(taken.text + no_corridor.text + not_email.text) is None
    assert state(client).accounts.all() == before
    assert entries(client, mark) == []


# -- Role and scope -----------------------------------------------------------------------------


def test_an_admin_changes_role_and_scope(
    client: TestClient, boss: Person, leader: Account, mark: str
) -> None:
    page = boss.get(account_url(leader))
    assert page.status_code == 200
    assert re.search(r'value="PH-HK" checked', page.text)
    assert re.search(r'<option value="leader" selected>', page.text)
    response = boss.post(
        account_url(leader),
        {
            "action": "save",
            "role": "leader",
            "corridors": ["PH-HK", "ID-HK"],
            "locales": ["fil", "id"],
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{account_url(leader)}?done=save"
    changed = state(client).accounts.get(LEADER)
    assert (changed.role, changed.corridors, changed.locales) == (
        "leader",
        ("ID-HK", "PH-HK"),
        ("fil", "id"),
    )
    assert "Role and scope saved." in boss.get(response.headers["location"]).text
    # Now a translator of Vietnamese: no corridors.
    as_translator = {"action": "save", "role": "translator", "locales": "vi"}
    response = boss.post(account_url(leader), as_translator)
    assert response.status_code == 303
    changed = state(client).accounts.get(LEADER)
    assert (changed.role, changed.corridors, changed.locales) == ("translator", (), ("vi",))
    # Saving what is already there changes nothing, and logs nothing.
    assert boss.post(account_url(leader), as_translator).status_code == 303
    found = entries(client, mark)
    assert summary(found) == [(ADMIN, "role_changed", LEADER), (ADMIN, "role_changed", LEADER)]
    assert found[1].change == {
        "corridors": {"from": ["PH-HK"], "to": ["ID-HK", "PH-HK"]},
        "locales": {"from": ["en", "fil"], "to": ["fil", "id"]},
    }
    assert found[0].change == {
        "role": {"from": "leader", "to": "translator"},
        "corridors": {"from": ["ID-HK", "PH-HK"], "to": []},
        "locales": {"from": ["fil", "id"], "to": ["vi"]},
    }


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"role": "leader", "locales": "fil"}, "corridors", "at least one corridor"),
        ({"role": "leader", "corridors": "PH-HK"}, "locales", "at least one language"),
        ({"role": "translator", "corridors": "PH-HK", "locales": "th"}, "corridors", "Only peer"),
        ({"role": "curator", "locales": "th"}, "locales", "no languages"),
        ({"role": "leader", "corridors": "PH-PH", "locales": "fil"}, "corridors", "PH-PH"),
        ({"role": "leader", "corridors": "PH-HK", "locales": "zz"}, "locales", "zz"),
        ({"role": "owner"}, "role", "cannot be used"),
    ],
)
def test_an_invalid_scope_is_refused_with_its_reason(
    client: TestClient,
    boss: Person,
    leader: Account,
    mark: str,
    form: dict[str, str],
    field: str,
    words: str,
) -> None:
    response = boss.post(account_url(leader), {"action": "save", **form})
    assert response.status_code == 400
    said = refusal_next_to(response.text, field)
    assert words in said
    # Only the refused field says so.
    assert len(re.findall(r'id="[a-z_]+-error"', response.text)) == 1
    assert state(client).accounts.get(LEADER) == leader
    assert entries(client, mark) == []


# -- Disable, enable, end sessions ----------------------------------------------------------


def test_disabling_ends_her_sessions_and_enabling_keeps_them_ended(
    client: TestClient, boss: Person, leader: Account
) -> None:
    lea = signed_in(client, LEADER)
    other_device = signed_in(client, LEADER)
    sent = LINK.findall(boss.post(account_url(leader), {"action": "invite"}).text)
    mark = newest(client)
    assert lea.get("/leaders/").status_code == 200
    page = boss.get(account_url(leader))
    assert re.search(r"<dt>Open sessions</dt><dd>2</dd>", page.text)
    response = boss.post(account_url(leader), {"action": "disable"})
    assert response.status_code == 303
    for device in (lea, other_device):
        out = device.get("/leaders/")
        assert out.status_code == 303 and out.headers["location"].startswith("/login?")
    assert not state(client).accounts.get(LEADER).active
    assert sign_in(browser(client), LEADER).status_code == 400
    after = boss.get(response.headers["location"]).text
    assert "The account is disabled" in after
    assert re.search(r"<dt>Open sessions</dt><dd>0</dd>", after)
    # The disabled account's page offers enabling, not links that could not be used.
    assert 'value="enable"' in after and 'value="reset"' not in after
    assert boss.post(account_url(leader), {"action": "enable"}).status_code == 303
    assert state(client).accounts.get(LEADER).active
    assert lea.get("/leaders/").status_code == 303
    # A link sent before she was disabled stays dead.
    assert browser(client).get(unescape(sent[0])).status_code == 404
    assert summary(entries(client, mark)) == [
        (ADMIN, "account_disabled", LEADER),
        ("", "sign_in_failed", LEADER),
        (ADMIN, "account_enabled", LEADER),
    ]
    disabled, _, enabled = reversed(entries(client, mark))
    assert disabled.change == {"active": {"from": True, "to": False}, "sessions_ended": 2}
    assert enabled.change == {"active": {"from": False, "to": True}}


def test_ending_sessions_signs_her_out_everywhere(
    client: TestClient, boss: Person, leader: Account
) -> None:
    lea = signed_in(client, LEADER)
    mark = newest(client)
    assert boss.post(account_url(leader), {"action": "end_sessions"}).status_code == 303
    assert lea.get("/leaders/").status_code == 303
    assert boss.get("/admin/accounts").status_code == 200  # the admin's own stays
    (entry,) = entries(client, mark)
    assert (entry.actor, entry.action, entry.target) == (ADMIN, "sessions_ended", LEADER)
    assert entry.change == {"ended": 1}


# -- Force a password reset ---------------------------------------------------------------------


def test_a_forced_reset_ends_the_password_and_sessions_and_gives_a_link(
    client: TestClient, boss: Person
) -> None:
    accounts = state(client).accounts
    tran = accounts.get(CONSOLE_ACCOUNTS["translator"][0])
    tran_browser = signed_in(client, tran.email)
    mark = newest(client)
    response = boss.post(account_url(tran), {"action": "reset"})
    assert response.status_code == 200
    assert "Password reset link" in response.text
    (link,) = LINK.findall(response.text)
    token = parse_qs(urlsplit(unescape(link)).query)["token"][0]
    assert tran_browser.get("/admin/").status_code == 303
    assert sign_in(browser(client), tran.email).status_code == 400
    # Not shown again.
    assert token not in boss.get(account_url(tran)).text
    person, _ = anonymous(client, f"/invitation?token={token}")
    done = person.post(
        f"/invitation?token={token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    signed = sign_in(person.client, tran.email, NEW_PASSWORD)
    assert signed.status_code == 303 and signed.headers["location"] == "/admin/"
    assert summary(entries(client, mark)) == [
        (ADMIN, "password_reset", tran.email),
        ("", "sign_in_failed", tran.email),
        (tran.email, "invitation_accepted", tran.email),
        (tran.email, "sign_in", tran.email),
    ]
    assert_no_secrets(client, token, CONSOLE_PASSWORD, NEW_PASSWORD)


def test_a_new_invitation_link_replaces_the_old_one(
    client: TestClient, boss: Person, leader: Account, mark: str
) -> None:
    first = LINK.findall(boss.post(account_url(leader), {"action": "invite"}).text)
    second = LINK.findall(boss.post(account_url(leader), {"action": "invite"}).text)
    assert len(first) == len(second) == 1 and first != second
    old, new = (parse_qs(urlsplit(unescape(x[0])).query)["token"][0] for x in (first, second))
    person, _ = anonymous(client)
    assert person.get(f"/invitation?token={old}").status_code == 404
    assert person.get(f"/invitation?token={new}").status_code == 200
    assert summary(entries(client, mark)) == [(ADMIN, "account_invited", LEADER)] * 2
    assert_no_secrets(client, old, new)


# -- Two-step sign-in ---------------------------------------------------------------------------


def with_second_factor(client: TestClient, email: str) -> pyotp.TOTP:
    """Turn on the account's second factor (as she would on her page); her app's TOTP."""
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    state(client).accounts.set_two_factor(email, secret, app.now())
    return app


def next_code(app: pyotp.TOTP) -> str:
    """A code not used yet: the next step's (accepted one step either side)."""
    return app.at(datetime.now(UTC) + timedelta(seconds=30))


def test_an_admin_turns_off_the_second_factor_of_a_lost_phone(
    client: TestClient, boss: Person
) -> None:
    curator = state(client).accounts.get(CONSOLE_ACCOUNTS["curator"][0])
    app = with_second_factor(client, curator.email)
    phone = browser(client)
    assert sign_in(phone, curator.email, otp=next_code(app)).status_code == 303
    mark = newest(client)
    page = boss.get(account_url(curator))
    assert re.search(r"<dt>Two-step sign-in</dt><dd>On</dd>", page.text)
    assert 'name="action" value="clear_two_factor"' in page.text
    response = boss.post(account_url(curator), {"action": "clear_two_factor"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{account_url(curator)}?done=clear_two_factor"
    assert not state(client).accounts.get(curator.email).two_factor
    # The session that passed the old factor has ended with it.
    assert phone.get("/admin/", follow_redirects=False).status_code == 303
    after = boss.get(response.headers["location"]).text
    assert "Two-step sign-in is off for this account" in after
    assert re.search(r"<dt>Two-step sign-in</dt><dd>Off</dd>", after)
    assert 'name="action" value="clear_two_factor"' not in after
    # Her password alone signs her in; she can set up a new phone from there.
    assert sign_in(browser(client), curator.email).status_code == 303
    # A page left open sends it again: nothing more happens.
    assert boss.post(account_url(curator), {"action": "clear_two_factor"}).status_code == 303
    found = entries(client, mark)
    assert summary(found) == [
        (ADMIN, "two_factor_disabled", curator.email),
        (curator.email, "sign_in", curator.email),
    ]
    assert found[-1].change == {"two_factor": {"from": True, "to": False}, "sessions_ended": 1}
    assert_no_secrets(client, app.secret)


def test_an_admin_turns_off_her_own_second_factor_on_her_account_page_only(
    client: TestClient, boss: Person, admin: Account, mark: str
) -> None:
    with_second_factor(client, ADMIN)
    page = boss.get(account_url(admin))
    assert 'name="action" value="clear_two_factor"' not in page.text
    assert 'href="/account/two-factor"' in page.text.split('id="two-factor"')[1]
    # Without her password and a code, as a form sent anyway.
    refused = boss.post(account_url(admin), {"action": "clear_two_factor"})
    assert refused.status_code == 400
    assert "your account page" in refusal_next_to(refused.text, "clear_two_factor")
    assert state(client).accounts.get(ADMIN).two_factor
    assert boss.get("/admin/accounts").status_code == 200
    assert entries(client, mark) == []


def test_a_forced_reset_leaves_the_second_factor_as_it_is(client: TestClient, boss: Person) -> None:
    tran = state(client).accounts.get(CONSOLE_ACCOUNTS["translator"][0])
    app = with_second_factor(client, tran.email)
    page = boss.get(account_url(tran)).text
    assert "Two-step sign-in stays on after a reset." in page
    response = boss.post(account_url(tran), {"action": "reset"})
    (link,) = LINK.findall(response.text)
    token = parse_qs(urlsplit(unescape(link)).query)["token"][0]
    person, _ = anonymous(client, f"/invitation?token={token}")
    done = person.post(
        f"/invitation?token={token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert state(client).accounts.get(tran.email).two_factor
    assert sign_in(person.client, tran.email, NEW_PASSWORD).status_code == 400
    assert sign_in(person.client, tran.email, NEW_PASSWORD, otp=next_code(app)).status_code == 303


# -- Invited, no password yet -------------------------------------------------------------------


def card_of(html: str, email: str) -> str:
    """The card of one account on the accounts list."""
    (card,) = [c for c in html.split('<li class="card">')[1:] if email in c]
    return card.split("</li>")[0]


def status_of(html: str) -> str:
    found = re.search(r"<dt>Status</dt><dd>(.*?)</dd>", html, re.S)
    assert found is not None
    return unescape(re.sub(r"<[^>]+>", "", found[1])).strip()


def test_an_account_without_a_password_says_so(
    client: TestClient, boss: Person, leader: Account
) -> None:
    made = boss.post(
        "/admin/accounts/new", {"email": "nina@example.org", "role": "translator", "locales": "th"}
    )
    assert status_of(made.text) == "Invited, no password yet"
    listed = boss.get("/admin/accounts").text
    assert status_of(card_of(listed, "nina@example.org")) == "Invited, no password yet"
    assert status_of(card_of(listed, LEADER)) == "Active"
    nina = state(client).accounts.get("nina@example.org")
    assert status_of(boss.get(account_url(nina)).text) == "Invited, no password yet"
    # She sets her password: active.
    token = parse_qs(urlsplit(unescape(LINK.findall(made.text)[0])).query)["token"][0]
    person, _ = anonymous(client, f"/invitation?token={token}")
    person.post(f"/invitation?token={token}", {"password": PASSWORD, "confirm": PASSWORD})
    assert status_of(card_of(boss.get("/admin/accounts").text, "nina@example.org")) == "Active"
    assert status_of(boss.get(account_url(nina)).text) == "Active"
    # An account that has signed in before and whose password an admin cleared.
    signed_in(client, LEADER)
    assert boss.post(account_url(leader), {"action": "reset"}).status_code == 200
    reset = "Password reset, no new password yet"
    assert status_of(card_of(boss.get("/admin/accounts").text, LEADER)) == reset
    assert status_of(boss.get(account_url(leader)).text) == reset
    # Disabled says disabled, password or not.
    assert boss.post(account_url(leader), {"action": "disable"}).status_code == 303
    assert status_of(boss.get(account_url(leader)).text) == "Disabled"


# -- The last admin ------------------------------------------------------------------------------


def test_the_last_admin_can_be_neither_disabled_nor_demoted(
    client: TestClient, boss: Person, admin: Account, mark: str
) -> None:
    disable = boss.post(account_url(admin), {"action": "disable"})
    assert disable.status_code == 400
    assert "only active admin" in refusal_next_to(disable.text, "disable")
    demote = boss.post(account_url(admin), {"action": "save", "role": "curator"})
    assert demote.status_code == 400
    assert "only active admin" in refusal_next_to(demote.text, "role")
    # The form shows what was asked for, the facts what holds.
    assert '<option value="curator" selected>' in demote.text
    assert state(client).accounts.get(ADMIN) == admin
    assert boss.get("/admin/accounts").status_code == 200
    assert entries(client, mark) == []
    # With a second admin who can sign in, the first may step down.
    state(client).accounts.create("second@hub.example", PASSWORD, role="admin")
    stepped_down = boss.post(account_url(admin), {"action": "save", "role": "curator"})
    assert (stepped_down.status_code, stepped_down.headers["location"]) == (303, "/admin/")
    assert boss.get("/admin/accounts").status_code == 403
    assert state(client).accounts.get("second@hub.example").role == "admin"


def test_an_invited_admin_without_a_password_is_not_the_admin_left(
    client: TestClient, boss: Person, admin: Account, mark: str
) -> None:
    # The review's steps: invite an admin (her link unused), disable the second admin, then
    # step down. The invited one cannot sign in, so nobody could have.
    invited = boss.post("/admin/accounts/new", {"email": "pending@hub.example", "role": "admin"})
    assert invited.status_code == 200 and LINK.search(invited.text)
    accounts = state(client).accounts
    second = accounts.create("second@hub.example", PASSWORD, role="admin")
    assert boss.post(account_url(second), {"action": "disable"}).status_code == 303
    after_setup = newest(client)
    demote = boss.post(account_url(admin), {"action": "save", "role": "curator"})
    assert demote.status_code == 400
    assert "only active admin" in refusal_next_to(demote.text, "role")
    # Nor may she clear her own password (a forced reset) and leave only the invited one.
    reset = boss.post(account_url(admin), {"action": "reset"})
    assert reset.status_code == 400
    assert "only active admin" in refusal_next_to(reset.text, "reset")
    assert accounts.get(ADMIN) == admin
    assert entries(client, after_setup) == []
    # Once the invited admin has set her password, she counts.
    accounts.set_password("pending@hub.example", PASSWORD)
    stepped_down = boss.post(account_url(admin), {"action": "save", "role": "curator"})
    assert (stepped_down.status_code, stepped_down.headers["location"]) == (303, "/admin/")
    assert accounts.get(ADMIN).role == "curator"


# -- The audit log page ---------------------------------------------------------------------------


def test_the_audit_log_filters_and_pages_newest_first(client: TestClient, boss: Person) -> None:
    # After the admin's sign-in: 130 changes by two actors to five targets, a failed sign-in.
    log = state(client).audit
    for n in range(130):
        actor = "ada@hub.example" if n % 2 else "cli:root"
        log.record("role_changed", actor=actor, target=f"p{n % 5}@hub.example", change={"n": n})
    log.record("sign_in_failed", actor="", target="p1@hub.example")

    def page_of(url: str) -> tuple[list[int | None], str | None]:
        """The `n` of each entry the page shows (None: an entry without one), and the link
        to the older entries."""
        response = boss.get(url)
        assert response.status_code == 200
        cards = response.text.split('<li class="card" id="entry-')[1:]
        numbers = []
        for card in cards:
            found = re.search(r"<code>n</code></dt><dd>(\d+)</dd>", card)
            numbers.append(int(found[1]) if found else None)
        older = re.search(r'<a href="([^"]+)" rel="next">', response.text)
        return numbers, unescape(older[1]) if older else None

    # Every entry, 50 a page, newest first, each once.
    seen: list[int | None] = []
    url: str | None = "/admin/audit"
    pages = 0
    while url is not None:
        numbers, url = page_of(url)
        pages += 1
        assert len(numbers) <= 50
        seen += numbers
    assert pages == 3
    assert seen == [None, *range(129, -1, -1), None]
    # Filters, with the email typed as people do; the next page keeps them.
    numbers, older = page_of("/admin/audit?actor=ADA@Hub.example&target=p3@hub.example")
    assert numbers == [n for n in range(129, -1, -1) if n % 2 and n % 5 == 3]
    assert older is None
    numbers, older = page_of("/admin/audit?actor=cli:root")
    assert numbers == list(range(128, 28, -2))
    assert older is not None and "actor=cli%3Aroot" in older
    numbers, older = page_of(older)
    assert numbers == list(range(28, -1, -2)) and older is None
    numbers, _ = page_of("/admin/audit?action=sign_in_failed")
    assert numbers == [None]
    assert boss.get("/admin/audit?action=drop_table").status_code == 400
    # Reading the log wrote nothing to it.
    assert len(entries(client)) == 132


def test_the_audit_log_words_each_action_and_writes_its_times_in_the_console_locale(
    client: TestClient, boss: Person
) -> None:
    at = datetime(2025, 3, 1, 8, 30, 5, tzinfo=UTC)
    log = AuditLog(state(client).store, clock=lambda: at)
    for action in sorted(ACTIONS):
        log.record(action, actor=ADMIN, target=LEADER)
    page = boss.get("/admin/audit").text
    # The filter offers every action by its label, its value the action itself.
    menu = page.split('<select id="action" name="action">')[1].split("</select>")[0]
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', menu))
    assert options.keys() == ACTIONS
    assert options["role_changed"] == "Role or scope changed"
    assert options["sign_in_throttled"] == "Sign-in refused after too many failed attempts"
    assert len(set(options.values())) == len(ACTIONS)
    assert all(label != action for action, label in options.items())
    # Each entry shows the same label.
    shown = re.findall(r'<strong class="action">([^<]+)</strong>', page)
    assert sorted(shown[: len(ACTIONS)]) == sorted(options.values())
    filtered = boss.get("/admin/audit?action=role_changed").text
    assert '<option value="role_changed" selected>Role or scope changed</option>' in filtered
    # Times: the hub's long date and the time, in UTC; the machine-readable one stays ISO.
    stamp = '<time datetime="2025-03-01T08:30:05Z">'
    assert f"{stamp}March 1, 2025, 8:30:05\u202fAM UTC</time>" in page
    assert ">2025-03-01T08:30:05Z<" not in page
    boss.client.cookies.set("hub_console_locale", "th")
    thai = boss.get("/admin/audit").text
    assert f"{stamp}1 มีนาคม ค.ศ. 2025 8 นาฬิกา 30 นาที 05 วินาที UTC</time>" in thai
    boss.client.cookies.set("hub_console_locale", "my")
    burmese = boss.get("/admin/audit").text
    assert f"{stamp}၂၀၂၅ မတ် ၁ UTC ၀၈:၃၀:၀၅</time>" in burmese
