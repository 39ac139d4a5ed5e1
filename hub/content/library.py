"""The in-memory library of content, and the questions the pages ask of it."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.content.model import Article, Service, Site, Topic

# Order of the help page: what saves a life first, then her own people, then the rest.
HELP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("emergency", ("emergency", "police")),
    ("home-hotline", ("hotline",)),
    ("embassy", ("embassy", "labour-attache")),
    ("local-hotline", ("hotline",)),
    ("shelter", ("shelter",)),
    ("legal-aid", ("legal-aid",)),
    ("health", ("health",)),
    ("cso", ("cso",)),
)


@dataclass(frozen=True)
class Library:
    """Everything loaded from the content tree."""

    site: Site
    topics: tuple[Topic, ...]
    articles: Mapping[str, Article]
    services: Mapping[str, Service]
    _topic_ids: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_topic_ids", frozenset(t.id for t in self.topics))

    def topic(self, topic_id: str) -> Topic | None:
        """The topic with this id, if any."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def articles_in(
        self, topic_id: str, origin: str | None = None, destination: str | None = None
    ) -> list[Article]:
        """Articles of a topic that concern the corridor, in a stable order."""
        return [
            a
            for a in self.articles.values()
            if topic_id in a.topics and a.fits(origin, destination)
        ]

    def help_groups(
        self, origin: str | None, destination: str | None, *, at_home: bool = False
    ) -> list[tuple[str, list[Service]]]:
        """The directory for a corridor, grouped in the order a reader needs it.

        `at_home`: she is in her own country now, so the emergency numbers are its own, and
        its line for its workers follows them.
        """
        groups: list[tuple[str, list[Service]]] = []
        for group, kinds in HELP_GROUPS:
            if group == "home-hotline":
                # Her own country's lines for its people abroad, not the ones it runs for the
                # migrant workers it hosts (Thailand is both an origin and a destination).
                country = origin
                items = [
                    s
                    for s in self.services.values()
                    if s.country == country and origin is not None and origin in s.serves
                ]
            else:
                country = origin if at_home and group == "emergency" else destination
                items = [
                    s
                    for s in self.services.values()
                    if s.country == country and s.serves_origin(origin)
                ]
            if country is None:
                continue
            if group == "embassy":
                items = [s for s in items if origin is not None and origin in s.serves]
            chosen = [s for s in items if s.kind in kinds]
            chosen.sort(key=lambda s: (s.verification_needed, kinds.index(s.kind), s.id))
            if chosen:
                groups.append((group, chosen))
        return groups

    def resolves(self, href: str, slug: str) -> bool:
        """Whether a link in article `slug` leads somewhere real."""
        if href.startswith(("http://", "https://", "mailto:", "tel:", "#")):
            return True
        if ":" in href.split("/", 1)[0]:
            return False
        path = resolve_link(href, f"/en/articles/{slug}/")
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in self.site.locales:
            return False
        rest = parts[1:]
        if not rest:
            return True
        if len(rest) == 1:
            return rest[0] in {"help", "search", "safety"}
        if len(rest) == 2:
            kind, name = rest
            return (
                (kind == "articles" and name in self.articles)
                or (kind == "topics" and name in self._topic_ids)
                or (kind == "services" and name in self.services)
            )
        return False


def resolve_link(href: str, base: str) -> str:
    """The absolute path a relative link on page `base` leads to."""
    target = href.split("#", 1)[0].split("?", 1)[0]
    if not target:
        return base
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
    return joined + ("/" if target.endswith("/") and not joined.endswith("/") else "")
