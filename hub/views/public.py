"""The reader's pages: home, topics, articles, help, services, search, safety."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote_plus, unquote, urlencode, urlsplit, urlunsplit

import anyio
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from hub.content import Article
from hub.content.dialing import Call, calls, first_dialable, readers_places
from hub.content.model import Service, SourceDate, site_name
from hub.content.search import Hit, Indexes, ResultPage, page_number
from hub.encoding import ONE_OFF
from hub.i18n import I18n
from hub.preferences import DESTINATION_COOKIE, LOCATION_COOKIE, ORIGIN_COOKIE
from hub.reading import MAX_NEXT_LENGTH
from hub.response_cache import CACHEABLE
from hub.views.donut import Donut
from hub.views.reader import (
    corridor,
    library_of,
    reader_locale,
    reading,
    remember_locale,
    set_preference,
)
from hub.views.render import fixed_context, fixed_key, kept, render, root_path, url_path
from hub.views.stencil import Stencil

# Query flag of the page a preference form returns to, so that page confirms the choice.
SAVED = "saved"


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    cacheable: bool = True,
    donut: Donut | None = None,
) -> Response:
    """Render a reader page with its corridor and where she is, and remember its locale.

    With a `donut` of the template, the page is made from its kept shell, unless it confirms a
    saved choice (base.html's notes are then written for her countries: rendered in full).
    """
    locale = reader_locale(request)
    origin, destination = corridor(request)
    saved = reading(request).param(SAVED)
    response: Response
    if donut is not None and not saved:
        response = donut.render(request, {"origin": origin, "destination": destination, **context})
    else:
        here = reading(request).here
        response = render(
            request,
            template,
            {
                "origin": origin,
                "destination": destination,
                "here": here,
                "saved": saved,
                "calls": _dialler(request, origin, destination, here),
                "site_of": site_name,
                "source_date": lambda date: _source_date(request, locale, date),
                **context,
            },
        )
    # The page depends on the preference cookies, so shared caches must key on them.
    response.headers["vary"] = "Cookie"
    remember_locale(request, locale)
    # A confirmation is said once, after a choice; the plain page is the one worth keeping.
    request.scope[CACHEABLE] = cacheable and not saved
    return response


def _dialler(
    request: Request, origin: str | None, destination: str | None, here: str | None
) -> Callable[[Service], list[Call]]:
    """How a page dials each entry: from where she is, or, before she has chosen any country,
    from where the entry's readers usually are (a shared link to an emergency line works)."""
    if origin is not None or destination is not None:
        return lambda service: calls(service, here)
    origins = library_of(request).site.origins
    return lambda service: calls(service, readers_places(service, origins)[0])


def _source_date(request: Request, locale: str, date: SourceDate) -> str:
    i18n: I18n = request.app.state.i18n
    return i18n.partial_date(locale, date.year, date.month, date.day)


def _article_entry(article: Article, locale: str) -> dict[str, Any]:
    return {
        "article": article,
        "text": article.text(locale),
        "fallback": locale not in article.texts,
    }


async def root(request: Request) -> Response:
    """Send the reader to her language: cookie first, then Accept-Language, else English."""
    i18n: I18n = request.app.state.i18n
    locale = reading(request).locale_cookie or i18n.negotiate(
        request.headers.get("accept-language", "")
    )
    response = RedirectResponse(url_path(request, "home", locale=locale), status_code=302)
    response.headers["vary"] = "Accept-Language, Cookie"
    response.headers["cache-control"] = "private, no-cache"
    return response


async def home(request: Request) -> Response:
    """Corridor picker, journey stages and the way to help."""
    library = library_of(request)
    here = reading(request).here
    emergency = []
    for entry in library.services.values():
        if entry.kind == "emergency" and entry.country == here and not entry.verification_needed:
            call = first_dialable(entry, here)
            if call is not None:
                emergency.append((entry, call))
    return page(request, "home.html", {"topics": library.topics, "emergency": emergency})


async def topic(request: Request) -> Response:
    """The articles of one journey stage, for the chosen corridor."""
    library = library_of(request)
    locale = reader_locale(request)
    found = library.topic(str(request.path_params["topic_id"]))
    if found is None:
        raise HTTPException(status_code=404)
    chosen = library.articles_in(found.id, *corridor(request))
    articles = [_article_entry(a, locale) for a in chosen]
    return page(request, "topic.html", {"topic": found, "articles": articles})


async def article(request: Request) -> Response:
    """One article in the reader's language, or in English with a notice."""
    library = library_of(request)
    locale = reader_locale(request)
    found = library.articles.get(str(request.path_params["slug"]))
    if found is None:
        raise HTTPException(status_code=404)
    context = {
        **_article_entry(found, locale),
        "outdated": found.is_outdated(locale),
        "topics": [t for t in library.topics if t.id in found.topics],
    }
    return page(request, "article.html", context)


async def help_page(request: Request) -> Response:
    """The directory for the chosen corridor, most urgent first, dialled from where she is."""
    origin, destination = corridor(request)
    here = reading(request).here
    at_home = here is not None and here == origin
    groups = library_of(request).help_groups(origin, destination, at_home=at_home)
    call_now: list[tuple[str, Service, Call]] = []
    for group, entries in groups:
        for entry in entries:
            call = None if entry.verification_needed else first_dialable(entry, here)
            if call is not None:
                call_now.append((group, entry, call))
                break
    return page(request, "help.html", {"groups": groups, "call_now": call_now})


async def service(request: Request) -> Response:
    """One directory entry."""
    found = library_of(request).services.get(str(request.path_params["service_id"]))
    if found is None:
        raise HTTPException(status_code=404)
    return page(request, "service.html", {"service": found})


# Only the results and the query change from one search to the next (hub/views/donut.py), and
# the results are filled into a stencil of their partial (hub/views/stencil.py).
SEARCH_RESULTS = Stencil(
    "_search_main.html",
    shape=(
        "scoped",
        "everywhere",
        "missing",
        "with_services",
        "with_articles",
        "paged",
        "first_page",
        "last_page",
    ),
    values=(
        "origin_code",
        "destination_code",
        "count",
        "all_countries",
        "only_yours",
        "first",
        "service_cards",
        "article_cards",
        "previous",
        "number",
        "pages",
        "next",
    ),
)
SEARCH_PAGE = Donut("search.html", {"results": SEARCH_RESULTS}, ("query",))


@dataclass(frozen=True)
class SearchLinks:
    """The links of a search page: its first page (as shown, or for all countries, or for
    hers only) and the pages before and after it."""

    first: str
    all_countries: str
    only_yours: str
    previous: str
    next: str

    @classmethod
    def of(cls, base: str, query: str, everywhere: bool, number: int) -> SearchLinks:
        """The links from the page `number` of `query` at `base` (the search path)."""
        # As urlencode writes them, parameters in name order and those without a value left
        # out, the way the offline search (static/js/search.js) writes them too.
        tail = f"q={quote_plus(query)}" if query else ""

        def link(page_no: int, all_countries: bool) -> str:
            params = ["all=1"] if all_countries else []
            if page_no > 1:
                params.append(f"page={page_no}")
            if tail:
                params.append(tail)
            return f"{base}?{'&'.join(params)}"

        return cls(
            first=link(1, everywhere),
            all_countries=link(1, True),
            only_yours=link(1, False),
            previous=link(number - 1, everywhere),
            next=link(number + 1, everywhere),
        )


# The route and path parameter of each kind of result.
_HIT_ROUTES = {"service": ("service", "service_id"), "article": ("article", "slug")}


def results_context(
    request: Request,
    locale: str,
    query: str,
    results: ResultPage | None,
    everywhere: bool,
    origin: str | None,
    destination: str | None,
) -> dict[str, Any]:
    """What _search_main.html reads: the flags of its shape and the values it writes."""
    number = results.number if results else 1
    pages = results.pages if results else 1
    links = SearchLinks.of(url_path(request, "search", locale=locale), query, everywhere, number)
    card = hit_cards(request, locale)
    # The template's own ngettext, from the page's fixed context (made once per locale).
    ngettext = fixed_context(request.app, fixed_key(request))["ngettext"]
    total = results.total if results else 0
    return {
        "scoped": bool(query and (origin or destination)),
        "everywhere": everywhere,
        "missing": bool(results and not results.exists),
        "with_services": bool(results and results.services),
        "with_articles": bool(results and results.articles),
        "paged": bool(results and results.exists and pages > 1),
        "first_page": number <= 1,
        "last_page": number >= pages,
        "origin_code": origin or "",
        "destination_code": destination or "",
        "count": ngettext("%(num)s result", "%(num)s results", total) if query else "",
        "all_countries": links.all_countries,
        "only_yours": links.only_yours,
        "first": links.first,
        "service_cards": _cards(card, results.services if results else ()),
        "article_cards": _cards(card, results.articles if results else ()),
        "previous": links.previous,
        "number": number,
        "pages": pages,
        "next": links.next,
    }


def _cards(card: Callable[[Hit], Markup], hits: Sequence[Hit]) -> Markup:
    # Each card is Markup already: joined as str, not escaped again one by one.
    return Markup("\n".join([card(hit) for hit in hits]))


def hit_cards(request: Request, locale: str) -> Callable[[Hit], Markup]:
    """Writes one result of the search page (_search_hit.html), each made once per locale and
    root path: a result's card depends only on its document, never on the query."""
    key = (locale, root_path(request))
    store = kept(request.app, "search_hits")
    cards: dict[tuple[str, str], Markup] | None = store.get(key)
    if cards is None:
        cards = store[key] = {}
    found = cards  # bounded by the documents of the locale's index

    def card(hit: Hit) -> Markup:
        made = found.get((hit.kind, hit.key))
        if made is None:
            route, key_name = _HIT_ROUTES[hit.kind]
            templates: Jinja2Templates = request.app.state.templates
            made = Markup(
                templates.get_template("_search_hit.html").render(
                    hit=hit,
                    route=route,
                    key_name=key_name,
                    locale=locale,
                    url_for=lambda name, **params: url_path(request, name, **params),
                )
            )
            found[(hit.kind, hit.key)] = made
        return made

    return card


async def search(request: Request) -> Response:
    """Search the reader's language, her corridor first, a page at a time.

    A page number that is not a whole number from 1 is a 400, one past the last page a 404;
    both show the search form, the count and a way back to the first page.
    """
    locale = reader_locale(request)
    params = reading(request)
    query = params.param("q")
    everywhere = params.param("all") == "1"
    number = page_number(params.param("page")) if query else 1
    indexes: Indexes = request.app.state.search
    # Made when first asked for, after a start (hub/reload.py): off the event loop.
    index = indexes.ready(locale)
    if index is None:
        index = await anyio.to_thread.run_sync(indexes.__getitem__, locale)
    origin, destination = corridor(request)
    results = None
    if query:
        results = index.page(query, number or 1, origin, destination, everywhere=everywhere)
        if number is None:
            results = replace(results, exists=False, services=(), articles=(), hits=())
    response = page(
        request,
        "search.html",
        {
            "query": query,
            **results_context(request, locale, query, results, everywhere, origin, destination),
        },
        donut=SEARCH_PAGE,
    )
    if results is not None and not results.exists:
        response.status_code = 400 if number is None else 404
    # Most queries are asked once: compress the answer quickly rather than smallest.
    request.scope[ONE_OFF] = bool(query)
    return response


async def safety(request: Request) -> Response:
    """What the hub keeps, what a phone keeps, and how to leave quickly."""
    return page(request, "safety.html", {})


def local_path(target: str, locale: str) -> str:
    """A same-site path to return to; anything else falls back to the home page."""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith(f"/{locale}/")
        or len(target) > MAX_NEXT_LENGTH
        # A dot segment can climb out of the locale once a browser resolves it.
        or any(unquote(segment) in (".", "..") for segment in parts.path.split("/"))
    ):
        return f"/{locale}/"
    return target


