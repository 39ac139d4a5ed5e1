"""The side-by-side translation page, /admin/articles/{slug}/{locale} (issue 12, point 3),
through the real app on a copy of the starter content: who may open it, a save as draft and
as reviewed (the file written, the English revision recorded, the reader's notice), the word
diff of an outdated translation (its old English from the audit log or from git, or a plain
"not on record"), Burmese typed in Zawgyi, refusals (invalid, conflict, no CSRF token) and
hostile input. After every save `load_tree` on the folder finds no new problem."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import re
import subprocess
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml
from markupsafe import escape
from starlette.requests import Request
from starlette.testclient import TestClient

from hub.console_guard import ACCOUNT
from hub.content.loader import load_tree
from hub.curation.files import read_file
from hub.curation.translations import MAX_PAIRS, Piece, paragraph_diff, word_diff
from hub.views.console.saving import save_content
from tests.conftest import (
    CONSOLE_ACCOUNTS,
    CONSOLE_PASSWORD,
    ClientFactory,
    csrf_of,
    sign_in,
    sign_in_as,
)
from tests.test_alerts import ZAWGYI_AS_UNICODE, ZAWGYI_BODY, ZAWGYI_UNSURE

SLUG = "keep-your-passport"
VI_EMAIL = "vi-translator@hub.example"
VI_NAME = "Lan Nguyen"
DIGEST = re.compile(r'<input type="hidden" name="digest" value="([^"]*)">')
DRAFT_NOTICE = "This translation is a draft: a native speaker has not reviewed it yet."
OUTDATED_NOTICE = (
    "The English version of this article was updated after this translation was made. "
    "Some of it may be out of date."
)
# The starter translations' keys, in their order.
STARTER_KEYS = ["title", "summary", "updated", "status", "translation", "source_revision"]


def url(slug: str = SLUG, locale: str = "vi") -> str:
    return f"/admin/articles/{slug}/{locale}"


def expected_revision(body: str) -> str:
    """The revision of an English body, computed here from the format's definition."""
    return hashlib.sha256(body.strip().encode("utf-8")).hexdigest()[:12]


def split(text: str) -> tuple[dict[str, object], str]:
    """A Markdown file's front matter (as PyYAML reads it) and body."""
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    meta = yaml.safe_load(head)
    assert isinstance(meta, dict)
    return meta, body


def english_body(content: Path, slug: str = SLUG) -> str:
    return split((content / "articles" / slug / "en.md").read_text("utf-8"))[1]


def problems_of(content: Path) -> set[str]:
    return {str(problem) for problem in load_tree(content).problems}


def filled(page: str) -> dict[str, str]:
    """The translation fields as the page filled them."""
    title = re.search(r'<input id="title" type="text" name="title" value="([^"]*)"', page)
    assert title is not None
    fields = {"title": html.unescape(title.group(1))}
    for name in ("summary", "body"):
        found = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        assert found is not None
        fields[name] = html.unescape(found.group(1))
    return fields


def digest_of(page: str) -> str:
    found = DIGEST.search(page)
    assert found is not None, "no digest field on the page"
    return found.group(1)


def send(
    client: TestClient,
    fields: dict[str, str],
    *,
    action: str = "draft",
    slug: str = SLUG,
    locale: str = "vi",
) -> httpx.Response:
    """The translation form sent as a browser sends it: the token and digest of the page as
    opened now, the fields given (the others as the page filled them)."""
    page = client.get(url(slug, locale))
    assert page.status_code == 200, page.text[:300]
    form = {
        **filled(page.text),
        "csrf_token": csrf_of(page.text),
        "digest": digest_of(page.text),
        "action": action,
        **fields,
    }
    return client.post(url(slug, locale), data=form, follow_redirects=False)


