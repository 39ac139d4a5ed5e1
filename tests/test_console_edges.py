"""Edges of the console's article and history forms (issue 12), found against the real server:
an article address or a history path too long for the file system (refused, never a 500),
country codes CLDR names that are no country (ZZ, EU), titles and summaries with control or
hidden characters or no end, and article addresses Windows keeps for devices."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from starlette.testclient import TestClient

from hub.content import fields as f
from hub.content.loader import load_tree
from tests.conftest import ClientFactory, csrf_of, sign_in_as
from tests.test_console_articles import (
    _en,
    _errors,
    _fields,
    _listed,
    _new_fields,
    _post,
    _read_back,
)

SLUG = "keep-your-passport"
PAGE = f"/admin/articles/{SLUG}"
SLUG_WORDS = "lowercase English words and digits joined by '-'"


@pytest.fixture
def curator(make_console_client: ClientFactory, content_copy: Path) -> TestClient:
    """The app on a private copy of the starter content, a curator signed in."""
    client = make_console_client(content_dir=content_copy)
    sign_in_as(client, "curator")
    return client


def _folders(content: Path) -> list[str]:
    return sorted(path.name for path in (content / "articles").iterdir())


# -- An article address too long for the file system ----------------------------------------


def test_a_new_article_s_address_of_any_length_is_refused_beside_the_field(
    curator: TestClient, content_copy: Path
) -> None:
    before = _folders(content_copy)
    # 101 is one more than an address may have; 256 and more are more than a file system takes
    # for one name (they failed there with "File name too long", a 500).
    for length in (101, 255, 256, 300, 5000):
        for action in ("save", "preview"):
            fields = _new_fields("a" * length, "published")
            response = _post(curator, "/admin/articles/new", action, fields)
            assert response.status_code == 400, (length, action, response.text[-500:])
            assert "(at most 100 characters)" in _errors(response.text, "slug"), (length, action)
            # The other fields are still checked, and kept in the form.
            assert 'value="Phones and privacy"' in response.text
            assert not _errors(response.text, "topics")
    assert _folders(content_copy) == before


def test_a_long_address_is_refused_with_the_other_fields_reasons(
    curator: TestClient, content_copy: Path
) -> None:
    before = _folders(content_copy)
    fields = _new_fields("b" * 300, "draft", topics=["space-travel"])
    response = _post(curator, "/admin/articles/new", "save", fields)
    assert response.status_code == 400
    assert "(at most 100 characters)" in _errors(response.text, "slug")
    assert "This is not a topic of the hub: space-travel" in _errors(response.text, "topics")
    assert _folders(content_copy) == before


def test_an_article_page_with_a_long_address_is_not_found(curator: TestClient) -> None:
    for length in (101, 256, 300):
        assert curator.get(f"/admin/articles/{'a' * length}").status_code == 404, length
        assert curator.get(f"/admin/articles/{'a' * length}/th").status_code == 404, length


# -- A history path too long for the file system ---------------------------------------------

LONG_PATHS = [
    f"services/{'a' * 300}.yml",
    f"articles/{'a' * 300}/en.md",
    # One byte over what a file system takes for a name: "a" * 252 + ".yml" is 256.
    f"services/{'a' * 252}.yml",
    f"articles/{'a' * 256}/th.md",
]


def test_a_history_path_too_long_for_a_file_is_a_400(curator: TestClient) -> None:
    token = csrf_of(curator.get("/admin/history").text)
    for path in LONG_PATHS:
        page = curator.get("/admin/history", params={"path": path})
        assert page.status_code == 400, path
        assert "Something in the address or the form was not right." in page.text, path
        fields = {"csrf_token": token, "path": path, "entry": "x", "side": "before", "digest": ""}
        restored = curator.post("/admin/history/restore", data=fields, follow_redirects=False)
        assert restored.status_code == 400, path
        assert "Something in the address or the form was not right." in restored.text, path


def test_a_history_path_as_long_as_a_file_name_may_be_is_a_file_with_no_saves(
    curator: TestClient,
) -> None:
    for path in (f"services/{'a' * 251}.yml", f"articles/{'a' * 255}/en.md"):
        page = curator.get("/admin/history", params={"path": path})
        assert page.status_code == 200, path
        assert "This file does not exist now." in page.text, path


def test_the_history_of_a_symlinked_file_is_not_found(
    curator: TestClient, content_copy: Path
) -> None:
    link = content_copy / "services" / "linked-entry.yml"
    link.symlink_to(content_copy / "services" / "ph-dmw-hotline.yml")
    page = curator.get("/admin/history", params={"path": "services/linked-entry.yml"})
    assert page.status_code == 404
    assert "Page not found" in page.text


# -- Countries --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ZZ", "EU", "UN", "EZ", "QO", "XA", "XX", "AA", "hk", "Hk"])
def test_a_code_that_is_no_country_is_refused(code: str) -> None:
    with pytest.raises(f.FieldError) as refused:
        f.country(code)
    assert str(refused.value) == f"'country' has '{code}', which is not an ISO 3166 country code"


@pytest.mark.parametrize("code", ["HK", "PH", "MM", "KH", "SA", "XK", "AC"])
def test_a_country_is_taken(code: str) -> None:
    assert f.country(code) == code


def test_hub_check_refuses_zz_and_eu_in_the_content(content_copy: Path) -> None:
    service = content_copy / "services" / "ph-dmw-hotline.yml"
    service.write_text(
        re.sub(r"(?m)^country: PH$", "country: ZZ", service.read_text()), encoding="utf-8"
    )
    english = _en(content_copy)
    english.write_text(
        english.read_text().replace("topics: [at-work]\n", "topics: [at-work]\ncountries: [EU]\n"),
        encoding="utf-8",
    )
    problems = {str(problem) for problem in load_tree(content_copy).problems}
    assert (
        "services/ph-dmw-hotline.yml: error: 'country' has 'ZZ', which is not an ISO 3166 "
        "country code" in problems
    )
    assert (
        f"articles/{SLUG}/en.md: error: 'countries' has 'EU', which is not an ISO 3166 "
        "country code" in problems
    )


def test_the_article_form_refuses_zz_and_eu_and_reads_hk_in_capitals(
    curator: TestClient, content_copy: Path
) -> None:
    before = _en(content_copy).read_bytes()
    for code in ("ZZ", "EU"):
        response = _post(curator, PAGE, "save", _fields(content_copy, countries=["PH", code]))
        assert response.status_code == 400, code
        assert _errors(response.text, "countries") == (
            f"'countries' has '{code}', which is not an ISO 3166 country code"
        )
        assert _en(content_copy).read_bytes() == before
    # As the directory's form reads a country typed in lower case: in capitals.
    response = _post(curator, PAGE, "save", _fields(content_copy, countries=["ph", " hk"]))
    assert response.status_code == 303, response.text[-2000:]
    meta, _ = _read_back(_en(content_copy))
    assert meta["countries"] == ["PH", "HK"]
    listed = curator.get("/admin/articles", params={"country": "hk"})
    assert listed.status_code == 200
    assert SLUG in _listed(listed.text)


# -- Titles and summaries -------------------------------------------------------------------

TITLE_ONE_LINE = (
    "A title is one line: it cannot hold line breaks, control characters nor invisible "
    "formatting characters, such as marks that change the direction of text."
)
SUMMARY_PLAIN = (
    "This cannot hold control characters (a line break in the text is fine) nor marks that "
    "change the direction of text."
)
# NUL, ESC, a byte order mark at the start, line breaks, a tab, DEL, a C1 control, a right to
# left override, a line separator.
HIDDEN = ["\x00", "\x1b", "\ufeff", "\n", "\r\n", "\t", "\x7f", "\x85", "\u202e", "\u2028"]


def _refused(client: TestClient, content: Path, **changes: Any) -> httpx.Response:
    before = _en(content).read_bytes()
    response = _post(client, PAGE, "save", _fields(content, **changes))
    assert response.status_code == 400, (changes, response.text[-500:])
    assert _en(content).read_bytes() == before
    return response


def test_a_title_with_a_control_or_hidden_character_is_refused(
    curator: TestClient, content_copy: Path
) -> None:
    for ch in HIDDEN:
        title = "\ufeffYour passport" if ch == "\ufeff" else f"Your{ch}passport"
        response = _refused(curator, content_copy, title=title)
        assert _errors(response.text, "title") == TITLE_ONE_LINE, repr(ch)
        assert not _errors(response.text, "summary"), repr(ch)


def test_a_summary_with_a_control_or_hidden_character_is_refused(
    curator: TestClient, content_copy: Path
) -> None:
    for ch in ("\x00", "\x1b", "\ufeff", "\t", "\x7f", "\u202e", "\u2028"):
        response = _refused(curator, content_copy, summary=f"Keep it.{ch}It is yours.")
        assert _errors(response.text, "summary") == SUMMARY_PLAIN, repr(ch)
        assert not _errors(response.text, "title"), repr(ch)


def test_a_title_and_a_summary_have_a_length_limit(curator: TestClient, content_copy: Path) -> None:
    response = _refused(curator, content_copy, title="T" * 201, summary="S" * 1001)
    assert _errors(response.text, "title") == "A title may have at most 200 characters."
    assert _errors(response.text, "summary") == "A text may have at most 1000 characters."
    response = _refused(curator, content_copy, title="T" * 100_000)
    assert _errors(response.text, "title") == "A title may have at most 200 characters."
    # At the limit, with the spaces around it that the file does not keep, it is taken.
    title, summary = "T" * 200, "S" * 1000
    fields = _fields(content_copy, title=f" {title} ", summary=f"{summary}\r\n")
    response = _post(curator, PAGE, "save", fields)
    assert response.status_code == 303, response.text[-2000:]
    reader = curator.get(f"/en/articles/{SLUG}")
    assert f"<h1>{title}</h1>" in reader.text


def test_a_new_article_s_title_is_checked_too(curator: TestClient, content_copy: Path) -> None:
    before = _folders(content_copy)
    fields = _new_fields("phones-and-privacy", "published", title="Phones\x00and privacy")
    response = _post(curator, "/admin/articles/new", "save", fields)
    assert response.status_code == 400
    assert _errors(response.text, "title") == TITLE_ONE_LINE
    assert _folders(content_copy) == before


def test_scripts_own_characters_and_a_line_break_in_the_summary_are_kept(
    curator: TestClient, content_copy: Path
) -> None:
    # A zero width space between Khmer words, a zero width non-joiner in Burmese, a joiner.
    title = (
        "\u179b\u17b7\u1781\u17b7\u178f\u200b\u1786\u17d2\u179b\u1784\u178a\u17c2\u1793 "
        "\u1019\u103c\u1014\u103a\u200c\u1019\u102c \u0915\u094d\u200d\u0937"
    )
    fields = _fields(content_copy, title=title, summary="First line.\r\nSecond line.")
    response = _post(curator, PAGE, "save", fields)
    assert response.status_code == 303, response.text[-2000:]
    meta, _ = _read_back(_en(content_copy))
    assert meta["title"] == title
    assert meta["summary"] == "First line.\nSecond line."
    assert b"\r" not in _en(content_copy).read_bytes()
    assert not [p for p in load_tree(content_copy).problems if p.level == "error"]


# -- Addresses Windows keeps ------------------------------------------------------------------


def test_an_address_windows_keeps_for_a_device_is_refused(
    curator: TestClient, content_copy: Path
) -> None:
    before = _folders(content_copy)
    for slug in ("con", "aux", "nul", "prn", "com1", "com9", "lpt1", "lpt9", "com0"):
        response = _post(curator, "/admin/articles/new", "save", _new_fields(slug, "published"))
        assert response.status_code == 400, slug
        assert _errors(response.text, "slug") == (
            f"Windows keeps the name {slug} for a device, so the article's folder could not be "
            "copied to a Windows computer. Choose another address."
        ), slug
    # Names that only start like one are addresses like any other.
    response = _post(curator, "/admin/articles/new", "save", _new_fields("console", "draft"))
    assert response.status_code == 303, response.text[-2000:]
    assert _folders(content_copy) == sorted([*before, "console"])
    assert yaml.safe_load(_en(content_copy, "console").read_text().split("---")[1])["status"] == (
        "draft"
    )


def test_the_console_s_own_word_is_still_taken(curator: TestClient) -> None:
    response = _post(curator, "/admin/articles/new", "save", _new_fields("new", "published"))
    assert response.status_code == 400
    assert _errors(response.text, "slug") == "This address is taken: new"
    assert SLUG_WORDS not in _errors(response.text, "slug")
