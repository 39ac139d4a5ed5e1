"""The directory in the console (issue 12, point 4), through the real app on a copy of the
starter content: roles, filters, editing an entry (the reader pages show it at once, comments
kept, `hub check` stays clean), "I verified this today", retiring, new entries, the CSV
import's dry run and import, the phone check, CSRF, conflicts and hostile input."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from hub.content.loader import load_tree
from hub.settings import PROJECT_ROOT
from tests.conftest import (
    ClientFactory,
    as_repository,
    csrf_of,
    git,
    set_corridor,
    sign_in_as,
)
from tests.test_alerts import ZAWGYI_AS_UNICODE, ZAWGYI_BODY, ZAWGYI_UNSURE

CONTENT = PROJECT_ROOT / "content"
TODAY = dt.date.today()
HOTLINE = "hk-labour-department-fdh-hotline"
SHELTER = "hk-bethune-house"
NEEDED = "ae-dfwac"  # `verification: needed` in the starter content


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the starter content."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def curator(make_console_client: ClientFactory, tree: Path) -> Iterator[TestClient]:
    """The app on `tree`, a curator signed in."""
    client = make_console_client(content_dir=tree)
    sign_in_as(client, "curator")
    yield client


def errors_of(tree: Path) -> set[str]:
    """`hub check`'s errors and warnings on the tree, as text."""
    return {str(p) for p in load_tree(tree).problems}


def form_of(html: str, action: str) -> dict[str, str]:
    """The fields of the form posting to `action` as a browser sends them: text inputs,
    textareas, the selected option, ticked boxes."""
    start = html.index(f'action="{action}"')
    body = html[start : html.index("</form>", start)]
    found: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", body):
        name = re.search(r' name="([^"]*)"', tag)
        if name is None:
            continue
        kind = re.search(r' type="([^"]*)"', tag)
        value = re.search(r' value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox" and " checked" not in tag:
            continue
        found[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    for name, text in re.findall(
        r'<textarea [^>]*name="([^"]*)"[^>]*>(.*?)</textarea>', body, re.S
    ):
        found[name] = unescape(text)
    for name, options in re.findall(r'<select [^>]*name="([^"]*)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        first = re.search(r'<option value="([^"]*)"', options)
        picked = chosen or first
        found[name] = unescape(picked.group(1)) if picked is not None else ""
    return found


def edit(client: TestClient, service_id: str, **changes: str) -> tuple[int, str]:
    """Open an entry's form, change some fields, send it; the status and the page (followed)."""
    page = client.get(f"/admin/directory/{service_id}")
    assert page.status_code == 200
    action = f"/admin/directory/{service_id}"
    data = {**form_of(page.text, action), **changes}
    response = client.post(action, data=data, follow_redirects=True)
    return response.status_code, response.text


# -- Roles ---------------------------------------------------------------------------------------

PAGES = (
    "/admin/directory",
    f"/admin/directory/{HOTLINE}",
    "/admin/directory/new",
    "/admin/directory/import",
    "/admin/directory/check-phone?field=phone&number=%2B85221579537&country=HK",
)


@pytest.mark.parametrize("role", ["translator", "leader"])
def test_translators_and_leaders_get_403(make_console_client: ClientFactory, role: str) -> None:
    client = make_console_client()
    sign_in_as(client, role)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    home = client.get("/account")
    token = csrf_of(home.text)
    for path in (
        f"/admin/directory/{HOTLINE}",
        f"/admin/directory/{HOTLINE}/verify",
        f"/admin/directory/{HOTLINE}/retire",
        "/admin/directory/new",
        "/admin/directory/import",
    ):
        answer = client.post(path, data={"csrf_token": token, "reason": "x"})
        assert answer.status_code == 403, path


def test_nobody_signed_in_is_sent_to_sign_in(console_client: TestClient) -> None:
    for path in PAGES:
        answer = console_client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ["curator", "admin"])
def test_curators_and_admins_open_every_page(make_console_client: ClientFactory, role: str) -> None:
    client = make_console_client()
    sign_in_as(client, role)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store"
    home = client.get("/admin/")
    assert 'id="directory-link"' in home.text


# -- The list and its filters --------------------------------------------------------------------


def listed(html: str) -> list[str]:
    return re.findall(r'<li class="card" data-item="([^"]+)" data-state="', html)


