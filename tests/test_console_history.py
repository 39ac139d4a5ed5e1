"""The history page and restore through the real app (issue 12, point 5: files stay the truth).

Every console save goes through hub/views/console/saving.py's `save_content`; a restore from
the history page is one, so these tests drive it end to end through the restore route: the
file written, refused when it changed since the page was opened, audited, committed to git when
the content folder is a repository, and served by the running app at once (reader pages, the
response cache, the service worker's version).

A file's first entry is recorded as an earlier console save records one (the audit log's
`content_saved`, with the text before and after), since the editors of articles, translations
and the directory that make such saves are other modules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from hub.audit import AuditLog, Entry
from hub.content.loader import load_tree
from hub.curation.files import file_digest
from hub.views.console.saving import WHATS
from tests.conftest import (
    CONSOLE_ACCOUNTS,
    ClientFactory,
    as_repository,
    csrf_of,
    git,
    sign_in_as,
)

SERVICE = "services/ph-dmw-hotline.yml"
READER = "/en/services/ph-dmw-hotline"
# How the diff marks a removed line (a minus sign, U+2212).
MINUS = "\u2212"
OLD_HOURS = "24 hours, every day"
NEW_HOURS = "Every day, day and night (restored)"


def state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def earlier_save(client: TestClient, rel: str, before: str | None, after: str) -> Entry:
    """The audit entry of an earlier console save of `rel` (by another curator)."""
    audit: AuditLog = state(client).audit
    return audit.record(
        "content_saved",
        actor="other@hub.example",
        target=rel,
        change={"path": rel, "what": "entry_edited", "before": before, "after": after},
    )


def history_page(client: TestClient, rel: str = SERVICE) -> httpx.Response:
    page = client.get("/admin/history", params={"path": rel})
    assert page.status_code == 200, page.text[:300]
    assert page.headers["cache-control"] == "no-store"
    return page


def form_of(page: str, entry: Entry, side: str) -> dict[str, str]:
    """The fields of the page's restore form for `entry` and `side`, as a browser sends them."""
    card = page[page.index(f'id="entry-{entry.id}"') :]
    forms = re.findall(r"<form method=\"post\".*?</form>", card, re.S)
    for form in forms:
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
        if fields.get("side") == side and fields.get("entry") == entry.id:
            return fields
    raise AssertionError(f"no {side} restore form for {entry.id}")


def restore(client: TestClient, fields: dict[str, str]) -> httpx.Response:
    return client.post("/admin/history/restore", data=fields, follow_redirects=False)


@pytest.fixture
def curator(
    make_console_client: ClientFactory, content_copy: Path
) -> Callable[..., tuple[TestClient, Path]]:
    """An app on a copy of the content, a curator signed in; the copy's path."""

    def start(**settings: Any) -> tuple[TestClient, Path]:
        client = make_console_client(content_dir=content_copy, **settings)
        sign_in_as(client, "curator")
        return client, content_copy

    return start


