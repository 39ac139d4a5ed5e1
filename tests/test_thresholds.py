"""Every time and size limit of the hub, tried just inside and just outside its edge.

The expected values are literals from the design and the docs (docs/content-format.md,
docs/content-guide.md, docs/operations.md, docs/ARCHITECTURE.md), never the constant under test,
so changing a limit or its comparison makes one of these fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import json
import os
import re
import select
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import uvicorn
from starlette.testclient import TestClient

from hub import cli
from hub.app import create_app
from hub.content import load_library
from hub.content.loader import Problem
from hub.reading import INVALID, Known
from hub.reading import read as read_request
from hub.response_cache import ResponseCache
from hub.server import server_options
from hub.settings import Settings
from hub.views.public import local_path
from tests.conftest import CONTENT, set_corridor
from tests.test_response_cache import cache_of

# The notice of docs/content-guide.md: "more than 365 days old is shown with a 'not recently
# verified' notice", in the words of the English page.
STALE_NOTICE = (
    "Not recently verified: this entry was last checked more than a year ago. "
    "The number may have changed."
)
# Entries of the starter content verified and shown to an Indonesian worker in Hong Kong.
AGED = {364: "hk-bethune-house", 365: "hk-emergency", 366: "hk-labour-department-fdh-hotline"}

E164_PHONE = "error: 'phone' must be written in E.164, like +85221234567"
E164_ABROAD = "error: 'phone_from_abroad' must be written in E.164, like +85221234567"
SHORT_DIGITS = "error: 'short_number' must be 3 to 6 digits"
TOO_LARGE = "is larger than 262,144 bytes, the most a file may hold"


# --- helpers -------------------------------------------------------------------------------


def _tiny_tree(root: Path) -> Path:
    """A content tree of the starter site.yml and topics.yml only, for files a test adds."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("site.yml", "topics.yml"):
        shutil.copy(CONTENT / name, root / name)
    (root / "services").mkdir()
    (root / "articles").mkdir()
    return root


def _service(
    fields: str, numbers: list[str], *, country: str = "HK", source: str | None = None
) -> str:
    """The YAML of a directory entry verified 10 days ago with these number fields, stated by
    one source (of 30 days ago unless `source` is given)."""
    today = dt.date.today()
    source = source or (today - dt.timedelta(days=30)).isoformat()
    verified = (today - dt.timedelta(days=10)).isoformat()
    return (
        "kind: hotline\n"
        "name: {en: Test line}\n"
        f"country: {country}\n"
        f"{fields}\n"
        "sources:\n"
        "  - url: https://example.org/numbers\n"
        f"    date: {source}\n"
        f"    numbers: {json.dumps(numbers, ensure_ascii=False)}\n"
        f"verified_on: {verified}\n"
    )


def _problems_of(problems: list[Problem], path: str) -> list[str]:
    return [f"{p.level}: {p.message}" for p in problems if p.path == path]


def _hub_check(tree: Path, **env: str) -> dict[str, list[str]]:
    """`hub check <tree>` run in this process: its lines by file, "level: message"."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        # No HUB_* variable of the caller, and no .env of the working folder, is read.
        for name in [n for n in os.environ if n.startswith("HUB_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(tree)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main(["check", str(tree)])
    lines: dict[str, list[str]] = {}
    for line in out.getvalue().splitlines():
        path, _, said = line.partition(": ")
        lines.setdefault(path, []).append(said)
    return lines


def _card(page: str, service_id: str) -> str:
    """The HTML of one directory entry's card on a page."""
    start = page.index(f'aria-labelledby="service-{service_id}"')
    return page[start : page.index("</section>", start)]


def _search_box(page: str) -> str:
    found = re.search(r'<input id="search-q" type="search" name="q" value="([^"]*)"', page)
    assert found is not None, "no search box"
    return html.unescape(found.group(1))


