"""The curators' and translators' worklists: translations to write or review, directory
entries to verify, each sorted most urgent first, with counts per locale and per corridor.

Plain functions over a `Library` (and `today` for the directory): the console's `/admin/`
page and its CSV export read them, and so can the CLI.

Translations (every locale of the site but the article's source, English):

- `missing`: the locale has no published text, so readers get the English with a notice (a
  file with `status: draft` is not loaded, so it counts as missing here too);
- `outdated`: the text translates an older English body (`Article.is_outdated`): readers
  are told the English changed, and what differs may be a number or a right;
- `draft`: up to date but `translation: draft`, not reviewed yet.

A text both outdated and draft is listed once, as outdated: reviewing it before it is
brought up to date would be wasted. The list's order: missing, then outdated, then draft (a
reader with nothing in her language first, then one who reads what may be wrong, then one who
reads an unreviewed text); within a state the oldest first, by `since` (the date of the
English revision for missing and outdated texts, the translation's own date for a draft);
then by slug and locale, so the order is stable.

Directory entries:

- `needs-verification`: the entry's file says `verification: needed`. An entry carries
  `verified_on` or `verification: needed`, never neither, so "never verified" and "marked
  needs verification" are one state, named for what the curator must do; readers see no
  number of such an entry (docs/ARCHITECTURE.md, "Content").
- `over-a-year`: verified more than VERIFICATION_MAX_AGE (365 days) before `today`
  (`Service.recently_verified`), so readers see a "not recently verified" notice.

The list's order: by kind first, in KIND_URGENCY, the kinds a woman in danger calls first
(emergency numbers and hotlines, which the help page's "Call now" list offers) before embassies
and the rest, organisations (cso) last, as the help page orders them; within a kind the oldest
first (an entry never verified before any dated one, then by `verified_on`); then by id.

An entry's corridors are those whose help page lists it (`Library.help_groups`, the function
the reader's help page calls), whether she is abroad or at home (at home, the page lists her own
country's emergency numbers), over the site's corridors: each origin to each other destination.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hub.content.library import Library
from hub.content.model import SERVICE_KINDS

TRANSLATION_STATES = ("missing", "outdated", "draft")
DIRECTORY_STATES = ("needs-verification", "over-a-year")

# Most urgent first: what a woman in danger dials first (emergency numbers, then hotlines, which
# the help page's "Call now" list offers), then the help page's order of the kinds; CSOs last.
_FIRST = ("emergency", "hotline")
KIND_URGENCY: tuple[str, ...] = (*_FIRST, *(k for k in SERVICE_KINDS if k not in _FIRST))
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_URGENCY)}

# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TranslationItem:
    """One article's text in one locale that needs work."""

    slug: str
    title: str  # the English title: the translation may not exist
    locale: str
    state: str  # one of TRANSLATION_STATES
    english_updated: dt.date  # the `updated` date of the English text
    translated_on: dt.date | None  # the translation's `updated`; None when it is missing

    @property
    def since(self) -> dt.date:
        """Since when it has waited: the English revision's date, or a draft's own date."""
        if self.state == "draft" and self.translated_on is not None:
            return self.translated_on
        return self.english_updated


@dataclass(frozen=True)
class DirectoryItem:
    """One directory entry that needs verifying."""

    id: str
    name: Mapping[str, str]
    kind: str
    country: str
    state: str  # one of DIRECTORY_STATES
    verified_on: dt.date | None
    corridors: tuple[str, ...]  # "PH-HK", in the site's order


@dataclass(frozen=True)
class LocaleCount:
    """How many translations of one locale are missing, outdated or draft."""

    locale: str
    missing: int
    outdated: int
    draft: int

    @property
    def total(self) -> int:
        """Every translation of the locale that needs work."""
        return self.missing + self.outdated + self.draft


@dataclass(frozen=True)
class CorridorCount:
    """How many entries one corridor's help page lists that need verifying."""

    corridor: str  # "PH-HK", or "" for every entry of the directory
    needs_verification: int
    over_a_year: int

    @property
    def total(self) -> int:
        """Every entry of the corridor that needs verifying."""
        return self.needs_verification + self.over_a_year


def translation_locales(library: Library) -> list[str]:
    """The locales translations are made into: the site's, but English (the source)."""
    return [code for code in library.site.locales if code != "en"]


