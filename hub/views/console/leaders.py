"""The `/leaders/` console of peer leaders: their corridors (alerts come with issue 11)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.auth import LOCALES, Account
from hub.auth.fields import CORRIDOR
from hub.console_guard import ACCOUNT
from hub.content import Library
from hub.views.console.access import UNLIMITED, require_scope, requires
from hub.views.console.page import console_page


def site_corridors(library: Library) -> list[str]:
    """Every corridor the site serves: each origin to each other destination ("PH-HK")."""
    site = library.site
    return [f"{o}-{d}" for o in site.origins for d in site.destinations if o != d]


def corridors_of(account: Account, library: Library) -> list[str]:
    """The corridors this account works on: her own, or all the site's for an admin."""
    return site_corridors(library) if account.role in UNLIMITED else list(account.corridors)


def locales_of(account: Account) -> list[str]:
    """The locales this account works in: her own, or all of them for an admin."""
    return list(LOCALES) if account.role in UNLIMITED else list(account.locales)


@requires("leader")
async def home(request: Request) -> Response:
    """Her corridors and languages, each corridor a link to its page."""
    account: Account = request.scope[ACCOUNT]
    library: Library = request.app.state.library
    context = {
        "corridors": [c.split("-") for c in corridors_of(account, library)],
        "work_locales": locales_of(account),
    }
    return console_page(request, "console/leaders_home.html", context)


@requires("leader")
async def corridor(request: Request) -> Response:
    """One of her corridors: the help entries readers of that corridor see, as an overview."""
    code = str(request.path_params["corridor"])
    match = CORRIDOR.fullmatch(code)
    if match is None or match[1] == match[2]:
        raise HTTPException(404)
    account = require_scope(request, corridor=code)
    library: Library = request.app.state.library
    if code not in site_corridors(library) and code not in account.corridors:
        raise HTTPException(404)
    origin, destination = match.groups()
    context = {
        "origin": origin,
        "destination": destination,
        "groups": library.help_groups(origin, destination),
    }
    return console_page(request, "console/leaders_corridor.html", context)


ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/{corridor}", corridor, name="corridor"),
]