def _count_line(page: str) -> str:
    found = re.search(r'<p id="search-count"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None, "no result count"
    return found.group(1).strip()


# --- "not recently verified": more than 365 days ---------------------------------------------


@pytest.fixture(scope="module")
def aged_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a copy of the content whose three HK entries were verified 364, 365 and 366
    days ago (one app for the module: starting it is the slow part)."""
    root = tmp_path_factory.mktemp("aged")
    content = root / "content"
    shutil.copytree(CONTENT, content)
    for days, service_id in AGED.items():
        path = content / "services" / f"{service_id}.yml"
        verified = dt.date.today() - dt.timedelta(days=days)
        text, count = re.subn(
            r"(?m)^verified_on: .*$", f"verified_on: {verified.isoformat()}", path.read_text()
        )
        assert count == 1, path
        path.write_text(text)
    settings = Settings(data_dir=root / "var", content_dir=content)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("days", "notice"), [(364, False), (365, False), (366, True)], ids=["364", "365", "366"]
)
def test_the_service_page_says_not_recently_verified_after_365_days(
    aged_client: TestClient, days: int, notice: bool
) -> None:
    aged_client.cookies.clear()
    page = aged_client.get(f"/en/services/{AGED[days]}").text
    card = _card(page, AGED[days])
    assert '<a class="call" href="tel:' in card  # verified: its numbers are shown
    assert (STALE_NOTICE in card) is notice


@pytest.mark.parametrize(
    ("days", "notice"), [(364, False), (365, False), (366, True)], ids=["364", "365", "366"]
)
def test_the_help_page_says_not_recently_verified_after_365_days(
    aged_client: TestClient, days: int, notice: bool
) -> None:
    aged_client.cookies.clear()
    set_corridor(aged_client, "ID", "HK")
    page = aged_client.get("/en/help").text
    aged_client.cookies.clear()
    card = _card(page, AGED[days])
    assert '<a class="call" href="tel:' in card
    assert (STALE_NOTICE in card) is notice


# --- `hub check`: a number's newest source more than 4 years old, counted by year ------------


@pytest.mark.parametrize(
    ("today", "dates", "warned"),
    [
        ("2026-11-29", ["2022"], None),
        ("2026-11-29", ['"2022-01"'], None),
        ("2026-11-29", ["2022-01-01"], None),
        ("2026-11-29", ["2021"], 2021),
        ("2026-11-29", ['"2021-12"'], 2021),
        ("2026-11-29", ["2021-12-31"], 2021),
        # Counted by year: 4 years and 364 days is still "2022 or later".
        ("2026-12-31", ["2022-01-01"], None),
        ("2026-01-01", ["2021-12-31"], 2021),
        # The newest source that states the number is the one that counts.
        ("2026-11-29", ["2019-05-01", "2022-02-01"], None),
    ],
    ids=[
        "2022",
        "2022-01",
        "2022-01-01",
        "2021",
        "2021-12",
        "2021-12-31",
        "2022-01-01-at-2026-12-31",
        "2021-12-31-at-2026-01-01",
        "2019-and-2022",
    ],
)
def test_a_source_older_than_four_years_by_year_is_warned_about(
    tmp_path: Path, today: str, dates: list[str], warned: int | None
) -> None:
    tree = _tiny_tree(tmp_path / "content")
    sources = "".join(
        f"  - url: https://example.org/{n}\n    date: {date}\n    numbers: ['+85221234567']\n"
        for n, date in enumerate(dates)
    )
    (tree / "services" / "aged-source.yml").write_text(
        "kind: hotline\nname: {en: Test line}\ncountry: HK\nphone: '+85221234567'\n"
        f"sources:\n{sources}verified_on: {today}\n"
    )
    library, problems = load_library(tree, dt.date.fromisoformat(today))
    assert "aged-source" in library.services
    expected = []
    if warned is not None:
        expected = [
            f"warning: +85221234567: its newest source is from {warned}; add a source from "
            f"{warned + 1} or later that states it, or mark 'verification: needed'"
        ]
    assert _problems_of(problems, "services/aged-source.yml") == expected


@pytest.fixture(scope="module")
def checked_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny content tree with one directory entry for each way of writing a number."""
    tree = _tiny_tree(tmp_path_factory.mktemp("numbers") / "content")
    for name, (text, _) in NUMBER_FILES.items():
        (tree / "services" / f"{name}.yml").write_text(text)
    year = dt.date.today().year
    for back in (2, 3, 4, 5):
        (tree / "services" / f"source-{back}-years-back.yml").write_text(
            _service('phone: "+85221234567"', ["+85221234567"], source=str(year - back))
        )
    return tree


@pytest.fixture(scope="module")
def checked(checked_tree: Path) -> dict[str, list[str]]:
    """What `hub check` says about each file of the tree, with the default settings."""
    return _hub_check(checked_tree)


def _old_source(year: int) -> list[str]:
    return [
        f"warning: +85221234567: its newest source is from {year}; add a source from "
        f"{year + 1} or later that states it, or mark 'verification: needed'"
    ]


@pytest.mark.parametrize(("back", "warned"), [(4, False), (5, True)])
def test_hub_check_warns_about_a_source_older_than_the_default_four_years(
    checked: dict[str, list[str]], back: int, warned: bool
) -> None:
    year = dt.date.today().year - back
    said = checked.get(f"services/source-{back}-years-back.yml", [])
    assert said == (_old_source(year) if warned else [])


@pytest.mark.parametrize(("back", "warned"), [(2, False), (3, True)])
def test_hub_check_takes_the_source_age_from_hub_source_max_age_years(
    checked_tree: Path, back: int, warned: bool
) -> None:
    said = _hub_check(checked_tree, HUB_SOURCE_MAX_AGE_YEARS="2")
    year = dt.date.today().year - back
    assert said.get(f"services/source-{back}-years-back.yml", []) == (
        _old_source(year) if warned else []
    )


# --- numbers as curators write them ---------------------------------------------------------

# File name: (its YAML, what `hub check` says about it). The YAML is written as a curator would,
# quotes and all; docs/content-format.md: phone and phone_from_abroad in E.164 (a "+", the
# country code, then 7 to 15 digits in all, nothing else), short_number 3 to 6 digits.
NUMBER_FILES: dict[str, tuple[str, list[str]]] = {
    "valid": (_service('phone: "+85221234567"', ["+85221234567"]), []),
    "no-plus": (_service('phone: "85221234567"', []), [E164_PHONE]),
    # Unquoted, YAML reads +85221234567 as the integer 85221234567.
    "unquoted": (_service("phone: +85221234567", []), [E164_PHONE]),
    "spaces": (_service('phone: "+852 2123 4567"', []), [E164_PHONE]),
    "dashes": (_service('phone: "+852-2123-4567"', []), [E164_PHONE]),
    "letters": (_service('phone: "+852 CALL-NOW"', []), [E164_PHONE]),
    "extension": (_service('phone: "+852 2123 4567 ext. 12"', []), [E164_PHONE]),
    "trunk-zero-spaced": (_service('phone: "+66 02 123 4567"', [], country="TH"), [E164_PHONE]),
    # Shaped like E.164 (7 and 15 digits) but no Hong Kong number has that many digits.
    "too-short": (
        _service('phone: "+8522123"', []),
        ["error: 'phone' +8522123 is not a valid number"],
    ),
    "too-long": (
        _service('phone: "+852212345678901"', []),
        ["error: 'phone' +852212345678901 is not a valid number"],
    ),
    # 6 and 16 digits: not E.164 at all.
    "too-short-for-e164": (_service('phone: "+852212"', []), [E164_PHONE]),
    "too-long-for-e164": (_service('phone: "+8522123456789012"', []), [E164_PHONE]),
    # Each kind of number in the other's field.
    "short-code-as-phone": (_service('phone: "999"', []), [E164_PHONE]),
    "phone-as-short-code": (_service('short_number: "+85221234567"', []), [SHORT_DIGITS]),
    # short_number: 3 to 6 digits.
    "short-2-digits": (_service('short_number: "99"', []), [SHORT_DIGITS]),
    "short-3-digits": (_service('short_number: "999"', ["999"]), []),
    "short-unquoted": (_service("short_number: 999", ["999"]), []),
    "short-6-digits": (_service('short_number: "123456"', ["123456"]), []),
    "short-7-digits": (_service('short_number: "1234567"', []), [SHORT_DIGITS]),
    # phone_from_abroad: E.164 from 7 to 15 digits; one libphonenumber does not list is a warning.
    "abroad-6-digits": (
        _service('short_number: "999"\nphone_from_abroad: "+632134"', []),
        [E164_ABROAD],
    ),
    "abroad-7-digits": (
        _service('short_number: "999"\nphone_from_abroad: "+6321348"', ["999", "+6321348"]),
        [
            "warning: phone_from_abroad +6321348 is not a valid number in libphonenumber's "
            "data, so it gets no call button; make sure the source confirms it"
        ],
    ),
    "abroad-15-digits": (
        _service(
            'short_number: "999"\nphone_from_abroad: "+852212345678901"',
            ["999", "+852212345678901"],
        ),
        [
            "warning: phone_from_abroad +852212345678901 is not a valid number in "
            "libphonenumber's data, so it gets no call button; make sure the source confirms it"
        ],
    ),
    "abroad-16-digits": (
        _service('short_number: "999"\nphone_from_abroad: "+8522123456789012"', []),
        [E164_ABROAD],
    ),
    "abroad-spaces": (
        _service('short_number: "999"\nphone_from_abroad: "+63 2 1348"', []),
        [E164_ABROAD],
    ),
    # A Thai number with the national trunk 0 kept after the country code (libphonenumber reads
    # it, dropping the 0).
    "trunk-zero": (_service('phone: "+66021234567"', ["+66021234567"], country="TH"), []),
}


@pytest.mark.parametrize("name", [n for n in NUMBER_FILES if n != "trunk-zero"])
def test_hub_check_on_numbers_as_curators_write_them(
    checked: dict[str, list[str]], name: str
) -> None:
    assert checked.get(f"services/{name}.yml", []) == NUMBER_FILES[name][1]


def test_hub_check_refuses_a_trunk_zero_after_the_country_code(
    checked: dict[str, list[str]],
) -> None:
    said = checked.get("services/trunk-zero.yml", [])
    assert any(line.startswith("error: 'phone'") for line in said), said


# --- the search query: 200 characters (code points), the rest cut ---------------------------

# 200 code points whose every word is a prefix of "passports": it finds what "passports" finds.
LATIN_200 = "pa " + "p " * 94 + "passports"
# Thai and Burmese with the last syllable's combining vowel or tone mark as the 200th, or the
# 201st, code point: NO NU, SARA II, MAI THO; PA, MEDIAL RA, VOWEL SIGN U.
THAI_200 = "นี " + "ก " * 97 + "นี้"
THAI_201 = "ก " * 99 + "นี้"
BURMESE_200 = "ပြ " + "က " * 97 + "ပြု"
BURMESE_201 = "က " * 99 + "ပြု"


@pytest.mark.parametrize(
    ("locale", "typed", "searched", "same_as", "not_as"),
    [
        ("en", LATIN_200, LATIN_200, "passports", "passport"),
        ("en", LATIN_200 + "x", LATIN_200, "passports", "passportsx"),
        # Trimmed first, then cut: leading spaces cost nothing.
        ("en", "   " + LATIN_200, LATIN_200, "passports", "passport"),
        ("th", THAI_200, THAI_200, "นี้", "นี"),
        # Cut by code points: the tone mark past the 200th goes, and the syllable with it.
        ("th", THAI_201, THAI_201[:-1], "นี", "นี้"),
        ("my", BURMESE_200, BURMESE_200, "ပြု", "ပြ"),
        ("my", BURMESE_201, BURMESE_201[:-1], "ပြ", "ပြု"),
    ],
    ids=["200", "201", "spaces+200", "thai-200", "thai-201", "burmese-200", "burmese-201"],
)
def test_a_query_is_searched_up_to_its_200th_code_point(
    shared_client: TestClient, locale: str, typed: str, searched: str, same_as: str, not_as: str
) -> None:
    assert len(searched) == 200
    page = shared_client.get(f"/{locale}/search", params={"q": typed}).text
    assert _search_box(page) == searched
    found = _count_line(page)
    same = _count_line(shared_client.get(f"/{locale}/search", params={"q": same_as}).text)
    other = _count_line(shared_client.get(f"/{locale}/search", params={"q": not_as}).text)
    assert found == same and found != other, (found, same, other)


def test_the_form_and_the_offline_search_cut_at_200_too(shared_client: TestClient) -> None:
    page = shared_client.get("/en/search").text
    assert 'name="q" value="" maxlength="200"' in page
    script = re.search(r'<script src="([^"]*search[^"]*\.js)"', page)
    assert script is not None
    source = shared_client.get(script.group(1)).text
    # Array.from: code points, as the server cuts.
    assert 'Array.from(text.trim(params.get("q") || "")).slice(0, 200)' in source


@pytest.mark.parametrize(("page", "status"), [("999999999", 404), ("1000000000", 400)])
def test_a_page_number_has_at_most_nine_digits(
    shared_client: TestClient, page: str, status: int
) -> None:
    response = shared_client.get("/en/search", params={"q": "passport", "page": page})
    assert response.status_code == status


@pytest.mark.parametrize(("page", "read"), [("999999999", "999999999"), ("1000000000", INVALID)])
def test_a_page_number_of_ten_digits_is_read_as_invalid(page: str, read: str) -> None:
    # The search index refuses it too; the reading refuses it before the cache keys on it.
    scope = {
        "type": "http",
        "path": "/en/search",
        "headers": [],
        "query_string": b"page=" + page.encode(),
    }
    reading = read_request(scope, Known(frozenset({"en"}), frozenset(), frozenset()))
    assert reading.param("page") == read


@pytest.mark.parametrize(("before", "read"), [(63, True), (64, False)])
def test_the_first_64_query_parameters_are_read(
    shared_client: TestClient, before: int, read: bool
) -> None:
    query = "&".join([f"x{n}=1" for n in range(before)] + ["q=passport"])
    page = shared_client.get(f"/en/search?{query}").text
    assert _search_box(page) == ("passport" if read else "")


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("/en/corridor", {"from": "PH", "to": "HK"}),
        ("/en/location", {"in": "origin"}),
        ("/en/discreet", {"on": "1"}),
    ],
    ids=["corridor", "location", "discreet"],
)
def test_a_preference_is_remembered_for_a_year(
    shared_client: TestClient, route: str, params: dict[str, str]
) -> None:
    response = shared_client.get(route, params=params, follow_redirects=False)
    cookies = response.headers.get_list("set-cookie")
    assert cookies, "no preference remembered"
    # 365 days of 86,400 seconds.
    assert all("Max-Age=31536000;" in cookie for cookie in cookies), cookies