def test_a_restore_is_saved_served_at_once_and_audited(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    path = content / SERVICE
    original = path.read_text()
    problems = {str(p) for p in load_tree(content).problems}
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    entry = earlier_save(client, SERVICE, before=earlier, after=original)
    # The reader page as it was, kept by the response cache; the service worker as it was.
    assert OLD_HOURS in client.get(READER).text
    cache = state(client).response_cache
    hits = cache.hits
    assert OLD_HOURS in client.get(READER).text
    assert cache.hits == hits + 1
    worker = client.get("/sw.js").text
    version = state(client).version

    page = history_page(client).text
    assert "other@hub.example" in page
    assert f'<ins><span aria-hidden="true">+ </span>\u00a0\u00a0en: {OLD_HOURS}</ins>' in page
    assert f'<del><span aria-hidden="true">{MINUS} </span>\u00a0\u00a0en: {NEW_HOURS}</del>' in page
    fields = form_of(page, entry, "before")
    assert fields["digest"] == file_digest(original.encode())
    answer = restore(client, fields)

    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"] == (
        "/admin/history?path=services%2Fph-dmw-hotline.yml&done=restored"
    )
    assert path.read_text() == earlier
    # Served at once: no restart, the cached page forgotten, the worker's version moved on.
    reader = client.get(READER).text
    assert NEW_HOURS in reader and OLD_HOURS not in reader
    assert state(client).version != version
    assert client.get("/sw.js").text != worker
    assert version not in client.get("/sw.js").text
    assert {str(p) for p in load_tree(content).problems} <= problems
    # Audited with the text before and after, by the curator, and shown first in the history.
    newest = state(client).audit.page(action="content_saved", target=SERVICE, limit=1)[0]
    assert newest.actor == CONSOLE_ACCOUNTS["curator"][0]
    assert newest.change == {
        "path": SERVICE,
        "what": "restored",
        "before": original,
        "after": earlier,
        "commit": None,
        "restored_from": entry.id,
        "restored_side": "before",
    }
    after = client.get(answer.headers["location"]).text
    assert "The earlier version is restored" in after
    assert after.index(f'id="entry-{newest.id}"') < after.index(f'id="entry-{entry.id}"')
    assert "Earlier version restored" in after
    assert "Git commit" not in after


def test_the_audit_log_shows_a_save_by_its_file_and_leads_to_its_history(
    make_console_client: ClientFactory, content_copy: Path
) -> None:
    """A save's whole text before and after is the history page's to show (as a diff); the
    audit log says who saved which file and how, and links there."""
    client = make_console_client(content_dir=content_copy)
    sign_in_as(client, "admin")
    original = (content_copy / SERVICE).read_text()
    entry = earlier_save(
        client, SERVICE, before=original.replace(OLD_HOURS, NEW_HOURS), after=original
    )
    page = client.get("/admin/audit").text
    card = page[page.index(f'id="entry-{entry.id}"') :]
    card = card[: card.index("</li>")]
    assert SERVICE in card and "entry_edited" in card and "other@hub.example" in card
    assert NEW_HOURS not in card and "before" not in card
    assert f'href="/admin/history?path=services%2Fph-dmw-hotline.yml#entry-{entry.id}"' in card


