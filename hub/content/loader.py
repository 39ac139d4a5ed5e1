"""Read the content tree into a Library, collecting a Problem for each bad file."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from hub.content import fields as f
from hub.content.cache import ContentCache, Uncachable, decode, encode
from hub.content.library import Library
from hub.content.markdown import (
    FrontMatterError,
    Rendered,
    revision,
    split_front_matter,
)
from hub.content.model import Article, ArticleText, Service, Site, Topic
from hub.content.services import parse_service, retired_on
from hub.content.shares import in_shares
from hub.settings import SOURCE_MAX_AGE_YEARS

DEFAULT_SITE = Site(
    names={"en": "Hub"},
    discreet_names={"en": "Notes"},
    default_locale="en",
    locales=("en", "fil", "id", "vi", "th", "km", "my"),
    origins=("PH", "ID", "VN", "TH", "KH", "MM"),
    destinations=("HK", "SG", "MY", "TW", "TH", "SA", "AE", "JP", "KR"),
)
# Home-screen labels longer than this (in code points) are cut by Android launchers.
SHORT_NAME_MAX = 12
Level = Literal["error", "warning"]
# Article folders from which a first start reads them on every CPU (hub/content/shares.py): a
# forked process costs about 20 ms, and reading 100 folders x 7 locales about 250 ms.
PARALLEL_MIN_FOLDERS = 100
# Fifteen times the largest starter file: more is a mistake, and would only slow start-up down.
MAX_FILE_BYTES = 256 * 1024
# What a value of an unexpected type or shape can raise in the code that reads it, beyond the
# FieldError it is meant to raise: each is that file's problem, never the whole tree's.
DATA_ERRORS = (TypeError, ValueError, LookupError, RecursionError, OverflowError)
# libyaml's safe loader when PyYAML was built with it: the same safe subset, far faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(text: str) -> Any:
    """YAML's safe subset only (no tags that build objects), as `yaml.safe_load`."""
    return yaml.load(text, Loader=_SAFE_LOADER)


class TooLargeError(Exception):
    """A content file past MAX_FILE_BYTES."""