# --- the return path (`next`): 2,000 characters -----------------------------------------------

INSIDE_NEXT = "/en/" + "a" * 1996
OUTSIDE_NEXT = "/en/" + "a" * 1997
THAI_NEXT = "/en/" + "ก" * 1996  # 2,000 characters, 17,968 bytes once percent-encoded


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("/en/discreet", {"on": "1"}),
        ("/en/corridor", {"from": "PH", "to": "HK"}),
        ("/en/location", {"in": "destination"}),
    ],
    ids=["discreet", "corridor", "location"],
)
@pytest.mark.parametrize(
    ("target", "back"),
    [(INSIDE_NEXT, INSIDE_NEXT), (OUTSIDE_NEXT, "/en/"), (THAI_NEXT, THAI_NEXT)],
    ids=["2000", "2001", "thai-2000"],
)
def test_a_return_path_of_up_to_2000_characters_is_followed(
    shared_client: TestClient, route: str, params: dict[str, str], target: str, back: str
) -> None:
    assert len(target) in (2000, 2001)
    query = {**params, "next": target}
    response = shared_client.get(route, params=query, follow_redirects=False)
    assert response.status_code == 303
    assert unquote(urlsplit(response.headers["location"]).path) == back


@pytest.mark.parametrize(
    ("target", "back"),
    [(INSIDE_NEXT, INSIDE_NEXT), (OUTSIDE_NEXT, "/en/"), (THAI_NEXT, THAI_NEXT)],
    ids=["2000", "2001", "thai-2000"],
)
def test_local_path_keeps_a_path_of_up_to_2000_characters(target: str, back: str) -> None:
    assert local_path(target, "en") == back


