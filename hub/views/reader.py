"""What every reader page needs from a request: its locale and the chosen corridor."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.content import Library
from hub.i18n import I18n
from hub.preferences import DESTINATION_COOKIE, LOCALE_COOKIE, LOCATION_COOKIE, ORIGIN_COOKIE

COOKIE_MAX_AGE = 365 * 24 * 3600


def library_of(request: Request) -> Library:
    """The content library the app loaded."""
    library: Library = request.app.state.library
    return library


def reader_locale(request: Request) -> str:
    """The locale in the URL; an unknown one is a 404."""
    i18n: I18n = request.app.state.i18n
    locale = str(request.path_params.get("locale", ""))
    if locale not in i18n.codes:
        raise HTTPException(status_code=404)
    request.scope["hub.locale"] = locale
    return locale


def corridor(request: Request) -> tuple[str | None, str | None]:
    """The remembered origin and destination, ignoring values the site does not serve."""
    site = library_of(request).site
    origin = request.cookies.get(ORIGIN_COOKIE)
    destination = request.cookies.get(DESTINATION_COOKIE)
    return (
        origin if origin in site.origins else None,
        destination if destination in site.destinations else None,
    )


def whereabouts(request: Request, origin: str | None, destination: str | None) -> str | None:
    """The country she is in now: her origin when she said so, else her destination.

    None means abroad in a country she has not named, so only numbers that work from any
    other country are offered.
    """
    if request.cookies.get(LOCATION_COOKIE) == "origin" and origin is not None:
        return origin
    return destination


def set_preference(request: Request, response: Response, name: str, value: str) -> None:
    """Remember a reader preference in a first-party, script-invisible cookie."""
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.https_only,
    )


def remember_locale(request: Request, response: Response, locale: str) -> None:
    """Set the locale cookie when the reader is on a page in another locale than remembered."""
    if request.cookies.get(LOCALE_COOKIE) != locale:
        set_preference(request, response, LOCALE_COOKIE, locale)