def confirmed(path: str, what: str = "1") -> str:
    """The same-site path with the flag that makes the page confirm a saved choice
    ("1": the corridor, "place": where she is now)."""
    parts = urlsplit(path)
    query = "&".join(p for p in (parts.query, urlencode({SAVED: what})) if p)
    return urlunsplit(("", "", parts.path, query, parts.fragment))


async def choose_corridor(request: Request) -> Response:
    """The corridor form; submitted (plain GET), remember it and return where she was."""
    locale = reader_locale(request)
    site = library_of(request).site
    params = reading(request)
    back = local_path(params.param("next"), locale)
    if not params.has("from") and not params.has("to"):
        # Reached by a "Change" link: the form alone, returning to the page she came from.
        return page(request, "corridor.html", {"next_path": back}, cacheable=False)
    origin = params.param("from")
    destination = params.param("to")
    if (
        (origin and origin not in site.origins)
        or (destination and destination not in site.destinations)
        # Working in her own country is not a corridor the hub has numbers for.
        or (origin and origin == destination)
    ):
        raise HTTPException(status_code=400, detail="unknown-country")
    response = RedirectResponse(confirmed(back), status_code=303)
    for name, value in ((ORIGIN_COOKIE, origin), (DESTINATION_COOKIE, destination)):
        if value:
            set_preference(request, response, name, value)
        else:
            response.delete_cookie(name, path="/")
    return response


async def choose_location(request: Request) -> Response:
    """Remember whether she is in her own country now or where she works; then go back."""
    locale = reader_locale(request)
    where = reading(request).param("in")
    if where not in ("origin", "destination"):
        raise HTTPException(status_code=400, detail="unknown-place")
    back = local_path(reading(request).param("next"), locale)
    # Said on the page she returns to, so a change she did not make herself is seen.
    response = RedirectResponse(confirmed(back, "place"), status_code=303)
    if where == "origin":
        set_preference(request, response, LOCATION_COOKIE, "origin")
    else:
        response.delete_cookie(LOCATION_COOKIE, path="/")
    return response
