"""Who may open a console page: `@requires(roles)` on every console view, and scope checks.

Roles nest: an admin holds every role, a curator also the translator's (she reviews any
translation). Scope narrows a translator to her locales and a leader to her corridors and
locales; an admin and a curator have no such limit. The server checks all of it; templates
only hide what the server already refuses.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.auth import Account
from hub.console_guard import ACCOUNT, NEEDS_TWO_FACTOR

View = Callable[[Request], Awaitable[Response]]

# The roles each role holds (docs/ARCHITECTURE.md, "Consoles").
HOLDS: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin", "curator", "translator", "leader"}),
    "curator": frozenset({"curator", "translator"}),
    "translator": frozenset({"translator"}),
    "leader": frozenset({"leader"}),
}
UNLIMITED = frozenset({"admin", "curator"})


def holds(account: Account, roles: Iterable[str]) -> bool:
    """Whether the account's role holds any of `roles`."""
    return not HOLDS.get(account.role, frozenset()).isdisjoint(roles)


def requires(roles: str | list[str]) -> Callable[[View], View]:
    """Let a view run only for a signed-in account whose role holds one of `roles`.

    Nobody signed in: a 303 to the sign-in page, which comes back here after a GET or HEAD
    (after another method, it does not). Signed in without the role: 403. An admin who must
    still set up a second factor (HUB_REQUIRE_2FA): a 303 to that page. The roles are kept on
    the view as `roles`."""
    wanted = (roles,) if isinstance(roles, str) else tuple(roles)
    unknown = set(wanted) - HOLDS.keys()
    if not wanted or unknown:
        raise ValueError(f"unknown roles: {sorted(unknown) or 'none given'}")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(request: Request) -> Response:
            account: Account | None = request.scope.get(ACCOUNT)
            if account is None:
                login = request.app.url_path_for("login")
                if request.method not in ("GET", "HEAD"):
                    # Coming back would be a GET of a path that may take only a POST (405),
                    # and the form's content is gone anyway: sign in, then start again.
                    return RedirectResponse(login, 303)
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"{login}?{urlencode({'next': target})}", 303)
            if request.scope.get(NEEDS_TWO_FACTOR) and view.__name__ not in _ENROLMENT:
                return RedirectResponse(request.app.url_path_for("account_two_factor"), 303)
            if not holds(account, wanted):
                raise HTTPException(403)
            return await view(request)

        guarded.roles = wanted  # type: ignore[attr-defined]
        return guarded

    return decorate


# The views an admin who must set up a second factor may still open.
_ENROLMENT = frozenset({"two_factor", "two_factor_qr"})


def may_act(account: Account, *, corridor: str | None = None, locale: str | None = None) -> bool:
    """Whether the account's scope reaches this corridor ("PH-HK") and this locale."""
    if account.role in UNLIMITED:
        return True
    if corridor is not None and corridor not in account.corridors:
        return False
    return locale is None or locale in account.locales


def require_scope(
    request: Request, *, corridor: str | None = None, locale: str | None = None
) -> Account:
    """The signed-in account, or 403 when its scope does not reach this corridor or locale."""
    account: Account | None = request.scope.get(ACCOUNT)
    if account is None or not may_act(account, corridor=corridor, locale=locale):
        raise HTTPException(403)
    return account
