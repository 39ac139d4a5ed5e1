"""The content cache: a restart loads from it exactly what parsing the files gives, an edited
file is parsed again and nothing else, and a damaged, foreign or unwritable cache only makes a
start slower."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.content import load_library
from hub.content.cache import MAGIC, ContentCache, code_keys
from hub.content.loader import load_tree
from hub.content.search import build_indexes
from hub.offline import tree_version
from hub.settings import Settings
from tests.conftest import CONTENT, LOCALES

QUERIES = {
    "en": ["passport", "salary deduction", "hotline", "pass", "zzzz"],
    "th": ["หนังสือเดินทาง", "เงิน"],
    "my": ["နိုင်ငံကူးလက်မှတ်"],
    "km": ["លិខិតឆ្លងដែន"],
}


# Three articles that link to no other page, in every locale, and the services of two countries:
# the tests of the cache itself run on these, loaded in about an eighth of the whole tree's time.
SMALL_ARTICLES = (
    "keep-your-passport",
    "check-your-recruitment-agency",
    "recruitment-fees-and-debt",
)
SMALL_SERVICE_COUNTRIES = ("hk-", "th-")


@pytest.fixture
def small_content(tmp_path: Path) -> Path:
    """A private copy of part of the starter content, every kind of file still in it."""

    def left_out(folder: str, names: list[str]) -> list[str]:
        if Path(folder) == CONTENT / "articles":
            return [name for name in names if name not in SMALL_ARTICLES]
        if Path(folder) == CONTENT / "services":
            return [name for name in names if not name.startswith(SMALL_SERVICE_COUNTRIES)]
        return []

    target = tmp_path / "content"
    shutil.copytree(CONTENT, target, ignore=left_out)
    return target


def longer_first_section(data: bytes) -> bytes:
    """The file with its first section's length ten times larger."""
    end = data.index(b"\n", len(MAGIC))
    return data[:end] + b"0" + data[end:]


def header_offsets(data: bytes) -> list[int]:
    """Where each section's header line (`kind key crc32 length`) starts, read from the lengths
    the headers give."""
    offsets, at = [], len(MAGIC)
    while at < len(data):
        offsets.append(at)
        end = data.index(b"\n", at)
        at = end + 1 + int(data[at:end].split()[3])
    return offsets


def other_checksum_in_a_later_header(data: bytes) -> bytes:
    """The file with the CRC-32 in its second section's header one bit off: every length is
    still right, so the file reads as whole sections and only that header tells."""
    at = header_offsets(data)[1]
    end = data.index(b"\n", at)
    kind, key, checksum, length = data[at:end].split()
    wrong = b"%08x" % (int(checksum, 16) ^ 1)
    return data[:at] + b" ".join([kind, key, wrong, length]) + data[end:]


def flip_in_text(data: bytes, text: bytes) -> bytes:
    """The file with one bit flipped in the last `text` it holds ("passport" -> "qassport"):
    the file still reads as marshal data, so only the checksum can tell."""
    at = data.rindex(text)
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def cache_at(tmp_path: Path) -> Path:
    return tmp_path / "var" / "cache" / "content.marshal"


def load_twice(tree: Path, path: Path) -> tuple[ContentCache, ContentCache]:
    """Load `tree` with a cache at `path`, save it, and load again with a new cache object."""
    first = ContentCache(path)
    build_indexes(load_tree(tree, cache=first).library, LOCALES, first)
    first.save()
    second = ContentCache(path)
    return first, second


