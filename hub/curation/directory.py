"""The curator's directory console as plain Python (issue 12, point 4): every entry with its
verification state, an entry's fields as form values and back to the YAML a person would write,
the changes "I verified this today" and "retire" make, and the phone check as she types.

Every check is the one `hub check` makes: fields.py's readers for each field (so a form can say
what is wrong with each field at once), then `parse_service` for the whole entry (its errors and
its warnings). Form values are flat strings named as the CSV import's columns
(hub/curation/directory_csv.py): `name_en`, `phone`, `source_url_1`, ...

Verification states: `never-verified` and `needs-verification` (the file says `verification:
needed`, readers see no number; the second keeps `last_verified_on`, the day it was verified
before a curator marked it again: hub/curation/worklists.py counts both as one, what the
curator must do being the same), `over-a-year` (verified more than 365 days ago), `ok`; and
`invalid` for a file the loader
leaves out for an error. Retired entries (`retired_on`) are listed apart.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from hub.content import fields as f
from hub.content.library import Library, resolve_link
from hub.content.model import Service
from hub.content.services import (
    abroad_warnings,
    parse_service,
    retired_on,
    short_number_warnings,
)
from hub.curation.directory_form import (
    MAX_REASON,
    items,
    plain_text,
    same,
    scalar,
    source_date_value,
    written_number,
)
from hub.curation.worklists import KIND_URGENCY, entry_corridors
from hub.settings import SOURCE_MAX_AGE_YEARS

ENTRY_STATES = ("never-verified", "needs-verification", "over-a-year", "ok", "invalid")


@dataclass(frozen=True)
class EntryRow:
    """One entry of the directory as the console lists it."""

    id: str
    name: Mapping[str, str]
    kind: str
    country: str
    serves: tuple[str, ...]
    state: str  # one of ENTRY_STATES
    verified_on: dt.date | None
    corridors: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    problem: str | None = None  # why the loader left it out (state "invalid")
    last_verified_on: dt.date | None = None  # state "needs-verification": verified before


@dataclass(frozen=True)
class RetiredRow:
    """An entry whose file is kept with `retired_on` and `retired_reason`."""

    id: str
    name: Mapping[str, str]
    kind: str
    country: str
    retired_on: dt.date | None
    reason: str


def state_of(service: Service, today: dt.date, last_verified_on: object = None) -> str:
    """The entry's verification state on `today` (never `invalid`: it loaded);
    `last_verified_on` is its file's, if any."""
    if service.verification_needed:
        return "needs-verification" if last_verified_on is not None else "never-verified"
    if not service.recently_verified(today):
        return "over-a-year"
    return "ok"


def _last_verified(path: Path, service: Service) -> object:
    """The file's `last_verified_on` of an entry that needs verification (read only then)."""
    if not service.verification_needed:
        return None
    try:
        if "last_verified_on" not in path.read_text(encoding="utf-8"):
            return None
    except (OSError, UnicodeDecodeError):
        return None
    data = read_data(path)
    return data.get("last_verified_on") if isinstance(data, dict) else None


def entry_files(root: Path) -> dict[str, Path]:
    """Each entry's id and its file under `root`/services, as the loader finds them."""
    folder = root / "services"
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        if path.suffix in (".yml", ".yaml") and not path.name.startswith("."):
            found.setdefault(path.stem, path)
    return found


