"""The curators' articles (issue 12, point 2): every article of the content folder with its
state and its translations' states, an English article file as form values and back, and
the check of a proposed English text by the loader's own code (what `hub check` finds).

Plain functions, no Starlette: the console's pages (hub/views/console/articles.py) call them.

The list reads the folder itself, not the library: the library leaves drafts out, and a
curator works on them too. A translation's state is hub/curation/translations.py's
(`missing`, `draft`, `reviewed`, `outdated`), the one the side-by-side page shows.

A draft is checked as if it were published: `hub check` passes over drafts, but a draft the
console takes must be one that can be published by changing its status alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from hub.content import fields as f
from hub.content.library import Library
from hub.content.loader import Problem, TooLargeError, check_article, read_content
from hub.content.markdown import FrontMatterError, revision, split_front_matter
from hub.curation.translations import Written, read_article, translation_state
from hub.curation.yamltext import edit_front_matter, join_article, new_mapping
from hub.settings import SOURCE_MAX_AGE_YEARS

STATUSES = ("published", "draft")
# The front matter keys the form edits, in the order a new file writes them (as the starter's).
KEYS = ("title", "summary", "topics", "countries", "updated", "status", "sources")
# Slugs the console's own addresses take (`/admin/articles/new`).
RESERVED_SLUGS = frozenset({"new"})
# Names Windows keeps for devices: a folder so named cannot be checked out of git there.
WINDOWS_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {f"lpt{n}" for n in range(10)}
)
SLUG_MAX = 100
# A title and a summary's length: some three times the longest of the starter content's
# (75 and 296 characters, in Burmese), well under the 2,000 a directory entry's text may have.
TITLE_MAX = 200
SUMMARY_MAX = 1000
# Invisible format characters a title or summary may hold: the zero width space marks word
# ends in Thai, Khmer and Burmese; the joiners pick a letter's form. Every other one (a byte
# order mark, the marks that reorder text) only hides what the text says.
FORMAT_CHARACTERS = frozenset({"\u200b", "\u200c", "\u200d"})
# What the filter's text may hold: more is no search for a title.
FILTER_TEXT_MAX = 200


@dataclass(frozen=True)
class ArticleRow:
    """One article of the folder as the list shows it."""

    slug: str
    title: str  # the English title, or "" when en.md has none
    status: str  # "published" or "draft"; "" when en.md cannot be read
    topics: tuple[str, ...]
    countries: tuple[str, ...]
    updated: dt.date | None
    states: Mapping[str, str]  # locale -> translation state


@dataclass(frozen=True)
class Filters:
    """The list's filters; "" for any."""

    topic: str = ""
    status: str = ""
    country: str = ""
    text: str = ""


@dataclass(frozen=True)
class ArticleForm:
    """What the article form holds, as typed (sources as rows of URL and title)."""

    title: str = ""
    summary: str = ""
    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    updated: str = ""
    status: str = "draft"
    body: str = ""


@dataclass(frozen=True)
class Reason:
    """A problem of a proposed article, by the form field it concerns.

    `code` names it for the console's words (`other`: only `message`, `hub check`'s own words,
    says it); `value` is the value at fault (a topic, a link), if any."""

    field: str
    code: str
    value: str = ""
    message: str = ""


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(item) for item in value if isinstance(item, str | int | float))


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


# libyaml's safe loader when PyYAML has it: the list reads every article file, and the pure
# Python one takes some 2 ms a file (a second at 500 articles in 7 locales).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class _Facts:
    """What the list reads of one article file: its front matter and its body's revision."""

    stamp: tuple[int, int, int]  # the file's mtime (ns), size and inode when read
    meta: Mapping[str, Any]
    revision: str
    # Whether its front matter reads as a YAML mapping ({} in `meta` when not).
    readable: bool = True