def test_a_restart_from_the_cache_gives_what_parsing_the_files_gives(
    content_copy: Path, tmp_path: Path
) -> None:
    path = cache_at(tmp_path)
    _, cache = load_twice(content_copy, path)
    cached = load_tree(content_copy, cache=cache)
    indexes = build_indexes(cached.library, LOCALES, cache)
    # Every parsed file, rendered body and index came from the cache.
    assert cache.misses == 0
    assert cache.hits == 2 * len(list(content_copy.glob("articles/*/*.md"))) + len(
        list(content_copy.glob("services/*.yml"))
    ) + 2 + len(LOCALES)

    fresh, problems = load_library(content_copy)
    assert cached.library == fresh
    assert [str(p) for p in cached.problems] == [str(p) for p in problems]
    article = fresh.articles["keep-your-passport"]
    assert cached.library.articles["keep-your-passport"].texts["my"] == article.texts["my"]
    assert isinstance(cached.library.articles["keep-your-passport"].source.updated, dt.date)
    built = build_indexes(fresh, LOCALES)
    for locale in LOCALES:
        assert indexes[locale].export() == built[locale].export()
        for query in QUERIES.get(locale, []) + QUERIES["en"]:
            for corridor in ((None, None), ("PH", "HK"), ("MM", "TH")):
                assert indexes[locale].page(query, 1, *corridor) == built[locale].page(
                    query, 1, *corridor
                ), (locale, query, corridor)


