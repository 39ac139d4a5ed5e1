"""The installable, offline app: manifest, service worker, packs, offline index, clearing."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from hub.encoding import etag_matches
from hub.i18n import I18n
from hub.offline import SearchExports
from hub.packs import packs_of
from hub.preferences import DISCREET_COOKIE, PREFERENCE_COOKIES
from hub.response_cache import CACHEABLE
from hub.static import StaticAssets, preferred_codings
from hub.views.public import local_path, page
from hub.views.reader import (
    corridor,
    library_of,
    reader_locale,
    reading,
    set_preference,
)
from hub.views.render import DISCREET_THEME_COLOR, THEME_COLOR, render


def _icons(assets: StaticAssets, name: str) -> list[dict[str, str]]:
    def url(file: str) -> str:
        return "/static/" + assets.url_path(f"icons/{file}")

    return [
        {"src": url(f"{name}-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": url(f"{name}-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": url(f"{name}-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]


async def manifest(request: Request) -> Response:
    """The web app manifest in the reader's language; `discreet=1` gives the neutral one."""
    i18n: I18n = request.app.state.i18n
    site = library_of(request).site
    params = reading(request)
    lang = params.param("lang", i18n.default)
    discreet = params.param("discreet") == "1"
    data = {
        "id": "/",
        "name": site.name(lang, discreet=discreet),
        "short_name": site.short_name(lang, discreet=discreet),
        "lang": lang,
        "dir": "ltr",
        "start_url": f"/{lang}/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": DISCREET_THEME_COLOR if discreet else THEME_COLOR,
        "icons": _icons(request.app.state.assets, "discreet" if discreet else "hub"),
    }
    request.scope[CACHEABLE] = True
    return JSONResponse(
        data, media_type="application/manifest+json", headers={"cache-control": "no-cache"}
    )


async def service_worker(request: Request) -> Response:
    """The service worker, rendered at start-up with its version and precache list."""
    # Kept gzipped by the response cache: the worker is the same for the life of the process.
    request.scope[CACHEABLE] = True
    return Response(
        request.app.state.service_worker,
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


async def measure_pack(
    request: Request, locale: str, origin: str, destination: str
) -> dict[str, Any]:
    """The pages of a pack with the gzip bytes each costs, measured once per process off the
    event loop (hub.packs)."""
    return await packs_of(request.app).measure(locale, origin, destination)


def _pack_corridor(request: Request) -> tuple[str, str]:
    site = library_of(request).site
    origin = reading(request).param("from")
    destination = reading(request).param("to")
    if origin not in site.origins or destination not in site.destinations:
        raise HTTPException(status_code=400, detail="unknown-country")
    return origin, destination


async def pack(request: Request) -> Response:
    """The list of what to save for offline, for one locale and corridor, with sizes."""
    locale = reader_locale(request)
    origin, destination = _pack_corridor(request)
    measured = await measure_pack(request, locale, origin, destination)
    data = {
        "locale": locale,
        "from": origin,
        "to": destination,
        "version": request.app.state.version,
        **measured,
    }
    request.scope[CACHEABLE] = True
    return JSONResponse(data)


async def search_index(request: Request) -> Response:
    """The locale's search index, for the same search offline: brotli, gzip or as it is, as
    the client takes it; a 304 when it has it already."""
    locale = reader_locale(request)
    exports: SearchExports = request.app.state.search_exports
    export = exports.ready(locale)
    if export is None:
        export = await anyio.to_thread.run_sync(exports.build, locale)
    # Compressed once per locale, so not for the response cache, which keeps gzip only.
    taken = preferred_codings(request.headers.get("accept-encoding", ""))
    coding = next((name for name in taken if name in export.coded), None)
    etag = export.etag_of(coding)
    headers = {"vary": "Accept-Encoding", "etag": etag}
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if coding is not None:
        headers["content-encoding"] = coding
    return Response(export.body(coding), media_type="application/json", headers=headers)


async def save_for_offline(request: Request) -> Response:
    """Choose the corridor, see the size, save every page of it on the phone."""
    locale = reader_locale(request)
    origin, destination = corridor(request)
    measured = None
    if origin and destination:
        measured = await measure_pack(request, locale, origin, destination)
    return page(request, "offline.html", {"pack": measured})


async def unavailable(request: Request) -> Response:
    """What the service worker shows for a page that is not saved, when there is no network."""
    return page(request, "unavailable.html", {})


async def discreet(request: Request) -> Response:
    """Switch discreet mode (neutral install name and icon) on or off."""
    locale = reader_locale(request)
    params = reading(request)
    response = RedirectResponse(local_path(params.param("next"), locale), status_code=303)
    if params.param("on") == "1":
        set_preference(request, response, DISCREET_COOKIE, "1")
    else:
        response.delete_cookie(DISCREET_COOKIE, path="/")
    return response


async def clear(request: Request) -> Response:
    """Tell the browser to forget everything of this site: caches, storage, cookies, worker."""
    reader_locale(request)
    response = render(request, "cleared.html", {"no_service_worker": True})
    response.headers["clear-site-data"] = '"cache", "cookies", "storage"'
    response.headers["cache-control"] = "no-store"
    for name in PREFERENCE_COOKIES:
        response.delete_cookie(name, path="/")
    return response
