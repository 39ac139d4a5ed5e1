"""The worklists at /admin/ (issue 12, point 1), through the real app.

A small content tree made here from copies of the starter content, changed so that what each
list must hold is known from the files, not from hub/curation: three articles (one without a
Thai text, one whose Vietnamese and Filipino texts translate an older English body, one with a
Thai draft; every other translation reviewed) and ten directory entries (verified 366, 365 and
364 days ago, long ago, or `verification: needed`). The starter content's figures are counted
from its files directly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from hub.app import create_app
from hub.content.markdown import revision
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import ClientFactory, add_console_accounts, sign_in_as

CONTENT = PROJECT_ROOT / "content"
TODAY = dt.date.today()
LOCALES = ("fil", "id", "vi", "th", "km", "my")
FORMULA_TITLE = '=HYPERLINK("http://evil.example","Wages")'

# Article folder here -> the starter article it is copied from.
ARTICLES = {
    "alpha-passport": "keep-your-passport",
    "beta-contract": "your-contract",
    "gamma-wages": "wages-and-payslips",
}


def _front(path: Path) -> tuple[dict[str, object], str]:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def _write(path: Path, meta: dict[str, object], body: str) -> None:
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def _edit(path: Path, **changes: object) -> None:
    meta, body = _front(path)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    _write(path, meta, body)


def _edit_service(path: Path, verified: dt.date | None) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("verified_on", None)
    data.pop("verification", None)
    if verified is None:
        data["verification"] = "needed"
    else:
        data["verified_on"] = verified
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# Entry -> days since it was verified (None: `verification: needed`).
SERVICES: dict[str, int | None] = {
    "hk-emergency": 366,
    "ph-emergency": 400,
    "hk-labour-department-fdh-hotline": 364,
    "hk-bethune-house": 365,
    "ph-dmw-hotline": None,
    "hk-police-hotline": None,
    "hk-consulate-indonesia": 800,
    "hk-consulate-thailand": None,
    "hk-christian-action": None,
    "hk-enrich": None,
}


def build_tree(root: Path) -> Path:
    """The test's content tree under `root`."""
    tree = root / "content"
    (tree / "articles").mkdir(parents=True)
    (tree / "services").mkdir()
    for name in ("site.yml", "topics.yml"):
        shutil.copy(CONTENT / name, tree / name)
    for slug, starter in ARTICLES.items():
        folder = tree / "articles" / slug
        shutil.copytree(CONTENT / "articles" / starter, folder)
        # The starter articles link each other: these three stand alone, so their bodies
        # change, and each translation records the new English body, reviewed.
        english = ""
        for path in sorted(folder.glob("*.md"), key=lambda p: p.stem != "en"):
            meta, body = _front(path)
            body = re.sub(r"\]\([^)#]*\)", "](#)", body)
            if path.stem == "en":
                english = revision(body)
            else:
                meta.update(translation="reviewed", source_revision=english)
            _write(path, meta, body)
    articles = tree / "articles"
    # alpha: no Thai text; its Khmer text translates an older English body.
    (articles / "alpha-passport" / "th.md").unlink()
    _edit(articles / "alpha-passport" / "en.md", updated=dt.date(2026, 1, 10))
    _edit(articles / "alpha-passport" / "km.md", source_revision="0123456789ab")
    # beta: older English; Vietnamese outdated, Filipino outdated and a draft (listed once).
    _edit(articles / "beta-contract" / "en.md", updated=dt.date(2025, 6, 1))
    _edit(articles / "beta-contract" / "vi.md", source_revision="0123456789ab")
    _edit(
        articles / "beta-contract" / "fil.md",
        source_revision="0123456789ab",
        translation="draft",
    )
    # gamma: a title a spreadsheet would run, and a Thai draft.
    _edit(articles / "gamma-wages" / "en.md", title=FORMULA_TITLE)
    _edit(articles / "gamma-wages" / "th.md", translation="draft", updated=dt.date(2025, 3, 1))
    for service_id, days in SERVICES.items():
        path = tree / "services" / f"{service_id}.yml"
        shutil.copy(CONTENT / "services" / f"{service_id}.yml", path)
        _edit_service(path, None if days is None else TODAY - dt.timedelta(days=days))
    return tree


