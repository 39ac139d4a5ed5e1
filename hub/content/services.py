"""Parse one directory entry (`content/services/<id>.yml`) into a Service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from hub.content import fields as f
from hub.content.model import SERVICE_KINDS, Chat, Service


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
    return verified_on


def _chats(data: dict[str, Any]) -> tuple[Chat, ...]:
    chats = []
    for item in data.get("chat") or []:
        if not isinstance(item, dict):
            raise f.FieldError("'chat' must be a list of {label, url}")
        chats.append(Chat(f.text(item, "label") or "", f.url(item, "url") or ""))
    return tuple(chats)


def _languages(data: dict[str, Any]) -> tuple[str, ...]:
    languages = f.strings(data, "languages")
    for code in languages:
        if code not in f.known_languages():
            raise f.FieldError(f"'languages' has '{code}', which is not a language code")
    return languages


def parse_service(
    service_id: str, data: object, locales: Collection[str], today: dt.date
) -> tuple[Service, list[str]]:
    """The Service a file describes, with warnings; raises FieldError when it is invalid."""
    if not f.SLUG.match(service_id):
        raise f.FieldError("file name must be lowercase words joined by '-'")
    if not isinstance(data, dict):
        raise f.FieldError("must be a mapping")
    warnings: list[str] = []
    country = f.country(data.get("country"))
    verified_on = _verification(data, today)
    phone = f.phone(data["phone"]) if data.get("phone") is not None else None
    short = data.get("short_number")
    short_number = f.short_number(short) if short is not None else None
    # libphonenumber lacks some national hotlines (the Philippines' 1348), so an
    # unlisted short number is a warning for a curator to re-check, not a rejection.
    if short_number is not None and not f.short_number_known(short_number, country):
        warnings.append(
            f"short number {short_number} is not in libphonenumber's data for "
            f"{country}; make sure the source confirms it"
        )
    if verified_on is not None and phone is None and short_number is None:
        raise f.FieldError("a verified entry needs 'phone' or 'short_number'")
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
        chat=_chats(data),
        website=f.url(data, "website", required=False),
        hours=f.localized(data, "hours", locales, required=False),
        languages=_languages(data),
        cost=f.choice(data, "cost", ("free", "paid", "unknown"), "unknown"),
        confidential=confidential,
        source=f.url(data, "source") or "",
        verified_on=verified_on,
    )
    return service, warnings