def test_a_restored_article_is_found_by_search_at_once(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    rel = "articles/keep-your-passport/en.md"
    original = (content / rel).read_text()
    problems = {str(p) for p in load_tree(content).problems}
    title = re.search(r"^title: (.*)$", original, re.M)
    assert title is not None
    earlier = original.replace(title.group(0), "title: Your passport, Zanzibarish edition")
    entry = earlier_save(client, rel, before=earlier, after=original)
    assert "keep-your-passport" not in client.get("/en/search", params={"q": "zanzibarish"}).text
    assert (
        restore(client, form_of(history_page(client, rel).text, entry, "before")).status_code == 303
    )
    found = client.get("/en/search", params={"q": "zanzibarish"}).text
    assert "/en/articles/keep-your-passport" in found
    assert "zanzibarish" in client.get("/api/search/en.json").text.lower()
    assert "Zanzibarish edition" in client.get("/en/articles/keep-your-passport").text
    # The title is front matter: the body's revision, and so every translation, stay current.
    assert {str(p) for p in load_tree(content).problems} <= problems


def test_a_second_restore_from_the_same_page_is_refused_with_the_other_change_shown(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    path = content / SERVICE
    original = path.read_text()
    oldest = original.replace(OLD_HOURS, "Weekdays only")
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    first_entry = earlier_save(client, SERVICE, before=oldest, after=earlier)
    second_entry = earlier_save(client, SERVICE, before=earlier, after=original)
    page = history_page(client).text
    # Two tabs (two curators) opened on the same page, each restoring another version.
    mine = form_of(page, second_entry, "before")
    theirs = form_of(page, first_entry, "before")
    assert mine["digest"] == theirs["digest"]
    assert restore(client, mine).status_code == 303
    refused = restore(client, theirs)

    assert refused.status_code == 409
    assert refused.headers["cache-control"] == "no-store"
    assert path.read_text() == earlier  # the first save holds
    text = refused.text
    assert "Not saved: someone else changed this file after you opened it" in text
    conflict = text[text.index('id="conflict-title"') : text.index("</section>")]
    # The file now (the other restore) against what this restore would have written.
    assert f"{MINUS} </span>\u00a0\u00a0en: {NEW_HOURS}</del>" in conflict
    assert "+ </span>\u00a0\u00a0en: Weekdays only</ins>" in conflict
    assert len(state(client).audit.page(action="content_saved", target=SERVICE)) == 3
    # The page's forms now carry the file's new digest: choosing again is possible.
    again = form_of(text, first_entry, "before")
    assert again["digest"] == file_digest(earlier.encode())
    assert restore(client, again).status_code == 303
    assert path.read_text() == oldest


def test_a_restore_over_a_file_changed_by_hand_is_refused(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    path = content / SERVICE
    original = path.read_text()
    entry = earlier_save(client, SERVICE, before=original.replace(OLD_HOURS, "x"), after=original)
    fields = form_of(history_page(client).text, entry, "before")
    by_hand = original + "# edited by hand\n"
    path.write_text(by_hand)
    refused = restore(client, fields)
    assert refused.status_code == 409
    assert "+ </span>#\u00a0edited by hand" not in refused.text
    assert f"{MINUS} </span># edited by hand</del>" in refused.text
    assert path.read_text() == by_hand


@pytest.mark.parametrize("role", ["translator", "leader"])
def test_other_roles_may_not_see_or_restore(
    make_console_client: ClientFactory, content_copy: Path, role: str
) -> None:
    client = make_console_client(content_dir=content_copy)
    original = (content_copy / SERVICE).read_text()
    entry = earlier_save(client, SERVICE, before="kind: cso\n", after=original)
    sign_in_as(client, role)
    assert client.get("/admin/history", params={"path": SERVICE}).status_code == 403
    assert client.get("/admin/history").status_code == 403
    token = csrf_of(client.get("/account").text)
    fields = {
        "csrf_token": token,
        "path": SERVICE,
        "entry": entry.id,
        "side": "before",
        "digest": file_digest(original.encode()),
    }
    refused = restore(client, fields)
    assert refused.status_code == 403
    assert "kind: cso" not in refused.text
    assert (content_copy / SERVICE).read_text() == original


def test_a_text_with_cr_lf_line_ends_is_written_with_lf(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    original = (content / SERVICE).read_text()
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    # As a browser sends a textarea's text.
    entry = earlier_save(client, SERVICE, before=earlier.replace("\n", "\r\n"), after=original)
    assert restore(client, form_of(history_page(client).text, entry, "before")).status_code == 303
    assert (content / SERVICE).read_bytes() == earlier.encode()
    newest = state(client).audit.page(action="content_saved", target=SERVICE, limit=1)[0]
    assert newest.change["after"] == earlier


def test_the_console_home_links_the_history_for_curators_only(
    make_console_client: ClientFactory, content_copy: Path
) -> None:
    client = make_console_client(content_dir=content_copy)
    sign_in_as(client, "curator")
    assert 'href="/admin/history" id="history-link"' in client.get("/admin/").text
    sign_in_as(client, "translator")
    assert 'id="history-link"' not in client.get("/admin/").text


def test_nobody_signed_in_is_sent_to_sign_in(
    make_console_client: ClientFactory, content_copy: Path
) -> None:
    client = make_console_client(content_dir=content_copy)
    page = client.get("/admin/history", params={"path": SERVICE}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    posted = client.post("/admin/history/restore", data={}, follow_redirects=False)
    assert posted.status_code in (303, 403)


def test_an_admin_may_restore_and_a_restore_without_the_csrf_token_is_refused(
    make_console_client: ClientFactory, content_copy: Path
) -> None:
    client = make_console_client(content_dir=content_copy)
    original = (content_copy / SERVICE).read_text()
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    entry = earlier_save(client, SERVICE, before=earlier, after=original)
    sign_in_as(client, "admin")
    fields = form_of(history_page(client).text, entry, "before")
    without = {name: value for name, value in fields.items() if name != "csrf_token"}
    assert restore(client, without).status_code == 403
    assert (content_copy / SERVICE).read_text() == original
    assert restore(client, fields).status_code == 303
    assert (content_copy / SERVICE).read_text() == earlier


@pytest.mark.parametrize(
    "path", ["../site.yml", "site.yml", "articles/x/../../etc", "services/.x.yml", "/etc/passwd"]
)
def test_a_path_outside_the_console_s_files_is_a_400(
    curator: Callable[..., tuple[TestClient, Path]], path: str
) -> None:
    client, _ = curator()
    assert client.get("/admin/history", params={"path": path}).status_code == 400
    token = csrf_of(client.get("/admin/history").text)
    fields = {"csrf_token": token, "path": path, "entry": "x", "side": "before", "digest": ""}
    assert restore(client, fields).status_code == 400


def test_a_restore_needs_a_known_entry_of_that_file_and_never_deletes_a_file(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    rel = "articles/a-new-article/en.md"
    text = (content / "articles" / "keep-your-passport" / "en.md").read_text()
    created = earlier_save(client, rel, before=None, after=text)
    other = earlier_save(client, SERVICE, before="kind: cso\n", after="kind: cso\n")
    page = history_page(client, rel).text
    assert "This save created the file." in page
    assert "This file does not exist now." in page
    token = csrf_of(page)
    base = {"csrf_token": token, "path": rel, "digest": ""}
    # The version before a file's first save is no file.
    assert restore(client, {**base, "entry": created.id, "side": "before"}).status_code == 400
    assert restore(client, {**base, "entry": other.id, "side": "after"}).status_code == 404
    assert restore(client, {**base, "entry": created.id, "side": "middle"}).status_code == 400
    assert not (content / "articles" / "a-new-article").exists()
    # The version it made brings the file back, in a new folder.
    assert restore(client, {**base, "entry": created.id, "side": "after"}).status_code == 303
    assert (content / rel).read_text() == text


def test_a_version_that_would_fail_the_content_check_now_is_not_restored(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, content = curator()
    original = (content / SERVICE).read_text()
    article_rel = "articles/keep-your-passport/en.md"
    article = (content / article_rel).read_text()
    # Versions saved before a topic, a page and a field's rule changed.
    stale_service = original.replace("kind: hotline", "kind: helpline")
    stale_article = article.replace("](../help)", "](no-such-article)", 1)
    assert stale_article != article
    service_entry = earlier_save(client, SERVICE, before=stale_service, after=original)
    article_entry = earlier_save(client, article_rel, before=stale_article, after=article)
    refused = restore(client, form_of(history_page(client).text, service_entry, "before"))
    assert refused.status_code == 400
    assert "Not restored: that version would not pass the content check now" in refused.text
    assert "helpline" in refused.text
    page = history_page(client, article_rel).text
    refused = restore(client, form_of(page, article_entry, "before"))
    assert refused.status_code == 400
    assert "no-such-article" in refused.text
    assert (content / SERVICE).read_text() == original
    assert (content / article_rel).read_text() == article
    assert len(state(client).audit.page(action="content_saved")) == 2


def test_the_recent_changes_list_links_each_file_s_history(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, _ = curator()
    assert "Nothing has been saved from the console yet." in client.get("/admin/history").text
    earlier_save(client, SERVICE, before="a: 1\n", after="a: 2\n")
    earlier_save(client, "articles/keep-your-passport/th.md", before="x\n", after="y\n")
    page = client.get("/admin/history").text
    assert page.index("keep-your-passport/th.md") < page.index(SERVICE)
    assert '/admin/history?path=services%2Fph-dmw-hotline.yml"' in page


def test_every_kind_of_save_is_worded(curator: Callable[..., tuple[TestClient, Path]]) -> None:
    client, _ = curator()
    audit: AuditLog = state(client).audit
    for what in sorted(WHATS):
        change = {"path": SERVICE, "what": what, "before": "a: 1\n", "after": "a: 2\n"}
        audit.record("content_saved", actor="x@hub.example", target=SERVICE, change=change)
    for page in (client.get("/admin/history").text, history_page(client).text):
        for what in WHATS:
            assert f"<strong>{what}</strong>" not in page
        assert "<strong>Directory entry verified</strong>" in page


def test_hostile_text_in_a_file_is_shown_as_text(
    curator: Callable[..., tuple[TestClient, Path]],
) -> None:
    client, _ = curator()
    hostile = 'note: "<script>alert(1)</script><img src=x onerror=alert(2)>"\n'
    earlier_save(client, SERVICE, before="kind: cso\n", after=hostile)
    page = history_page(client).text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page


# -- Git ----------------------------------------------------------------------------------------


@pytest.fixture
def repository(content_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The content copy as a git repository, on a machine where git knows no identity."""
    return as_repository(content_copy, tmp_path / "home", monkeypatch)


def test_with_git_a_restore_is_a_commit_by_the_curator(
    curator: Callable[..., tuple[TestClient, Path]], repository: Path
) -> None:
    client, content = curator()
    assert content == repository
    original = (content / SERVICE).read_text()
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    entry = earlier_save(client, SERVICE, before=earlier, after=original)
    (content / "site.yml").write_text((content / "site.yml").read_text() + "# by hand\n")
    page = history_page(client).text
    assert "each save is also a commit" in page
    assert restore(client, form_of(page, entry, "before")).status_code == 303

    account = state(client).accounts.get(CONSOLE_ACCOUNTS["curator"][0])
    log = git(content, "log", "-1", "--format=%H|%an|%ae|%s", "--name-only").split("\n")
    commit, name, email, subject = log[0].split("|")
    assert (name, email) == ("Test curator", f"{account.id}@hub.invalid")
    assert subject == f"restored {SERVICE}"
    assert [line for line in log[1:] if line] == [SERVICE]
    assert git(content, "status", "--porcelain").splitlines() == [" M site.yml"]
    newest = state(client).audit.page(action="content_saved", target=SERVICE, limit=1)[0]
    assert newest.change["commit"] == commit
    shown = history_page(client).text
    assert f"<code>{commit[:12]}</code>" in shown


def test_a_failed_commit_keeps_the_save_and_says_so(
    curator: Callable[..., tuple[TestClient, Path]],
    repository: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, content = curator()
    original = (content / SERVICE).read_text()
    earlier = original.replace(OLD_HOURS, NEW_HOURS)
    entry = earlier_save(client, SERVICE, before=earlier, after=original)
    # Someone's git command is under way (or died) in the content folder.
    (content / ".git" / "index.lock").write_text("")
    head = git(content, "rev-parse", "HEAD")
    with caplog.at_level(logging.WARNING, logger="hub.views.console.saving"):
        answer = restore(client, form_of(history_page(client).text, entry, "before"))
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("&warn=git")
    assert (content / SERVICE).read_text() == earlier
    assert NEW_HOURS in client.get(READER).text
    assert git(content, "rev-parse", "HEAD") == head
    assert any("not committed to git" in record.getMessage() for record in caplog.records)
    newest = state(client).audit.page(action="content_saved", target=SERVICE, limit=1)[0]
    assert newest.change["commit"] is None and newest.change["git_failed"] is True
    page = client.get(answer.headers["location"]).text
    assert "it could not be committed to git" in page
    assert "none: the commit failed (the file was saved)" in page