def save_english(client: TestClient, text: str, slug: str = SLUG) -> str:
    """Save en.md through the console's save layer, as the curator (so the audit has it)."""
    app = client.app
    state = app.state  # type: ignore[attr-defined]
    account = state.accounts.get(CONSOLE_ACCOUNTS["curator"][0])
    rel = f"articles/{slug}/en.md"
    _, digest = read_file(state.settings.content_dir, rel)
    scope = {"type": "http", "app": app, "method": "POST", "path": "/", "headers": []}
    request = Request({**scope, ACCOUNT: account})
    assert client.portal is not None
    saved: str = client.portal.call(
        functools.partial(save_content, request, rel, text, expected=digest, what="article_edited")
    )
    return saved


@pytest.fixture
def content(content_copy: Path) -> Path:
    return content_copy


@pytest.fixture
def app(make_console_client: ClientFactory, content: Path) -> TestClient:
    """The app on the content copy, with a translator for Vietnamese besides CONSOLE_ACCOUNTS
    (whose translator works in Thai)."""
    client = make_console_client(content_dir=content)
    client.app.state.accounts.create(  # type: ignore[attr-defined]
        VI_EMAIL,
        CONSOLE_PASSWORD,
        role="translator",
        display_name=VI_NAME,
        locales=("vi",),
    )
    return client


def notice(client: TestClient, message: str, locale: str = "vi") -> str:
    """A reader's notice as the page in `locale` words it."""
    worded: str = client.app.state.i18n.gettext(locale, message)  # type: ignore[attr-defined]
    return html.escape(worded, quote=False)


def has_draft_notice(client: TestClient, locale: str = "vi") -> bool:
    return notice(client, DRAFT_NOTICE, locale) in client.get(f"/{locale}/articles/{SLUG}").text


def sign_in_vi(client: TestClient) -> None:
    assert sign_in(client, VI_EMAIL).status_code == 303


# -- Who may open it ----------------------------------------------------------------------------


def test_the_english_side_s_links_lead_where_they_lead_for_readers(app: TestClient) -> None:
    """keep-your-passport's English links to ../help: on the reader's page that is /en/help,
    not /admin/articles/help."""
    sign_in_vi(app)
    page = app.get(url()).text
    english = page[page.index('id="english"') :]
    english = english[: english.index("</section>")]
    assert '<a href="/en/help">the help page</a>' in english
    assert 'href="../help"' not in english


