"""Per-locale full-text search, her corridor first, for scripts written with or without spaces.

Order of results (the same offline, in static/js/search.js):
1. tier: what concerns her corridor (0), then general articles (1), then other corridors (2);
2. score: title hits x10, summary hits x3, body hits x1 (at most 5 body hits per word);
3. title, then kind and key, by code point, so equal results keep one stable order.
With a corridor chosen, tier 2 is left out unless the reader asks for all countries.
A page holds PER_PAGE results of that order, shown as its services, then its articles.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hub.content import text as textmod
from hub.content.bitslice import Planes, add, cap, levels, members, nonzero, scale
from hub.content.cache import ContentCache
from hub.content.library import Library
from hub.content.model import pick
from hub.content.wordindex import NO_SPACE_SCRIPTS, WordIndex, fold_texts

WEIGHTS = (10, 3, 1)
BODY_HITS_CAP = 5
PER_PAGE = 10
MAX_PAGE_DIGITS = 9
_PAGE_NUMBER = re.compile(f"[0-9]{{1,{MAX_PAGE_DIGITS}}}")

CORRIDOR, GENERAL, ELSEWHERE = 0, 1, 2


def normalize(text: str) -> str:
    """Text folded for matching: zero-width characters gone, case and Latin accents folded."""
    return textmod.fold(text)


def terms(query: str) -> list[str]:
    """The distinct normalized words of a query, in order (Zawgyi read as Unicode)."""
    seen: dict[str, None] = {}
    for word in normalize(textmod.query_text(query)).split(" "):
        if word:
            seen.setdefault(word, None)
    return list(seen)


def tier(kind: str, places: tuple[str, ...], origin: str | None, destination: str | None) -> int:
    """How closely a document concerns the corridor: CORRIDOR, GENERAL or ELSEWHERE.

    An article concerns her when it names her origin or destination, and is general when it
    names no country. A service (places = its country, then the origins it serves, none = all)
    concerns her when it is in her destination and serves her origin, or is her origin
    country's service for its own people. Without a corridor everything is CORRIDOR.
    """
    if origin is None and destination is None:
        return CORRIDOR
    if kind == "article":
        if not places:
            return GENERAL
        return CORRIDOR if {origin, destination} & set(places) else ELSEWHERE
    country, serves = places[0], places[1:]
    if (
        destination is not None
        and country == destination
        and (not serves or origin is None or origin in serves)
    ):
        return CORRIDOR
    if origin is not None and country == origin and origin in serves:
        return CORRIDOR
    return ELSEWHERE


@dataclass(frozen=True)
class Document:
    """One searchable page: its title, summary and body fields (normalized text, or raw for an
    index that normalizes them), where it lives and which countries it is for."""

    kind: str
    key: str
    title: str
    summary: str
    fields: tuple[str, str, str]
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """A search result."""

    kind: str
    key: str
    title: str
    summary: str
    score: int
    tier: int = CORRIDOR


@dataclass(frozen=True)
class ResultPage:
    """One page of results: its services and articles, and where it stands among the pages."""

    number: int
    total: int
    pages: int
    exists: bool
    services: tuple[Hit, ...] = ()
    articles: tuple[Hit, ...] = ()
    elsewhere: int = 0
    filtered: bool = False
    hits: tuple[Hit, ...] = field(default=(), repr=False)


def page_number(raw: str | None) -> int | None:
    """A page number from the URL: 1 when absent or empty, None when not a whole number >= 1."""
    if raw is None or raw == "":
        return 1
    if not _PAGE_NUMBER.fullmatch(raw):
        return None
    number = int(raw)
    return number if number >= 1 else None


class _Places:
    """Documents (numbered bits) by kind and country, so a corridor's tiers take a few steps."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.everyone = (1 << len(documents)) - 1
        self.general = 0  # articles naming no country
        self.services = 0  # every document that is not an article (tier() treats it so)
        self.serve_all = 0  # services for everyone (no origins listed)
        self.named: dict[str, int] = {}  # articles naming a country
        self.located: dict[str, int] = {}  # services in a country
        self.serving: dict[str, int] = {}  # services for the people of a country
        for number, doc in enumerate(documents):
            bit = 1 << number
            if doc.kind == "article":
                if not doc.places:
                    self.general |= bit
                for country in doc.places:
                    self.named[country] = self.named.get(country, 0) | bit
                continue
            self.services |= bit
            if not doc.places:
                continue
            self.located[doc.places[0]] = self.located.get(doc.places[0], 0) | bit
            if len(doc.places) == 1:
                self.serve_all |= bit
            for country in doc.places[1:]:
                self.serving[country] = self.serving.get(country, 0) | bit

    def state(self) -> tuple[Any, ...]:
        """The sets as plain values, for `restore`."""
        return (
            self.everyone,
            self.general,
            self.services,
            self.serve_all,
            self.named,
            self.located,
            self.serving,
        )

    @classmethod
    def restore(cls, state: tuple[Any, ...]) -> _Places:
        """The sets whose `state()` this was."""
        places = cls.__new__(cls)
        (
            places.everyone,
            places.general,
            places.services,
            places.serve_all,
            places.named,
            places.located,
            places.serving,
        ) = state
        return places

    def tiers(self, origin: str | None, destination: str | None) -> tuple[int, int, int]:
        """The documents of tier CORRIDOR, GENERAL and ELSEWHERE, as tier() ranks them."""
        if origin is None and destination is None:
            return self.everyone, 0, 0
        mine = 0
        for country in (origin, destination):
            if country is not None:
                mine |= self.named.get(country, 0)
        if destination is not None:
            serves_her = self.serve_all | (
                self.services if origin is None else self.serving.get(origin, 0)
            )
            mine |= self.located.get(destination, 0) & serves_her
        if origin is not None:
            mine |= self.located.get(origin, 0) & self.serving.get(origin, 0)
        return mine, self.general, self.everyone & ~(mine | self.general)


