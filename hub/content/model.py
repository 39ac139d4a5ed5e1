"""Immutable records of the content tree, independent of the web layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hub.content.markdown import Rendered, render_markdown

SERVICE_KINDS = (
    "emergency",
    "police",
    "hotline",
    "embassy",
    "labour-attache",
    "shelter",
    "legal-aid",
    "health",
    "cso",
)
VERIFICATION_MAX_AGE = dt.timedelta(days=365)


def pick(texts: Mapping[str, str], locale: str, fallback: str = "en") -> str:
    """The text for `locale`, else the fallback locale's, else any."""
    if locale in texts:
        return texts[locale]
    if fallback in texts:
        return texts[fallback]
    return next(iter(texts.values()), "")


@dataclass(frozen=True)
class Site:
    """Names, locales and the corridors the hub serves."""

    names: Mapping[str, str]
    discreet_names: Mapping[str, str]
    default_locale: str
    locales: tuple[str, ...]
    origins: tuple[str, ...]
    destinations: tuple[str, ...]
    # Home-screen labels per locale; a locale without one uses its name (see short_name).
    short_names: Mapping[str, str] = field(default_factory=dict)
    discreet_short_names: Mapping[str, str] = field(default_factory=dict)

    def name(self, locale: str, *, discreet: bool = False) -> str:
        """The site's name in `locale`: the neutral one in discreet mode."""
        return pick(self.discreet_names if discreet else self.names, locale)

    def corridors(self) -> list[str]:
        """Every corridor the site serves: each origin to each other destination ("PH-HK")."""
        return [f"{o}-{d}" for o in self.origins for d in self.destinations if o != d]

    def short_name(self, locale: str, *, discreet: bool = False) -> str:
        """The home-screen label in `locale`: its short name, else its name."""
        shorts = self.discreet_short_names if discreet else self.short_names
        names = self.discreet_names if discreet else self.names
        # Her own language first: a short name, else the full name, else the English short name.
        if locale in shorts:
            return shorts[locale]
        if locale in names or not shorts:
            return pick(names, locale)
        return pick(shorts, locale)


@dataclass(frozen=True)
class Topic:
    """A journey stage."""

    id: str
    title: Mapping[str, str]
    summary: Mapping[str, str]


@dataclass(frozen=True)
class ArticleText:
    """One locale's text of an article."""

    slug: str
    locale: str
    title: str
    summary: str
    body: str
    revision: str
    updated: dt.date
    source_revision: str | None = None
    translation: str | None = None
    # A reviewed translation's reviewer (her name in the console) and the day of the review.
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    # The body rendered, when the content cache had it; else made on first use (`rendered`).
    # Start-up leaves it to the first reader or to the warm-up after it (hub/reload.py): at
    # 1,000 articles x 7 locales, rendering every body first took most of the start.
    rendered_as: Rendered | None = field(default=None, compare=False, repr=False)

    @property
    def rendered(self) -> Rendered:
        """The body as HTML, plain text and links, rendered once (by any thread)."""
        found = self.rendered_as
        if found is None:
            # Two threads rendering one body at once make equal values; either is kept.
            found = render_markdown(self.body)
            object.__setattr__(self, "rendered_as", found)
        return found

    @property
    def html(self) -> str:
        """The body as safe HTML."""
        return self.rendered.html

    @property
    def plain(self) -> str:
        """The body's visible words, for search."""
        return self.rendered.plain

    @property
    def links(self) -> tuple[str, ...]:
        """Every link target of the body, in order (for `hub check`)."""
        return self.rendered.links


@dataclass(frozen=True)
class ArticleSource:
    """A public page an article's facts come from, and the title readers see for it."""

    url: str
    title: str | None = None


@dataclass(frozen=True)
class Article:
    """An article with its texts by locale; English is the source."""

    slug: str
    topics: tuple[str, ...]
    countries: frozenset[str]
    sources: tuple[ArticleSource, ...]
    texts: Mapping[str, ArticleText]
    source_locale: str = "en"

    @property
    def source(self) -> ArticleText:
        """The source-language text."""
        return self.texts[self.source_locale]

    def text(self, locale: str) -> ArticleText:
        """The text in `locale`, or the source text when there is no translation."""
        return self.texts.get(locale, self.source)

    def is_outdated(self, locale: str) -> bool:
        """Whether the `locale` translation was made from an older source body."""
        text = self.texts.get(locale)
        if text is None or locale == self.source_locale:
            return False
        return text.source_revision != self.source.revision

    def fits(self, origin: str | None, destination: str | None) -> bool:
        """Whether the article concerns the corridor (articles without countries fit all)."""
        if not self.countries:
            return True
        chosen = {c for c in (origin, destination) if c}
        return not chosen or bool(self.countries & chosen)


@dataclass(frozen=True)
class Chat:
    """A chat channel of a service."""

    label: str
    url: str


def site_name(url: str) -> str:
    """A web address as readers name a site: its host without a leading "www."."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


@dataclass(frozen=True)
class SourceDate:
    """When a source page was published or last updated, to the day, month or year it says."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def earliest(self) -> dt.date:
        """The first day the date can mean, for comparing ages."""
        return dt.date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True)
class Source:
    """A public page that states some of a service's numbers, and its date."""

    url: str
    date: SourceDate
    numbers: tuple[str, ...] = ()

    @property
    def site(self) -> str:
        """The page's site name for readers: its host without a leading "www."."""
        return site_name(self.url)


@dataclass(frozen=True)
class Service:
    """A directory entry: a hotline, office or organisation that helps."""

    id: str
    kind: str
    name: Mapping[str, str]
    country: str
    sources: tuple[Source, ...]
    description: Mapping[str, str] = field(default_factory=dict)
    serves: frozenset[str] = frozenset()
    phone: str | None = None
    short_number: str | None = None
    phone_from_abroad: str | None = None
    chat: tuple[Chat, ...] = ()
    website: str | None = None
    hours: Mapping[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    cost: str = "unknown"
    confidential: bool | None = None
    verified_on: dt.date | None = None

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every number of the entry as written in its file: phone, short number, from abroad."""
        return tuple(n for n in (self.phone, self.short_number, self.phone_from_abroad) if n)

    @property
    def verification_needed(self) -> bool:
        """Entries never checked against their source show no number."""
        return self.verified_on is None

    def recently_verified(self, today: dt.date) -> bool:
        """Whether the entry was checked within the last year."""
        return self.verified_on is not None and today - self.verified_on <= VERIFICATION_MAX_AGE

    def serves_origin(self, origin: str | None) -> bool:
        """Whether someone from `origin` can use this service."""
        return not self.serves or origin is None or origin in self.serves