def read_bytes(path: Path) -> bytes:
    """The bytes of a content file; TooLargeError past MAX_FILE_BYTES, else OSError."""
    # Read no further than the limit, whatever the file's size.
    with open(path, "rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise TooLargeError(f"is larger than {MAX_FILE_BYTES:,} bytes, the most a file may hold")
    return data


def as_text(data: bytes) -> str:
    """A content file's text: UTF-8, line ends made "\\n"; else UnicodeDecodeError."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def read_content(path: Path) -> str:
    """The text of a content file (UTF-8, line ends made "\\n"); TooLargeError past
    MAX_FILE_BYTES, else OSError or UnicodeDecodeError."""
    return as_text(read_bytes(path))


def _cannot_use(exc: BaseException) -> str:
    return f"cannot be used: {type(exc).__name__}: {exc}".splitlines()[0][:300]


@dataclass(frozen=True)
class Problem:
    """Something wrong with one content file."""

    path: str
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.level}: {self.message}"


@dataclass
class LoadedTree:
    """A content tree as loaded: the library, the problems found, and the SHA-256 of every
    file read whole (for tree_version, so no file is read twice)."""

    library: Library
    problems: list[Problem]
    digests: dict[str, bytes] = field(default_factory=dict)
    loader: _Loader | None = field(default=None, repr=False)

    def finish(self, stop: threading.Event | None = None) -> list[Problem]:
        """What `load_tree(..., defer=True)` left: render the bodies the cache did not hold
        (putting them in it) and check the links; the problems found, added to `problems`
        too. None once done, or if `stop` was set first (then call again to go on)."""
        if self.loader is None:
            return []
        found = self.loader.finish(self.library, stop)
        self.problems.extend(found)
        if not self.loader.unrendered and not self.loader.defer_links:
            self.loader = None
        return found


class _Loader:
    def __init__(
        self,
        root: Path,
        today: dt.date,
        source_max_age_years: int,
        cache: ContentCache | None = None,
        proposed: Mapping[Path, str] | None = None,
    ) -> None:
        self.root = root
        self.today = today
        self.source_max_age_years = source_max_age_years
        self.problems: list[Problem] = []
        self.cache = cache or ContentCache(None, keys={})
        # Texts made with no rendering, by the digest of their file: `finish` renders them.
        self.unrendered: list[tuple[str, ArticleText]] = []
        # Whether `load` left the links for `finish` to check (their targets need the bodies
        # rendered).
        self.defer_links = False
        self.digests: dict[str, bytes] = {}
        # Texts read in place of the files at these paths (whether a file is there or not).
        self.proposed: Mapping[Path, str] = proposed or {}

    def read(self, path: Path) -> tuple[str, str]:
        """A file's text and the hex SHA-256 of its bytes; as read_content for errors."""
        if path in self.proposed:
            data = self.proposed[path].encode("utf-8")
            if len(data) > MAX_FILE_BYTES:
                raise TooLargeError(
                    f"is larger than {MAX_FILE_BYTES:,} bytes, the most a file may hold"
                )
            return as_text(data), hashlib.sha256(data).hexdigest()
        data = read_bytes(path)
        digest = hashlib.sha256(data)
        self.digests[str(path)] = digest.digest()
        return as_text(data), digest.hexdigest()

    def parse_yaml(self, text: str, digest: str) -> Any:
        """`_safe_load(text)`, kept in the cache under the digest of the file holding it."""
        kept = self.cache.get("yaml", digest)
        if kept is not None:
            return decode(kept)
        data = _safe_load(text)
        # A value the cache cannot hold exactly is parsed again at every start.
        if data is not None:
            with contextlib.suppress(Uncachable):
                self.cache.put("yaml", digest, encode(data))
        return data

    def kept_rendering(self, body: str, digest: str) -> tuple[Rendered | None, str]:
        """The body as rendered before, if the cache holds it under the digest of its file, and
        `revision(body)`."""
        kept = self.cache.get("markdown", digest)
        if kept is not None:
            html, plain, links, body_revision = kept
            return Rendered(html, plain, tuple(links)), body_revision
        return None, revision(body)

    def finish(self, library: Library, stop: threading.Event | None = None) -> list[Problem]:
        """Render every body the cache did not hold, keep it there, and, if `load` left them,
        check every link; the problems found. Returns early, with none, once `stop` is set."""
        for digest, text in self.unrendered:
            if stop is not None and stop.is_set():
                return []
            rendered = text.rendered
            self.cache.put(
                "markdown", digest, (rendered.html, rendered.plain, rendered.links, text.revision)
            )
        self.unrendered = []
        if not self.defer_links:
            return []
        found = len(self.problems)
        for article in library.articles.values():
            if stop is not None and stop.is_set():
                return []
            self.check_links(library, article)
        self.defer_links = False
        return self.problems[found:]

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, path: Path, message: str, level: Level = "error") -> None:
        self.problems.append(Problem(self.rel(path), message, level))

    def yaml_file(self, path: Path) -> Any:
        """The parsed file, or None after recording why there is nothing to use."""
        try:
            data = self.parse_yaml(*self.read(path))
        except FileNotFoundError:
            self.problem(path, "is missing")
            return None
        except TooLargeError as exc:
            self.problem(path, str(exc))
            return None
        # YAML reads an impossible date (2026-02-30) as a ValueError, and very deep nesting
        # as a RecursionError: each is this file's problem, never the whole tree's.
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:
            self.problem(path, f"cannot be read: {exc}".splitlines()[0])
            return None
        if data is None:
            self.problem(path, "is empty")
        return data

    def site(self) -> Site:
        path = self.root / "site.yml"
        data = self.yaml_file(path)
        if data is None:
            return DEFAULT_SITE
        try:
            if not isinstance(data, dict):
                raise f.FieldError("must be a mapping")
            locales = f.strings(data, "locales", required=True)
            if "en" not in locales:
                raise f.FieldError("'locales' must include 'en', the source language")
            default = f.choice(data, "default_locale", locales, "en")
            site = Site(
                names=f.localized(data, "names", locales),
                discreet_names=f.localized(data, "discreet_names", locales),
                default_locale=default,
                locales=locales,
                origins=f.countries(data, "origins", required=True),
                destinations=f.countries(data, "destinations", required=True),
                short_names=f.localized(data, "short_names", locales, required=False),
                discreet_short_names=f.localized(
                    data, "discreet_short_names", locales, required=False
                ),
            )
        except f.FieldError as exc:
            self.problem(path, str(exc))
            return DEFAULT_SITE
        except DATA_ERRORS as exc:
            self.problem(path, _cannot_use(exc))
            return DEFAULT_SITE
        self.check_short_names(path, site)
        return site

    def check_short_names(self, path: Path, site: Site) -> None:
        """A Problem for each home-screen label longer than SHORT_NAME_MAX code points."""
        # A long label is cut under the icon, but the rest of site.yml still serves.
        for discreet, key in ((False, "short_names"), (True, "discreet_short_names")):
            for locale in site.locales:
                label = site.short_name(locale, discreet=discreet)
                if len(label) > SHORT_NAME_MAX:
                    self.problem(
                        path,
                        f"the home-screen name for '{locale}' ('{label}') has {len(label)} "
                        f"characters, but only {SHORT_NAME_MAX} fit under the icon: "
                        f"give '{key}.{locale}' a shorter name",
                    )

    def topics(self, site: Site) -> tuple[Topic, ...]:
        path = self.root / "topics.yml"
        data = self.yaml_file(path)
        if not isinstance(data, list):
            if data is not None:
                self.problem(path, "must be a list of topics")
            return ()
        topics: dict[str, Topic] = {}
        for index, item in enumerate(data, start=1):
            try:
                if not isinstance(item, dict):
                    raise f.FieldError("must be a mapping")
                topic_id = f.text(item, "id") or ""
                if not f.SLUG.match(topic_id):
                    raise f.FieldError(f"id '{topic_id}' must be lowercase words joined by '-'")
                if topic_id in topics:
                    raise f.FieldError(f"id '{topic_id}' is used twice")
                topics[topic_id] = Topic(
                    id=topic_id,
                    title=f.localized(item, "title", site.locales),
                    summary=f.localized(item, "summary", site.locales, required=False),
                )
            except f.FieldError as exc:
                self.problem(path, f"topic {index}: {exc}")
            except DATA_ERRORS as exc:
                self.problem(path, f"topic {index}: {_cannot_use(exc)}")
        return tuple(topics.values())

    def article_text(
        self, path: Path, slug: str, locale: str, source: ArticleText | None
    ) -> tuple[ArticleText, Mapping[str, Any]] | None:
        try:
            text, digest = self.read(path)
            head, body = split_front_matter(text)
            meta = self.parse_yaml(head, digest)
        except TooLargeError as exc:
            self.problem(path, str(exc))
            return None
        except (
            OSError,
            UnicodeDecodeError,
            FrontMatterError,
            yaml.YAMLError,
            ValueError,
            RecursionError,
        ) as exc:
            self.problem(path, f"cannot be read: {exc}".splitlines()[0])
            return None
        try:
            if not isinstance(meta, dict):
                raise f.FieldError("front matter must be a mapping")
            if not body.strip():
                raise f.FieldError("has no body")
            status = f.choice(meta, "status", ("published", "draft"), "published")
            if status == "draft":
                return None
            source_revision = translation = reviewed_by = None
            reviewed_on = None
            if source is not None:
                source_revision = f.revision_id(meta, "source_revision")
                translation = f.choice(meta, "translation", ("draft", "reviewed"), "draft")
                # Who reviewed the translation and when (the console records both).
                reviewed_by = f.text(meta, "reviewed_by", required=False)
                reviewed_on = f.date(meta, "reviewed_on", required=False)
                if reviewed_on is not None and reviewed_on > self.today:
                    raise f.FieldError(f"'reviewed_on' {reviewed_on} is in the future")
            updated = f.date(meta, "updated")
            assert updated is not None
            if updated > self.today:
                raise f.FieldError(f"'updated' {updated} is in the future")
            rendered, body_revision = self.kept_rendering(body, digest)
            article_text = ArticleText(
                slug=slug,
                locale=locale,
                title=f.text(meta, "title") or "",
                summary=f.text(meta, "summary") or "",
                body=body,
                revision=body_revision,
                updated=updated,
                source_revision=source_revision,
                translation=translation,
                reviewed_by=reviewed_by,
                reviewed_on=reviewed_on,
                rendered_as=rendered,
            )
            if rendered is None:
                self.unrendered.append((digest, article_text))
        except f.FieldError as exc:
            self.problem(path, str(exc))
            return None
        except DATA_ERRORS as exc:
            self.problem(path, _cannot_use(exc))
            return None
        return article_text, meta

    def article(self, folder: Path, site: Site) -> Article | None:
        slug = folder.name
        if not f.SLUG.match(slug):
            self.problem(folder, "folder name must be lowercase words joined by '-'")
            return None
        source_path = folder / "en.md"
        if source_path not in self.proposed and not source_path.exists():
            self.problem(folder, "has no English source (en.md)")
            return None
        loaded = self.article_text(source_path, slug, "en", None)
        if loaded is None:
            return None
        source, meta = loaded
        try:
            topics = f.strings(meta, "topics", required=True)
            countries = f.countries(meta, "countries")
            sources = f.article_sources(meta)
        except f.FieldError as exc:
            self.problem(source_path, str(exc))
            return None
        except DATA_ERRORS as exc:
            self.problem(source_path, _cannot_use(exc))
            return None
        texts = {"en": source}
        # glob("*.md") as listdir: a hidden file is no translation.
        listed = os.listdir(folder) if folder.is_dir() else []
        # A proposed translation is read whether its file exists yet or not.
        listed = [*listed, *(p.name for p in self.proposed if p.parent == folder)]
        names = sorted({n for n in listed if n.endswith(".md") and n[0] != "."})
        for path in (folder / name for name in names):
            locale = path.stem
            if locale == "en":
                continue
            if locale not in site.locales:
                self.problem(path, f"'{locale}' is not one of the site's locales")
                continue
            translated = self.article_text(path, slug, locale, source)
            if translated is not None:
                texts[locale] = translated[0]
        return Article(slug, topics, frozenset(countries), sources, texts)

    def service(self, path: Path, site: Site) -> Service | None:
        data = self.yaml_file(path)
        if data is None:
            return None
        try:
            if retired_on(data, self.today) is not None:
                # Kept for its history (the console's "retire"); no reader page lists it.
                return None
            service, warnings = parse_service(
                path.stem,
                data,
                site.locales,
                self.today,
                origins=site.origins,
                source_max_age_years=self.source_max_age_years,
            )
        except f.FieldError as exc:
            self.problem(path, str(exc))
            return None
        except DATA_ERRORS as exc:
            self.problem(path, _cannot_use(exc))
            return None
        for warning in warnings:
            self.problem(path, warning, "warning")
        return service

    def cross_check(self, library: Library) -> None:
        known_topics = {topic.id for topic in library.topics}
        for article in library.articles.values():
            self.cross_check_article(library, article, known_topics)

    def cross_check_article(
        self, library: Library, article: Article, known_topics: Collection[str]
    ) -> None:
        folder = self.root / "articles" / article.slug
        for topic in article.topics:
            if topic not in known_topics:
                self.problem(folder / "en.md", f"unknown topic '{topic}'")
        if not self.defer_links:
            self.check_links(library, article)
        for locale, text in article.texts.items():
            path = folder / f"{locale}.md"
            if article.is_outdated(locale):
                self.problem(
                    path,
                    f"translates English revision {text.source_revision}, "
                    f"but en.md is now {article.source.revision}",
                    "warning",
                )

    def check_links(self, library: Library, article: Article) -> None:
        folder = self.root / "articles" / article.slug
        for locale, text in article.texts.items():
            for href in text.links:
                if not library.resolves(href, article.slug):
                    self.problem(
                        folder / f"{locale}.md", f"link '{href}' does not lead to a page of the hub"
                    )

    def take(self, share: _Share) -> None:
        """Keep what another loader found reading a share of the articles."""
        self.problems.extend(share.problems)
        self.digests.update(share.digests)
        self.unrendered.extend(share.unrendered)
        for digest, value in share.yaml.items():
            self.cache.put("yaml", digest, value)

    def load(self) -> Library:
        site = self.site()
        topics = self.topics(site)
        articles: dict[str, Article] = {}
        folder = self.root / "articles"
        entries = sorted(os.scandir(folder), key=lambda e: e.name) if folder.is_dir() else []
        names = [entry.name for entry in entries if entry.is_dir()]
        if self.cache.holds("yaml") or self.proposed:
            # A restart finds most of the parsing in the cache: sharing it out would cost more.
            read = [self.article(folder / name, site) for name in names]
        else:
            job = functools.partial(
                _read_articles, self.root, self.today, self.source_max_age_years, site
            )
            read = []
            for share in in_shares(job, names, minimum=PARALLEL_MIN_FOLDERS):
                self.take(share)
                read.extend(share.articles)
        for article in read:
            if article is not None:
                articles[article.slug] = article
        services: dict[str, Service] = {}
        seen: set[str] = set()
        folder = self.root / "services"
        for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
            if path.stem in seen:
                self.problem(path, f"id '{path.stem}' is used by another file too")
                continue
            seen.add(path.stem)
            service = self.service(path, site)
            if service is not None:
                services[service.id] = service
        library = Library(site, topics, articles, services)
        self.cross_check(library)
        return library