def read_data(path: Path) -> Any:
    """A YAML file's data as the loader reads it (PyYAML `safe_load`); None when unreadable."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None


def _texts(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)}


def directory(
    library: Library,
    root: Path,
    today: dt.date,
    *,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> tuple[list[EntryRow], list[RetiredRow]]:
    """Every entry of the directory, by id, and the retired ones apart; a file the loader left
    out for an error is listed as `invalid`, with the reason."""
    corridors = entry_corridors(library)
    rows: list[EntryRow] = []
    retired: list[RetiredRow] = []
    for service_id, path in entry_files(root).items():
        service = library.services.get(service_id)
        if service is not None:
            last = _last_verified(path, service)
            rows.append(
                EntryRow(
                    id=service.id,
                    name=service.name,
                    kind=service.kind,
                    country=service.country,
                    serves=tuple(sorted(service.serves)),
                    state=state_of(service, today, last),
                    last_verified_on=last if isinstance(last, dt.date) else None,
                    verified_on=service.verified_on,
                    corridors=corridors.get(service.id, ()),
                    numbers=service.numbers,
                )
            )
            continue
        data = read_data(path)
        mapping = data if isinstance(data, dict) else {}
        name = _texts(mapping.get("name")) or {"en": service_id}
        kind = str(mapping.get("kind", ""))
        country = str(mapping.get("country", ""))
        try:
            day = retired_on(data, today)
        except f.FieldError:
            day = None
        if day is not None:
            reason = str(mapping.get("retired_reason", ""))
            retired.append(RetiredRow(service_id, name, kind, country, day, reason))
            continue
        problem = problem_of(service_id, data, library, today, source_max_age_years)
        rows.append(
            EntryRow(
                id=service_id,
                name=name,
                kind=kind,
                country=country,
                serves=(),
                state="invalid",
                verified_on=None,
                corridors=(),
                problem=problem,
            )
        )
    return rows, retired


def problem_of(
    service_id: str,
    data: object,
    library: Library,
    today: dt.date,
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> str:
    """Why the loader leaves this entry out (its first error)."""
    if data is None:
        return "cannot be read as YAML"
    try:
        retired_on(data, today)
        parse_service(
            service_id,
            data,
            library.site.locales,
            today,
            origins=library.site.origins,
            source_max_age_years=source_max_age_years,
        )
    except f.FieldError as exc:
        return str(exc)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return f"cannot be used: {type(exc).__name__}"
    return "not loaded yet: the content is being reloaded"


def filtered(
    rows: Iterable[EntryRow],
    *,
    corridor: str | None = None,
    kind: str | None = None,
    state: str | None = None,
    text: str | None = None,
) -> list[EntryRow]:
    """The rows that match every filter given; `text` is looked for, ignoring case, in the id,
    every name, the country code and the numbers."""
    needle = _folded(text) if text else None
    found = []
    for row in rows:
        if corridor is not None and corridor not in row.corridors:
            continue
        if kind is not None and row.kind != kind:
            continue
        if state is not None and row.state != state:
            continue
        if needle is not None and needle not in _haystack(row):
            continue
        found.append(row)
    return found


def retired_filtered(
    rows: Iterable[RetiredRow], *, kind: str | None = None, text: str | None = None
) -> list[RetiredRow]:
    """The retired rows of `kind` whose id or names hold `text`."""
    needle = _folded(text) if text else None
    return [
        row
        for row in rows
        if (kind is None or row.kind == kind)
        and (needle is None or needle in _folded(" ".join([row.id, *row.name.values()])))
    ]


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _haystack(row: EntryRow) -> str:
    return _folded(" ".join([row.id, row.country, *row.name.values(), *row.numbers]))


def kinds() -> tuple[str, ...]:
    """Every kind of entry, most urgent first (as the worklists order them)."""
    return KIND_URGENCY


# -- I verified this today, retire ------------------------------------------------------------


def verification_changes(
    data: Mapping[str, Any],
    *,
    url: str,
    page_date: str,
    numbers: Collection[str],
    note: str,
    who: str,
    today: dt.date,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes "I verified this today" makes (verified today by `who`, the page at `url`
    stating `numbers`, with its `page_date` when it is a new source), or the errors by field.

    The page joins `sources` (or, listed already, gets these numbers and the new date if one
    is given), since `hub check` wants every number of a verified entry stated by a source."""
    errors: dict[str, str] = {}
    try:
        checked_url = f.url({"source_url": url.strip()}, "source_url") or ""
    except f.FieldError as exc:
        errors["source_url"] = str(exc)
        checked_url = ""
    entry_numbers = [
        scalar(data.get(key))
        for key in ("phone", "short_number", "phone_from_abroad")
        if data.get(key) is not None
    ]
    unknown = [n for n in numbers if n not in entry_numbers]
    if unknown:
        errors["numbers"] = f"'{unknown[0]}' is not one of this entry's numbers"
    try:
        text = plain_text(note, "verified_note", MAX_REASON)
    except f.FieldError as exc:
        errors["verified_note"] = str(exc)
        text = ""
    date: object = None
    if page_date.strip():
        try:
            date = source_date_value(page_date)
        except f.FieldError as exc:
            errors["source_date"] = str(exc)
    sources = [dict(item) for item in items(data.get("sources"))]
    listed = next((s for s in sources if s.get("url") == checked_url), None)
    if listed is None:
        if date is None and "source_date" not in errors:
            errors["source_date"] = (
                "this page is not a source of the entry yet: give its date (YYYY-MM-DD, "
                "YYYY-MM or YYYY, as the page says)"
            )
        listed = {"url": checked_url, "date": date, "numbers": []}
        sources.insert(0, listed)
    elif date is not None:
        listed["date"] = date
    stated = [scalar(n) for n in listed.get("numbers") or []]
    listed["numbers"] = stated + [n for n in entry_numbers if n in numbers and n not in stated]
    if errors:
        return {}, errors
    found: dict[str, Any] = {
        "verified_on": today,
        "verification": None,
        "verified_by": who,
        "verified_note": text or None,
        "last_verified_on": None,
    }
    if not same(items(data.get("sources")), sources):
        found["sources"] = sources
    return found, {}


