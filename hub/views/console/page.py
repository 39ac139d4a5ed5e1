"""`console_page`: a console template rendered in the console's locale with what
console/base.html reads (the account, the roles it holds, the CSRF token)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from hub.auth import Account
from hub.console_guard import ACCOUNT, CONSOLE_LOCALE, CSRF
from hub.views.console.access import HOLDS
from hub.views.render import render


def console_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render `template` (under console/) for this request; never stored by any cache."""
    scope = request.scope
    scope["hub.locale"] = scope.get(CONSOLE_LOCALE, "en")
    account: Account | None = scope.get(ACCOUNT)
    page = {
        "account": account,
        "held_roles": HOLDS.get(account.role, frozenset()) if account else frozenset(),
        "csrf_token": scope.get(CSRF, ""),
        **context,
    }
    response = render(request, template, page, status_code)
    response.headers["cache-control"] = "no-store"
    return response
