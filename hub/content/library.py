"""The in-memory library of content, and the questions the pages ask of it."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.content.model import Article, Service, Site, Topic


def reaches_abroad(service: Service) -> bool:
    """Whether workers abroad can reach the entry: it has a full number (`phone` or
    `phone_from_abroad`; a short code connects only inside its country), or it is still to be
    verified and shown without numbers."""
    return service.verification_needed or bool(service.phone or service.phone_from_abroad)


HelpGroups = tuple[tuple[str, tuple[Service, ...]], ...]

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
    # Organisations of her own country that take calls from its workers abroad.
    ("home-cso", ("cso", "legal-aid")),
)


@dataclass(frozen=True)
class Library:
    """Everything loaded from the content tree.

    The lists pages ask for (a topic's articles, the help page's groups) are worked out once per
    corridor and kept, so a request costs a look-up; only corridors of the site's own countries
    are kept, which bounds what is kept whatever a request asks.
    """

    site: Site
    topics: tuple[Topic, ...]
    articles: Mapping[str, Article]
    services: Mapping[str, Service]
    _topic_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    _topics_by_id: dict[str, Topic] = field(init=False, repr=False, compare=False)
    _by_topic: dict[str, tuple[Article, ...]] = field(init=False, repr=False, compare=False)
    _by_country: dict[str | None, tuple[Service, ...]] = field(
        init=False, repr=False, compare=False
    )
    _countries: frozenset[str | None] = field(init=False, repr=False, compare=False)
    _articles_in: dict[tuple[str, str | None, str | None], tuple[Article, ...]] = field(
        init=False, repr=False, compare=False
    )
    _help_groups: dict[tuple[str | None, str | None, bool], HelpGroups] = field(
        init=False, repr=False, compare=False
    )
    _links: dict[str, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_topic_ids", frozenset(t.id for t in self.topics))
        set_(self, "_topics_by_id", {t.id: t for t in reversed(self.topics)})
        by_topic: dict[str, list[Article]] = {}
        for article in self.articles.values():
            for topic_id in dict.fromkeys(article.topics):
                by_topic.setdefault(topic_id, []).append(article)
        set_(self, "_by_topic", {k: tuple(v) for k, v in by_topic.items()})
        by_country: dict[str | None, list[Service]] = {}
        for service in self.services.values():
            by_country.setdefault(service.country, []).append(service)
        set_(self, "_by_country", {k: tuple(v) for k, v in by_country.items()})
        set_(self, "_countries", frozenset((None, *self.site.origins, *self.site.destinations)))
        set_(self, "_articles_in", {})
        set_(self, "_help_groups", {})
        set_(self, "_links", {})

    def topic(self, topic_id: str) -> Topic | None:
        """The topic with this id, if any."""
        return self._topics_by_id.get(topic_id)

    def articles_in(
        self, topic_id: str, origin: str | None = None, destination: str | None = None
    ) -> list[Article]:
        """Articles of a topic that concern the corridor, in a stable order."""
        key = (topic_id, origin, destination)
        found = self._articles_in.get(key)
        if found is None:
            found = tuple(
                a for a in self._by_topic.get(topic_id, ()) if a.fits(origin, destination)
            )
            if self._keeps(origin, destination):
                self._articles_in[key] = found
        return list(found)

    def help_groups(
        self, origin: str | None, destination: str | None, *, at_home: bool = False
    ) -> list[tuple[str, list[Service]]]:
        """The directory for a corridor, grouped in the order a reader needs it.

        `at_home`: she is in her own country now, so the emergency numbers are its own, and
        its line for its workers follows them.
        """
        key = (origin, destination, at_home)
        found = self._help_groups.get(key)
        if found is None:
            found = self._group_help(origin, destination, at_home=at_home)
            if self._keeps(origin, destination):
                self._help_groups[key] = found
        return [(group, list(services)) for group, services in found]

    def _keeps(self, origin: str | None, destination: str | None) -> bool:
        return origin in self._countries and destination in self._countries

    def _group_help(
        self, origin: str | None, destination: str | None, *, at_home: bool
    ) -> HelpGroups:
        groups: list[tuple[str, tuple[Service, ...]]] = []
        for group, kinds in HELP_GROUPS:
            if group in ("home-hotline", "home-cso"):
                # Her own country's lines and organisations for its people abroad, not those
                # for the migrant workers it hosts (Thailand is both an origin and a destination).
                country = origin
                items = [
                    s
                    for s in self._by_country.get(country, ())
                    if origin is not None and origin in s.serves and (at_home or reaches_abroad(s))
                ]
            else:
                country = origin if at_home and group == "emergency" else destination
                items = [s for s in self._by_country.get(country, ()) if s.serves_origin(origin)]
            if country is None:
                continue
            if group == "embassy":
                items = [s for s in items if origin is not None and origin in s.serves]
            chosen = [s for s in items if s.kind in kinds]
            chosen.sort(key=lambda s: (s.verification_needed, kinds.index(s.kind), s.id))
            if chosen:
                groups.append((group, tuple(chosen)))
            elif group == "home-hotline" and not at_home and destination is not None:
                # Empty on purpose: the page says her country has no line she can call from
                # abroad, rather than leave her looking for one.
                groups.append((group, ()))
        return tuple(groups)

    def resolves(self, href: str, slug: str) -> bool:
        """Whether a link in article `slug` leads somewhere real."""
        if href.startswith(("http://", "https://", "mailto:", "tel:", "#")):
            return True
        if ":" in href.split("/", 1)[0]:
            return False
        target = href.split("#", 1)[0].split("?", 1)[0]
        if target:
            # Every article's page is in one folder, so only the link decides where it leads.
            known = self._links.get(href)
            if known is None:
                known = self._links[href] = self._leads_somewhere(href, slug)
            return known
        return self._leads_somewhere(href, slug)

    def _leads_somewhere(self, href: str, slug: str) -> bool:
        path = resolve_link(href, f"/en/articles/{slug}")
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in self.site.locales:
            return False
        rest = parts[1:]
        if not rest:
            return True
        if path.split("#", 1)[0].endswith("/"):
            # Only a locale's home ends with a slash; any other page would be a redirect away.
            return False
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
