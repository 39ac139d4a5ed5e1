"""`/admin/`: the console's home, which opens on what needs doing (issue 12, point 1), and the
same figures as CSV at `/admin/worklists.csv`.

A translator sees the translations of her own locales only, and no directory (verifying
entries is a curator's job); a curator or an admin sees every locale, the directory by corridor
and how many alerts wait. The lists come from hub/curation/worklists.py; the filters are a GET
form, each value checked here (an unknown one is a 400, a locale outside her scope a 403)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.auth import Account
from hub.content import Library, pick
from hub.curation.worklists import (
    DIRECTORY_STATES,
    TRANSLATION_STATES,
    CorridorCount,
    DirectoryItem,
    LocaleCount,
    TranslationItem,
    corridor_counts,
    csv_text,
    directory_items,
    known_kinds,
    locale_counts,
    translation_items,
    translation_locales,
)
from hub.views.console.access import holds, requires
from hub.views.console.page import console_locale, console_page, gettext
from hub.views.console.scope import locales_of, signed_in
from hub.views.signin import run

# The filters' query parameters: the translations' form, then the directory's.
TRANSLATION_FILTERS = ("locale", "translation")
DIRECTORY_FILTERS = ("corridor", "kind", "verification")


@dataclass
class Worklists:
    """What one account may see of the worklists, filtered as asked."""

    locales: list[str]
    filters: dict[str, str]
    translation_counts: list[LocaleCount]
    translations: list[TranslationItem]
    # None for a translator: the directory is not her work.
    corridors: list[str] | None = None
    directory_counts: list[CorridorCount] | None = None
    entries: list[DirectoryItem] | None = None
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _chosen(request: Request, name: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = request.query_params.get(name, "")
    if value and value not in allowed:
        raise HTTPException(400)
    return value


def worklists(request: Request, library: Library, today: dt.date) -> Worklists:
    """The signed-in account's worklists for this request's filters (400 or 403 on a bad one)."""
    account: Account = signed_in(request)
    scope = set(locales_of(account))
    locales = [code for code in translation_locales(library) if code in scope]
    locale = _chosen(request, "locale", translation_locales(library))
    if locale and locale not in locales:
        raise HTTPException(403)
    filters = {
        "locale": locale,
        "translation": _chosen(request, "translation", TRANSLATION_STATES),
    }
    found = Worklists(
        locales=locales,
        filters=filters,
        translation_counts=locale_counts(translation_items(library, locales=locales), locales),
        translations=translation_items(
            library,
            locales=[locale] if locale else locales,
            state=filters["translation"] or None,
        ),
        choices={"locale": tuple(locales), "translation": TRANSLATION_STATES},
    )
    if holds(account, ["curator"]):
        corridors = library.site.corridors()
        kinds = known_kinds()
        filters["corridor"] = _chosen(request, "corridor", corridors)
        filters["kind"] = _chosen(request, "kind", kinds)
        filters["verification"] = _chosen(request, "verification", DIRECTORY_STATES)
        found.corridors = corridors
        found.directory_counts = corridor_counts(directory_items(library, today), corridors)
        found.entries = directory_items(
            library,
            today,
            corridor=filters["corridor"] or None,
            kind=filters["kind"] or None,
            state=filters["verification"] or None,
        )
        found.choices.update(
            {"corridor": tuple(corridors), "kind": kinds, "verification": DIRECTORY_STATES}
        )
    return found


async def _alerts_waiting(request: Request) -> int | None:
    if not holds(signed_in(request), ["curator"]):
        return None
    return len(await run(request.app.state.alerts.pending))


@requires("translator")
async def home(request: Request) -> Response:
    """The console's home: what needs doing, with counts, for this account (for a curator,
    also how many alerts wait for her)."""
    library: Library = request.app.state.library
    # Tens of milliseconds of counting on the whole directory: off the loop readers share.
    found = await run(worklists, request, library, dt.date.today())
    query = {name: value for name, value in found.filters.items() if value}
    csv_url = request.app.url_path_for("admin:worklists_csv")
    context: dict[str, Any] = {
        "alerts_waiting": await _alerts_waiting(request),
        "work": found,
        "csv_url": f"{csv_url}?{urlencode(query)}" if query else csv_url,
    }
    return console_page(request, "console/admin_home.html", context)


@requires("translator")
async def worklists_csv(request: Request) -> Response:
    """The home page's figures and lists, filtered the same way, as a CSV file."""
    library: Library = request.app.state.library
    today = dt.date.today()
    found = await run(worklists, request, library, today)
    sections = _csv_sections(request, found, await _alerts_waiting(request))
    # A byte order mark, or spreadsheets read the Thai, Khmer and Burmese as another encoding.
    body = "\ufeff" + csv_text(sections)
    name = f"hub-worklists-{today.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


Section = tuple[str, list[str], list[Sequence[object]]]


def _csv_sections(request: Request, found: Worklists, waiting: int | None) -> list[Section]:
    """The CSV's tables: counts by language (and by corridor, and the alerts waiting, for a
    curator), then the lists. Headers in the console's language; values as codes and ISO dates."""
    _ = gettext(request)
    locale = console_locale(request)
    sections: list[Section] = [
        (
            _("Translations by language"),
            [_("Language"), _("Missing"), _("Outdated"), _("Draft"), _("Total")],
            [
                [c.locale or _("All languages"), c.missing, c.outdated, c.draft, c.total]
                for c in found.translation_counts
            ],
        )
    ]
    if found.directory_counts is not None:
        sections.append(
            (
                _("Directory entries by corridor"),
                [_("Corridor"), _("Needs verification"), _("Over a year"), _("Total")],
                [
                    [
                        c.corridor or _("Whole directory"),
                        c.needs_verification,
                        c.over_a_year,
                        c.total,
                    ]
                    for c in found.directory_counts
                ],
            )
        )
    if waiting is not None:
        sections.append((_("Alerts waiting for review"), [_("Alerts")], [[waiting]]))
    sections.append(
        (
            _("Translations to do"),
            [
                _("Article"),
                _("Title"),
                _("Language"),
                _("State"),
                _("English updated"),
                _("Translation dated"),
            ],
            [
                [i.slug, i.title, i.locale, i.state, i.english_updated, i.translated_on]
                for i in found.translations
            ],
        )
    )
    if found.entries is not None:
        sections.append(
            (
                _("Directory entries to verify"),
                [
                    _("Entry"),
                    _("Name"),
                    _("Kind"),
                    _("Country"),
                    _("State"),
                    _("Verified on"),
                    _("Corridors"),
                ],
                [
                    [
                        e.id,
                        pick(e.name, locale),
                        e.kind,
                        e.country,
                        e.state,
                        e.verified_on,
                        " ".join(e.corridors),
                    ]
                    for e in found.entries
                ],
            )
        )
    return sections