# --- content files: 256 KiB ---------------------------------------------------------------


def _padded(text: str, size: int, filler: str) -> bytes:
    """`text` with a YAML comment of `filler` (then ASCII) making it exactly `size` bytes."""
    head = (text + "# ").encode()
    unit = filler.encode()
    data = head + unit * ((size - len(head) - 1) // len(unit))
    return data + b"x" * (size - len(data) - 1) + b"\n"


SERVICE_TEXT = _service('short_number: "999"', ["999"])
ARTICLE_HEAD = "---\ntitle: Test\nsummary: Test\ntopics: [before-you-go]\nupdated: 2026-01-01\n"


@pytest.mark.parametrize(
    ("kind", "size", "filler", "loads"),
    [
        ("service", 262_144, "x", True),
        ("service", 262_145, "x", False),
        # Bytes, not characters: 87,000 or so Thai characters are 262,145 bytes.
        ("service", 262_145, "ก", False),
        ("article", 262_144, "x", True),
        ("article", 262_145, "x", False),
    ],
    ids=[
        "service-262144",
        "service-262145",
        "service-thai-262145",
        "article-262144",
        "article-262145",
    ],
)
def test_a_content_file_may_hold_256_kib(
    tmp_path: Path, kind: str, size: int, filler: str, loads: bool
) -> None:
    tree = _tiny_tree(tmp_path / "content")
    if kind == "service":
        path = tree / "services" / "padded.yml"
        path.write_bytes(_padded(SERVICE_TEXT, size, filler))
    else:
        (tree / "articles" / "padded").mkdir()
        path = tree / "articles" / "padded" / "en.md"
        body = b"---\nA short body.\n"
        head = _padded(ARTICLE_HEAD, size - len(body), filler)
        path.write_bytes(head + body)
    assert path.stat().st_size == size
    library, problems = load_library(tree)
    rel = path.relative_to(tree).as_posix()
    found = library.services if kind == "service" else library.articles
    assert ("padded" in found) is loads
    assert _problems_of(problems, rel) == ([] if loads else [f"error: {TOO_LARGE}"])


# --- the home-screen name: 12 code points -------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "label", "fits"),
    [
        ("th", "ข้อมูลแรงงาน", True),  # the docs' own example: 12 with its marks
        ("th", "ข้อมูลแรงงานๆ", False),
        ("en", "Worker Hub 1", True),
        ("en", "Worker Hub 12", False),
    ],
    ids=["thai-12", "thai-13", "latin-12", "latin-13"],
)
def test_a_home_screen_name_has_at_most_12_code_points(
    tmp_path: Path, locale: str, label: str, fits: bool
) -> None:
    tree = _tiny_tree(tmp_path / "content")
    site = tree / "site.yml"
    lines = site.read_text().splitlines()
    start = lines.index("short_names:")
    at = next(i for i in range(start, len(lines)) if lines[i].startswith(f"  {locale}: "))
    lines[at] = f"  {locale}: {label}"
    site.write_text("\n".join(lines) + "\n")
    library, problems = load_library(tree)
    assert library.site.short_names[locale] == label
    expected = (
        []
        if fits
        else [
            f"error: the home-screen name for '{locale}' ('{label}') has 13 characters, but "
            f"only 12 fit under the icon: give 'short_names.{locale}' a shorter name"
        ]
    )
    assert _problems_of(problems, "site.yml") == expected