def test_an_edited_file_is_parsed_again_and_only_it(small_content: Path, tmp_path: Path) -> None:
    path = cache_at(tmp_path)
    load_twice(small_content, path)
    source = small_content / "articles" / "keep-your-passport" / "th.md"
    text = source.read_text(encoding="utf-8")
    source.write_text(
        text.replace("\ntitle: ", "\ntitle: กระต่ายสีม่วง ", 1) + "\nกระต่ายสีม่วงกินข้าว\n",
        encoding="utf-8",
    )
    cache = ContentCache(path)
    library = load_tree(small_content, cache=cache).library
    # The Thai file: its front matter and its body; then the Thai index.
    assert cache.misses == 2
    indexes = build_indexes(library, LOCALES, cache)
    assert cache.misses == 3
    thai = library.articles["keep-your-passport"].texts["th"]
    assert thai.title.startswith("กระต่ายสีม่วง ")
    assert "กระต่ายสีม่วงกินข้าว" in thai.plain
    hits = indexes["th"].page("กระต่ายสีม่วง", 1)
    assert [hit.key for hit in hits.articles] == ["keep-your-passport"]
    assert indexes["en"].page("กระต่ายสีม่วง", 1).total == 0
    cache.save()
    # What the edit left unused is gone from the file; the rest is still there.
    again = ContentCache(path)
    load_tree(small_content, cache=again)
    assert again.misses == 0


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-1000], id="truncated"),
        pytest.param(lambda data: data[:-50] + bytes([data[-50] ^ 1]) + data[-49:], id="bit"),
        pytest.param(lambda data: flip_in_text(data, b"passport"), id="bit-in-text"),
        pytest.param(lambda data: b"not a cache\n\n" + data, id="foreign"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: other_checksum_in_a_later_header(data), id="header"),
        pytest.param(lambda data: longer_first_section(data), id="length"),
    ],
)
def test_a_damaged_cache_is_ignored_and_replaced(
    small_content: Path, tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache_at(tmp_path)
    load_twice(small_content, path)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    cache = ContentCache(path)
    with caplog.at_level(logging.WARNING, logger="hub.content.cache"):
        loaded = load_tree(small_content, cache=cache)
    assert cache.hits == 0
    assert loaded.library == load_library(small_content)[0]
    build_indexes(loaded.library, LOCALES, cache)
    cache.save()
    restarted = ContentCache(path)
    load_tree(small_content, cache=restarted)
    assert restarted.misses == 0 and restarted.hits > 0


def test_changed_code_recomputes_only_its_kind(small_content: Path, tmp_path: Path) -> None:
    path = cache_at(tmp_path)
    load_twice(small_content, path)
    keys = code_keys()
    upgraded = ContentCache(path, {**keys, "markdown": "another renderer"})
    library = load_tree(small_content, cache=upgraded).library
    markdown_files = len(list(small_content.glob("articles/*/*.md")))
    assert upgraded.misses == markdown_files
    assert library == load_library(small_content)[0]
    build_indexes(library, LOCALES, upgraded)
    assert upgraded.misses == markdown_files  # the indexes' inputs did not change


def test_yaml_values_the_cache_cannot_hold_are_parsed_at_every_start(
    small_content: Path, tmp_path: Path
) -> None:
    source = small_content / "articles" / "keep-your-passport" / "en.md"
    text = source.read_text(encoding="utf-8")
    odd = "stamp: 2026-01-02 10:00:00\ntags: !!set {a, b}\nblob: !!binary aGk=\n1: one\n"
    source.write_text(text.replace("---\n", "---\n" + odd, 1), encoding="utf-8")
    path = cache_at(tmp_path)
    _, cache = load_twice(small_content, path)
    library = load_tree(small_content, cache=cache).library
    assert cache.misses == 1  # that front matter, parsed again
    assert library == load_library(small_content)[0]


def test_an_unwritable_cache_only_warns(
    small_content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the cache folder should be")
    cache = ContentCache(cache_at(tmp_path))
    library = load_tree(small_content, cache=cache).library
    with caplog.at_level(logging.WARNING, logger="hub.content.cache"):
        cache.save()
    assert "cannot be written" in caplog.text
    assert library == load_library(small_content)[0]
    assert sorted(tmp_path.iterdir()) == sorted([blocker, small_content])  # no temporary left


def served_version(client: TestClient) -> str:
    """The worker version in the CONFIG of /sw.js, as a browser gets the script."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    found = re.search(r"^const CONFIG = (\{.*?\});$", response.text, flags=re.M)
    assert found is not None
    version = json.loads(found.group(1))["version"]
    assert isinstance(version, str) and re.fullmatch(r"[0-9a-f]{12}", version)
    return version


def test_the_app_restarts_from_its_cache_with_the_same_pages_and_version(
    small_content: Path, tmp_path: Path
) -> None:
    pages = [
        "/en/articles/keep-your-passport",
        "/my/articles/keep-your-passport",
        "/th/search?q=%E0%B8%AB%E0%B8%99%E0%B8%B1%E0%B8%87%E0%B8%AA%E0%B8%B7%E0%B8%AD",
        "/en/search?q=passport+salary",
        "/km/help",
    ]
    settings = Settings(data_dir=tmp_path / "var", content_dir=small_content)
    # A restart: the first app stops before the second starts on the same data folder.
    with TestClient(create_app(settings)) as first:
        before = [first.get(page).text for page in pages]
        version = served_version(first)
    assert cache_at(tmp_path).stat().st_size > 0
    with TestClient(create_app(settings)) as second:
        assert [second.get(page).text for page in pages] == before
        assert served_version(second) == version
    # One article changed, the cache warm: browsers must be given another worker, the one an
    # app that parsed every file afresh (a new, empty data folder) gives them.
    article = small_content / "articles" / "keep-your-passport" / "en.md"
    article.write_text(
        article.read_text(encoding="utf-8") + "\nA sentence added by the CSO today.\n",
        encoding="utf-8",
    )
    with TestClient(create_app(settings)) as warm:
        assert "A sentence added by the CSO today." in warm.get(pages[0]).text
        changed = served_version(warm)
    assert changed != version
    cold = Settings(data_dir=tmp_path / "cold", content_dir=small_content)
    assert not cold.data_dir.exists()
    with TestClient(create_app(cold)) as fresh:
        assert served_version(fresh) == changed


def test_tree_version_with_known_digests_is_the_version_of_the_bytes(
    small_content: Path, tmp_path: Path
) -> None:
    loaded = load_tree(small_content)
    assert len(loaded.digests) == len(
        [p for p in small_content.rglob("*") if p.suffix in (".md", ".yml")]
    )
    assert tree_version([small_content], known=loaded.digests) == tree_version([small_content])
    # A digest that is not the file's shows: the known digests are really used.
    wrong = dict.fromkeys(loaded.digests, b"x" * 32)
    assert tree_version([small_content], known=wrong) != tree_version([small_content])
    copy = tmp_path / "copy"
    shutil.copytree(small_content, copy)
    assert tree_version([copy]) == tree_version([small_content])