def retirement_changes(reason: str, today: dt.date) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes retiring an entry makes, or the reason's error."""
    try:
        text = plain_text(reason, "retired_reason", MAX_REASON)
    except f.FieldError as exc:
        return {}, {"retired_reason": str(exc)}
    if not text:
        return {}, {"retired_reason": "say why the entry is retired"}
    return {"retired_on": today, "retired_reason": text}, {}


def linking_articles(library: Library, service_id: str) -> list[str]:
    """The articles (slug/locale) whose body links to the entry's page: retiring it would
    leave them a link to nowhere, which `hub check` refuses."""
    found = []
    for article in library.articles.values():
        for locale, text in article.texts.items():
            base = f"/{locale}/articles/{article.slug}"
            for href in text.links:
                path = resolve_link(href, base)
                if path.split("/")[2:4] == ["services", service_id]:
                    found.append(f"{article.slug}/{locale}")
                    break
    return found


# -- The phone check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneCheck:
    """What the server says of one number as it is typed."""

    field: str
    written: str  # as the file will hold it (E.164, or the short number)
    error: str | None
    warnings: tuple[str, ...] = ()
    display: str = ""  # grouped for reading

    def as_json(self) -> dict[str, Any]:
        """The JSON the console's script shows next to the field."""
        return {
            "field": self.field,
            "written": self.written,
            "ok": self.error is None,
            "error": self.error,
            "warnings": list(self.warnings),
            "display": self.display,
        }


def check_phone(field_name: str, typed: str, country: str) -> PhoneCheck:
    """The check `hub check` makes of one number of an entry in `country`, with its warnings:
    `phone` must be valid E.164, `phone_from_abroad` any E.164 (an unlisted one is a warning),
    `short_number` 3 to 6 digits (one libphonenumber does not list for `country` a warning)."""
    if field_name == "short_number":
        written = written_number(typed)
        try:
            number = f.short_number(written)
        except f.FieldError as exc:
            return PhoneCheck(field_name, written, str(exc))
        known = country in f.known_territories()
        warnings = short_number_warnings(number, country) if known else []
        return PhoneCheck(field_name, number, None, tuple(warnings), number)
    written = written_number(typed)
    try:
        number = f.phone(written) if field_name == "phone" else f.e164(written, field_name)
    except f.FieldError as exc:
        return PhoneCheck(field_name, written, str(exc))
    warnings = abroad_warnings(number) if field_name == "phone_from_abroad" else []
    display = phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return PhoneCheck(field_name, number, None, tuple(warnings), display)
