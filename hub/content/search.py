"""Per-locale full-text search that also works for scripts written without spaces."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from hub.content.library import Library
from hub.content.model import pick

# Thai, Lao, Myanmar and Khmer write words without spaces between them, so a query word
# may start anywhere; in other scripts it must start a word.
_NO_SPACE_SCRIPTS = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f]")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
WEIGHTS = (10, 3, 1)
BODY_HITS_CAP = 5
SEARCH_LIMIT = 50


def normalize(text: str) -> str:
    """Case- and diacritic-folded text; marks of Thai, Khmer or Burmese are kept."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = _LATIN_MARKS.sub("", folded).replace("đ", "d")
    return " ".join(unicodedata.normalize("NFC", folded).split())


def terms(query: str) -> list[str]:
    """The distinct normalized words of a query, in order."""
    seen: dict[str, None] = {}
    for word in normalize(query).split():
        seen.setdefault(word, None)
    return list(seen)


def _pattern(term: str) -> re.Pattern[str]:
    if _NO_SPACE_SCRIPTS.match(term):
        return re.compile(re.escape(term))
    return re.compile(r"(?<![^\W_])" + re.escape(term))


@dataclass(frozen=True)
class Document:
    """One searchable page: its normalized fields and where it lives."""

    kind: str
    key: str
    title: str
    summary: str
    fields: tuple[str, str, str]


@dataclass(frozen=True)
class Hit:
    """A search result."""

    kind: str
    key: str
    title: str
    summary: str
    score: int


class SearchIndex:
    """The searchable documents of one locale."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents = tuple(documents)

    def export(self) -> dict[str, object]:
        """The index as plain data, for the same search to run offline in the browser."""
        return {
            "weights": list(WEIGHTS),
            "body_hits_cap": BODY_HITS_CAP,
            "limit": SEARCH_LIMIT,
            "docs": [
                [doc.kind, doc.key, doc.title, doc.summary, *doc.fields] for doc in self.documents
            ],
        }

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[Hit]:
        """Documents holding every word of the query, best first."""
        words = terms(query)
        if not words:
            return []
        patterns = [_pattern(w) for w in words]
        hits: list[Hit] = []
        for doc in self.documents:
            score = 0
            for pattern in patterns:
                counts = [len(pattern.findall(field)) for field in doc.fields]
                if not any(counts):
                    break
                counts[2] = min(counts[2], BODY_HITS_CAP)
                score += sum(w * c for w, c in zip(WEIGHTS, counts, strict=True))
            else:
                hits.append(Hit(doc.kind, doc.key, doc.title, doc.summary, score))
        hits.sort(key=lambda h: (-h.score, h.title))
        return hits[:limit]


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
            )
        )
    return SearchIndex(docs)
