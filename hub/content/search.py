"""Per-locale full-text search, her corridor first, for scripts written with or without spaces.

Order of results (the same offline, in static/js/search.js):
1. tier: what concerns her corridor (0), then general articles (1), then other corridors (2);
2. score: title hits x10, summary hits x3, body hits x1 (at most 5 body hits per word);
3. title, then kind and key, by code point, so equal results keep one stable order.
With a corridor chosen, tier 2 is left out unless the reader asks for all countries.
A page holds PER_PAGE results of that order, shown as its services, then its articles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.content import text as textmod
from hub.content.library import Library
from hub.content.model import pick

# Thai, Lao, Myanmar and Khmer write words without spaces between them, so a query word
# may start anywhere; in other scripts it must start a word.
NO_SPACE_SCRIPTS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f"
_NO_SPACE_START = re.compile(f"[{NO_SPACE_SCRIPTS}]")
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


def _pattern(term: str) -> re.Pattern[str]:
    if _NO_SPACE_START.match(term):
        return re.compile(re.escape(term))
    return re.compile(r"(?<![^\W_])" + re.escape(term))


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
    """One searchable page: its normalized fields, where it lives and which countries it is for."""

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


class SearchIndex:
    """The searchable documents of one locale."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents = tuple(documents)
        self.burmese = any(textmod.has_myanmar(f) for doc in self.documents for f in doc.fields)

    def export(self) -> dict[str, Any]:
        """The index as plain data, for the same search to run offline in the browser.

        Each doc is [kind, key, title, summary, title, summary and body folded, places].
        The Zawgyi model comes only with an index holding Burmese text: elsewhere a query
        with Burmese letters finds nothing, converted or not.
        """
        data: dict[str, Any] = {
            "weights": list(WEIGHTS),
            "body_hits_cap": BODY_HITS_CAP,
            "per_page": PER_PAGE,
            "max_page_digits": MAX_PAGE_DIGITS,
            "no_space": NO_SPACE_SCRIPTS,
            "text": textmod.export(),
            "docs": [
                [doc.kind, doc.key, doc.title, doc.summary, *doc.fields, list(doc.places)]
                for doc in self.documents
            ],
        }
        if self.burmese:
            data["zawgyi"] = textmod.zawgyi().export()
        return data

    def search(
        self,
        query: str,
        origin: str | None = None,
        destination: str | None = None,
        *,
        everywhere: bool = False,
    ) -> list[Hit]:
        """Documents holding every word of the query, in the order of the module docstring."""
        words = terms(query)
        if not words:
            return []
        patterns = [(w, _pattern(w)) for w in words]
        hits: list[Hit] = []
        for doc in self.documents:
            score = 0
            for word, pattern in patterns:
                # A plain substring test first: most documents lack the word, and this is cheap.
                counts = [len(pattern.findall(f)) if word in f else 0 for f in doc.fields]
                if not any(counts):
                    break
                counts[2] = min(counts[2], BODY_HITS_CAP)
                score += sum(w * c for w, c in zip(WEIGHTS, counts, strict=True))
            else:
                rank = tier(doc.kind, doc.places, origin, destination)
                hits.append(Hit(doc.kind, doc.key, doc.title, doc.summary, score, rank))
        if not everywhere:
            hits = [h for h in hits if h.tier != ELSEWHERE]
        hits.sort(key=lambda h: (h.tier, -h.score, h.title, h.kind, h.key))
        return hits

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
        hits = self.search(query, origin, destination, everywhere=True)
        corridor = origin is not None or destination is not None
        shown = hits if everywhere else [h for h in hits if h.tier != ELSEWHERE]
        pages = max(1, -(-len(shown) // PER_PAGE))
        chosen = tuple(shown[(number - 1) * PER_PAGE : number * PER_PAGE])
        return ResultPage(
            number=number,
            total=len(shown),
            pages=pages,
            exists=number <= pages,
            services=tuple(h for h in chosen if h.kind == "service"),
            articles=tuple(h for h in chosen if h.kind == "article"),
            elsewhere=len(hits) - len(shown),
            filtered=corridor and not everywhere,
            hits=chosen,
        )


def build_index(library: Library, locale: str) -> SearchIndex:
    """The index of every article and service as a reader of `locale` sees them."""
    docs: list[Document] = []
    for article in library.articles.values():
        text = article.text(locale)
        docs.append(
            Document(
                "article",
                article.slug,
                text.title,
                text.summary,
                (normalize(text.title), normalize(text.summary), normalize(text.plain)),
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
                (normalize(name), normalize(description), normalize(english)),
                (service.country, *sorted(service.serves)),
            )
        )
    return SearchIndex(docs)
