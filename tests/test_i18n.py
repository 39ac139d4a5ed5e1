"""Negotiation, the locale cookie, and catalogs that are complete and compile."""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from starlette.testclient import TestClient

from hub.app import create_app
from hub.i18n import I18n, parse_accept_language
from hub.settings import PROJECT_ROOT, Settings
from hub.translation_check import check_locales, refusals
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
def test_root_redirects_by_accept_language(
    shared_client: TestClient, header: str, expected: str
) -> None:
    response = shared_client.get("/", headers={"accept-language": header}, follow_redirects=False)
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
    shared_client: TestClient, header: str, expected: str
) -> None:
    response = shared_client.get("/", headers={"accept-language": header}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/{expected}/"
    assert shared_client.get(response.headers["location"]).status_code == 200


def test_a_cookie_in_another_case_still_names_the_locale(shared_client: TestClient) -> None:
    shared_client.cookies.set("hub_locale", "KM")
    response = shared_client.get("/", headers={"accept-language": "vi"}, follow_redirects=False)
    assert response.headers["location"] == "/km/"


def test_cookie_wins_over_accept_language(shared_client: TestClient) -> None:
    shared_client.get("/km/")
    response = shared_client.get("/", headers={"accept-language": "vi"}, follow_redirects=False)
    assert response.headers["location"] == "/km/"


def test_unknown_cookie_falls_back_to_negotiation(shared_client: TestClient) -> None:
    shared_client.cookies.set("hub_locale", "xx")
    response = shared_client.get("/", headers={"accept-language": "th"}, follow_redirects=False)
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
    for path in templates.rglob("*.html"):
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


# A message passed straight to the result of a call (`gettext(request)("Text")`) is invisible
# to pybabel, so it is never extracted, never translated, and the test above cannot see it.
UNEXTRACTED_CALL = re.compile(r"""gettext\([^()]*\)\(\s*[rbf]?["']""")


def unextracted_messages(package: Path) -> list[str]:
    """Each place in the package's code that hands a message to a call's result."""
    return [
        f"{path.relative_to(package.parent).as_posix()}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNEXTRACTED_CALL.search(line)
    ]


def test_every_message_of_the_code_is_written_where_pybabel_finds_it(tmp_path: Path) -> None:
    assert unextracted_messages(PROJECT_ROOT / "hub") == []
    planted = tmp_path / "hub" / "views"
    planted.mkdir(parents=True)
    (planted / "x.py").write_text(
        '_ = gettext(request)\nok = _("Seen")\nlost = gettext(request)("Not seen")\n'
    )
    assert unextracted_messages(tmp_path / "hub") == ["hub/views/x.py:3"]


def test_every_shipped_catalog_adds_no_markup_and_takes_its_values() -> None:
    assert check_locales(LOCALES_DIR) == []


# A hostile or careless translation of messages the home page shows.
HOSTILE = {
    "Quick exit": '<script src="https://evil.example/x.js"></script>ออก',
    "Get help": '<a href="https://evil.example/">ขอความช่วยเหลือ</a>',
    "Search": '<img src=x onerror="alert(1)" ค้นหา',
    "Safety": "ความปลอดภัย<!-- -->",
}
# A translation that makes the page's formatting fail: a 500 unless it is refused.
BROKEN_FORMAT = ("You are offline. This copy was saved on %(date)s.", "ออฟไลน์ 100% %(date)s")


def _plant(locales: Path, changes: dict[str, str]) -> Path:
    """A copy of the shipped catalogs with some Thai translations replaced."""
    shutil.copytree(LOCALES_DIR, locales)
    path = locales / "th" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message_id, string in changes.items():
        message = catalog.get(message_id)
        assert message is not None, message_id
        message.string = string
    with path.open("wb") as handle:
        write_po(handle, catalog)
    return path


def test_hub_check_reports_each_translation_that_adds_markup(tmp_path: Path) -> None:
    _plant(tmp_path / "locales", {**HOSTILE, BROKEN_FORMAT[0]: BROKEN_FORMAT[1]})
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HUB_LOCALES_DIR": str(tmp_path / "locales")},
    )
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) >= len(HOSTILE) + 1, result.stdout
    for message_id in [*HOSTILE, BROKEN_FORMAT[0]]:
        assert any(
            line.startswith("locales/th/LC_MESSAGES/messages.po: error: ")
            and repr(message_id) in line
            for line in errors
        ), message_id
    assert f"{len(errors)} errors" in result.stderr