@dataclass
class _Share:
    """What reading a share of the article folders found (see _read_articles)."""

    articles: list[Article | None]
    problems: list[Problem]
    digests: dict[str, bytes]
    unrendered: list[tuple[str, ArticleText]]
    # Front matter parsed, by file digest, as the content cache keeps it.
    yaml: dict[str, Any]


def _read_articles(
    root: Path, today: dt.date, source_max_age_years: int, site: Site, names: Sequence[str]
) -> _Share:
    """Read the article folders `names` under `root/articles` (in a worker process, or here)."""
    loader = _Loader(root, today, source_max_age_years)
    articles = [loader.article(root / "articles" / name, site) for name in names]
    return _Share(
        articles, loader.problems, loader.digests, loader.unrendered, loader.cache.added("yaml")
    )


def load_tree(
    root: Path,
    today: dt.date | None = None,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
    cache: ContentCache | None = None,
    defer: bool = False,
) -> LoadedTree:
    """Load every valid file under `root`, parsing only what `cache` does not hold.

    Directory numbers whose newest source is more than `source_max_age_years` old (by year)
    are warned about. `defer`: leave the rendering of bodies the cache does not hold, and the
    check of links, to the result's `finish()` (which readers' first views of a page do not
    wait for: a body renders when first read); else done before returning.
    """
    loader = _Loader(root, today or dt.date.today(), source_max_age_years, cache)
    loader.defer_links = defer
    library = loader.load()
    loaded = LoadedTree(library, loader.problems, loader.digests, loader)
    if not defer:
        loaded.finish()
    return loaded


def load_library(
    root: Path,
    today: dt.date | None = None,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> tuple[Library, list[Problem]]:
    """Load every valid file under `root`; return the library and the problems found."""
    loaded = load_tree(root, today, source_max_age_years=source_max_age_years)
    return loaded.library, loaded.problems


def check_article(
    root: Path,
    library: Library,
    slug: str,
    text: str,
    today: dt.date | None = None,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
    locale: str = "en",
) -> list[Problem]:
    """The problems `hub check` finds in `articles/<slug>/<locale>.md` (English by default, or
    a translation) if it held `text`, the rest of the tree being `library` (its topics, and
    the pages its links may lead to) and the article's other files as they are."""
    folder = root / "articles" / slug
    path = folder / f"{locale}.md"
    loader = _Loader(root, today or dt.date.today(), source_max_age_years, proposed={path: text})
    article = loader.article(folder, library.site)
    if article is not None:
        articles = {**library.articles, slug: article}
        with_it = Library(library.site, library.topics, articles, library.services)
        loader.cross_check_article(with_it, article, {topic.id for topic in library.topics})
    rel = loader.rel(path)
    return [problem for problem in loader.problems if problem.path == rel]
