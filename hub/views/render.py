"""Jinja2 environment and the one helper every view renders through."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
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
    prefix = f"/{current}/"
    if path.startswith(prefix):
        swapped = f"/{code}/" + path[len(prefix) :]
        return f"{swapped}?{query}" if query else swapped
    return f"/{code}/"


def url_path(request: Request, name: str, **params: Any) -> str:
    """The site-relative path of a named route; pages stay small and host-independent."""
    root = str(request.scope.get("app_root_path", request.scope.get("root_path", "")))
    # Routes are fixed and params come from content, not from requests, so the set is bounded;
    # Starlette's url_path_for walks every route, a third of a page's render time.
    known: dict[tuple[str, str, tuple[tuple[str, Any], ...]], str] = request.app.state.url_paths
    key = (root, name, tuple(sorted(params.items())))
    found = known.get(key)
    if found is None:
        found = known[key] = root + str(request.app.url_path_for(name, **params))
    return found


def locale_of(request: Request) -> str:
    """The locale of the page being rendered (set by the view or the error handler)."""
    return str(request.scope.get("hub.locale", "en"))


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's locale with everything base.html expects."""
    state = request.app.state
    locale = locale_of(request)
    i18n: I18n = state.i18n
    library: Library = state.library
    assets: StaticAssets = state.assets
    read = reading_of(request.scope)
    discreet = read.discreet
    page: dict[str, Any] = {
        "request": request,
        "locale": locale,
        "locales": i18n.info,
        "site": library.site,
        "site_name": pick(library.site.names, locale),
        # What the tab, the history and the header call the site: neutral in discreet mode.
        "brand_name": library.site.name(locale, discreet=discreet),
        "short_brand_name": library.site.short_name(locale, discreet=discreet),
        "settings": state.settings,
        "today": dt.date.today(),
        "discreet": discreet,
        "theme_color": DISCREET_THEME_COLOR if discreet else THEME_COLOR,
        "no_service_worker": False,
        "pick": lambda texts: pick(texts, locale),
        "alternate": lambda code: alternate_path(read.path, read.query_string, locale, code),
        "url_for": lambda name, **params: url_path(request, name, **params),
        "static": lambda name: url_path(request, "static", path=assets.url_path(name)),
        "country_name": lambda code: i18n.country_name(code, locale),
        "language_name": lambda code: i18n.language_name(code, locale),
        "format_date": lambda value: i18n.date(value, locale),
        "data_size": lambda n_bytes: i18n.size(n_bytes, locale),
        "date_template": i18n.date_template(locale),
        "month_names": "|".join(i18n.month_names(locale)),
        **i18n.gettext_callables(locale),
        **context,
    }
    templates: Jinja2Templates = state.templates
    return templates.TemplateResponse(request, template, page, status_code=status_code)