def test_the_app_shows_english_instead_of_a_translation_that_adds_markup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _plant(tmp_path / "locales", {**HOSTILE, BROKEN_FORMAT[0]: BROKEN_FORMAT[1]})
    settings = Settings(data_dir=tmp_path / "var", locales_dir=tmp_path / "locales")
    with (
        caplog.at_level(logging.WARNING, logger="hub.i18n"),
        TestClient(create_app(settings)) as client,
    ):
        response = client.get("/th/")
    assert response.status_code == 200
    html = response.text
    assert "evil.example" not in html and "onerror" not in html and "<!-- -->" not in html
    for message_id in HOSTILE:
        assert f">{message_id}<" in html, message_id
    # The other translations still show.
    assert translated("th", "Skip to content") in html
    refused = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for message_id in [*HOSTILE, BROKEN_FORMAT[0]]:
        assert repr(message_id) in refused, message_id


def translated(locale: str, message_id: str) -> str:
    """The shipped translation of a message."""
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        message = read_po(handle).get(message_id)
    assert message is not None and isinstance(message.string, str)
    return message.string


@pytest.mark.parametrize(
    ("english", "translation", "refused"),
    [
        ("Quick exit", "ออกด่วน", False),
        ('Read <a href="/en/help">the help page</a>', "อ่าน <a href='/en/help'>หน้า</a>", False),
        ('<a class="x" href="/h">a</a>', '<A HREF="/h" class="x">ก</A>', False),
        ("Read <b>this</b>", "อ่าน <b>นี่</b> <b>นี่</b>", True),
        ("Read <b>this</b>", "อ่าน นี่</b>", True),
        ('Read <a href="/en/help">help</a>', 'อ่าน <a href="https://evil.example">ช่วย</a>', True),
        ('Read <a href="/en/help">help</a>', 'อ่าน <a href="/en/help" onclick="x()">ช่วย</a>', True),
        ("Search", "<svg onload=alert(1)>", True),
        # Left open, a tag would take in the template text after the message.
        ("Search", "ค้นหา <img src=x onerror=alert(1) ", True),
        ("Search", "ค้นหา<!-- -->", True),
        ("Search", "&lt;script&gt; is text", False),
        ("Saved on %(date)s.", "บันทึก %(date)s", False),
        ("Saved on %(date)s.", "บันทึก 100% %(date)s", True),
        ("Saved on %(date)s.", "บันทึก %(day)s", True),
    ],
)
def test_a_translation_holds_exactly_the_markup_of_its_english(
    english: str, translation: str, refused: bool
) -> None:
    catalog = Catalog(locale="th")
    catalog.add(english, translation, flags=["python-format"] if "%(" in english else [])
    message = catalog.get(english)
    assert message is not None
    assert bool(refusals(message, catalog)) is refused


def test_a_plural_translation_holds_the_markup_of_an_english_form() -> None:
    catalog = Catalog(locale="th")
    catalog.add(("%(num)d <b>page</b>", "%(num)d <b>pages</b>"), ("%(num)d <b>หน้า</b>",))
    catalog.add(("%(num)d day", "%(num)d days"), ("%(num)d <i>วัน</i>",))
    catalog.add(("%(num)d week", "%(num)d weeks"), ("%(num)d% สัปดาห์",))
    page, day, week = (
        catalog.get(key) for key in ("%(num)d <b>page</b>", "%(num)d day", "%(num)d week")
    )
    assert page is not None and day is not None and week is not None
    assert refusals(page, catalog) == []
    assert refusals(day, catalog) != []
    assert refusals(week, catalog) != []