def test_the_list_shows_every_entry_and_filters(curator: TestClient, tree: Path) -> None:
    files = {
        p.stem: yaml.safe_load(p.read_text("utf-8")) for p in (tree / "services").glob("*.yml")
    }
    page = curator.get("/admin/directory")
    assert sorted(listed(page.text)) == sorted(files)
    hotlines = listed(curator.get("/admin/directory", params={"kind": "hotline"}).text)
    assert hotlines and sorted(hotlines) == sorted(
        k for k, v in files.items() if v["kind"] == "hotline"
    )
    never = listed(curator.get("/admin/directory?verification=never-verified").text)
    assert sorted(never) == sorted(k for k, v in files.items() if v.get("verification"))
    assert listed(curator.get("/admin/directory?verification=needs-verification").text) == []
    ok = listed(curator.get("/admin/directory?verification=ok").text)
    assert sorted(ok) == sorted(k for k, v in files.items() if v.get("verified_on"))
    found = listed(curator.get("/admin/directory", params={"q": "BETHUNE"}).text)
    assert found == [SHELTER]
    by_number = listed(curator.get("/admin/directory", params={"q": "+85221579537"}).text)
    assert by_number == [HOTLINE]
    # A corridor lists what its help page lists: Bethune House serves Filipinas and
    # Indonesians in Hong Kong, not Vietnamese workers in Taiwan.
    assert SHELTER in listed(curator.get("/admin/directory?corridor=PH-HK").text)
    assert SHELTER not in listed(curator.get("/admin/directory?corridor=VN-TW").text)


@pytest.mark.parametrize(
    "query",
    ["corridor=XX-HK", "kind=boat", "verification=maybe", "q=" + "x" * 101, "corridor=PH-PH"],
)
def test_bad_filters_are_400(curator: TestClient, query: str) -> None:
    assert curator.get(f"/admin/directory?{query}").status_code == 400


# -- Editing -------------------------------------------------------------------------------------

NEW_NUMBER = "+85221579538"


