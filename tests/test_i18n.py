"""Negotiation, the locale cookie, and catalogs that are complete and compile."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from hub.i18n import I18n, parse_accept_language
from hub.settings import PROJECT_ROOT
from tests.conftest import LOCALES

LOCALES_DIR = PROJECT_ROOT / "locales"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("th-TH,th;q=0.9,en;q=0.5", "th"),
        ("fil-PH", "fil"),
        ("tl", "fil"),
        ("my-MM,my", "my"),
        ("km", "km"),
        ("zh-HK,id;q=0.8", "id"),
        ("vi;q=0.4,en;q=0.9", "en"),
        ("de-DE", "en"),
        ("id;q=0,vi", "vi"),
        ("garbage;;q=x,,", "en"),
    ],
)
def test_root_redirects_by_accept_language(client: TestClient, header: str, expected: str) -> None:
    response = client.get("/", headers={"accept-language": header}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/{expected}/"
    assert "Accept-Language" in response.headers["vary"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # The literal headers: parameter names and tags in any case.
        ("th;Q=0.2, vi;q=0.5", "vi"),
        ("th;q=0.2, VI;Q=0.5", "vi"),
        ("EN", "en"),
        ("Fil-PH", "fil"),
        ("TH-th", "th"),
        ("VI", "vi"),
        ("KM-kh;q=0.9, en;q=0.1", "km"),
        ("MY-MM", "my"),
        # Aliases in any case: tl is Tagalog (Filipino), in is the old code of Indonesian.
        ("tl", "fil"),
        ("TL-ph", "fil"),
        ("in", "id"),
        ("IN-id", "id"),
        ("zh-HK, In;Q=0.7", "id"),
        # A quality outside 0-1 or not a number does not count.
        ("th;q=2, vi;q=0.5", "vi"),
        ("th;q=nan, vi;q=0.5", "vi"),
    ],
)
def test_accept_language_in_any_case_redirects_to_a_shipped_lowercase_locale(
    client: TestClient, header: str, expected: str
) -> None:
    response = client.get("/", headers={"accept-language": header}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/{expected}/"
    assert client.get(response.headers["location"]).status_code == 200


def test_a_cookie_in_another_case_still_names_the_locale(client: TestClient) -> None:
    client.cookies.set("hub_locale", "KM")
    response = client.get("/", headers={"accept-language": "vi"}, follow_redirects=False)
    assert response.headers["location"] == "/km/"


def test_cookie_wins_over_accept_language(client: TestClient) -> None:
    client.get("/km/")
    response = client.get("/", headers={"accept-language": "vi"}, follow_redirects=False)
    assert response.headers["location"] == "/km/"


def test_unknown_cookie_falls_back_to_negotiation(client: TestClient) -> None:
    client.cookies.set("hub_locale", "xx")
    response = client.get("/", headers={"accept-language": "th"}, follow_redirects=False)
    assert response.headers["location"] == "/th/"


def test_accept_language_parsing_orders_by_quality() -> None:
    assert parse_accept_language("en;q=0.1, th, vi;q=0.5") == ["th", "vi", "en"]
    assert parse_accept_language("*") == []
    assert parse_accept_language("th;Q=0.2, vi;q=0.5") == ["vi", "th"]
    assert parse_accept_language("Fil-PH, EN;Q=0.3") == ["fil_ph", "en"]


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete_and_compiles(locale: str) -> None:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    assert {m.id for m in template if m.id} == {m.id for m in catalog if m.id}, "run make messages"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        assert all(strings), f"{locale}: untranslated {message.id!r}"
    assert list(catalog.check()) == []
    write_mo(io.BytesIO(), catalog, use_fuzzy=False)


def test_every_locale_translates_the_interface() -> None:
    i18n = I18n(LOCALES_DIR, LOCALES)
    english = i18n.gettext("en", "Quick exit")
    for locale in LOCALES:
        if locale != "en":
            assert i18n.gettext(locale, "Quick exit") != english, locale


def test_templates_have_no_untranslated_text() -> None:
    """Every visible text in a template goes through gettext (a crude but useful net)."""
    templates = PROJECT_ROOT / "hub" / "templates"
    for path in templates.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        stripped = re.sub(r"{%-? trans.*?endtrans -?%}", "", source, flags=re.S)
        stripped = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "", stripped, flags=re.S)
        stripped = re.sub(r"<[^>]+>", " ", stripped)
        leftover = re.findall(r"[A-Za-z]{3,}", stripped)
        assert leftover == [], f"{path.name}: {leftover[:10]}"


def test_the_message_template_holds_every_message_of_the_code(tmp_path: Path) -> None:
    """`make messages` was run: what the templates and code say is what catalogs translate."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "-k",
            "pgettext:1c,2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )
    with fresh.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        committed = {m.id for m in read_po(handle) if m.id}
    assert extracted - committed == set(), "run make messages"
