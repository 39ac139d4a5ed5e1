"""The `/leaders/` console of peer leaders: its home, their corridors, and its routes. Their
alerts: composing one in hub/views/console/compose.py, the list and each one's delivery report in
leaders_alerts.py."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.auth.fields import CORRIDOR
from hub.content import Library
from hub.views.console.access import require_scope, requires
from hub.views.console.compose import alert_new
from hub.views.console.leaders_alerts import alert, alert_withdraw, alerts_list
from hub.views.console.page import console_page
from hub.views.console.scope import corridors_of, locales_of, signed_in


@requires("leader")
async def home(request: Request) -> Response:
    """Her corridors and languages, each corridor a link to its page."""
    account = signed_in(request)
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
    if code not in library.site.corridors() and code not in account.corridors:
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
    # Before "/{corridor}", which "alerts" would otherwise be taken for.
    Route("/alerts", alerts_list, name="alerts"),
    Route("/alerts/new", alert_new, methods=["GET", "POST"], name="alert_new"),
    Route("/alerts/{alert_id}", alert, name="alert"),
    Route("/alerts/{alert_id}/withdraw", alert_withdraw, methods=["POST"], name="alert_withdraw"),
    Route("/{corridor}", corridor, name="corridor"),
]