class ArticleFiles:
    """The front matter of every article file as the list last read it, each kept until the
    file changes (its mtime, size or inode: a console save renames a new file in), so a view
    after the first reads only the files changed since. One per app."""

    def __init__(self) -> None:
        self._kept: dict[str, _Facts] = {}

    def facts(self, path: str, seen: dict[str, _Facts]) -> _Facts | None:
        """The file's front matter and revision (None: no file to read), noted in `seen`."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        found = self._kept.get(path)
        if found is None or found.stamp != stamp:
            found = _read(path, stamp)
        if found is not None:
            seen[path] = found
        return found

    def rows(self, root: Path, locales: Sequence[str]) -> list[ArticleRow]:
        """Every article of the content folder, drafts included, each with the state of its
        translation into each of `locales` (English, the source, left out)."""
        # Paths as text: hashing a Path costs more than the look-up it keys.
        seen: dict[str, _Facts] = {}
        rows = []
        for slug in article_slugs(root):
            folder = os.path.join(root, "articles", slug)
            english = self.facts(os.path.join(folder, "en.md"), seen)
            meta: Mapping[str, Any] = english.meta if english else {}
            status = meta.get("status", "published") if english and english.readable else ""
            revision = english.revision if english else ""
            states = {}
            for code in locales:
                if code != "en":
                    facts = self.facts(os.path.join(folder, f"{code}.md"), seen)
                    written = Written(facts.meta, "") if facts else None
                    states[code] = translation_state(written, revision).state
            rows.append(
                ArticleRow(
                    slug=slug,
                    title=_scalar(meta.get("title")).strip(),
                    status=status if status in STATUSES else "",
                    topics=_strings(meta.get("topics")),
                    countries=_strings(meta.get("countries")),
                    updated=_date(meta.get("updated")),
                    states=states,
                )
            )
        # Only the files there now: what a removed article held goes.
        self._kept = seen
        return rows


def _read(path: str, stamp: tuple[int, int, int]) -> _Facts | None:
    """An article file's front matter (as far as it reads: none when it cannot be read) and
    its body's revision; None when the file cannot be read at all."""
    try:
        text = read_content(Path(path))
    except (OSError, UnicodeDecodeError, TooLargeError):
        return None
    try:
        head, body = split_front_matter(text)
    except FrontMatterError:
        return _Facts(stamp, {}, revision(text), readable=False)
    try:
        meta = yaml.load(head, Loader=_SAFE_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        return _Facts(stamp, {}, revision(body), readable=False)
    return _Facts(stamp, meta, revision(body))


def article_slugs(root: Path) -> list[str]:
    """Every article folder's name (with an en.md), drafts included, in order."""
    folder = root / "articles"
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir() and entry.name[0] != "." and os.path.isfile(Path(entry.path) / "en.md")
    )


def list_articles(root: Path, locales: Sequence[str]) -> list[ArticleRow]:
    """Every article of the content folder with its translations' states, read afresh."""
    return ArticleFiles().rows(root, locales)


def filter_rows(rows: Iterable[ArticleRow], filters: Filters) -> list[ArticleRow]:
    """The rows that match every filter given (the text: in the slug or the title, any case)."""
    text = filters.text.strip().casefold()
    return [
        row
        for row in rows
        if (not filters.topic or filters.topic in row.topics)
        and (not filters.status or row.status == filters.status)
        and (not filters.country or filters.country in row.countries)
        and (not text or text in row.slug or text in row.title.casefold())
    ]


def form_of_text(text: str) -> ArticleForm:
    """The form's values for an English article file (as far as it reads)."""
    written = read_article(text)
    meta = written.meta
    sources: list[tuple[str, str]] = []
    raw = meta.get("sources")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            sources.append((_scalar(item.get("url")), _scalar(item.get("title"))))
        else:
            sources.append((_scalar(item), ""))
    updated = meta.get("updated")
    status = meta.get("status", "published")
    return ArticleForm(
        title=_scalar(meta.get("title")),
        summary=_scalar(meta.get("summary")),
        topics=_strings(meta.get("topics")),
        countries=_strings(meta.get("countries")),
        sources=tuple(sources),
        updated=updated.isoformat() if isinstance(updated, dt.date) else _scalar(updated),
        status=str(status),
        body=written.body,
    )


def _scalar(value: object) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def body_of_form(body: str) -> str:
    """A body as typed into a textarea, as a file holds it: "\\n" line ends (browsers send
    "\\r\\n"), one line end at the end."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return body if not body or body.endswith("\n") else body + "\n"


def changes_of(form: ArticleForm) -> dict[str, Any]:
    """The front matter the form asks for, key by key (None: no such key), in KEYS' order."""
    sources: list[Any] = []
    for url, title in form.sources:
        if not url.strip() and not title.strip():
            continue
        url, title = url.strip(), title.strip()
        sources.append({"url": url, "title": title} if title else url)
    updated: Any = form.updated.strip() or None
    if updated is not None:
        # Left as typed when it is no date: the loader refuses it in its own words.
        with contextlib.suppress(ValueError):
            updated = dt.date.fromisoformat(updated)
    return {
        "title": form.title,
        "summary": form.summary,
        "topics": list(form.topics),
        "countries": list(form.countries) or None,
        "updated": updated,
        "status": form.status,
        "sources": sources or None,
    }


