"""Typed readers for the values of YAML content files; each raises FieldError."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

import phonenumbers
from babel import Locale
from phonenumbers import shortnumberinfo

from hub.content.model import ArticleSource, SourceDate

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class FieldError(ValueError):
    """A value in a content file that does not fit its schema."""


# Two-letter codes CLDR names that are no country: ISO 3166's exceptional reservations (EU,
# UN, the Canary Islands...) and CLDR's own (ZZ "Unknown Region", QO, pseudo-locales). An
# account's corridors are checked against the same (hub/auth/fields.py), so a country it may
# serve is one the content may name. AC, TA and XK stay: libphonenumber has numbers for them.
NOT_COUNTRIES = frozenset({"CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "UN", "XA", "XB", "ZZ"})


@cache
def known_territories() -> frozenset[str]:
    """The two-letter codes of countries and territories that Babel's CLDR data names: ISO
    3166-1 alpha-2's, and the few others libphonenumber dials (NOT_COUNTRIES says why)."""
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(
        code for code in codes if re.fullmatch(r"[A-Z]{2}", code) and code not in NOT_COUNTRIES
    )


@cache
def known_languages() -> frozenset[str]:
    """Language codes that Babel's CLDR data names."""
    return frozenset(str(code) for code in Locale("en").languages)


def mapping(data: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any]:
    """A nested mapping."""
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"'{key}' must be a mapping")
    return value


def text(data: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """A non-empty string."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"'{key}' must be a non-empty text")
    return value.strip()


def localized(
    data: Mapping[str, Any], key: str, locales: Collection[str], *, required: bool = True
) -> dict[str, str]:
    """A mapping of locale to text; English is required whenever the key is present."""
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not value:
        raise FieldError(f"'{key}' must map locales to texts")
    result: dict[str, str] = {}
    for loc, item in value.items():
        if loc not in locales:
            raise FieldError(f"'{key}' has unknown locale '{loc}'")
        if not isinstance(item, str | int | float) or not str(item).strip():
            raise FieldError(f"'{key}.{loc}' must be a non-empty text")
        result[str(loc)] = str(item).strip()
    if "en" not in result:
        raise FieldError(f"'{key}' needs an English ('en') text")
    return result


def revision_id(data: Mapping[str, Any], key: str) -> str:
    """A 12-hex-digit revision; YAML reads an all-digit one as a number, so take that too."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value).zfill(12)
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{12}", value):
        raise FieldError(f"'{key}' must be the 12 hex digits that `hub revision` prints")
    return value


def strings(data: Mapping[str, Any], key: str, *, required: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings."""
    value = data.get(key)
    if value is None:
        if required:
            raise FieldError(f"'{key}' is required")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FieldError(f"'{key}' must be a list of texts")
    return tuple(value)


def countries(data: Mapping[str, Any], key: str, *, required: bool = False) -> tuple[str, ...]:
    """A list of ISO 3166-1 alpha-2 codes known to CLDR."""
    codes = strings(data, key, required=required)
    for code in codes:
        country(code, key)
    return codes


def country(code: object, key: str = "country") -> str:
    """One ISO 3166-1 alpha-2 country code known to CLDR, in capitals as ISO writes it."""
    if not isinstance(code, str) or code not in known_territories():
        raise FieldError(f"'{key}' has '{code}', which is not an ISO 3166 country code")
    return code


def date(data: Mapping[str, Any], key: str, *, required: bool = True) -> dt.date | None:
    """A calendar date written YYYY-MM-DD."""
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise FieldError(f"'{key}' must be a date written YYYY-MM-DD")


def choice(
    data: Mapping[str, Any], key: str, options: Collection[str], default: str | None = None
) -> str:
    """One of a fixed set of words."""
    value = data.get(key, default)
    if value not in options:
        raise FieldError(f"'{key}' must be one of: {', '.join(options)}")
    return str(value)


def url(data: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """An absolute http(s) URL."""
    value = text(data, key, required=required)
    if value is not None and not re.fullmatch(r"https?://[^\s/$.?#\\][^\s\\]*", value):
        raise FieldError(f"'{key}' must be an http(s) URL")
    return value


def e164(value: object, key: str = "phone") -> str:
    """A phone number written in E.164 that libphonenumber can read (valid or not)."""
    if not isinstance(value, str) or not re.fullmatch(r"\+[1-9]\d{6,14}", value):
        raise FieldError(f"'{key}' must be written in E.164, like +85221234567")
    try:
        parsed = phonenumbers.parse(value)
    except phonenumbers.NumberParseException as exc:
        raise FieldError(f"'{key}' {value} cannot be read: {exc}") from exc
    # libphonenumber drops a national trunk 0 written after the country code (+66 0...) and
    # reads the rest; the file must hold the number as E.164 writes it, as its source should.
    written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if written != value:
        raise FieldError(
            f"'{key}' {value} is not written in E.164: it reads as {written} "
            "(no national trunk 0 after the country code)"
        )
    return value


def valid_number(value: str) -> bool:
    """Whether libphonenumber's data lists an E.164 number as valid."""
    return bool(phonenumbers.is_valid_number(phonenumbers.parse(value)))


def phone(value: object) -> str:
    """A valid phone number written in E.164."""
    number = e164(value, "phone")
    if not valid_number(number):
        raise FieldError(f"'phone' {number} is not a valid number")
    return number


def short_number(value: object) -> str:
    """A short number (like 999): 3 to 6 digits."""
    if not isinstance(value, str | int) or not re.fullmatch(r"\d{3,6}", str(value)):
        raise FieldError("'short_number' must be 3 to 6 digits")
    return str(value)


def short_number_known(number: str, region: str) -> bool:
    """Whether libphonenumber's short-number data lists the number as valid in `region`."""
    parsed = phonenumbers.parse(number, region)
    return bool(shortnumberinfo.is_valid_short_number(parsed))


def source_date(value: object, key: str = "date") -> SourceDate:
    """A source's date: YYYY-MM-DD, "YYYY-MM" or YYYY, as precise as the page says."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return SourceDate(value.year, value.month, value.day)
    if isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 9999:
        return SourceDate(value)
    if isinstance(value, str):
        found = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", value.strip())
        if found and (found.group(2) is None or 1 <= int(found.group(2)) <= 12):
            month = found.group(2)
            return SourceDate(int(found.group(1)), int(month) if month else None)
    raise FieldError(f"'{key}' must be a date written YYYY-MM-DD, \"YYYY-MM\" or YYYY")


def article_sources(data: Mapping[str, Any], key: str = "sources") -> tuple[ArticleSource, ...]:
    """An article's sources: each an http(s) URL, or a mapping of `url` and optional `title`."""
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"'{key}' must be a list of URLs")
    found = []
    for item in value:
        if isinstance(item, dict):
            unknown = sorted(str(name) for name in item if name not in ("url", "title"))
            if unknown:
                raise FieldError(f"a source has '{unknown[0]}': a source has a url and a title")
            found.append(ArticleSource(url(item, "url") or "", text(item, "title", required=False)))
        else:
            found.append(ArticleSource(url({"source": item}, "source") or ""))
    return tuple(found)
