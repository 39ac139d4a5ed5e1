"""Parse one directory entry (`content/services/<id>.yml`) into a Service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from hub.content import fields as f
from hub.content.dialing import first_dialable, readers_places
from hub.content.model import SERVICE_KINDS, Chat, Service, Source
from hub.settings import SOURCE_MAX_AGE_YEARS


def _verification(data: dict[str, Any], today: dt.date) -> dt.date | None:
    verified_on = f.date(data, "verified_on", required=False)
    needed = data.get("verification") == "needed"
    if data.get("verification") not in (None, "needed"):
        raise f.FieldError("'verification' can only be 'needed'")
    if verified_on is None and not needed:
        raise f.FieldError("needs 'verified_on' (YYYY-MM-DD) or 'verification: needed'")
    if verified_on is not None and needed:
        raise f.FieldError("has both 'verified_on' and 'verification: needed'")
    if verified_on is not None and verified_on > today:
        raise f.FieldError(f"'verified_on' {verified_on} is in the future")
    # When a verified entry is marked again, the day it was last verified is kept: the console
    # tells an entry never verified from one that needs verifying again.
    last = f.date(data, "last_verified_on", required=False)
    if last is not None and not needed:
        raise f.FieldError("'last_verified_on' goes with 'verification: needed'")
    if last is not None and last > today:
        raise f.FieldError(f"'last_verified_on' {last} is in the future")
    return verified_on


def abroad_warnings(number: str) -> list[str]:
    """What `hub check` says of a valid E.164 `phone_from_abroad` (the console says it too)."""
    if f.valid_number(number):
        return []
    return [
        f"phone_from_abroad {number} is not a valid number in libphonenumber's "
        "data, so it gets no call button; make sure the source confirms it"
    ]


def short_number_warnings(number: str, country: str) -> list[str]:
    """What `hub check` says of a valid short number of `country` (the console says it too)."""
    # libphonenumber lacks some national hotlines (the Philippines' 1348), so an
    # unlisted short number is a warning for a curator to re-check, not a rejection.
    if f.short_number_known(number, country):
        return []
    return [
        f"short number {number} is not in libphonenumber's data for "
        f"{country}; make sure the source confirms it"
    ]


def retired_on(data: object, today: dt.date) -> dt.date | None:
    """The day an entry was retired (None: it is not); raises FieldError when it is invalid.

    A retired entry's file is kept for its history, with `retired_on` and `retired_reason`;
    no reader page lists it, and the rest of it is not checked any more."""
    if not isinstance(data, dict) or data.get("retired_on") is None:
        if isinstance(data, dict) and data.get("retired_reason") is not None:
            raise f.FieldError("'retired_reason' goes with 'retired_on' (YYYY-MM-DD)")
        return None
    day = f.date(data, "retired_on")
    if day is not None and day > today:
        raise f.FieldError(f"'retired_on' {day} is in the future")
    f.text(data, "retired_reason")
    return day


def _verifier(data: dict[str, Any], verified_on: dt.date | None) -> None:
    # Who verified it and what she noted describe a verification: without one they would
    # claim a check that the file no longer records.
    for key in ("verified_by", "verified_note"):
        if data.get(key) is not None:
            f.text(data, key)
            if verified_on is None:
                raise f.FieldError(f"'{key}' goes with 'verified_on'")


def _chats(data: dict[str, Any]) -> tuple[Chat, ...]:
    chats = []
    for item in data.get("chat") or []:
        if not isinstance(item, dict):
            raise f.FieldError("'chat' must be a list of {label, url}")
        chats.append(Chat(f.text(item, "label") or "", f.url(item, "url") or ""))
    return tuple(chats)


def _sources(data: dict[str, Any], today: dt.date) -> tuple[Source, ...]:
    if "source" in data:
        raise f.FieldError(
            "'source' is replaced by 'sources': a list of {url, date, numbers} "
            "(see docs/content-format.md)"
        )
    items = data.get("sources")
    if not isinstance(items, list) or not items:
        raise f.FieldError("'sources' must list at least one {url, date, numbers}")
    sources = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise f.FieldError(f"sources {index}: must be a mapping of url, date and numbers")
        unknown = set(item) - {"url", "date", "numbers"}
        if unknown:
            raise f.FieldError(f"sources {index}: unknown key '{sorted(unknown, key=str)[0]}'")
        try:
            date = f.source_date(item.get("date"))
            if date.earliest > today:
                raise f.FieldError(f"'date' {date.earliest} is in the future")
            numbers = item.get("numbers")
            if not isinstance(numbers, list) or not all(
                isinstance(n, str | int) and not isinstance(n, bool) for n in numbers
            ):
                raise f.FieldError("'numbers' must list the entry's numbers the page states")
            url = f.url(item, "url") or ""
        except f.FieldError as exc:
            raise f.FieldError(f"sources {index}: {exc}") from exc
        sources.append(Source(url, date, tuple(str(n) for n in numbers)))
    return tuple(sources)


def _check_sources(service: Service, today: dt.date, max_age_years: int) -> list[str]:
    """Errors for numbers no source states; warnings for numbers only old sources state."""
    warnings = []
    for index, source in enumerate(service.sources, start=1):
        for number in source.numbers:
            if number not in service.numbers:
                raise f.FieldError(
                    f"sources {index}: '{number}' is not one of this entry's numbers "
                    f"({', '.join(service.numbers) or 'none'})"
                )
    oldest_year = today.year - max_age_years
    for number in service.numbers:
        stating = [s.date.earliest for s in service.sources if number in s.numbers]
        if not stating:
            if service.verified_on is not None:
                raise f.FieldError(
                    f"no source states {number}: list it under 'numbers' of the source that "
                    "gives it, or mark the entry 'verification: needed'"
                )
            continue
        newest = max(stating)
        if newest.year < oldest_year:
            warnings.append(
                f"{number}: its newest source is from {newest.year}; add a source from "
                f"{oldest_year} or later that states it, or mark 'verification: needed'"
            )
    return warnings


def _languages(data: dict[str, Any]) -> tuple[str, ...]:
    languages = f.strings(data, "languages")
    for code in languages:
        if code not in f.known_languages():
            raise f.FieldError(f"'languages' has '{code}', which is not a language code")
    return languages


def parse_service(
    service_id: str,
    data: object,
    locales: Collection[str],
    today: dt.date,
    *,
    origins: Collection[str] = (),
    source_max_age_years: int = SOURCE_MAX_AGE_YEARS,
) -> tuple[Service, list[str]]:
    """The Service a file describes, with warnings; raises FieldError when it is invalid.

    `origins` are the site's origin countries (an origin's line for its own people is read from
    abroad); numbers stated only by sources older than `source_max_age_years` are warned about.
    """
    if not f.SLUG.match(service_id):
        raise f.FieldError("file name must be lowercase words joined by '-'")
    if not isinstance(data, dict):
        raise f.FieldError("must be a mapping")
    warnings: list[str] = []
    country = f.country(data.get("country"))
    verified_on = _verification(data, today)
    _verifier(data, verified_on)
    phone = f.phone(data["phone"]) if data.get("phone") is not None else None
    abroad = data.get("phone_from_abroad")
    phone_from_abroad = f.e164(abroad, "phone_from_abroad") if abroad is not None else None
    # The number a ministry gives for callers abroad may be one libphonenumber does not list
    # (the Philippines' +632 1348): shown for reading, but no call button is promised for it.
    if phone_from_abroad is not None:
        warnings.extend(abroad_warnings(phone_from_abroad))
    short = data.get("short_number")
    short_number = f.short_number(short) if short is not None else None
    if short_number is not None:
        warnings.extend(short_number_warnings(short_number, country))
    if verified_on is not None and phone is None and short_number is None:
        raise f.FieldError("a verified entry needs 'phone' or 'short_number'")
    if phone_from_abroad is not None and phone_from_abroad == phone:
        raise f.FieldError("'phone_from_abroad' repeats 'phone'; leave it out")
    confidential = data.get("confidential")
    if confidential is not None and not isinstance(confidential, bool):
        raise f.FieldError("'confidential' must be true or false")
    service = Service(
        id=service_id,
        kind=f.choice(data, "kind", SERVICE_KINDS),
        name=f.localized(data, "name", locales),
        description=f.localized(data, "description", locales, required=False),
        country=country,
        serves=frozenset(f.countries(data, "serves")),
        phone=phone,
        short_number=short_number,
        phone_from_abroad=phone_from_abroad,
        chat=_chats(data),
        website=f.url(data, "website", required=False),
        hours=f.localized(data, "hours", locales, required=False),
        languages=_languages(data),
        cost=f.choice(data, "cost", ("free", "paid", "unknown"), "unknown"),
        confidential=confidential,
        sources=_sources(data, today),
        verified_on=verified_on,
    )
    warnings.extend(_check_sources(service, today, source_max_age_years))
    for place in [] if service.verification_needed else readers_places(service, origins):
        if first_dialable(service, place) is None:
            where = "abroad" if place is None else f"in {place}"
            warnings.append(
                f"no number can be dialled by its readers {where}; add a number they can "
                "call (for callers abroad: 'phone_from_abroad')"
            )
    return service, warnings
