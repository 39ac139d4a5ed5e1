"""Search edges the mutation run of hub/content/search.py found untested: the documents a locale
indexes (titles, summaries, English names, places), tier() itself, the offline export's names,
an index restored from its state, the default scope of `search`, and the locale indexes made
default locale first, stopping when asked. No app: each test runs in milliseconds."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time

import pytest

from hub.content import load_library
from hub.content.cache import ContentCache
from hub.content.library import Library
from hub.content.search import (
    CORRIDOR,
    ELSEWHERE,
    GENERAL,
    Document,
    Indexes,
    ResultPage,
    SearchIndex,
    build_index,
    documents,
    index_key,
    tier,
)
from tests.conftest import FIXTURES

WORK_IN_HONG_KONG = """---
title: Work in Hong Kong
summary: Rules for work there.
topics: [before-you-go]
countries: [PH, HK]
updated: 2026-01-15
sources: [https://www.ilo.org/]
---
Your employer must pay on time.
"""

SHELTER = """kind: cso
name: {en: Shelter, th: ที่พัก}
description: {en: A safe bed., th: เตียงที่ปลอดภัย}
country: MY
serves: [PH, ID]
website: https://example.org/
sources:
  - url: https://example.org/
    date: 2025-06-01
    numbers: []
verification: needed
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The valid fixture tree (an article naming no country, Hong Kong's emergency number with
    an English and a Thai name and no description) plus an article naming PH and HK (written
    in that order) and a shelter in Malaysia for PH and ID with a Thai name and description."""
    root = tmp_path_factory.mktemp("search") / "content"
    shutil.copytree(FIXTURES / "valid", root)
    (root / "articles" / "work-in-hong-kong").mkdir()
    (root / "articles" / "work-in-hong-kong" / "en.md").write_text(WORK_IN_HONG_KONG, "utf-8")
    (root / "services" / "my-shelter.yml").write_text(SHELTER, "utf-8")
    loaded, problems = load_library(root, dt.date(2026, 1, 20))
    assert problems == []
    return loaded


FIRST_STEPS = Document(
    "article",
    "first-steps",
    "First steps",
    "What to do first.",
    ("First steps", "What to do first.", "Read your contract. See the help page and the topic ."),
    (),
)
WORK = Document(
    "article",
    "work-in-hong-kong",
    "Work in Hong Kong",
    "Rules for work there.",
    ("Work in Hong Kong", "Rules for work there.", "Your employer must pay on time."),
    ("HK", "PH"),
)


def test_each_locale_indexes_its_own_names_and_descriptions_and_the_english_name(
    library: Library,
) -> None:
    english = {(doc.kind, doc.key): doc for doc in documents(library, "en")}
    assert english == {
        ("article", "first-steps"): FIRST_STEPS,
        ("article", "work-in-hong-kong"): WORK,
        ("service", "hk-emergency"): Document(
            "service", "hk-emergency", "Emergency", "", ("Emergency", "", ""), ("HK",)
        ),
        ("service", "my-shelter"): Document(
            "service",
            "my-shelter",
            "Shelter",
            "A safe bed.",
            ("Shelter", "A safe bed.", ""),
            ("MY", "ID", "PH"),
        ),
    }
    thai = {(doc.kind, doc.key): doc for doc in documents(library, "th")}
    assert thai == {
        ("article", "first-steps"): FIRST_STEPS,  # no Thai text: the English one
        ("article", "work-in-hong-kong"): WORK,
        ("service", "hk-emergency"): Document(
            "service", "hk-emergency", "เหตุฉุกเฉิน", "", ("เหตุฉุกเฉิน", "", "Emergency"), ("HK",)
        ),
        ("service", "my-shelter"): Document(
            "service",
            "my-shelter",
            "ที่พัก",
            "เตียงที่ปลอดภัย",
            ("ที่พัก", "เตียงที่ปลอดภัย", "Shelter"),
            ("MY", "ID", "PH"),
        ),
    }


def test_build_index_folds_the_raw_texts_and_finds_a_service_by_its_english_name(
    library: Library,
) -> None:
    index = build_index(library, "th")
    folded = {doc.key: doc.fields for doc in index.documents}
    assert folded["my-shelter"] == ("ที่พัก", "เตียงที่ปลอดภัย", "shelter")
    assert folded["work-in-hong-kong"] == (
        "work in hong kong",
        "rules for work there.",
        "your employer must pay on time.",
    )
    hits = index.search("shelter")
    assert [(h.kind, h.key, h.title, h.summary, h.score, h.tier) for h in hits] == [
        ("service", "my-shelter", "ที่พัก", "เตียงที่ปลอดภัย", 1, CORRIDOR)
    ]
    # The summary a hit shows is the document's, and an article naming HK is of her corridor.
    hits = index.search("work", "PH", "MY")
    assert [(h.key, h.summary, h.score, h.tier) for h in hits] == [
        ("work-in-hong-kong", "Rules for work there.", 13, CORRIDOR)
    ]
    assert index.search("work", "ID", "MY") == []  # HK and PH only: another corridor's
    assert [h.key for h in index.search("work", "ID", "MY", everywhere=True)] == [
        "work-in-hong-kong"
    ]


@pytest.mark.parametrize(
    ("kind", "places", "origin", "destination", "expected"),
    [
        # Without a corridor, everything is hers.
        ("article", (), None, None, CORRIDOR),
        ("article", ("HK",), None, None, CORRIDOR),
        ("service", ("HK", "PH"), None, None, CORRIDOR),
        # An article naming no country is general; one naming hers (either end) is hers.
        ("article", (), "PH", "HK", GENERAL),
        ("article", (), "PH", None, GENERAL),
        ("article", ("HK", "PH"), "PH", None, CORRIDOR),
        ("article", ("HK", "PH"), None, "HK", CORRIDOR),
        ("article", ("HK", "PH"), "ID", "HK", CORRIDOR),
        ("article", ("HK",), "PH", None, ELSEWHERE),
        ("article", ("HK", "PH"), "ID", "MY", ELSEWHERE),
        # A service in her destination for everyone, or for her origin, or any origin when hers
        # is not known.
        ("service", ("HK",), "ID", "HK", CORRIDOR),
        ("service", ("HK",), None, "HK", CORRIDOR),
        ("service", ("MY", "ID", "PH"), "PH", "MY", CORRIDOR),
        ("service", ("MY", "ID", "PH"), None, "MY", CORRIDOR),
        ("service", ("MY", "ID", "PH"), "VN", "MY", ELSEWHERE),
        ("service", ("HK",), "ID", "MY", ELSEWHERE),
        ("service", ("MY", "ID", "PH"), "PH", None, ELSEWHERE),
        # Her origin country's service for its own people, wherever she works.
        ("service", ("PH", "PH"), "PH", "HK", CORRIDOR),
        ("service", ("PH", "PH"), "PH", None, CORRIDOR),
        ("service", ("PH", "ID", "PH"), "PH", "MY", CORRIDOR),
        ("service", ("PH",), "PH", "HK", ELSEWHERE),  # in PH, but for everyone there
        ("service", ("PH", "ID"), "PH", "HK", ELSEWHERE),  # in PH, for Indonesians
        ("service", ("PH", "PH"), None, "PH", CORRIDOR),  # her destination's
        ("service", ("PH", "PH"), "ID", "PH", ELSEWHERE),
    ],
)
def test_tier_ranks_one_document_for_one_corridor(
    kind: str,
    places: tuple[str, ...],
    origin: str | None,
    destination: str | None,
    expected: int,
) -> None:
    assert tier(kind, places, origin, destination) == expected
    # The index ranks the same document alike.
    index = SearchIndex([Document(kind, "d", "T", "", ("word", "", ""), places)])
    hits = index.search("word", origin, destination, everywhere=True)
    assert [h.tier for h in hits] == [expected]


def test_the_offline_export_names_each_setting_as_the_browser_reads_it() -> None:
    index = SearchIndex([Document("article", "a", "Title", "Sum", ("title", "sum", "body"))])
    data = index.export()
    assert sorted(data) == [
        "body_hits_cap",
        "docs",
        "max_page_digits",
        "no_space",
        "per_page",
        "text",
        "weights",
    ]
    assert data["weights"] == [10, 3, 1]
    assert data["body_hits_cap"] == 5
    assert data["per_page"] == 10
    assert data["max_page_digits"] == 9
    assert data["no_space"] == "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f"
    assert sorted(data["text"]) == [
        "digit_zeros",
        "latin_marks",
        "myanmar",
        "whitespace",
        "zero_width",
    ]
    assert data["docs"] == [["article", "a", "Title", "Sum", "title", "sum", "body", []]]
    burmese = SearchIndex([Document("article", "m", "M", "", ("မြန်မာ", "", ""))]).export()
    assert sorted(burmese) == [
        "body_hits_cap",
        "docs",
        "max_page_digits",
        "no_space",
        "per_page",
        "text",
        "weights",
        "zawgyi",
    ]


def test_an_index_restored_from_its_state_keeps_its_fields_as_given() -> None:
    # Fields given as normalized are taken as they are: read back unchanged, never folded.
    docs = [Document("article", "a", "Hộ chiếu", "", ("Hộ chiếu", "", ""))]
    restored = SearchIndex.restore(docs, SearchIndex(docs).state())
    assert restored.documents == (Document("article", "a", "Hộ chiếu", "", ("Hộ chiếu", "", "")),)
    raw = SearchIndex.restore(docs, SearchIndex(docs, folded=False).state())
    assert raw.documents == (Document("article", "a", "Hộ chiếu", "", ("ho chieu", "", "")),)


def test_search_leaves_other_corridors_out_unless_asked() -> None:
    index = SearchIndex(
        [
            Document("article", "hk", "In Hong Kong", "", ("visa", "", ""), ("HK",)),
            Document("article", "all", "Anywhere", "", ("visa", "", "")),
        ]
    )
    assert [(h.key, h.tier) for h in index.search("visa", "PH", "MY")] == [("all", GENERAL)]
    assert [(h.key, h.tier) for h in index.search("visa", "PH", "MY", everywhere=True)] == [
        ("all", GENERAL),
        ("hk", ELSEWHERE),
    ]


class _Recording(Indexes):
    """Indexes that note the order locales are made in, and can set `stop` after one."""

    def __init__(self, library: Library, locales: tuple[str, ...], stop_after: int = 0) -> None:
        super().__init__(library, locales)
        self.made: list[str] = []
        self.stop = threading.Event()
        self.stop_after = stop_after

    def _build(self, locale: str) -> SearchIndex:
        self.made.append(locale)
        if len(self.made) == self.stop_after:
            self.stop.set()
        return SearchIndex([Document("article", locale, locale, "", (locale, "", ""))])


def test_indexes_are_made_default_locale_first_then_in_the_order_given(
    library: Library,
) -> None:
    indexes = _Recording(library, ("th", "en", "km"))  # the fixture's default locale is en
    assert list(indexes) == ["th", "en", "km"]
    assert len(indexes) == 3
    assert indexes.ready("th") is None
    assert indexes.build_all() is True
    assert indexes.made == ["en", "th", "km"]
    made = indexes.ready("th")
    assert made is not None and [doc.key for doc in made.documents] == ["th"]
    assert indexes["th"] is made  # made once, then kept
    assert indexes.made == ["en", "th", "km"]


def test_building_every_index_stops_when_asked(library: Library) -> None:
    indexes = _Recording(library, ("th", "en", "km"))
    indexes.stop.set()
    assert indexes.build_all(indexes.stop) is False
    assert indexes.made == []
    assert [indexes.ready(locale) for locale in ("th", "en", "km")] == [None, None, None]
    halfway = _Recording(library, ("th", "en", "km"), stop_after=1)
    assert halfway.build_all(halfway.stop) is False
    assert halfway.made == ["en"]
    going = _Recording(library, ("th", "en", "km"))
    assert going.build_all(going.stop) is True
    assert going.made == ["en", "th", "km"]


def test_an_index_is_taken_from_the_cache_when_its_documents_are_the_same(
    library: Library,
) -> None:
    cache = ContentCache(None, {"index": "1"})
    first = Indexes(library, ("th",), cache)["th"]
    assert (cache.hits, cache.misses) == (0, 1)
    again = Indexes(library, ("th",), cache)["th"]
    assert (cache.hits, cache.misses) == (1, 1)
    assert again is not first
    assert again.documents == first.documents
    assert [h.key for h in again.search("shelter")] == ["my-shelter"]


def test_equal_documents_have_one_key_however_their_texts_were_made() -> None:
    # A title and its field may be one string object (as `documents` makes them) or two equal
    # ones (as texts read back from the content cache may be): the key must not tell.
    shared = "".join(["Pass", "port"])
    copy = "".join(["Pass", "port"])
    one = [Document("article", "a", shared, "", (shared, "", ""), ("HK",))]
    two = [Document("article", "a", shared, "", (copy, "", ""), ("HK",))]
    assert index_key(one) == index_key(two)
    assert len(index_key(one)) == 64 and int(index_key(one), 16) >= 0
    assert index_key(one) != index_key([Document("article", "a", shared, "", (shared, "", ""))])


def test_each_service_counts_only_where_it_is_and_for_whom() -> None:
    # Numbered by title: A and B in Hong Kong (for Indonesians, for Filipinos), C in Malaysia
    # for everyone, D an article naming no country. No set may take another's documents.
    index = SearchIndex(
        [
            Document("service", "a", "A", "", ("help", "", ""), ("HK", "ID")),
            Document("service", "b", "B", "", ("help", "", ""), ("HK", "PH")),
            Document("service", "c", "C", "", ("help", "", ""), ("MY",)),
            Document("article", "d", "D", "", ("help", "", "")),
        ]
    )

    def tiers(origin: str, destination: str) -> dict[str, int]:
        hits = index.search("help", origin, destination, everywhere=True)
        return {h.key: h.tier for h in hits}

    assert tiers("PH", "HK") == {"a": ELSEWHERE, "b": CORRIDOR, "c": ELSEWHERE, "d": GENERAL}
    assert tiers("ID", "MY") == {"a": ELSEWHERE, "b": ELSEWHERE, "c": CORRIDOR, "d": GENERAL}
    assert tiers("ID", "HK") == {"a": CORRIDOR, "b": ELSEWHERE, "c": ELSEWHERE, "d": GENERAL}
    # Countries no document names or serves, at either end or both.
    nowhere = {"a": ELSEWHERE, "b": ELSEWHERE, "c": ELSEWHERE, "d": GENERAL}
    assert tiers("VN", "JP") == nowhere
    assert tiers("VN", "HK") == nowhere
    assert tiers("ID", "JP") == nowhere
    # From a country with services there but none for its own people.
    assert tiers("HK", "MY") == {"a": ELSEWHERE, "b": ELSEWHERE, "c": CORRIDOR, "d": GENERAL}


def test_a_document_with_no_place_that_is_no_article_does_not_hide_the_next() -> None:
    # Not an article, so not general; with no country, never of her corridor. The documents
    # numbered after it keep their places.
    index = SearchIndex(
        [
            Document("page", "p", "A page", "", ("help", "", "")),
            Document("article", "hk", "Hong Kong", "", ("help", "", ""), ("HK",)),
            Document("service", "s", "Shelter", "", ("help", "", ""), ("HK",)),
        ]
    )
    hits = index.search("help", "PH", "HK", everywhere=True)
    assert [(h.key, h.tier) for h in hits] == [("hk", CORRIDOR), ("s", CORRIDOR), ("p", ELSEWHERE)]


def _summary(page: ResultPage) -> tuple[object, ...]:
    return (
        page.number,
        page.total,
        page.pages,
        page.exists,
        [h.key for h in page.services],
        [h.key for h in page.articles],
        page.elsewhere,
        page.filtered,
    )


def test_result_pages_count_what_is_shown_and_what_her_corridor_leaves_out() -> None:
    # Eleven general articles, a shelter in Malaysia for everyone, an article on Hong Kong.
    general = [Document("article", f"a{n:02}", f"A{n:02}", "", ("help", "", "")) for n in range(11)]
    index = SearchIndex(
        [
            *general,
            Document("service", "s", "S", "", ("help", "", ""), ("MY",)),
            Document("article", "h", "H", "", ("help", "", ""), ("HK",)),
        ]
    )
    first_nine = [f"a{n:02}" for n in range(9)]
    assert _summary(index.page("help", 1, "PH", "MY")) == (
        1,
        12,
        2,
        True,
        ["s"],
        first_nine,
        1,
        True,
    )
    assert _summary(index.page("help", 2, "PH", "MY")) == (
        2,
        12,
        2,
        True,
        [],
        ["a09", "a10"],
        1,
        True,
    )
    assert _summary(index.page("help", 3, "PH", "MY")) == (3, 12, 2, False, [], [], 1, True)
    assert _summary(index.page("help", 2, "PH", "MY", everywhere=True)) == (
        2,
        13,
        2,
        True,
        [],
        ["a09", "a10", "h"],
        0,
        False,
    )
    # Without a corridor nothing is left out; with one end of it, the filter is on.
    assert _summary(index.page("help", 1)) == (1, 13, 2, True, [], [*first_nine, "a09"], 0, False)
    assert _summary(index.page("help", 1, "PH")) == (
        1,
        11,
        2,
        True,
        [],
        [*first_nine, "a09"],
        2,
        True,
    )
    assert _summary(index.page("help", 1, None, "MY")) == (
        1,
        12,
        2,
        True,
        ["s"],
        first_nine,
        1,
        True,
    )
    # No result: one page, which exists and is empty; page 0 holds nothing.
    assert _summary(index.page("zzz", 1)) == (1, 0, 1, True, [], [], 0, False)
    assert _summary(index.page("zzz", 2, "PH", "MY")) == (2, 0, 1, False, [], [], 0, True)
    assert _summary(index.page("help", 0)) == (0, 13, 2, True, [], [], 0, False)
    hits = index.page("help", 2, "PH", "MY").hits
    assert [(h.key, h.score, h.tier) for h in hits] == [("a09", 10, GENERAL), ("a10", 10, GENERAL)]


class _Slow(Indexes):
    """Indexes whose making waits until released, counting how often each locale is made."""

    def __init__(self, library: Library) -> None:
        super().__init__(library, ("th",))
        self.made: list[str] = []
        self.building = threading.Event()
        self.release = threading.Event()

    def _build(self, locale: str) -> SearchIndex:
        self.made.append(locale)
        self.building.set()
        self.release.wait(5)
        return SearchIndex([Document("article", locale, locale, "", (locale, "", ""))])


def test_a_second_caller_waits_for_the_first_callers_index(library: Library) -> None:
    indexes = _Slow(library)
    got: list[SearchIndex] = []
    first = threading.Thread(target=lambda: got.append(indexes["th"]))
    second = threading.Thread(target=lambda: got.append(indexes["th"]))
    first.start()
    assert indexes.building.wait(5)
    second.start()  # finds no index yet, and waits for the lock the first one holds
    time.sleep(0.2)
    indexes.release.set()
    first.join(5)
    second.join(5)
    assert indexes.made == ["th"]
    assert len(got) == 2 and got[0] is got[1]