def test_roles(app: TestClient) -> None:
    anonymous = app.get(url(), follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")

    sign_in_as(app, "leader")
    assert app.get(url()).status_code == 403
    app.cookies.clear()

    sign_in_vi(app)
    page = app.get(url())
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'data-state="draft"' in page.text
    # Another locale's translation is not hers, to read or to save.
    assert app.get(url(locale="th")).status_code == 403
    refused = app.post(
        url(locale="th"),
        data={"csrf_token": csrf_of(page.text), "action": "draft", "title": "x"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    # Not a translation: English, a locale the site does not have, an unknown article.
    assert app.get(url(locale="en")).status_code == 404
    assert app.get(url(locale="de")).status_code == 404
    assert app.get(url(slug="no-such-article")).status_code == 404
    app.cookies.clear()

    for role in ("translator", "curator", "admin"):
        sign_in_as(app, role)
        assert app.get(url(locale="th")).status_code == 200, role
        app.cookies.clear()


def test_article_paths_of_one_segment_are_not_translations(app: TestClient) -> None:
    sign_in_as(app, "curator")
    # /admin/articles/new and /admin/articles/<slug> belong to the article editor: one
    # segment after /articles/ never reaches this page.
    for path in ("/admin/articles/new", f"/admin/articles/{SLUG}"):
        response = app.get(path)
        assert 'id="translation-state"' not in response.text, path
    assert app.get("/admin/articles/new/vi").status_code == 404


def test_worklist_links_to_the_translation_page(app: TestClient) -> None:
    sign_in_vi(app)
    home = app.get("/admin/").text
    assert f'href="{url()}" class="translate-link"' in home
    assert url(locale="th") not in home


def test_page_shows_english_beside_the_translation(app: TestClient, content: Path) -> None:
    sign_in_vi(app)
    page = app.get(url()).text
    english = (content / "articles" / SLUG / "en.md").read_text("utf-8")
    vi_meta, vi_body = split((content / "articles" / SLUG / "vi.md").read_text("utf-8"))
    en_meta, en_body = split(english)
    # The English rendered as readers get it, and its Markdown source.
    reader = app.get(f"/en/articles/{SLUG}").text
    first_heading = re.search(r"<h2[^>]*>.*?</h2>", reader)
    assert first_heading is not None
    assert first_heading.group(0) in page
    assert html.escape(str(en_meta["title"]), quote=False) in page
    assert f">{html.escape(en_body.strip()[:200], quote=False)}" in page.replace("\n", "\n")
    # The form filled from the translation file.
    assert f'value="{html.escape(str(vi_meta["title"]))}"' in page
    assert html.escape(vi_body.strip()[:100], quote=False) in page
    assert 'class="notifications side-by-side"' in page


# -- Saving ---------------------------------------------------------------------------------------


def test_save_as_draft_records_the_english_revision(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    old_meta, _ = split(path.read_text("utf-8"))
    before = problems_of(content)
    sign_in_vi(app)
    body = "Hộ chiếu của bạn là của bạn.\n\n## Luật nói gì\n\nXem [trang trợ giúp](../help).\n"
    response = send(app, {"title": "Hộ chiếu là của bạn", "summary": "Tóm tắt mới.", "body": body})
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == f"{url()}?done=draft"

    text = path.read_text("utf-8")
    meta, written_body = split(text)
    assert list(meta) == STARTER_KEYS
    assert meta["title"] == "Hộ chiếu là của bạn"
    assert meta["summary"] == "Tóm tắt mới."
    assert meta["updated"] == dt.date.today()
    assert meta["status"] == old_meta["status"]
    assert meta["translation"] == "draft"
    assert meta["source_revision"] == expected_revision(english_body(content))
    # The starter file's quoting of the revision is kept.
    assert f'source_revision: "{meta["source_revision"]}"' in text
    assert written_body == body
    assert problems_of(content) <= before

    done = app.get(response.headers["location"]).text
    assert "Saved as a draft" in done
    assert "Hộ chiếu là của bạn" in app.get(f"/vi/articles/{SLUG}").text
    assert has_draft_notice(app)


def test_a_missing_translation_is_created(
    make_console_client: ClientFactory, content: Path
) -> None:
    path = content / "articles" / SLUG / "vi.md"
    path.unlink()
    before = problems_of(content)
    client = make_console_client(content_dir=content)
    sign_in_as(client, "curator")
    page = client.get(url())
    assert 'data-state="missing"' in page.text
    assert digest_of(page.text) == ""
    assert not has_draft_notice(client)  # the English, with its own notice
    response = send(client, {"title": "Hộ chiếu", "summary": "Tóm tắt.", "body": "Nội dung."})
    assert response.status_code == 303, response.text[:500]
    meta, body = split(path.read_text("utf-8"))
    assert list(meta) == STARTER_KEYS
    assert meta["status"] == "published"
    assert meta["source_revision"] == expected_revision(english_body(content))
    assert body == "Nội dung.\n"
    assert problems_of(content) <= before
    assert "Nội dung." in client.get(f"/vi/articles/{SLUG}").text


def test_review_records_reviewer_and_date(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    before = problems_of(content)
    assert has_draft_notice(app)
    sign_in_vi(app)
    response = send(app, {}, action="review")
    assert response.status_code == 303, response.text[:500]
    meta, _ = split(path.read_text("utf-8"))
    assert meta["translation"] == "reviewed"
    assert meta["reviewed_by"] == VI_NAME
    assert meta["reviewed_on"] == dt.date.today()
    assert list(meta) == [*STARTER_KEYS, "reviewed_by", "reviewed_on"]
    assert problems_of(content) <= before
    loaded = load_tree(content).library.articles[SLUG].texts["vi"]
    assert (loaded.translation, loaded.reviewed_by, loaded.reviewed_on) == (
        "reviewed",
        VI_NAME,
        dt.date.today(),
    )

    assert not has_draft_notice(app)
    # In English: the reader's page she opened set Vietnamese for the console too.
    page = app.get(url(), params={"lang": "en"}).text
    assert 'data-state="reviewed"' in page
    assert f"Reviewed by {VI_NAME} on" in page

    # Saved as a draft again, it is a draft again: the review was of another text.
    assert send(app, {"body": "Văn bản khác."}).status_code == 303
    meta, _ = split(path.read_text("utf-8"))
    assert meta["translation"] == "draft"
    assert "reviewed_by" not in meta and "reviewed_on" not in meta
    assert has_draft_notice(app)


def test_a_review_names_the_reviewer_never_by_her_email(
    make_console_client: ClientFactory, content: Path
) -> None:
    """The file is public content: an account with no display name is named by its id."""
    client = make_console_client(content_dir=content)
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    nameless = accounts.create(
        "nameless@hub.example", CONSOLE_PASSWORD, role="translator", locales=("vi",)
    )
    assert sign_in(client, "nameless@hub.example").status_code == 303
    assert send(client, {}, action="review").status_code == 303
    text = (content / "articles" / SLUG / "vi.md").read_text("utf-8")
    assert "nameless@hub.example" not in text
    meta, _ = split(text)
    assert meta["reviewed_by"] == f"account {nameless.id}"
    # The review's date and the update's, written as dates each: no anchor ties them together.
    today = dt.date.today().isoformat()
    assert f"\nupdated: {today}\n" in text and f"\nreviewed_on: {today}\n" in text
    assert "&id" not in text and "*id" not in text


def test_hub_check_takes_the_review_fields(content: Path) -> None:
    path = content / "articles" / SLUG / "th.md"
    text = path.read_text("utf-8").replace(
        "translation: draft\n",
        "translation: reviewed\nreviewed_by: Somchai\nreviewed_on: 2026-01-02\n",
    )
    path.write_text(text, "utf-8")
    loaded = load_tree(content)
    assert not [p for p in loaded.problems if p.path.endswith(f"{SLUG}/th.md")]
    thai = loaded.library.articles[SLUG].texts["th"]
    assert (thai.reviewed_by, thai.reviewed_on) == ("Somchai", dt.date(2026, 1, 2))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    path.write_text(text.replace("2026-01-02", tomorrow.isoformat()), "utf-8")
    assert any(
        "'reviewed_on'" in p.message and p.path.endswith(f"{SLUG}/th.md")
        for p in load_tree(content).problems
    )


# -- An outdated translation --------------------------------------------------------------------


def test_outdated_shows_the_english_change_word_by_word(app: TestClient, content: Path) -> None:
    sign_in_vi(app)
    assert send(app, {}).status_code == 303  # translates the English as it is now
    en_path = content / "articles" / SLUG / "en.md"
    english = en_path.read_text("utf-8")
    _, body = split(english)
    first = body.strip().split("\n")[0]
    words = first.split()
    old_word, new_word = words[2], "<b>carefully</b>"
    changed = english.replace(first, first.replace(f" {old_word} ", f" {new_word} ", 1), 1)
    assert changed != english
    save_english(app, changed)
    before = problems_of(content)  # every translation is outdated now

    page = app.get(url()).text
    assert 'data-state="outdated"' in page
    assert 'id="english-change"' in page
    assert f"<del>{html.escape(old_word, quote=False)}</del>" in page
    assert "<ins>&lt;b&gt;carefully&lt;/b&gt;</ins>" in page
    assert "<b>carefully" not in page
    assert 'id="english-not-on-record"' not in page
    assert notice(app, OUTDATED_NOTICE) in app.get(f"/vi/articles/{SLUG}").text

    # Saving the translation again brings it up to date with the new revision.
    assert send(app, {}).status_code == 303
    meta, _ = split((content / "articles" / SLUG / "vi.md").read_text("utf-8"))
    assert meta["source_revision"] == expected_revision(split(changed)[1])
    assert 'data-state="draft"' in app.get(url()).text
    assert problems_of(content) <= before


def test_english_changed_while_translating(app: TestClient, content: Path) -> None:
    """A save records the English the page showed her, not one saved meanwhile: her text
    translates that one, so it is outdated at once, and the page shows what changed."""
    sign_in_vi(app)
    opened = app.get(url()).text
    old_body = english_body(content)
    shown = re.search(r'name="english_revision" value="(\w+)"', opened)
    assert shown is not None and shown.group(1) == expected_revision(old_body)
    english = (content / "articles" / SLUG / "en.md").read_text("utf-8")
    save_english(app, english.replace(old_body.strip(), old_body.strip() + "\n\nA new line."))
    before = problems_of(content)  # every translation is outdated now
    form = {
        **filled(opened),
        "csrf_token": csrf_of(opened),
        "digest": digest_of(opened),
        "english_revision": shown.group(1),
        "action": "draft",
    }
    response = app.post(url(), data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    meta, _ = split((content / "articles" / SLUG / "vi.md").read_text("utf-8"))
    assert meta["source_revision"] == expected_revision(old_body)
    page = app.get(url()).text
    assert 'data-state="outdated"' in page
    assert "<ins>A new line.</ins>" in page
    # Outdated, as it was once the English changed: the save adds no problem.
    assert problems_of(content) <= before


def test_earlier_english_not_on_record(make_console_client: ClientFactory, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    text = path.read_text("utf-8")
    path.write_text(re.sub(r'source_revision: "\w+"', 'source_revision: "0123456789ab"', text))
    client = make_console_client(content_dir=content)
    sign_in_as(client, "curator")
    page = client.get(url()).text
    assert 'data-state="outdated"' in page
    assert 'id="english-not-on-record"' in page
    assert "is not on record" in page
    assert "<ins>" not in page and "<del>" not in page
    # The current English is shown all the same.
    assert 'id="english-source"' in page


@pytest.mark.parametrize("top", ["content", "above"])
def test_earlier_english_from_git(
    make_console_client: ClientFactory, content: Path, top: str
) -> None:
    """The content folder is the repository, or a folder inside one (as in this project)."""
    repository = content if top == "content" else content.parent

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repository), "-c", "user.name=T", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "starter")
    en_path = content / "articles" / SLUG / "en.md"
    english = en_path.read_text("utf-8")
    _, body = split(english)
    first = body.strip().split("\n")[0]
    en_path.write_text(english.replace(first, first + " Keep a photo of it.", 1), "utf-8")
    git("commit", "-q", "-am", "edited by hand")

    client = make_console_client(content_dir=content)
    sign_in_as(client, "curator")
    page = client.get(url()).text
    assert 'data-state="outdated"' in page
    change = page[page.index('id="english-change"') : page.index('id="english"')]
    assert "stay with you.<ins> Keep a photo of it.</ins></p>" in change
    # Only the paragraphs that changed: the next one is left out.
    assert "What the rules say" not in change
    assert "Paragraphs that did not change" in change


# -- Burmese in Zawgyi --------------------------------------------------------------------------


def test_zawgyi_is_converted_and_shown_back_before_saving(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "my.md"
    before = path.read_bytes()
    problems = problems_of(content)
    sign_in_as(app, "curator")
    response = send(app, {"body": ZAWGYI_BODY}, locale="my")
    assert response.status_code == 200
    assert "was typed in Zawgyi" in response.text
    assert f">{ZAWGYI_AS_UNICODE}</textarea>" in response.text
    assert path.read_bytes() == before  # not saved silently

    # Sent again as shown (now Unicode), it is saved.
    form = {
        "csrf_token": csrf_of(response.text),
        "digest": digest_of(response.text),
        "action": "draft",
        "title": split(before.decode())[0]["title"],
        "summary": split(before.decode())[0]["summary"],
        "body": ZAWGYI_AS_UNICODE,
    }
    saved = app.post(url(locale="my"), data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    assert split(path.read_text("utf-8"))[1] == ZAWGYI_AS_UNICODE + "\n"
    assert problems_of(content) <= problems


def test_zawgyi_that_cannot_be_converted_surely_is_refused(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "my.md"
    before = path.read_bytes()
    sign_in_as(app, "curator")
    response = send(app, {"title": ZAWGYI_UNSURE}, locale="my")
    assert response.status_code == 400
    assert 'id="title-error"' in response.text
    assert "seems to be typed in Zawgyi" in response.text
    assert path.read_bytes() == before


# -- Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "  "}, "title", "Write a title."),
        ({"summary": ""}, "summary", "Write a summary."),
        ({"body": "\n \n"}, "body", "Write the text of the article."),
        (
            {"body": "Xem [hợp đồng](no-such-article)."},
            "body",
            "This link leads to no page of the hub: no-such-article",
        ),
        # The English's limits hold for a translation too.
        (
            {"title": "Hộ chiếu\ncủa bạn"},
            "title",
            "A title is one line: it cannot hold line breaks, control characters nor invisible "
            "formatting characters, such as marks that change the direction of text.",
        ),
        (
            {"title": "\u202eHộ chiếu"},
            "title",
            "A title is one line: it cannot hold line breaks, "
            "control characters nor invisible formatting characters, such as marks that change the "
            "direction of text.",
        ),
        ({"title": "Hộ" * 101}, "title", "A title may have at most 200 characters."),
        (
            {"summary": "Tóm tắt\x1b[31m."},
            "summary",
            "This cannot hold control characters (a line break in the text is fine) nor marks "
            "that change the direction of text.",
        ),
        ({"summary": "Tóm tắt. " * 112}, "summary", "A text may have at most 1000 characters."),
    ],
)
def test_invalid_input_writes_nothing(
    app: TestClient, content: Path, fields: dict[str, str], field: str, message: str
) -> None:
    path = content / "articles" / SLUG / "vi.md"
    before = path.read_bytes()
    sign_in_vi(app)
    response = send(app, fields)
    assert response.status_code == 400
    assert f'<p class="error" id="{field}-error">{message}</p>' in response.text
    assert 'aria-invalid="true"' in response.text
    assert path.read_bytes() == before
    # Her text is kept in the form.
    for value in fields.values():
        if value.strip():
            assert html.escape(value, quote=False) in response.text


def test_a_translation_as_large_as_a_file_may_be_is_taken_and_a_larger_form_refused(
    app: TestClient, content: Path
) -> None:
    """What the content guide says: a Burmese text near the 256 KB a content file may hold
    (about 700 KB as a form) is taken; a form past 1 MB is refused, nothing written."""
    path = content / "articles" / SLUG / "my.md"
    sign_in_as(app, "curator")
    taken = send(
        app, {"body": ZAWGYI_AS_UNICODE * (240_000 // len(ZAWGYI_AS_UNICODE.encode()))}, locale="my"
    )
    assert taken.status_code == 303, taken.text[:300]
    assert 230_000 < path.stat().st_size < 256 * 1024
    before = path.read_bytes()
    body = ZAWGYI_AS_UNICODE * (400_000 // len(ZAWGYI_AS_UNICODE.encode()))
    refused = send(app, {"body": body}, locale="my")
    assert refused.status_code == 413
    assert path.read_bytes() == before


def test_conflict_keeps_her_text(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    sign_in_vi(app)
    opened = app.get(url()).text
    # Someone else saves after she opened the page.
    theirs = path.read_text("utf-8").replace("\n---\n", "\n---\nDòng của người khác.\n\n", 1)
    path.write_text(theirs, "utf-8")
    mine = "Văn bản của tôi."
    response = app.post(
        url(),
        data={
            "csrf_token": csrf_of(opened),
            "digest": digest_of(opened),
            "action": "draft",
            "title": "Tiêu đề",
            "summary": "Tóm tắt.",
            "body": mine,
        },
        follow_redirects=False,
    )
    assert response.status_code == 409
    assert "someone else changed this file" in response.text
    assert "Dòng của người khác." in response.text
    assert f">{mine}</textarea>" in response.text
    assert path.read_text("utf-8") == theirs
    # The form now carries the digest of their version: saving again replaces it knowingly.
    assert digest_of(response.text) == hashlib.sha256(theirs.encode()).hexdigest()


def test_missing_csrf_token_is_refused(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    before = path.read_bytes()
    sign_in_vi(app)
    page = app.get(url()).text
    response = app.post(
        url(),
        data={
            "digest": digest_of(page),
            "action": "draft",
            "title": "x",
            "summary": "y",
            "body": "z",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert path.read_bytes() == before


# -- Hostile input ------------------------------------------------------------------------------

HOSTILE_TITLES = [
    "<script>alert(1)</script>",
    "key: value # not a comment",
    "- [a, b]",
    '!!python/object/apply:os.system ["id"]',
    "yes",
    "2026-01-01",
    "\"quoted\" & 'single'",
    "--- a title",
    "&anchor *alias {x: y}",
]
HOSTILE_BODY = (
    "<script>alert(1)</script>\n\n"
    "[Bấm vào đây](javascript:alert(1)) và [đây](JaVaScRiPt:alert(2))\n\n"
    "---\n\n"
    'title: "not front matter"\n'
    "---\n"
    "Cuối.\n"
)


def test_hostile_input_never_puts_script_in_a_page(app: TestClient, content: Path) -> None:
    path = content / "articles" / SLUG / "vi.md"
    before = problems_of(content)
    sign_in_vi(app)
    for title in HOSTILE_TITLES:
        response = send(app, {"title": title, "summary": title, "body": HOSTILE_BODY})
        assert response.status_code == 303, (title, response.text[:500])
        meta, _ = split(path.read_text("utf-8"))
        assert meta["title"] == title and meta["summary"] == title
        loaded = load_tree(content)
        text = loaded.library.articles[SLUG].texts["vi"]
        assert (text.title, text.summary, text.body) == (title, title, HOSTILE_BODY)
        assert {str(p) for p in loaded.problems} <= before

        for page in (app.get(f"/vi/articles/{SLUG}").text, app.get(url()).text):
            assert "<script>alert" not in page
            assert 'href="javascript' not in page.lower()
            assert str(escape(title)) in page


# -- The word diff (no app) ---------------------------------------------------------------------


def sides(pieces: tuple[Piece, ...]) -> tuple[str, str]:
    """The old and the new text a diff was made of, put back together."""
    old = "".join(p.text for p in pieces if p.kind != "inserted")
    new = "".join(p.text for p in pieces if p.kind != "deleted")
    return old, new


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "Keep your passport.",
            "Keep your passport safe.",
            [("same", "Keep your passport"), ("inserted", " safe"), ("same", ".")],
        ),
        (
            "Call the hotline now",
            "Call the embassy now",
            [
                ("same", "Call the "),
                ("deleted", "hotline"),
                ("inserted", "embassy"),
                ("same", " now"),
            ],
        ),
        (
            "a <b> & c",
            "a <i> & c",
            [("same", "a <"), ("deleted", "b"), ("inserted", "i"), ("same", "> & c")],
        ),
    ],
)
def test_word_diff(old: str, new: str, expected: list[tuple[str, str]]) -> None:
    pieces = word_diff(old, new)
    assert [(p.kind, p.text) for p in pieces] == expected
    assert sides(pieces) == (old, new)


def test_paragraph_diff_leaves_out_unchanged_paragraphs() -> None:
    old = "One.\n\nTwo.\n\nThree.\n\nFour."
    new = "One.\n\nTwo, changed.\n\nThree.\n\nFour."
    stretches = paragraph_diff(old, new)
    assert [sides(s) if s else None for s in stretches] == [None, ("Two.", "Two, changed."), None]


def test_word_diff_of_texts_too_long_to_match_is_whole() -> None:
    old = "word " * 2100
    new = "other " * 2100
    assert len(old.split()) * 2 * len(new.split()) * 2 > MAX_PAIRS
    assert word_diff(old, new) == (Piece("deleted", old), Piece("inserted", new))
