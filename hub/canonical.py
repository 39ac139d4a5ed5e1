"""One address for every page: any other spelling of it gets a permanent, relative redirect.

A canonical path has no trailing slash, except the root `/`, a locale's home `/<locale>/` and a
console's home (`/admin/`, `/leaders/`);
no empty segment (`//`); and its locale in lower case, both as the first segment of a reader
path and as the file of `/api/search/<locale>.json` and `/api/packs/<locale>.json` (language
tags are case-insensitive, RFC 5646 section 2.1.1, but the hub's URLs are not).

The redirect's Location is the canonical path with the query as sent. It is never built from
the Host header, so a forged Host cannot come back in it; and it is percent-encoded, so no path
can turn it into a link to another site (`/\\evil.example` would be one to a browser).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import quote, quote_from_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from hub.i18n import LOCALES

_SLASHES = re.compile(r"/{2,}")
# Characters a path or query may hold as they are (RFC 3986 pchar and "/", "?"); everything
# else, the backslash and "%" included, is written percent-encoded.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?%"
# Routes whose last segment is "<locale>.json".
_LOCALE_FILES = ("search", "packs")
# Homes of a section, like a locale's: their pages are below them.
CONSOLE_HOMES = ("admin", "leaders")


def canonical_path(path: str, locales: Collection[str]) -> str:
    """The canonical form of a (decoded) request path; the same path when it is canonical."""
    segments = _SLASHES.sub("/", path).split("/")
    # segments[0] is the empty text before the leading slash.
    if len(segments) > 1 and segments[1].lower() in locales:
        segments[1] = segments[1].lower()
    if len(segments) == 4 and segments[1] == "api" and segments[2] in _LOCALE_FILES:
        name, dot, extension = segments[3].rpartition(".")
        if dot and extension == "json" and name.lower() in locales:
            segments[3] = f"{name.lower()}.json"
    named = [segment for segment in segments if segment]
    if not named:
        return "/"
    if len(named) == 1 and (named[0] in locales or named[0] in CONSOLE_HOMES):
        return f"/{named[0]}/"
    return "/" + "/".join(named)


def location(path: str, query_string: bytes) -> str:
    """A relative redirect target: the path and the query, percent-encoded for a header."""
    target = quote(path, safe=_PATH_SAFE)
    if query_string:
        target += "?" + quote_from_bytes(query_string, safe=_QUERY_SAFE)
    return target


class Canonical:
    """Answers a request for a non-canonical path with a 308 to the canonical one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        # Served under a prefix (ASGI root_path), only the part after it is the hub's.
        root: str = scope.get("root_path", "")
        root = root if root and path.startswith(root + "/") else ""
        wanted = canonical_path(path[len(root) :], _locales(scope))
        if root + wanted == path:
            await self.app(scope, receive, send)
            return
        target = location(root + wanted, scope.get("query_string", b""))
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [
                    (b"location", target.encode("ascii")),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _locales(scope: Scope) -> Collection[str]:
    """The locales the app serves (its loaded catalogs), else every locale the hub ships."""
    i18n = getattr(scope["app"].state, "i18n", None) if "app" in scope else None
    codes: Collection[str] = getattr(i18n, "codes", LOCALES)
    return codes