class SearchIndex:
    """The searchable documents of one locale, with the word index that finds and scores them.

    Documents are numbered in the order that breaks ties (title, kind, key), so the bits of a
    set of documents, read upward, are already in result order within one tier and score.
    """

    def __init__(self, documents: Iterable[Document], *, folded: bool = True) -> None:
        """Index the documents. Their fields are normalized text, or with `folded` False raw
        text, normalized here word by word and again only when `documents` is read."""
        self._documents = tuple(documents)
        self._folded = folded
        ranked = sorted(self._documents, key=lambda d: (d.title, d.kind, d.key))
        self._ranked = [(d.kind, d.key, d.title, d.summary) for d in ranked]
        self._words = WordIndex(
            [d.fields for d in ranked], (None, None, BODY_HITS_CAP), raw=not folded
        )
        self._places = _Places(ranked)
        # Every Burmese letter of the fields is in a word of the unspaced vocabulary.
        self.burmese = textmod.has_myanmar(self._words.unspaced_text)

    def state(self) -> tuple[Any, ...]:
        """The index without its documents, as plain values (tuples, lists, dicts, text and
        ints), for `restore`."""
        return (
            self._folded,
            self._ranked,
            self._words.state(),
            self._places.state(),
            self.burmese,
        )

    @classmethod
    def restore(cls, documents: Iterable[Document], state: tuple[Any, ...]) -> SearchIndex:
        """The index of `documents` whose `state()` this was, without indexing them again."""
        index = cls.__new__(cls)
        index._documents = tuple(documents)
        folded, ranked, words, places, burmese = state
        index._folded = folded
        index._ranked = ranked
        index._words = WordIndex.restore(words)
        index._places = _Places.restore(places)
        index.burmese = burmese
        return index

    @property
    def documents(self) -> tuple[Document, ...]:
        """The documents with normalized fields (normalized on each read if given raw)."""
        if self._folded:
            return self._documents
        fields = fold_texts([text for doc in self._documents for text in doc.fields])
        return tuple(
            replace(doc, fields=(fields[3 * n], fields[3 * n + 1], fields[3 * n + 2]))
            for n, doc in enumerate(self._documents)
        )

    def export(self) -> dict[str, Any]:
        """The index as plain data, for the same search to run offline in the browser.

        Each doc is [kind, key, title, summary, title, summary and body folded, places].
        The Zawgyi model comes only with an index holding Burmese text: elsewhere a query
        with Burmese letters finds nothing, converted or not.
        """
        documents = self.documents
        data: dict[str, Any] = {
            "weights": list(WEIGHTS),
            "body_hits_cap": BODY_HITS_CAP,
            "per_page": PER_PAGE,
            "max_page_digits": MAX_PAGE_DIGITS,
            "no_space": NO_SPACE_SCRIPTS,
            "text": textmod.export(),
            "docs": [
                [doc.kind, doc.key, doc.title, doc.summary, *doc.fields, list(doc.places)]
                for doc in documents
            ],
        }
        if self.burmese:
            data["zawgyi"] = textmod.zawgyi().export()
        return data

    def _score(self, words: list[str]) -> tuple[int, Planes]:
        """The documents holding every word, and every document's score as planes."""
        everyone = self._places.everyone
        found = everyone
        score: Planes = ()
        for word in words:
            counts = self._words.counts(word)
            found &= nonzero(counts[0]) | nonzero(counts[1]) | nonzero(counts[2])
            if not found:
                return 0, ()
            capped = (counts[0], counts[1], cap(counts[2], BODY_HITS_CAP, everyone))
            for weight, planes in zip(WEIGHTS, capped, strict=True):
                score = add(score, scale(planes, weight))
        return found, score

    def _ordered(
        self, query: str, origin: str | None, destination: str | None, everywhere: bool
    ) -> tuple[list[tuple[int, int]], Planes]:
        """(tier, documents) of the matches in the tiers shown, in tier order, and the scores."""
        words = terms(query)
        found, score = self._score(words) if words else (0, ())
        tiers = self._places.tiers(origin, destination)
        shown = tiers if everywhere else tiers[:ELSEWHERE]
        return [(rank, found & docs) for rank, docs in enumerate(shown)], score

    def _hits(
        self, groups: list[tuple[int, int]], score: Planes, start: int, stop: int
    ) -> list[Hit]:
        """Results `start` to `stop` (exclusive) of the order: tier, score, then number."""
        hits: list[Hit] = []
        seen = 0
        for rank, group in groups:
            size = group.bit_count()
            if seen + size <= start:
                seen += size
                continue
            for value, docs in levels(group, score):
                size = docs.bit_count()
                if seen + size <= start:
                    seen += size
                    continue
                for number in members(docs):
                    if seen >= start:
                        kind, key, title, summary = self._ranked[number]
                        hits.append(Hit(kind, key, title, summary, value, rank))
                        if len(hits) >= stop - start:
                            return hits
                    seen += 1
        return hits

    def search(
        self,
        query: str,
        origin: str | None = None,
        destination: str | None = None,
        *,
        everywhere: bool = False,
    ) -> list[Hit]:
        """Documents holding every word of the query, in the order of the module docstring."""
        groups, score = self._ordered(query, origin, destination, everywhere)
        return self._hits(groups, score, 0, self._places.everyone.bit_length())

    def page(
        self,
        query: str,
        number: int,
        origin: str | None = None,
        destination: str | None = None,
        *,
        everywhere: bool = False,
    ) -> ResultPage:
        """Page `number` (from 1) of the results, with how many were left out by the corridor."""
        groups, score = self._ordered(query, origin, destination, True)
        counts = [group.bit_count() for _, group in groups]
        corridor = origin is not None or destination is not None
        shown = groups if everywhere else groups[:ELSEWHERE]
        total = sum(counts[: len(shown)])
        pages = max(1, -(-total // PER_PAGE))
        first = (number - 1) * PER_PAGE
        chosen = tuple(self._hits(shown, score, first, first + PER_PAGE)) if number >= 1 else ()
        return ResultPage(
            number=number,
            total=total,
            pages=pages,
            exists=number <= pages,
            services=tuple(h for h in chosen if h.kind == "service"),
            articles=tuple(h for h in chosen if h.kind == "article"),
            elsewhere=sum(counts) - total,
            filtered=corridor and not everywhere,
            hits=chosen,
        )


def _document_state(doc: Document) -> tuple[Any, ...]:
    return (doc.kind, doc.key, doc.title, doc.summary, doc.fields, doc.places)


def build_index(library: Library, locale: str) -> SearchIndex:
    """The index of every article and service as a reader of `locale` sees them."""
    return SearchIndex(documents(library, locale), folded=False)


def documents(library: Library, locale: str) -> list[Document]:
    """Every article and service as a reader of `locale` sees them, with raw text fields."""
    docs: list[Document] = []
    for article in library.articles.values():
        text = article.text(locale)
        docs.append(
            Document(
                "article",
                article.slug,
                text.title,
                text.summary,
                (text.title, text.summary, text.plain),
                tuple(sorted(article.countries)),
            )
        )
    for service in library.services.values():
        name = pick(service.name, locale)
        description = pick(service.description, locale) if service.description else ""
        english = service.name.get("en", "") if locale != "en" else ""
        docs.append(
            Document(
                "service",
                service.id,
                name,
                description,
                (name, description, english),
                (service.country, *sorted(service.serves)),
            )
        )
    # Raw texts: the index folds each distinct word once, and keeps no folded copy of them.
    return docs


def index_key(docs: Sequence[Document]) -> str:
    """The hex SHA-256 of the documents: two lists index alike when their keys are equal."""
    # Version 2 writes equal values as equal bytes; later ones share repeated objects by
    # reference, which depends on how the values were made.
    data = marshal.dumps([_document_state(doc) for doc in docs], 2)
    return hashlib.sha256(data).hexdigest()


class Indexes(Mapping[str, SearchIndex]):
    """The search index of each locale, made when first asked for (blocking: call from a worker
    thread where a reader waits), and taken from `cache` when it holds one for the same
    documents. A second caller for one locale waits for the first one's index."""

    def __init__(
        self, library: Library, locales: Iterable[str], cache: ContentCache | None = None
    ) -> None:
        self._library = library
        self._cache = cache
        self._locks = {locale: threading.Lock() for locale in locales}
        self._built: dict[str, SearchIndex] = {}

    def ready(self, locale: str) -> SearchIndex | None:
        """The locale's index if it is made already, else None."""
        return self._built.get(locale)

    def __getitem__(self, locale: str) -> SearchIndex:
        found = self._built.get(locale)
        if found is not None:
            return found
        with self._locks[locale]:
            found = self._built.get(locale)
            if found is None:
                found = self._built[locale] = self._build(locale)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._locks)

    def __len__(self) -> int:
        return len(self._locks)

    def build_all(self, stop: threading.Event | None = None) -> bool:
        """Make every locale's index not made yet, the site's default locale first; False if
        `stop` was set before the last."""
        default = self._library.site.default_locale
        for locale in sorted(self._locks, key=lambda code: code != default):
            if stop is not None and stop.is_set():
                return False
            self[locale]
        return True

    def _build(self, locale: str) -> SearchIndex:
        docs = documents(self._library, locale)
        if self._cache is None:
            return SearchIndex(docs, folded=False)
        key = index_key(docs)
        kept = self._cache.get("index", key)
        if kept is not None:
            return SearchIndex.restore(docs, kept)
        index = SearchIndex(docs, folded=False)
        self._cache.put("index", key, index.state())
        return index


def build_indexes(
    library: Library, locales: Iterable[str], cache: ContentCache | None = None
) -> Indexes:
    """Every locale's index made now (see Indexes), each taken from `cache` when it holds it."""
    indexes = Indexes(library, locales, cache)
    indexes.build_all()
    return indexes
