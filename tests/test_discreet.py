"""Discreet mode is discreet on every page; home-screen names fit; every page has a description."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from hub.content import load_library
from tests.conftest import CONTENT, LOCALES, set_corridor

# Read straight from the content files, not through the loader under test.
SITE = yaml.safe_load((CONTENT / "site.yml").read_text(encoding="utf-8"))
TOPICS = yaml.safe_load((CONTENT / "topics.yml").read_text(encoding="utf-8"))
ARTICLES = sorted(path.name for path in (CONTENT / "articles").iterdir() if path.is_dir())
SERVICES = sorted(path.stem for path in (CONTENT / "services").glob("*.yml"))


def front_matter(path: Path) -> dict[str, object]:
    """A content file's front matter, read here without the hub's own parser (whose reading
    these tests check)."""
    found = re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), flags=re.S)
    assert found is not None, path
    data: dict[str, object] = yaml.safe_load(found.group(1))
    return data


# "migrant", "hub" and "violence", and the words for them in each locale (checked with the
# starter content's own titles, e.g. the violence article's title in every language).
GIVEAWAYS = {
    "en": ("migrant", "hub", "violence"),
    "fil": ("migrant", "hub", "violence", "migrante", "karahasan"),
    "id": ("migrant", "hub", "violence", "migran", "kekerasan"),
    "vi": ("migrant", "hub", "violence", "di cư", "bạo lực"),
    "th": ("migrant", "hub", "violence", "ข้ามชาติ", "ความรุนแรง"),
    "km": ("migrant", "hub", "violence", "ចំណាកស្រុក", "ហិង្សា"),
    "my": ("migrant", "hub", "violence", "ရွှေ့ပြောင်း", "အကြမ်းဖက်"),
}
# The limit for a home-screen label, in code points (not the fewer grapheme clusters).
SHORT_NAME_LIMIT = 12


class Head(HTMLParser):
    """What a page shows outside its main text: title, brand, metas and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.brand = ""
        self.metas: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "title":
            self._in = "title"
        elif tag == "a" and "brand" in values.get("class", "").split():
            self._in = "brand"
        elif tag == "meta" and "name" in values:
            self.metas[values["name"]] = values.get("content", "")
        elif tag == "link":
            self.links[values.get("rel", "")] = values.get("href", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "a"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "brand":
            self.brand += data


def head_of(html: str) -> Head:
    parsed = Head()
    parsed.feed(html)
    return parsed


def public_pages(locale: str) -> Iterator[tuple[str, int]]:
    """Every public page of a locale, with the status it answers."""
    yield f"/{locale}/", 200
    for topic in TOPICS:
        yield f"/{locale}/topics/{topic['id']}", 200
    for slug in ARTICLES:
        yield f"/{locale}/articles/{slug}", 200
    yield f"/{locale}/help", 200
    for service in SERVICES:
        yield f"/{locale}/services/{service}", 200
    yield f"/{locale}/search?q=passport", 200
    yield f"/{locale}/safety", 200
    yield f"/{locale}/offline", 200
    yield f"/{locale}/unavailable", 200
    yield f"/{locale}/corridor", 200
    yield f"/{locale}/no-such-page", 404
    yield f"/{locale}/corridor?from=XX&to=HK", 400


def is_grey(colour: str) -> bool:
    """A colour without hue: #rrggbb with equal red, green and blue."""
    digits = colour.removeprefix("#")
    return len(digits) == 6 and digits[0:2] == digits[2:4] == digits[4:6]


def giveaways(locale: str) -> list[str]:
    names = [SITE["names"].get(locale, SITE["names"]["en"])]
    names += [SITE.get("short_names", {}).get(locale, "")]
    return [word.lower() for word in (*GIVEAWAYS[locale], *names) if word]


@pytest.fixture
def client(shared_client: TestClient) -> TestClient:
    """One app for the module's read-only tests, as a reader with no cookies yet."""
    return shared_client


def discreet_client(client: TestClient) -> TestClient:
    set_corridor(client, "PH", "HK")
    response = client.get("/en/discreet", params={"on": "1"}, follow_redirects=False)
    assert response.status_code == 303
    return client


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_is_neutral_in_discreet_mode(client: TestClient, locale: str) -> None:
    normal_icon = head_of(client.get(f"/{locale}/safety").text).links["icon"]
    normal_theme = head_of(client.get(f"/{locale}/safety").text).metas["theme-color"]
    discreet_client(client)
    neutral = SITE["discreet_names"][locale]
    manifest = client.get("/manifest.webmanifest", params={"lang": locale, "discreet": "1"}).json()
    forbidden = giveaways(locale)
    for path, status in public_pages(locale):
        response = client.get(path)
        assert response.status_code == status, path
        head = head_of(response.text)
        # Browser history and the tab show only the neutral name: no page or article title.
        assert head.title == neutral, (path, head.title)
        assert head.brand.strip() == neutral, (path, head.brand)
        description = head.metas.get("description", "")
        assert description, path
        for text in (head.title, head.brand, description):
            assert not [word for word in forbidden if word in text.lower()], (path, text)
        theme = head.metas["theme-color"]
        assert is_grey(theme) and theme == manifest["theme_color"] != normal_theme, path
        assert head.links["manifest"] == f"/manifest.webmanifest?lang={locale}&discreet=1", path
        assert "/icons/discreet-" in head.links["icon"] and head.links["icon"] != normal_icon
        assert head.links["apple-touch-icon"] == head.links["icon"], path
        assert head.metas["apple-mobile-web-app-title"] == manifest["short_name"], path
    icon = client.get(head.links["icon"])
    assert icon.headers["content-type"] == "image/png"
    assert icon.content != client.get(normal_icon).content


@pytest.mark.parametrize("locale", LOCALES)
def test_discreet_manifest_is_neutral_and_fits_the_home_screen(
    client: TestClient, locale: str
) -> None:
    manifest = client.get("/manifest.webmanifest", params={"lang": locale, "discreet": "1"}).json()
    neutral = SITE["discreet_names"][locale]
    assert manifest["name"] == neutral
    assert manifest["short_name"] == SITE.get("discreet_short_names", {}).get(locale, neutral)
    assert len(manifest["short_name"]) <= SHORT_NAME_LIMIT
    assert is_grey(manifest["theme_color"])
    assert all("/icons/discreet-" in icon["src"] for icon in manifest["icons"])
    text = json.dumps(manifest, ensure_ascii=False).lower()
    assert [word for word in giveaways(locale) if word in text] == []


@pytest.mark.parametrize("locale", LOCALES)
def test_manifest_short_name_is_her_own_and_fits(client: TestClient, locale: str) -> None:
    manifest = client.get("/manifest.webmanifest", params={"lang": locale}).json()
    assert manifest["name"] == SITE["names"][locale]
    assert manifest["short_name"] == SITE["short_names"][locale]
    assert len(manifest["short_name"]) <= SHORT_NAME_LIMIT


@pytest.mark.parametrize("locale", ["en", "th", "my"])
def test_normal_pages_keep_their_titles_and_name(client: TestClient, locale: str) -> None:
    head = head_of(client.get(f"/{locale}/articles/keep-your-passport").text)
    title = front_matter(CONTENT / "articles" / "keep-your-passport" / f"{locale}.md")["title"]
    assert head.title == f"{title} · {SITE['names'][locale]}"
    assert head.brand.strip() == SITE["names"][locale]
    assert "/icons/hub-" in head.links["icon"] and "discreet" not in head.links["manifest"]
    assert head.metas["apple-mobile-web-app-title"] == SITE["short_names"][locale]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_has_a_description_from_its_content(client: TestClient, locale: str) -> None:
    set_corridor(client, "PH", "HK")
    seen: dict[str, str] = {}
    for path, _ in public_pages(locale):
        head = head_of(client.get(path).text)
        seen[path] = head.metas.get("description", "")
        assert seen[path].strip(), path
    for slug in ARTICLES:
        source = CONTENT / "articles" / slug / f"{locale}.md"
        if source.exists():
            summary = " ".join(str(front_matter(source)["summary"]).split())
            assert " ".join(seen[f"/{locale}/articles/{slug}"].split()) == summary, slug
    for topic in TOPICS:
        if locale in topic.get("summary", {}):
            assert seen[f"/{locale}/topics/{topic['id']}"] == topic["summary"][locale].strip()
    # A page without content of its own still says what it is, not the same words as every page.
    own = {seen[f"/{locale}/{name}"] for name in ("safety", "offline", "unavailable")}
    assert len(own) == 3 and seen[f"/{locale}/"] not in own


def site_copy(tmp_path: Path, change: dict[str, object]) -> Path:
    """A content tree whose site.yml has `change` applied."""
    tree = tmp_path / "content"
    shutil.copytree(CONTENT, tree)
    data = {**SITE, **change}
    (tree / "site.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tree


def site_problems(tree: Path) -> list[str]:
    _, problems = load_library(tree)
    return [str(p) for p in problems if p.path == "site.yml"]


def test_the_starter_short_names_pass(tmp_path: Path) -> None:
    assert site_problems(site_copy(tmp_path, {})) == []


def test_a_short_name_over_twelve_code_points_is_a_problem(tmp_path: Path) -> None:
    # 13 code points but only 10 letters on screen: the strict count is the code points.
    long_thai = "ข้อมูลแรงงานฯ"
    assert len(long_thai) == 13
    tree = site_copy(tmp_path, {"short_names": {**SITE["short_names"], "th": long_thai}})
    problems = site_problems(tree)
    assert len(problems) == 1
    assert problems[0].startswith("site.yml: error: ") and "'short_names.th'" in problems[0]
    assert long_thai in problems[0] and "13" in problems[0]


def test_a_long_name_without_a_short_name_is_a_problem(tmp_path: Path) -> None:
    shorts = {code: name for code, name in SITE["short_names"].items() if code != "km"}
    discreet = {**SITE["discreet_names"], "vi": "Sổ ghi chép cá nhân"}
    problems = site_problems(
        site_copy(tmp_path, {"short_names": shorts, "discreet_names": discreet})
    )
    assert len(problems) == 2
    assert any("'short_names.km'" in p for p in problems)
    assert any("'discreet_short_names.vi'" in p for p in problems)


def test_a_short_name_in_an_unknown_locale_is_a_problem(tmp_path: Path) -> None:
    tree = site_copy(tmp_path, {"short_names": {**SITE["short_names"], "xx": "Hub"}})
    assert any("unknown locale 'xx'" in p for p in site_problems(tree))