def test_editing_a_phone_number_shows_at_once_and_keeps_comments(
    curator: TestClient, tree: Path
) -> None:
    before = errors_of(tree)
    reader = curator.get(f"/en/services/{HOTLINE}").text
    assert "2157 9537" in reader
    status, page = edit(
        curator,
        HOTLINE,
        phone="+852 2157-9538",
        source_numbers_1=NEW_NUMBER,
        source_numbers_2=NEW_NUMBER,
        source_numbers_3=NEW_NUMBER,
    )
    assert status == 200, page
    assert 'id="done"' in page
    text = (tree / "services" / f"{HOTLINE}.yml").read_text("utf-8")
    assert f'phone: "{NEW_NUMBER}"' in text
    # Untouched keys keep their comments and order.
    assert "# Operators speak Cantonese, English and Putonghua" in text
    assert text.index("kind:") < text.index("phone:") < text.index("sources:")
    reader = curator.get(f"/en/services/{HOTLINE}").text
    assert "2157 9538" in reader and "2157 9537" not in reader
    assert errors_of(tree) == before


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("85221579537", "E.164"),  # no +
        ("+852 2157 ABCD", "E.164"),  # letters
        ("+852 2157 9537 ext. 12", "E.164"),  # an extension
        ("+85212", "E.164"),
    ],
)
def test_an_invalid_phone_is_400_and_writes_nothing(
    curator: TestClient, tree: Path, typed: str, why: str
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    status, page = edit(curator, HOTLINE, phone=typed)
    assert status == 400
    found = re.search(r'<p class="error" id="phone-error" lang="en">([^<]*)</p>', page)
    assert found is not None and why in found.group(1)
    assert 'aria-invalid="true" aria-describedby="phone-error"' in page
    assert path.read_bytes() == kept


def test_numbers_in_thai_khmer_or_burmese_digits_are_read_as_ascii(
    curator: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    # The same number in Thai digits: nothing changes.
    status, page = edit(curator, HOTLINE, phone="+๘๕๒ ๒๑๕๗ ๙๕๓๗")
    assert status == 200, page
    assert path.read_bytes() == kept
    url = "/admin/directory/check-phone"
    burmese = curator.get(url, params={"field": "phone", "number": "+၈၅၂ ၂၁၅၇ ၉၅၃၇"}).json()
    assert burmese["ok"] and burmese["written"] == "+85221579537"
    khmer = curator.get(url, params={"field": "short_number", "number": "៩៩៩", "country": "HK"})
    assert khmer.json()["written"] == "999"


def test_every_field_error_is_shown_at_once(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    status, page = edit(
        curator, HOTLINE, country="XX", languages="klingon", website="ftp://x", name_en=""
    )
    assert status == 400
    for name in ("country", "languages", "website", "name_en"):
        assert f'id="{name}-error"' in page, name
    assert path.read_bytes() == kept


def test_a_number_no_source_states_is_refused_as_hub_check_refuses_it(
    curator: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    status, page = edit(curator, HOTLINE, phone=NEW_NUMBER)
    assert status == 400
    assert "is not one of this entry&#39;s numbers" in page or "not one of this entry" in page
    assert path.read_bytes() == kept


def test_short_code_warnings_are_shown(curator: TestClient) -> None:
    page = curator.get("/admin/directory/ph-dmw-hotline").text
    assert "short number 1348 is not in libphonenumber&#39;s data for PH" in page


# -- Phone check ---------------------------------------------------------------------------------


def test_the_phone_check_answers_json(curator: TestClient) -> None:
    url = "/admin/directory/check-phone"
    good = curator.get(url, params={"field": "phone", "number": "+852 2157 9537", "country": "HK"})
    assert good.json() == {
        "field": "phone",
        "written": "+85221579537",
        "ok": True,
        "error": None,
        "warnings": [],
        "display": "+852 2157 9537",
    }
    for typed in ("21579537", "+852 2157 ABCD", "+852 2157 9537 x12"):
        bad = curator.get(url, params={"field": "phone", "number": typed, "country": "HK"}).json()
        assert bad["ok"] is False and "E.164" in bad["error"]
    short = curator.get(url, params={"field": "short_number", "number": "1348", "country": "PH"})
    assert short.json()["ok"] is True
    assert "not in libphonenumber's data for PH" in short.json()["warnings"][0]
    abroad = curator.get(
        url, params={"field": "phone_from_abroad", "number": "+6321348", "country": "PH"}
    ).json()
    assert abroad["ok"] and "no call button" in abroad["warnings"][0]
    assert curator.get(url, params={"field": "name", "number": "1"}).status_code == 400
    entry = curator.get(f"/admin/directory/{HOTLINE}").text
    assert 'data-phone-check="phone"' in entry
    assert re.search(r'<script src="/static/js/directory\.[0-9a-f]+\.js" defer>', entry)


# -- I verified this today -----------------------------------------------------------------------


def test_verifying_today_clears_the_old_notice(
    make_console_client: ClientFactory, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    path.write_text(
        path.read_text("utf-8").replace("verified_on: 2026-11-29", "verified_on: 2024-01-02"),
        "utf-8",
    )
    before = errors_of(tree)
    client = make_console_client(content_dir=tree)
    sign_in_as(client, "curator")
    assert "more than a year ago" in client.get(f"/en/services/{HOTLINE}").text
    page = client.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}/verify"
    data = {
        **form_of(page, action),
        "source_url": "https://www.labour.gov.hk/eng/tele/content.htm",
        "note": "Called it: answered in English.",
    }
    answer = client.post(action, data=data, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["verified_on"] == TODAY
    assert saved["verified_by"] == "Test curator"
    assert saved["verified_note"] == "Called it: answered in English."
    assert "# Operators speak Cantonese" in path.read_text("utf-8")
    assert "more than a year ago" not in client.get(f"/en/services/{HOTLINE}").text
    assert errors_of(tree) == before


def test_verifying_an_unverified_entry_adds_the_source_and_shows_its_number(
    make_console_client: ClientFactory, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    path.write_text(
        path.read_text("utf-8").replace("verified_on: 2026-11-29", "verification: needed"),
        "utf-8",
    )
    before = errors_of(tree)
    client = make_console_client(content_dir=tree)
    sign_in_as(client, "curator")
    data = yaml.safe_load(path.read_text("utf-8"))
    reader = client.get(f"/en/services/{HOTLINE}").text
    assert "nobody has checked this entry yet" in reader and "tel:" not in reader
    page = client.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}/verify"
    sent = {**form_of(page, action), "source_url": "https://example.org/fdh"}
    assert sent["numbers"] == "+85221579537"
    refused = client.post(action, data=sent)
    assert refused.status_code == 400
    assert 'id="source_date-error"' in refused.text
    assert yaml.safe_load(path.read_text("utf-8")) == data
    sent["source_date"] = "2026-03"
    answer = client.post(action, data=sent, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert "verification" not in saved and saved["verified_on"] == TODAY
    assert saved["sources"][0] == {
        "url": "https://example.org/fdh",
        "date": "2026-03",
        "numbers": ["+85221579537"],
    }
    assert saved["sources"][1:] == data["sources"]
    reader = client.get(f"/en/services/{HOTLINE}").text
    assert "nobody has checked this entry yet" not in reader and "tel:21579537" in reader
    assert errors_of(tree) == before


def test_an_entry_without_numbers_cannot_be_verified(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{NEEDED}.yml"
    kept = path.read_bytes()
    page = curator.get(f"/admin/directory/{NEEDED}").text
    action = f"/admin/directory/{NEEDED}/verify"
    assert f'action="{action}"' not in page and 'id="verify-needs-number"' in page
    sent = {
        **form_of(page, f"/admin/directory/{NEEDED}"),
        "source_url": "https://example.org/x",
        "source_date": "2026",
    }
    refused = curator.post(action, data=sent)
    assert refused.status_code == 400
    assert "add one under “Edit the entry” below, then verify it." in refused.text
    assert path.read_bytes() == kept


def test_marking_needs_verification_takes_the_verification_back(
    curator: TestClient, tree: Path
) -> None:
    before = errors_of(tree)
    path = tree / "services" / f"{HOTLINE}.yml"
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}/verify"
    sent = {**form_of(page, action), "source_url": "https://www.labour.gov.hk/eng/tele/content.htm"}
    assert curator.post(action, data=sent).status_code == 200
    assert yaml.safe_load(path.read_text("utf-8"))["verified_by"] == "Test curator"
    status, page = edit(curator, HOTLINE, verification="needed")
    assert status == 200, page
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["verification"] == "needed" and saved["last_verified_on"] == TODAY
    assert not {"verified_on", "verified_by", "verified_note"} & saved.keys()
    reader = curator.get(f"/en/services/{HOTLINE}").text
    assert "nobody has checked this entry yet" in reader and "tel:" not in reader
    assert HOTLINE in listed(curator.get("/admin/directory?verification=needs-verification").text)
    assert HOTLINE not in listed(curator.get("/admin/directory?verification=never-verified").text)
    assert errors_of(tree) == before
    # Saved again while it still needs verification: the day stays.
    status, page = edit(curator, HOTLINE, name_en="FDH hotline")
    assert status == 200
    assert yaml.safe_load(path.read_text("utf-8"))["last_verified_on"] == TODAY
    # Verified again: the mark and the old day go.
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    sent = {**form_of(page, action), "source_url": "https://www.labour.gov.hk/eng/tele/content.htm"}
    assert curator.post(action, data=sent).status_code == 200
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["verified_on"] == TODAY
    assert not {"verification", "last_verified_on"} & saved.keys()
    assert errors_of(tree) == before


def test_a_verification_source_must_be_http(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}/verify"
    for url in ("javascript:alert(1)", "", "labour.gov.hk"):
        sent = {**form_of(page, action), "source_url": url}
        answer = curator.post(action, data=sent)
        assert answer.status_code == 400
        assert 'id="source_url-error"' in answer.text
    assert path.read_bytes() == kept


# -- Retire --------------------------------------------------------------------------------------


def test_retiring_takes_the_entry_off_reader_pages_and_keeps_its_file(
    curator: TestClient, tree: Path
) -> None:
    before = errors_of(tree)
    set_corridor(curator, "PH", "HK")
    assert "Bethune House" in curator.get("/en/help").text
    page = curator.get(f"/admin/directory/{SHELTER}").text
    action = f"/admin/directory/{SHELTER}/retire"
    empty = curator.post(action, data={**form_of(page, action), "reason": " "})
    assert empty.status_code == 400
    answer = curator.post(
        action, data={**form_of(page, action), "reason": "Moved; merged"}, follow_redirects=True
    )
    assert answer.status_code == 200, answer.text
    path = tree / "services" / f"{SHELTER}.yml"
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["retired_on"] == TODAY and saved["retired_reason"] == "Moved; merged"
    assert saved["phone"] == "+85293380035"
    assert "Bethune House" not in curator.get("/en/help").text
    assert curator.get(f"/en/services/{SHELTER}").status_code == 404
    listing = curator.get("/admin/directory").text
    assert SHELTER not in listed(listing)
    assert f'<li class="card" data-item="{SHELTER}">' in listing
    # A retired entry is no problem for hub check, and its id stays taken.
    assert errors_of(tree) == {p for p in before if SHELTER not in p}
    refused = curator.post(
        "/admin/directory/new",
        data={
            **form_of(curator.get("/admin/directory/new").text, "/admin/directory/new"),
            "id": SHELTER,
        },
    )
    assert refused.status_code == 400 and 'id="id-error"' in refused.text


def test_an_entry_an_article_links_to_is_not_retired(
    make_console_client: ClientFactory, tree: Path
) -> None:
    article = tree / "articles" / "your-contract" / "en.md"
    article.write_text(
        article.read_text("utf-8") + f"\nAsk [Bethune House](../services/{SHELTER}).\n", "utf-8"
    )
    client = make_console_client(content_dir=tree)
    sign_in_as(client, "curator")
    path = tree / "services" / f"{SHELTER}.yml"
    kept = path.read_bytes()
    page = client.get(f"/admin/directory/{SHELTER}").text
    assert "These articles link to its page: your-contract/en." in page
    action = f"/admin/directory/{SHELTER}/retire"
    answer = client.post(action, data={**form_of(page, action), "reason": "Closed"})
    assert answer.status_code == 400
    assert (
        "Articles link to this entry's page: change their links first (your-contract/en)."
        in answer.text
    )
    assert path.read_bytes() == kept


def test_keys_the_form_does_not_know_are_kept(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    path.write_text(path.read_text("utf-8") + "rating: 4.5  # our own note\n", "utf-8")
    status, page = edit(curator, HOTLINE, name_en="FDH hotline")
    assert status == 200, page
    text = path.read_text("utf-8")
    assert text.endswith("rating: 4.5  # our own note\n")
    assert yaml.safe_load(text)["name"]["en"] == "FDH hotline"


def test_retired_and_verifier_fields_are_checked_by_hub_check(tree: Path) -> None:
    path = tree / "services" / f"{SHELTER}.yml"
    text = path.read_text("utf-8")
    path.write_text(text + "retired_reason: gone\n", "utf-8")
    assert any("'retired_reason' goes with 'retired_on'" in p for p in errors_of(tree))
    path.write_text(text + "retired_on: 2026-01-01\n", "utf-8")
    assert any("'retired_reason' must be a non-empty text" in p for p in errors_of(tree))
    path.write_text(text + "verified_by: Ana\n", "utf-8")
    assert not any(SHELTER in p for p in errors_of(tree))
    path.write_text(text + "last_verified_on: 2025-01-01\n", "utf-8")
    assert any("'last_verified_on' goes with 'verification: needed'" in p for p in errors_of(tree))
    needed = tree / "services" / f"{NEEDED}.yml"
    needed_text = needed.read_text("utf-8")
    needed.write_text(needed_text + "verified_by: Ana\n", "utf-8")
    assert any("'verified_by' goes with 'verified_on'" in p for p in errors_of(tree))
    needed.write_text(needed_text + "last_verified_on: 2025-01-01\n", "utf-8")
    assert not any(NEEDED in p for p in errors_of(tree))


# -- New entries ---------------------------------------------------------------------------------

NEW_ENTRY = {
    "id": "hk-new-helpline",
    "kind": "hotline",
    "name_en": "New helpline",
    "name_fil": "Bagong helpline",
    "country": "HK",
    "serves": "PH ID",
    "phone": "+852 2157 9500",
    "languages": "en tl",
    "cost": "free",
    "source_url_1": "https://example.org/new",
    "source_date_1": "2026-02-01",
    "source_numbers_1": "+85221579500",
    "verified_on": TODAY.isoformat(),
}


def new_form(client: TestClient, **changes: str) -> dict[str, str]:
    page = client.get("/admin/directory/new").text
    found = form_of(page, "/admin/directory/new")
    found.pop("verification", None)
    return {**found, **NEW_ENTRY, **changes}


def test_a_new_entry_is_written_and_shown(curator: TestClient, tree: Path) -> None:
    before = errors_of(tree)
    answer = curator.post("/admin/directory/new", data=new_form(curator), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin/directory/hk-new-helpline?done=created"
    saved = yaml.safe_load((tree / "services" / "hk-new-helpline.yml").read_text("utf-8"))
    assert saved["name"] == {"en": "New helpline", "fil": "Bagong helpline"}
    assert saved["phone"] == "+85221579500" and saved["serves"] == ["PH", "ID"]
    assert "2157 9500" in curator.get("/en/services/hk-new-helpline").text
    assert errors_of(tree) == before


@pytest.mark.parametrize("bad_id", ["../etc/passwd", "import", "HK-Upper", "a/b", ".hidden", ""])
def test_a_new_entry_needs_a_good_free_id(curator: TestClient, tree: Path, bad_id: str) -> None:
    answer = curator.post("/admin/directory/new", data=new_form(curator, id=bad_id))
    assert answer.status_code == 400
    assert 'id="id-error"' in answer.text
    assert not (tree / "services" / "hk-new-helpline.yml").exists()
    assert sorted(p.name for p in tree.rglob("*passwd*")) == []


def test_burmese_typed_in_zawgyi_is_converted_and_shown_back(
    curator: TestClient, tree: Path
) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    status, page = edit(curator, HOTLINE, name_my=ZAWGYI_BODY)
    assert status == 200
    assert 'id="converted"' in page
    assert f'value="{ZAWGYI_AS_UNICODE}"' in page
    assert path.read_bytes() == kept
    action = f"/admin/directory/{HOTLINE}"
    again = curator.post(action, data=form_of(page, action), follow_redirects=False)
    assert again.status_code == 303
    assert yaml.safe_load(path.read_text("utf-8"))["name"]["my"] == ZAWGYI_AS_UNICODE
    written = path.read_bytes()
    status, page = edit(curator, HOTLINE, name_my=ZAWGYI_UNSURE)
    assert status == 400
    assert '<p class="error" id="name_my-error">This Burmese text seems to be typed' in page
    assert path.read_bytes() == written


# -- CSRF and conflicts --------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_403(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    kept = path.read_bytes()
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}"
    data = {**form_of(page, action), "name_en": "Changed"}
    data.pop("csrf_token")
    assert curator.post(action, data=data).status_code == 403
    data["csrf_token"] = "0" * 43
    assert curator.post(action, data=data).status_code == 403
    assert path.read_bytes() == kept


def test_a_save_over_another_change_is_409(curator: TestClient, tree: Path) -> None:
    path = tree / "services" / f"{HOTLINE}.yml"
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}"
    data = {**form_of(page, action), "name_en": "Mine"}
    theirs = path.read_text("utf-8").replace("cost: unknown", "cost: free")
    path.write_text(theirs, "utf-8")
    answer = curator.post(action, data=data)
    assert answer.status_code == 409
    assert 'class="notice warn conflict"' in answer.text
    assert path.read_text("utf-8") == theirs


# -- Hostile input -------------------------------------------------------------------------------


def test_hostile_values_stay_data(curator: TestClient, tree: Path) -> None:
    before = errors_of(tree)
    hostile = {
        "name_en": '<script>alert("x")</script> Helpline',
        "name_fil": "yes",
        "name_id": "null",
        "name_vi": "2024-01-01",
        "name_th": "- a\nb: c",
        "name_km": "&amp; {{ 7*7 }} {% raw %}",
        "name_my": "!!python/object:os.system",
        "hours_en": "'; DROP TABLE --",
    }
    answer = curator.post(
        "/admin/directory/new", data=new_form(curator, **hostile), follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    path = tree / "services" / "hk-new-helpline.yml"
    saved = yaml.safe_load(path.read_text("utf-8"))
    assert saved["name"] == {
        "en": '<script>alert("x")</script> Helpline',
        "fil": "yes",
        "id": "null",
        "vi": "2024-01-01",
        "th": "- a\nb: c",
        "km": "&amp; {{ 7*7 }} {% raw %}",
        "my": "!!python/object:os.system",
    }
    assert saved["hours"] == {"en": "'; DROP TABLE --"}
    for locale in ("en", "fil", "km"):
        page = curator.get(f"/{locale}/services/hk-new-helpline").text
        assert "<script>alert" not in page
    set_corridor(curator, "PH", "HK")
    help_page = curator.get("/en/help").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Helpline" in help_page
    assert "<script>alert" not in curator.get("/admin/directory").text
    assert errors_of(tree) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("website", "javascript:alert(1)"),
        ("chat_url_1", "javascript:alert(1)"),
        ("source_url_1", "data:text/html,<script>alert(1)</script>"),
        ("phone", "+852 2157 95OO"),
    ],
)
def test_script_urls_and_letters_are_refused(
    curator: TestClient, tree: Path, field: str, value: str
) -> None:
    extra = {"chat_label_1": "Chat"} if field == "chat_url_1" else {}
    answer = curator.post("/admin/directory/new", data=new_form(curator, **{field: value}, **extra))
    assert answer.status_code == 400
    assert not (tree / "services" / "hk-new-helpline.yml").exists()


# -- CSV import ----------------------------------------------------------------------------------

HEADER = "id,kind,country,name_en,phone,source_url,source_date,verified_on"
GOOD_ROWS = [
    f"hk-csv-one,hotline,HK,CSV One,+85221579501,https://example.org/1,2026-01,{TODAY}",
    'hk-csv-two,shelter,HK,"Two, with a comma",+85221579502,https://example.org/2,2025,',
]


def import_csv(client: TestClient, text: str, action: str = "check") -> tuple[int, str]:
    page = client.get("/admin/directory/import").text
    answer = client.post(
        "/admin/directory/import",
        data={"csrf_token": csrf_of(page), "csv": text, "action": action},
        follow_redirects=True,
    )
    return answer.status_code, answer.text


def problems(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-row="(\d+)" data-column="([^"]*)">', html)


def test_a_broken_csv_lists_every_problem_and_writes_nothing(
    curator: TestClient, tree: Path
) -> None:
    files = sorted(p.name for p in (tree / "services").iterdir())
    status, page = import_csv(
        curator, "id,kind,country,name_en,source_url\nx,hotline,HK,X,http://a.b\n"
    )
    assert status == 400
    assert ("1", "source_date") in problems(page)
    broken = "\n".join(
        [
            HEADER,
            GOOD_ROWS[0],
            "hk-csv-bad-phone,hotline,HK,Bad,+852 ABC,https://example.org/3,2026,",
            "hk-csv-one,hotline,HK,Twice,+85221579503,https://example.org/4,2026,",
            "hk-csv-country,hotline,XX,Nowhere,+85221579504,https://example.org/5,2026,",
            f"{HOTLINE},hotline,HK,Exists,+85221579505,https://example.org/6,2026,",
            "hk-csv-ok,hotline,HK,Fine,+85221579506,https://example.org/7,2026,",
        ]
    )
    status, page = import_csv(curator, broken, action="import")
    assert status == 400
    assert problems(page) == [("3", "phone"), ("4", "id"), ("5", "country"), ("6", "id")]
    assert "the id is used by row 2 too" in page
    assert "exists already" in page
    assert "Import 1 entr" not in page and 'value="import"' not in page
    assert sorted(p.name for p in (tree / "services").iterdir()) == files


def test_a_csv_of_300_rows_in_thai_is_checked_and_a_larger_file_refused(
    curator: TestClient, tree: Path
) -> None:
    """Names in Thai take 9 characters a letter in the form: 300 rows of them (about 150 KB,
    450 KB as a form) are read and checked; past 300 KB the dry run says the file is too large."""
    header = HEADER + ",name_th"
    name = "ศูนย์ช่วยเหลือแรงงานข้ามชาติในฮ่องกง" * 4
    rows = [
        f"hk-csv-{n},hotline,HK,Row {n},+852215{n:05d},https://example.org/{n},2026,,{name}"
        for n in range(300)
    ]
    text = "\n".join([header, *rows])
    assert 150_000 < len(text.encode()) < 300 * 1024
    status, page = import_csv(curator, text)
    assert status == 200, page[:500]
    assert "larger than" not in page
    assert "Import 300 entries" in page
    larger = text.replace(",Row ", ",Row " + "x" * 600)
    assert len(larger.encode()) > 300 * 1024
    status, page = import_csv(curator, larger)
    assert status == 400
    assert "the file is larger than 300 KB" in page


def test_a_csv_file_chosen_without_javascript_is_checked(curator: TestClient, tree: Path) -> None:
    """The form sends the chosen file itself (multipart); its text is checked as pasted text is,
    and comes back in the box for the import step."""
    page = curator.get("/admin/directory/import").text
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    text = "\n".join([HEADER, *GOOD_ROWS])
    sent = {"csrf_token": csrf_of(page), "action": "check", "csv": ""}
    answer = curator.post(
        "/admin/directory/import",
        data=sent,
        files={"file": ("entries.csv", ("\ufeff" + text).encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text[:300]
    assert "Import 2 entries" in answer.text
    assert "hk-csv-one,hotline,HK,CSV One" in unescape(answer.text)
    # Not UTF-8 (a spreadsheet's "CSV" in a Windows code page): said, nothing checked.
    latin = curator.post(
        "/admin/directory/import",
        data=sent,
        files={"file": ("entries.csv", "id,name_en\nhk-x,Caf\xe9".encode("cp1252"), "text/csv")},
    )
    assert latin.status_code == 400
    assert "entries.csv is not a UTF-8 text file" in latin.text
    # Without the token, a multipart form is refused like any other.
    refused = curator.post(
        "/admin/directory/import",
        data={"action": "check"},
        files={"file": ("entries.csv", text.encode(), "text/csv")},
    )
    assert refused.status_code == 403
    assert not (tree / "services" / "hk-csv-one.yml").exists()


def test_a_good_csv_is_checked_then_imported(curator: TestClient, tree: Path) -> None:
    before = errors_of(tree)
    text = "\n".join([HEADER, *GOOD_ROWS]) + "\n"
    status, page = import_csv(curator, text)
    assert status == 200
    assert problems(page) == [] and 'value="import"' in page
    assert not (tree / "services" / "hk-csv-one.yml").exists()
    status, page = import_csv(curator, text, action="import")
    assert status == 200 and "2 entries imported." in page
    one = yaml.safe_load((tree / "services" / "hk-csv-one.yml").read_text("utf-8"))
    assert one["verified_on"] == TODAY and one["sources"][0]["numbers"] == ["+85221579501"]
    two = yaml.safe_load((tree / "services" / "hk-csv-two.yml").read_text("utf-8"))
    assert two["name"] == {"en": "Two, with a comma"} and two["verification"] == "needed"
    assert "2157 9501" in curator.get("/en/services/hk-csv-one").text
    assert errors_of(tree) == before
    # The same file again: every id exists now.
    status, page = import_csv(curator, text, action="import")
    assert status == 400 and problems(page) == [("2", "id"), ("3", "id")]


def test_csv_burmese_in_zawgyi_is_converted_or_refused(curator: TestClient, tree: Path) -> None:
    header = HEADER + ",name_my"
    sure = f"hk-csv-my,hotline,HK,Burmese,+85221579508,https://example.org/9,2026,,{ZAWGYI_BODY}"
    unsure = f"hk-csv-my2,hotline,HK,Burmese,+85221579509,https://e.org/9,2026,,{ZAWGYI_UNSURE}"
    status, page = import_csv(curator, "\n".join([header, sure, unsure]))
    assert status == 400 and problems(page) == [("3", "name_my")]
    status, page = import_csv(curator, "\n".join([header, sure]))
    assert status == 200 and "name_my: converted from Zawgyi to Unicode" in page
    status, page = import_csv(curator, "\n".join([header, sure]), action="import")
    assert status == 200, page
    saved = yaml.safe_load((tree / "services" / "hk-csv-my.yml").read_text("utf-8"))
    assert saved["name"]["my"] == ZAWGYI_AS_UNICODE


def test_csv_values_cannot_leave_the_folder_or_add_keys(curator: TestClient, tree: Path) -> None:
    text = "\n".join(
        [
            HEADER,
            f'hk-csv-yaml,hotline,HK,"x\nverified_on: 1999-01-01\nkind: police",+85221579507,'
            f"https://example.org/8,2026,{TODAY}",
        ]
    )
    status, page = import_csv(curator, text, action="import")
    assert status == 200, page
    saved = yaml.safe_load((tree / "services" / "hk-csv-yaml.yml").read_text("utf-8"))
    assert saved["kind"] == "hotline" and saved["verified_on"] == TODAY
    assert saved["name"]["en"] == "x\nverified_on: 1999-01-01\nkind: police"
    status, page = import_csv(curator, HEADER + "\n../../evil,hotline,HK,E,,https://e.org,2026,\n")
    assert status == 400 and ("2", "id") in problems(page)
    assert not list(tree.parent.rglob("evil*"))


# -- Git -----------------------------------------------------------------------------------------


@pytest.fixture
def repository(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The content copy as a git repository, on a machine where git knows no identity."""
    return as_repository(tree, tmp_path / "home", monkeypatch)


def test_with_git_each_save_and_each_imported_entry_is_a_commit(
    curator: TestClient, repository: Path
) -> None:
    status, _page = edit(curator, HOTLINE, name_en="FDH hotline")
    assert status == 200
    assert git(repository, "log", "-1", "--format=%an|%s").strip() == (
        f"Test curator|entry_edited services/{HOTLINE}.yml"
    )
    version = curator.app.state.version  # type: ignore[attr-defined]
    text = "\n".join([HEADER, *GOOD_ROWS]) + "\n"
    status, page = import_csv(curator, text, action="import")
    assert status == 200 and "2 entries imported." in page
    subjects = git(repository, "log", "-2", "--format=%s").split()
    assert subjects == [
        "entry_imported",
        "services/hk-csv-two.yml",
        "entry_imported",
        "services/hk-csv-one.yml",
    ]
    assert git(repository, "status", "--porcelain") == ""
    assert curator.app.state.version != version  # type: ignore[attr-defined]
    assert "2157 9501" in curator.get("/en/services/hk-csv-one").text


def test_a_failed_commit_is_said_on_the_entry_page(curator: TestClient, repository: Path) -> None:
    (repository / ".git" / "index.lock").write_text("")
    page = curator.get(f"/admin/directory/{HOTLINE}").text
    action = f"/admin/directory/{HOTLINE}"
    data = {**form_of(page, action), "name_en": "FDH hotline"}
    answer = curator.post(action, data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{action}?done=edited&warn=git"
    shown = curator.get(answer.headers["location"]).text
    assert "it could not be committed to git" in shown
    assert "FDH hotline" in curator.get(f"/en/services/{HOTLINE}").text
