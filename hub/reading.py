"""One reading of a request: the only values a reader page may depend on, parsed once.

The response cache keys on `Reading.key` and the views read the same `Reading`, so a page
can never depend on something its cache entry does not say. Cookies from every `Cookie`
header are read together (HTTP/2 may split them, RFC 9113 section 8.2.3); a preference the
site does not know reads as absent; a query parameter no view reads is dropped, so a junk
parameter neither changes the page nor makes a new cache entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import Scope

from hub.content.text import trim
from hub.preferences import (
    DESTINATION_COOKIE,
    DISCREET_COOKIE,
    LOCALE_COOKIE,
    LOCATION_COOKIE,
    ORIGIN_COOKIE,
    PREFERENCE_COOKIES,
)

SCOPE_KEY = "hub.reading"
# Longer than any search a reader types; the rest is cut, on the page and in the cache key.
MAX_QUERY_LENGTH = 200
# Longer than any page of the hub's own; a longer `next` is not one of them.
MAX_NEXT_LENGTH = 2000
# A value a view must refuse (an unknown country, a page number that is not one): kept as one
# marker, so every such request reads the same and gets the same 400.
INVALID = "?"
# More parameters than any form of the hub sends: the rest is not read.
MAX_PARAMETERS = 16
PAGE_DIGITS = 9

Key = tuple[str, tuple[tuple[str, str], ...], str | None, str | None, bool, bool]


@dataclass(frozen=True)
class Known:
    """What the site serves: its locale codes, origin and destination countries."""

    locales: frozenset[str]
    origins: frozenset[str]
    destinations: frozenset[str]


def _one_of(*allowed: str) -> Callable[[str, Known], str | None]:
    return lambda value, known: value if value in allowed else None


def _country(attribute: str) -> Callable[[str, Known], str | None]:
    def read(value: str, known: Known) -> str | None:
        if value == "":
            return ""
        value = value.upper()  # ISO 3166 codes, read in any case
        return value if value in getattr(known, attribute) else INVALID

    return read


def _query(value: str, known: Known) -> str | None:
    return trim(value)[:MAX_QUERY_LENGTH] or None


def _page(value: str, known: Known) -> str | None:
    if value == "":
        return None
    ok = value.isascii() and value.isdigit() and len(value) <= PAGE_DIGITS
    return value if ok else INVALID


def _next(value: str, known: Known) -> str | None:
    return value if len(value) <= MAX_NEXT_LENGTH else "/"


def _place(value: str, known: Known) -> str | None:
    return value if value in ("origin", "destination") else INVALID


def _locale(value: str, known: Known) -> str | None:
    value = value.lower()  # language tags are case-insensitive (RFC 5646 section 2.1.1)
    return value if value in known.locales else None


# Every query parameter a view reads, and how its value is read; no other one reaches a view.
PARAMETERS: Mapping[str, Callable[[str, Known], str | None]] = {
    "q": _query,
    "page": _page,
    "all": _one_of("1"),
    "from": _country("origins"),
    "to": _country("destinations"),
    "in": _place,
    "next": _next,
    "saved": _one_of("1", "place"),
    "on": _one_of("1"),
    "lang": _locale,
    "discreet": _one_of("1"),
}


@dataclass(frozen=True)
class Reading:
    """What a reader page may depend on: path, known query values and preferences."""

    path: str
    query: tuple[tuple[str, str], ...]
    locale_cookie: str | None
    origin: str | None
    destination: str | None
    discreet: bool
    in_origin: bool

    @property
    def key(self) -> Key:
        """The response cache key: every value a page reads (the locale cookie is not one)."""
        return (
            self.path,
            self.query,
            self.origin,
            self.destination,
            self.discreet,
            self.in_origin,
        )

    def param(self, name: str, default: str = "") -> str:
        """The read value of a query parameter, or `default` when it is absent or unread."""
        for key, value in self.query:
            if key == name:
                return value
        return default

    def has(self, name: str) -> bool:
        """Whether the query holds this parameter with a value that is read."""
        return any(key == name for key, _ in self.query)

    @property
    def query_string(self) -> str:
        """The read parameters as a query string, in a stable order."""
        return urlencode(self.query)

    @property
    def here(self) -> str | None:
        """The country she is in now: her origin when she said so, else her destination.

        None means abroad in a country she has not named, so only numbers that work from any
        other country are offered.
        """
        return self.origin if self.in_origin else self.destination


def cookies_of(scope: Scope) -> dict[str, str]:
    """The hub's own cookies of the request, from all its Cookie headers (the first value of a
    name wins); other cookies, and values quoted or escaped, are not read."""
    parts = [value.decode("latin-1") for name, value in scope["headers"] if name == b"cookie"]
    found: dict[str, str] = {}
    # Split by hand, not by http.cookies (Starlette's cookie_parser): its unquoting takes time
    # in the square of a value's backslashes before Python 3.11.10 (CVE-2024-7592), so one
    # request could stall the server. The hub's values are plain tokens; nothing else matters.
    for pair in ";".join(parts).split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name in PREFERENCE_COOKIES:
            found.setdefault(name, value.strip())
    return found


def _read_query(raw: bytes, known: Known) -> tuple[tuple[str, str], ...]:
    values: dict[str, str] = {}
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    for name, value in pairs[: MAX_PARAMETERS * 4]:
        read = PARAMETERS.get(name)
        if read is None:
            continue
        result = read(value, known)
        # The last value of a repeated parameter wins, as in Starlette's QueryParams.
        if result is None:
            values.pop(name, None)
        else:
            values[name] = result
    return tuple(sorted(values.items())[:MAX_PARAMETERS])


def read(scope: Scope, known: Known) -> Reading:
    """Parse the request once; later calls on the same scope return the same Reading."""
    found = scope.get(SCOPE_KEY)
    if isinstance(found, Reading):
        return found
    cookies = cookies_of(scope)
    locale = cookies.get(LOCALE_COOKIE, "").lower()
    origin = cookies.get(ORIGIN_COOKIE, "").upper()
    destination = cookies.get(DESTINATION_COOKIE, "").upper()
    origin_or_none = origin if origin in known.origins else None
    reading = Reading(
        path=scope["path"],
        query=_read_query(scope.get("query_string", b""), known),
        locale_cookie=locale if locale in known.locales else None,
        origin=origin_or_none,
        destination=destination if destination in known.destinations else None,
        discreet=cookies.get(DISCREET_COOKIE) == "1",
        in_origin=cookies.get(LOCATION_COOKIE) == "origin" and origin_or_none is not None,
    )
    scope[SCOPE_KEY] = reading
    return reading


def known_of(scope: Scope) -> Known:
    """What the app serves, from the app's loaded site (set on app.state by the lifespan)."""
    state: Any = scope["app"].state
    known: Known | None = getattr(state, "known", None)
    if known is None:
        site = state.library.site
        known = Known(
            frozenset(state.i18n.codes), frozenset(site.origins), frozenset(site.destinations)
        )
        state.known = known
    return known


def reading_of(scope: Scope) -> Reading:
    """The request's Reading, parsed on first use."""
    # Asked for by several middlewares and the view: the kept one, without looking up Known.
    found = scope.get(SCOPE_KEY)
    if isinstance(found, Reading):
        return found
    return read(scope, known_of(scope))