# --- the response cache: no page over a sixteenth of HUB_RESPONSE_CACHE_BYTES ---------------


@pytest.fixture
def page_cache(shared_client: TestClient) -> Iterator[ResponseCache]:
    """The module app's response cache, emptied, and given back with its budget afterwards."""
    cache = cache_of(shared_client)
    budget = cache.max_bytes
    cache.clear()
    try:
        yield cache
    finally:
        cache.max_bytes = budget
        cache.clear()


def test_the_cache_budget_is_hub_response_cache_bytes(page_cache: ResponseCache) -> None:
    assert page_cache.max_bytes == 32 * 1024 * 1024  # docs/operations.md: default 32 MiB


@pytest.mark.parametrize(("spare", "kept"), [(0, True), (-1, False)])
def test_a_page_of_a_sixteenth_of_the_cache_is_kept_one_byte_more_is_not(
    shared_client: TestClient, page_cache: ResponseCache, spare: int, kept: bool
) -> None:
    shared_client.get("/en/safety")
    (size,) = [stored.size for stored in page_cache.entries.values()]
    page_cache.clear()
    page_cache.max_bytes = 16 * size + spare
    hits = page_cache.hits
    first = shared_client.get("/en/safety")
    second = shared_client.get("/en/safety")
    assert second.content == first.content
    assert len(page_cache.entries) == (1 if kept else 0)
    assert page_cache.hits - hits == (1 if kept else 0)