def translation_items(
    library: Library,
    *,
    locales: Iterable[str] | None = None,
    state: str | None = None,
) -> list[TranslationItem]:
    """The translations that need work, most urgent first (see the module's docstring);
    only `locales` (default: every translated locale) and only `state` when given."""
    chosen = translation_locales(library) if locales is None else list(locales)
    items = []
    for article in library.articles.values():
        source = article.source
        for locale in chosen:
            if locale == article.source_locale:
                continue
            text = article.texts.get(locale)
            if text is None:
                found = "missing"
            elif article.is_outdated(locale):
                found = "outdated"
            elif text.translation != "reviewed":
                found = "draft"
            else:
                continue
            if state is not None and found != state:
                continue
            items.append(
                TranslationItem(
                    slug=article.slug,
                    title=source.title,
                    locale=locale,
                    state=found,
                    english_updated=source.updated,
                    translated_on=None if text is None else text.updated,
                )
            )
    items.sort(key=lambda i: (TRANSLATION_STATES.index(i.state), i.since, i.slug, i.locale))
    return items


def entry_corridors(library: Library) -> dict[str, tuple[str, ...]]:
    """Each entry's id and the corridors whose help page lists it, abroad or at home."""
    found: dict[str, dict[str, None]] = {}
    for code in library.site.corridors():
        origin, destination = code.split("-")
        for at_home in (False, True):
            for _, services in library.help_groups(origin, destination, at_home=at_home):
                for service in services:
                    found.setdefault(service.id, {})[code] = None
    return {service_id: tuple(codes) for service_id, codes in found.items()}


def directory_items(
    library: Library,
    today: dt.date,
    *,
    corridor: str | None = None,
    kind: str | None = None,
    state: str | None = None,
) -> list[DirectoryItem]:
    """The entries that need verifying on `today`, most urgent first (see the module's
    docstring); only those of `corridor`, `kind` and `state` when given."""
    corridors = entry_corridors(library)
    items = []
    for service in library.services.values():
        if service.verification_needed:
            found = "needs-verification"
        elif not service.recently_verified(today):
            found = "over-a-year"
        else:
            continue
        listed_in = corridors.get(service.id, ())
        if state is not None and found != state:
            continue
        if kind is not None and service.kind != kind:
            continue
        if corridor is not None and corridor not in listed_in:
            continue
        items.append(
            DirectoryItem(
                id=service.id,
                name=service.name,
                kind=service.kind,
                country=service.country,
                state=found,
                verified_on=service.verified_on,
                corridors=listed_in,
            )
        )
    items.sort(key=_urgency)
    return items


def _urgency(item: DirectoryItem) -> tuple[int, int, dt.date, str]:
    # Never verified is older than any date: first within its kind.
    never = item.verified_on is None
    return (
        _KIND_RANK[item.kind],
        0 if never else 1,
        item.verified_on or dt.date.min,
        item.id,
    )


def locale_counts(items: Iterable[TranslationItem], locales: Sequence[str]) -> list[LocaleCount]:
    """For each of `locales`, in that order, how many of `items` are in each state; then a row
    for all of them (locale "")."""
    counts = {code: dict.fromkeys(TRANSLATION_STATES, 0) for code in locales}
    every = dict.fromkeys(TRANSLATION_STATES, 0)
    for item in items:
        if item.locale in counts:
            counts[item.locale][item.state] += 1
            every[item.state] += 1
    return [
        LocaleCount(code, c["missing"], c["outdated"], c["draft"])
        for code, c in [*counts.items(), ("", every)]
    ]


def corridor_counts(
    items: Sequence[DirectoryItem], corridors: Sequence[str]
) -> list[CorridorCount]:
    """For each of `corridors`, in that order, how many of `items` its help page lists in each
    state; then a row for the whole directory (corridor ""), each entry counted once."""
    counts = {code: dict.fromkeys(DIRECTORY_STATES, 0) for code in corridors}
    every = dict.fromkeys(DIRECTORY_STATES, 0)
    for item in items:
        every[item.state] += 1
        for code in item.corridors:
            if code in counts:
                counts[code][item.state] += 1
    return [
        CorridorCount(code, c["needs-verification"], c["over-a-year"])
        for code, c in [*counts.items(), ("", every)]
    ]


def known_kinds() -> tuple[str, ...]:
    """Every kind of entry, most urgent first."""
    return KIND_URGENCY


def csv_text(sections: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]]) -> str:
    """CSV of titled tables (a title row, a header row, the rows; a blank row between tables),
    each cell a spreadsheet cannot take for a formula: one starting with =, +, -, @, a tab or
    a carriage return gets a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, (title, header, rows) in enumerate(sections):
        if number:
            writer.writerow([])
        writer.writerow([_cell(title)])
        writer.writerow([_cell(name) for name in header])
        writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
