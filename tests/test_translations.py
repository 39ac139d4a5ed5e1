"""Visible fallback: untranslated, outdated and draft translations say so in her language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from hub.content import load_library
from tests.conftest import CONTENT, ClientFactory

SLUG = "keep-your-passport"
ARTICLE = f"/{{loc}}/articles/{SLUG}"


def test_missing_translation_shows_english_with_a_notice(
    content_copy: Path, make_client: ClientFactory
) -> None:
    (content_copy / "articles" / SLUG / "th.md").unlink()
    client = make_client(content_copy)
    html = client.get(ARTICLE.format(loc="th")).text
    assert '<html lang="th"' in html
    assert "บทความนี้ยังไม่ได้แปลเป็นภาษาไทย" in html  # "not yet translated into Thai"
    assert '<article lang="en">' in html
    assert "<h1>Your passport belongs to you</h1>" in html  # en.md's title
    listing = client.get("/th/topics/at-work").text
    assert "เป็นภาษาอังกฤษ" in listing  # "In English" beside the article
    # Other locales keep their own translation and show no such notice.
    vietnamese = client.get(ARTICLE.format(loc="vi")).text
    assert "<article>" in vietnamese and "chưa được dịch" not in vietnamese


def test_outdated_translation_says_the_english_changed(
    content_copy: Path, make_client: ClientFactory
) -> None:
    english = content_copy / "articles" / SLUG / "en.md"
    english.write_text(english.read_text() + "\nA new paragraph about a new rule.\n")
    client = make_client(content_copy)
    html = client.get(ARTICLE.format(loc="vi")).text
    assert "Bản tiếng Anh của bài này đã được cập nhật" in html
    assert f'href="/en/articles/{SLUG}" hreflang="en"' in html
    assert "A new paragraph" in client.get(ARTICLE.format(loc="en")).text
    check = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check", str(content_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0
    assert f"articles/{SLUG}/vi.md: warning: translates English revision" in check.stdout


def test_up_to_date_draft_says_it_is_a_draft(shared_client: TestClient) -> None:
    html = shared_client.get(ARTICLE.format(loc="km")).text
    assert "ការបកប្រែនេះនៅជាសេចក្ដីព្រាង" in html  # "this translation is a draft"
    assert "<article>" in html


def test_reviewed_current_translation_has_no_notice(
    content_copy: Path, make_client: ClientFactory
) -> None:
    path = content_copy / "articles" / SLUG / "id.md"
    path.write_text(path.read_text().replace("translation: draft", "translation: reviewed"))
    client = make_client(content_copy)
    html = client.get(ARTICLE.format(loc="id")).text
    assert 'role="note"' not in html


def test_every_starter_translation_matches_its_english_revision() -> None:
    library, _ = load_library(CONTENT)
    for article in library.articles.values():
        for locale in article.texts:
            assert not article.is_outdated(locale), (article.slug, locale)
