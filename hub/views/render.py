"""Jinja2 environment and the one helper every view renders through."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from hub.content import Library, pick
from hub.i18n import I18n, localize_digits_html
from hub.reading import reading_of
from hub.static import StaticAssets

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
THEME_COLOR = "#0b575c"
DISCREET_THEME_COLOR = "#f0f0f0"


def make_templates() -> Jinja2Templates:
    """Templates with autoescape and the i18n extension, gettext bound per request."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # Templates are fixed for the life of the process: no stat() per render.
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    # base.html passes the whole page through it: one place writes a locale's own digits.
    env.filters["local_digits"] = localize_digits_html
    return Jinja2Templates(env=env)


def alternate_path(path: str, query: str, current: str, code: str) -> str:
    """The same page in another locale; pages outside a locale lead to its home."""
    return f"/{code}/{alternate_tail(path, query, current)}"


def alternate_tail(path: str, query: str, current: str) -> str:
    """What follows "/<code>/" in the same page's path in any other locale."""
    prefix = f"/{current}/"
    if not path.startswith(prefix):
        return ""
    tail = path[len(prefix) :]
    return f"{tail}?{query}" if query else tail


def root_path(request: Request) -> str:
    """The path the app is mounted at, which every site-relative URL starts with."""
    return str(request.scope.get("app_root_path", request.scope.get("root_path", "")))


def app_url_path(app: Starlette, root: str, name: str, params: dict[str, Any]) -> str:
    """The site-relative path of a named route under `root`, made once per route and params."""
    # Routes are fixed and params come from content, not from requests, so the set is bounded;
    # Starlette's url_path_for walks every route, a third of a page's render time.
    known: dict[tuple[str, str, tuple[tuple[str, Any], ...]], str] = app.state.url_paths
    key = (root, name, tuple(sorted(params.items())))
    found = known.get(key)
    if found is None:
        found = known[key] = root + str(app.url_path_for(name, **params))
    return found


def url_path(request: Request, name: str, **params: Any) -> str:
    """The site-relative path of a named route; pages stay small and host-independent."""
    return app_url_path(request.app, root_path(request), name, params)


def locale_of(request: Request) -> str:
    """The locale of the page being rendered (set by the view or the error handler)."""
    return str(request.scope.get("hub.locale", "en"))


# A page's fixed context is kept per (locale, discreet, root path, day): a handful per day.
MAX_KEPT = 64

Fixed = tuple[str, bool, str, dt.date]


def fixed_key(request: Request) -> Fixed:
    """What the fixed part of a page's context depends on: locale, discreet mode, root path and
    the day (pages say whether an entry was verified within the last year)."""
    discreet = reading_of(request.scope).discreet
    return (locale_of(request), discreet, root_path(request), dt.date.today())


def kept(app: Starlette, name: str) -> dict[Any, Any]:
    """The app's store `name` (in `app.state.kept`) of values made once per key: emptied when
    it is full, which only a changing root path or many days can make it (MAX_KEPT)."""
    stores: dict[str, dict[Any, Any]] | None = getattr(app.state, "kept", None)
    if stores is None:
        stores = app.state.kept = {}
    store = stores.get(name)
    if store is None or len(store) >= MAX_KEPT:
        store = stores[name] = {}
    return store


def fixed_context(app: Starlette, key: Fixed) -> dict[str, Any]:
    """Everything base.html and the pages read that does not come from the request itself
    (no `request`, no `alternate`): made once per key and shared, so never to be changed."""
    store = kept(app, "contexts")
    found: dict[str, Any] | None = store.get(key)
    if found is None:
        found = store[key] = _make_fixed_context(app, key)
    return found


def _make_fixed_context(app: Starlette, key: Fixed) -> dict[str, Any]:
    locale, discreet, root, today = key
    state = app.state
    i18n: I18n = state.i18n
    library: Library = state.library
    assets: StaticAssets = state.assets
    return {
        "locale": locale,
        "locales": i18n.info,
        "site": library.site,
        "site_name": pick(library.site.names, locale),
        # What the tab, the history and the header call the site: neutral in discreet mode.
        "brand_name": library.site.name(locale, discreet=discreet),
        "short_brand_name": library.site.short_name(locale, discreet=discreet),
        "settings": state.settings,
        "today": today,
        "discreet": discreet,
        "theme_color": DISCREET_THEME_COLOR if discreet else THEME_COLOR,
        "no_service_worker": False,
        "pick": lambda texts: pick(texts, locale),
        "url_for": lambda name, **params: app_url_path(app, root, name, params),
        "static": lambda name: app_url_path(app, root, "static", {"path": assets.url_path(name)}),
        "country_name": lambda code: i18n.country_name(code, locale),
        "language_name": lambda code: i18n.language_name(code, locale),
        "format_date": lambda value: i18n.date(value, locale),
        "data_size": lambda n_bytes: i18n.size(n_bytes, locale),
        "date_template": i18n.date_template(locale),
        "month_names": "|".join(i18n.month_names(locale)),
        **i18n.gettext_callables(locale),
    }


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's locale with everything base.html expects."""
    key = fixed_key(request)
    read = reading_of(request.scope)
    locale = key[0]
    page: dict[str, Any] = {
        "request": request,
        **fixed_context(request.app, key),
        "alternate": lambda code: alternate_path(read.path, read.query_string, locale, code),
        **context,
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, page, status_code=status_code)