def article_file(current: str | None, form: ArticleForm) -> str:
    """The text of the English file the form asks for: `current` (the file now, None for a
    new one) with the form's keys changed (other keys and comments kept) and its body."""
    changes = changes_of(form)
    body = body_of_form(form.body)
    if current is not None:
        try:
            return edit_front_matter(current, changes, body)
        except (ValueError, RuamelYAMLError):
            pass  # a front matter that cannot be read is written anew from the form
    return join_article(
        new_mapping({key: value for key, value in changes.items() if value is not None}), body
    )


def slug_reasons(root: Path, slug: str) -> list[Reason]:
    """Why a new article cannot take this slug (none: it can)."""
    if not slug:
        return [Reason("slug", "required")]
    # The length first: a name longer than the file system takes must never reach it.
    if len(slug) > SLUG_MAX or not f.SLUG.match(slug):
        return [Reason("slug", "bad_slug", slug)]
    if slug in WINDOWS_NAMES:
        return [Reason("slug", "windows_name", slug)]
    if slug in RESERVED_SLUGS or (root / "articles" / slug).exists():
        return [Reason("slug", "taken", slug)]
    return []


def usable_slug(slug: str) -> bool:
    """Whether `slug` can name an article folder at all (free or not)."""
    return len(slug) <= SLUG_MAX and bool(f.SLUG.match(slug))


def text_reasons(title: str, summary: str) -> list[Reason]:
    """What a title and summary (the English's or a translation's) hold that no reader's page
    should: control characters (a line break only in the summary), hidden format characters,
    too much text. `hub check` does not look for these; the console refuses them before
    writing."""
    reasons = []
    for field, value, limit, breaks in (
        ("title", title, TITLE_MAX, ""),
        ("summary", summary, SUMMARY_MAX, "\n"),
    ):
        if len(value.strip()) > limit:
            reasons.append(Reason(field, "too_long", str(limit)))
        if any(_hidden(ch) for ch in value if ch not in breaks):
            reasons.append(Reason(field, "control"))
    return reasons


def _hidden(ch: str) -> bool:
    """Whether `ch` is a control, a format character other than FORMAT_CHARACTERS, a line or
    paragraph separator, or a lone surrogate."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ch not in FORMAT_CHARACTERS
    return category in ("Cc", "Cs", "Zl", "Zp")


def check(
    root: Path,
    library: Library,
    slug: str,
    current: str | None,
    form: ArticleForm,
    today: dt.date | None = None,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> tuple[str, list[Reason], list[Reason]]:
    """The file the form asks for, and what `hub check` finds in it in the context of the
    tree: the errors (nothing may be written) and the warnings. A draft is checked as if
    published (see the module's docstring)."""
    text = article_file(current, form)
    checked = (
        article_file(current, replace(form, status="published")) if form.status == "draft" else text
    )
    problems = check_article(
        root, library, slug, checked, today, source_max_age_years=source_max_age_years
    )
    errors = [
        *text_reasons(form.title, form.summary),
        *(reason_of(p) for p in problems if p.level == "error"),
    ]
    warnings = [reason_of(p) for p in problems if p.level != "error"]
    return text, errors, warnings


# hub check's words (hub/content/loader.py, fields.py), by the field and the reason they name.
_REASONS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), field, code)
    for pattern, field, code in (
        (r"^unknown topic '(.*)'$", "topics", "unknown_topic"),
        (r"^link '(.*)' does not lead to a page of the hub$", "body", "broken_link"),
        (r"^has no body$", "body", "no_body"),
        (r"^'(?:url|source)' must be an http\(s\) URL$", "sources", "bad_url"),
        (r"^'(?:url|source)' must be a non-empty text$", "sources", "no_url"),
        (r"^'title' must be a non-empty text$", "title", "required"),
        (r"^'summary' must be a non-empty text$", "summary", "required"),
        (r"^'topics' is required$", "topics", "required"),
        (r"^'updated' must be a date", "updated", "bad_date"),
        (r"^'updated' (\S+) is in the future$", "updated", "future_date"),
        (r"^'(?:sources|url)'|^a source has", "sources", "other"),
        (r"^'countries'", "countries", "other"),
        (r"^'topics'", "topics", "other"),
        (r"^'status'", "status", "other"),
        (r"^'title'", "title", "other"),
        (r"^'summary'", "summary", "other"),
    )
)


def reason_of(problem: Problem) -> Reason:
    """A loader's problem as a Reason: the field it concerns, and a code when the console has
    words of its own for it."""
    for pattern, field, code in _REASONS:
        found = pattern.search(problem.message)
        if found:
            value = found.group(1) if found.groups() else ""
            return Reason(field, code, value, problem.message)
    return Reason("form", "other", "", problem.message)