@pytest.mark.parametrize(("spare", "all_kept"), [(0, True), (-1, False)])
def test_pages_filling_the_cache_to_the_byte_are_all_kept(
    shared_client: TestClient, page_cache: ResponseCache, spare: int, all_kept: bool
) -> None:
    paths = [f"/en/search?q=zq{n:02d}" for n in range(20)]
    for path in paths:
        shared_client.get(path)
    sizes = [stored.size for stored in page_cache.entries.values()]
    total = sum(sizes)
    assert len(sizes) == 20 and max(sizes) <= (total - 1) // 16, sizes
    page_cache.clear()
    page_cache.max_bytes = total + spare
    for path in paths:
        shared_client.get(path)
    assert len(page_cache.entries) == (20 if all_kept else 19)
    assert page_cache.bytes == (total if all_kept else total - sizes[0])
    hits = page_cache.hits
    shared_client.get(paths[0])  # the least recently used page: the one let go
    assert page_cache.hits - hits == (1 if all_kept else 0)


# --- uvicorn's limits as `hub serve` sets them, on loopback ------------------------------------


async def _tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that answers "ok": the limits under test are uvicorn's, from server_options."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def small_server() -> Iterator[tuple[uvicorn.Server, int]]:
    """uvicorn run as `hub serve` runs it, with HUB_MAX_HEADER_BYTES=4096 and
    HUB_LIMIT_CONCURRENCY=3, on a free loopback port; stopped after the module."""
    settings = Settings(
        max_header_bytes=4096, limit_concurrency=3, timeout_request=2, timeout_keep_alive=1
    )
    options = {**server_options(settings, "127.0.0.1", 0), "log_config": None}
    server = uvicorn.Server(uvicorn.Config(_tiny_app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield server, port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _received(sock: socket.socket, bound: float = 5.0) -> bytes:
    """What the server sends until it closes the connection, or `bound` seconds pass."""
    data = b""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize(("size", "refused"), [(4096, False), (4097, True)])
def test_an_unfinished_request_head_past_max_header_bytes_is_refused(
    small_server: tuple[uvicorn.Server, int], size: int, refused: bool
) -> None:
    _, port = small_server
    head = b"GET / HTTP/1.1\r\nHost: hub.test\r\nConnection: close\r\nX-Pad: "
    head += b"a" * (size - len(head))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        # Time for the server to read the unfinished head before the rest comes (a refusal
        # arrives now); sent together, a whole head is never checked against the limit.
        readable, _, _ = select.select([sock], [], [], 0.3)
        if not readable:
            sock.sendall(b"\r\n\r\n")
        answer = _received(sock)
    status = b"HTTP/1.1 400 " if refused else b"HTTP/1.1 200 "
    assert answer.startswith(status), answer[:80]


@pytest.mark.parametrize(("idle", "status"), [(1, b"200"), (2, b"503")])
def test_a_request_while_limit_concurrency_connections_are_open_gets_503(
    small_server: tuple[uvicorn.Server, int], idle: int, status: bytes
) -> None:
    server, port = small_server
    connections = server.server_state.connections

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(connections) != count:
            assert time.monotonic() < deadline, f"{len(connections)} connections, not {count}"
            time.sleep(0.01)

    wait_for(0)
    opened = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(idle)]
    try:
        wait_for(idle)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: hub.test\r\nConnection: close\r\n\r\n")
            answer = _received(sock)
    finally:
        for sock in opened:
            sock.close()
    # docs/operations.md: 503 when a request arrives while 3 connections are open (its own too).
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:80]
