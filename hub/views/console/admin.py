"""The `/admin/` console: its home and its routes. Accounts (hub/views/console/admin_accounts.py),
the audit log (admin_audit.py) and the moderation of alerts (moderation.py) each have a module."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.views.console.access import holds, requires
from hub.views.console.admin_accounts import account, account_new, accounts
from hub.views.console.admin_audit import audit
from hub.views.console.moderation import alert, alerts
from hub.views.console.page import console_page
from hub.views.console.scope import signed_in
from hub.views.signin import run


@requires("translator")
async def home(request: Request) -> Response:
    """The console's home: what this account may do here (for a curator, how many alerts
    wait for her)."""
    waiting = None
    if holds(signed_in(request), ["curator"]):
        waiting = len(await run(request.app.state.alerts.pending))
    return console_page(request, "console/admin_home.html", {"alerts_waiting": waiting})


ROUTES: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/accounts", accounts, name="accounts"),
    Route("/accounts/new", account_new, methods=["GET", "POST"], name="account_new"),
    Route("/accounts/{account_id}", account, methods=["GET", "POST"], name="account"),
    Route("/audit", audit, name="audit"),
    Route("/alerts", alerts, name="alerts"),
    Route("/alerts/{alert_id}", alert, methods=["GET", "POST"], name="alert"),
]