# What the lists must hold, most urgent first (hub/curation/worklists.py's docstring).
TRANSLATIONS = [
    ("alpha-passport", "th", "missing"),
    # Outdated: beta's English (1 June 2025) is older than alpha's (10 January 2026).
    ("beta-contract", "fil", "outdated"),
    ("beta-contract", "vi", "outdated"),
    ("alpha-passport", "km", "outdated"),
    ("gamma-wages", "th", "draft"),
]
ENTRIES = [
    # Emergency numbers first, the oldest first.
    ("ph-emergency", "over-a-year"),
    ("hk-emergency", "over-a-year"),
    ("ph-dmw-hotline", "needs-verification"),
    ("hk-police-hotline", "needs-verification"),
    # Never verified before a dated entry of the same kind.
    ("hk-consulate-thailand", "needs-verification"),
    ("hk-consulate-indonesia", "over-a-year"),
    # Organisations last.
    ("hk-christian-action", "needs-verification"),
    ("hk-enrich", "needs-verification"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, console_data: Path) -> Iterator[TestClient]:
    """One app on the test tree with an account of each role (what make_console_client gives,
    shared by the module: its tests only read)."""
    root = tmp_path_factory.mktemp("worklists")
    data_dir = root / "var"
    shutil.copytree(console_data, data_dir)
    settings = Settings(data_dir=data_dir, content_dir=build_tree(root))
    with TestClient(create_app(settings)) as client:
        add_console_accounts(client)
        yield client


@pytest.fixture(scope="module")
def browsers(app: TestClient) -> dict[str, TestClient]:
    """A browser signed in as each role of CONSOLE_ACCOUNTS, on the module's app."""
    signed: dict[str, TestClient] = {}
    for role in ("admin", "curator", "translator", "leader"):
        signed[role] = TestClient(app.app)
        sign_in_as(signed[role], role)
    return signed


def items(html: str, list_id: str) -> list[tuple[str, str]]:
    """(item, state) of each card of a list on the page, in order."""
    found = re.search(rf'<ol class="cards worklist" id="{list_id}">(.*?)</ol>', html, re.S)
    if found is None:
        return []
    return re.findall(r'data-item="([^"]+)" data-state="([^"]+)"', found.group(1))


def count_row(html: str, attribute: str, key: str) -> list[int]:
    """The numbers of one row of a counts table (data-locale or data-corridor = key)."""
    found = re.search(rf'<tr[^>]*{attribute}="{key}">(.*?)</tr>', html, re.S)
    assert found is not None, (attribute, key)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", found.group(1))]


def sections(response_text: str) -> dict[str, list[list[str]]]:
    """The CSV's tables by title: the header row, then the rows."""
    rows = list(csv.reader(io.StringIO(response_text)))
    tables: dict[str, list[list[str]]] = {}
    title = None
    for row in rows:
        if not row:
            title = None
        elif title is None:
            title = row[0]
            tables[title] = []
        else:
            tables[title].append(row)
    return tables


def get_csv(browser: TestClient, query: str = "") -> dict[str, list[list[str]]]:
    response = browser.get("/admin/worklists.csv" + query)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    return sections(response.content.decode("utf-8-sig"))


# -- the page ---------------------------------------------------------------------------------


def test_a_curator_sees_each_list_most_urgent_first(browsers: dict[str, TestClient]) -> None:
    html = browsers["curator"].get("/admin/").text
    expected = [(f"{slug}/{locale}", state) for slug, locale, state in TRANSLATIONS]
    assert items(html, "translation-list") == expected
    assert items(html, "entry-list") == ENTRIES
    assert "5 translations to do." in html and "8 entries to verify." in html
    # Verified 364 and exactly 365 days ago: recent enough, so not listed.
    for recent in ("hk-labour-department-fdh-hotline", "hk-bethune-house"):
        assert recent not in html
    # Editing is in the console now: the page says nothing else and leads to it.
    assert "not available yet" not in html
    for link in ('id="articles-link"', 'id="directory-link"', 'id="history-link"'):
        assert link in html


def test_the_counts_per_locale_and_corridor(browsers: dict[str, TestClient]) -> None:
    html = browsers["admin"].get("/admin/").text
    # missing, outdated, draft, total
    assert count_row(html, "data-locale", "fil") == [0, 1, 0, 1]
    assert count_row(html, "data-locale", "id") == [0, 0, 0, 0]
    assert count_row(html, "data-locale", "vi") == [0, 1, 0, 1]
    assert count_row(html, "data-locale", "th") == [1, 0, 1, 2]
    assert count_row(html, "data-locale", "km") == [0, 1, 0, 1]
    assert count_row(html, "data-locale", "") == [1, 3, 1, 5]
    # needs verification, over a year, total: an entry counts in each corridor listing it.
    assert count_row(html, "data-corridor", "PH-HK") == [4, 2, 6]
    assert count_row(html, "data-corridor", "ID-HK") == [3, 2, 5]
    assert count_row(html, "data-corridor", "TH-HK") == [4, 1, 5]
    # Her own country's emergency number is on her help page at home, whatever the destination.
    assert count_row(html, "data-corridor", "PH-SG") == [1, 1, 2]
    assert count_row(html, "data-corridor", "ID-SG") == [0, 0, 0]
    assert count_row(html, "data-corridor", "") == [5, 3, 8]


def test_a_translator_sees_only_her_languages_and_no_directory(
    browsers: dict[str, TestClient],
) -> None:
    html = browsers["translator"].get("/admin/").text  # she works in Thai
    assert items(html, "translation-list") == [
        ("alpha-passport/th", "missing"),
        ("gamma-wages/th", "draft"),
    ]
    assert count_row(html, "data-locale", "th") == [1, 0, 1, 2]
    assert 'data-locale="vi"' not in html and "beta-contract" not in html
    assert 'id="directory"' not in html and "data-corridor" not in html
    assert "hk-emergency" not in html and "waiting for review" not in html
    # Her language filter offers her languages only; there is no directory filter.
    options = re.search(r'<select id="locale" name="locale">(.*?)</select>', html, re.S)
    assert options is not None
    assert re.findall(r'<option value="([^"]*)"', options.group(1)) == ["", "th"]
    assert '<select id="corridor"' not in html
    # Another language by its URL: refused.
    assert browsers["translator"].get("/admin/?locale=vi").status_code == 403
    assert browsers["translator"].get("/admin/worklists.csv?locale=vi").status_code == 403


def test_the_filters(browsers: dict[str, TestClient]) -> None:
    curator = browsers["curator"]
    html = curator.get("/admin/?locale=th").text
    assert items(html, "translation-list") == [
        ("alpha-passport/th", "missing"),
        ("gamma-wages/th", "draft"),
    ]
    html = curator.get("/admin/?translation=outdated").text
    assert [i for i, _ in items(html, "translation-list")] == [
        "beta-contract/fil",
        "beta-contract/vi",
        "alpha-passport/km",
    ]
    # The counts stay whole: filters narrow the lists only.
    assert count_row(html, "data-locale", "") == [1, 3, 1, 5]
    html = curator.get("/admin/?corridor=PH-SG").text
    assert items(html, "entry-list") == [
        ("ph-emergency", "over-a-year"),
        ("ph-dmw-hotline", "needs-verification"),
    ]
    html = curator.get("/admin/?kind=cso&verification=needs-verification").text
    assert [i for i, _ in items(html, "entry-list")] == ["hk-christian-action", "hk-enrich"]
    html = curator.get("/admin/?verification=over-a-year&corridor=ID-HK").text
    assert [i for i, _ in items(html, "entry-list")] == ["hk-emergency", "hk-consulate-indonesia"]
    # Each form keeps the other's filters, and the chosen values stay selected.
    html = curator.get("/admin/?locale=th&kind=cso").text
    assert '<input type="hidden" name="kind" value="cso">' in html
    assert '<input type="hidden" name="locale" value="th">' in html
    assert '<option value="cso" selected>' in html
    link = re.search(r'<a href="([^"]+)" id="worklists-csv">', html)
    assert link is not None
    assert unescape(link[1]) == "/admin/worklists.csv?locale=th&kind=cso"
    # A value that is none of the choices.
    for query in ("locale=xx", "translation=old", "corridor=PH-PH", "kind=spa", "verification=x"):
        assert curator.get(f"/admin/?{query}").status_code == 400, query


def test_a_leader_gets_403(browsers: dict[str, TestClient]) -> None:
    for url in ("/admin/", "/admin/worklists.csv"):
        response = browsers["leader"].get(url)
        assert response.status_code == 403
        assert "hk-emergency" not in response.text and "alpha-passport" not in response.text


# -- the CSV ----------------------------------------------------------------------------------


def test_the_csv_holds_the_pages_figures_and_lists(browsers: dict[str, TestClient]) -> None:
    tables = get_csv(browsers["curator"])
    assert list(tables) == [
        "Translations by language",
        "Directory entries by corridor",
        "Alerts waiting for review",
        "Translations to do",
        "Directory entries to verify",
    ]
    by_locale = {row[0]: row[1:] for row in tables["Translations by language"][1:]}
    assert by_locale == {
        "fil": ["0", "1", "0", "1"],
        "id": ["0", "0", "0", "0"],
        "vi": ["0", "1", "0", "1"],
        "th": ["1", "0", "1", "2"],
        "km": ["0", "1", "0", "1"],
        "my": ["0", "0", "0", "0"],
        "All languages": ["1", "3", "1", "5"],
    }
    by_corridor = {row[0]: row[1:] for row in tables["Directory entries by corridor"][1:]}
    assert by_corridor["PH-HK"] == ["4", "2", "6"]
    assert by_corridor["PH-SG"] == ["1", "1", "2"]
    assert by_corridor["Whole directory"] == ["5", "3", "8"]
    assert len(by_corridor) == 6 * 9 - 1 + 1  # every corridor of the site (TH-TH is none)
    assert tables["Alerts waiting for review"] == [["Alerts"], ["0"]]
    translations = tables["Translations to do"]
    assert translations[0] == [
        "Article",
        "Title",
        "Language",
        "State",
        "English updated",
        "Translation dated",
    ]
    assert [(r[0], r[2], r[3]) for r in translations[1:]] == TRANSLATIONS
    assert translations[1][4:] == ["2026-01-10", ""]
    assert translations[-1][4:] == [_english_date("gamma-wages"), "2025-03-01"]
    entries = tables["Directory entries to verify"]
    assert [(r[0], r[4]) for r in entries[1:]] == ENTRIES
    hk = next(r for r in entries if r[0] == "hk-emergency")
    assert hk[2:4] == ["emergency", "HK"]
    assert hk[5] == (TODAY - dt.timedelta(days=366)).isoformat()
    assert hk[6].split() == ["PH-HK", "ID-HK", "VN-HK", "TH-HK", "KH-HK", "MM-HK"]


def _english_date(slug: str) -> str:
    meta, _ = _front(CONTENT / "articles" / ARTICLES[slug] / "en.md")
    return str(meta["updated"])


def test_the_csv_follows_the_filters_and_the_translators_scope(
    browsers: dict[str, TestClient],
) -> None:
    tables = get_csv(browsers["curator"], "?locale=th&kind=cso")
    assert [r[0] for r in tables["Translations to do"][1:]] == ["alpha-passport", "gamma-wages"]
    assert [r[0] for r in tables["Directory entries to verify"][1:]] == [
        "hk-christian-action",
        "hk-enrich",
    ]
    mine = get_csv(browsers["translator"])
    assert list(mine) == ["Translations by language", "Translations to do"]
    assert mine["Translations by language"][1:] == [
        ["th", "1", "0", "1", "2"],
        ["All languages", "1", "0", "1", "2"],
    ]
    assert [(r[0], r[2]) for r in mine["Translations to do"][1:]] == [
        ("alpha-passport", "th"),
        ("gamma-wages", "th"),
    ]


def test_the_csv_cannot_be_read_as_a_formula(browsers: dict[str, TestClient]) -> None:
    response = browsers["curator"].get("/admin/worklists.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    titles = [row[1] for row in rows if row and row[0] == "gamma-wages"]
    assert titles == ["'" + FORMULA_TITLE]
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert not [cell for row in rows for cell in row if cell.startswith(dangerous)]


# -- the starter content ----------------------------------------------------------------------


def starter_figures() -> tuple[dict[str, list[int]], list[int]]:
    """From the files of content/: per locale [missing, outdated, draft, total], and the
    directory's [needs verification, over a year, total] on the app's today."""
    per_locale = {code: [0, 0, 0, 0] for code in LOCALES}
    for folder in sorted((CONTENT / "articles").iterdir()):
        _, english_body = _front(folder / "en.md")
        english = revision(english_body)
        for code in LOCALES:
            path = folder / f"{code}.md"
            meta = _front(path)[0] if path.exists() else None
            if meta is None or meta.get("status") == "draft":
                per_locale[code][0] += 1
            elif meta.get("source_revision") != english:
                per_locale[code][1] += 1
            elif meta.get("translation", "draft") != "reviewed":
                per_locale[code][2] += 1
            else:
                continue
            per_locale[code][3] += 1
    directory = [0, 0, 0]
    for path in sorted((CONTENT / "services").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("verification") == "needed":
            directory[0] += 1
        elif (TODAY - data["verified_on"]).days > 365:
            directory[1] += 1
        else:
            continue
        directory[2] += 1
    return per_locale, directory


def test_the_starter_contents_figures(make_console_client: ClientFactory) -> None:
    client = make_console_client()
    sign_in_as(client, "curator")
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.text
    per_locale, directory = starter_figures()
    for code, figures in per_locale.items():
        assert count_row(html, "data-locale", code) == figures, code
    totals = [sum(f[i] for f in per_locale.values()) for i in range(4)]
    assert count_row(html, "data-locale", "") == totals
    assert count_row(html, "data-corridor", "") == directory
    tables = get_csv(client)
    assert tables["Translations by language"][-1][1:] == [str(n) for n in totals]
    assert tables["Directory entries by corridor"][-1][1:] == [str(n) for n in directory]
    assert len(tables["Translations to do"]) - 1 == totals[3]
    assert len(tables["Directory entries to verify"]) - 1 == directory[2]
