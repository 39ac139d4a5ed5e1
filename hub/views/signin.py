"""Signing in and out, and setting a password through an invitation or reset link.

These pages belong to nobody signed in, so they carry no `@requires`; hub/console_guard.py
has already checked every POST's origin and CSRF token before a view here runs.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import AuditLog
from hub.auth import Account, Accounts, InvalidAccount, PasswordRejected, normalize_email
from hub.auth.invitations import INVITATION_HOURS, Invitation, InvitationInvalid, Invitations
from hub.auth.sessions import Sessions
from hub.auth.throttle import SignInThrottle, Throttled
from hub.console_guard import (
    ACCOUNT,
    NEXT_PREFIXES,
    TOKEN,
    clear_session_cookie,
    set_session_cookie,
)
from hub.settings import Settings
from hub.views.console.page import console_page, gettext, refusal
from hub.views.render import url_path

T = TypeVar("T")

# A path of the hub's own URLs: no scheme, no host, no backslash, no space or control.
_LOCAL = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")
MAX_NEXT = 2000
# What a form field may hold at most; longer is cut (a password longer than this is refused
# by the policy anyway, at 1,024 code points).
MAX_FIELD = 4096
# Notices the sign-in page shows after a redirect (`?notice=`).
NOTICES = frozenset({"signed_out", "password_set", "session_ended"})


async def run(function: Callable[..., T], *args: Any) -> T:
    """Call blocking domain code (fsync) in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


async def hashing(request: Request, function: Callable[..., T], *args: Any) -> T:
    """Call domain code that runs argon2 (a password verified or hashed) in a worker thread,
    no more of them at once than app.state.hashing lets through (hub/app.py says why)."""
    limiter: anyio.CapacityLimiter = request.app.state.hashing
    return await anyio.to_thread.run_sync(functools.partial(function, *args), limiter=limiter)


def safe_next(value: str) -> str | None:
    """`value` when it is a console page of this hub to return to after signing in, else None.

    One leading slash, never two (`//evil.example` is another site to a browser), no
    backslash (`/\\evil.example` is too), no control or space characters (a browser drops tabs
    and newlines, which would join `/` and `/evil`), no `..`, and under a console prefix."""
    if len(value) > MAX_NEXT or not _LOCAL.fullmatch(value):
        return None
    path = value.split("?", 1)[0]
    if "//" in path or "/../" in path + "/" or "/./" in path + "/":
        return None
    if not any(path == p or path.startswith(p + "/") for p in NEXT_PREFIXES):
        return None
    return value


def home_of(request: Request, account: Account) -> str:
    """Where an account lands after signing in when it asked for no page."""
    settings: Settings = request.app.state.settings
    if settings.require_2fa and account.role == "admin" and not account.two_factor:
        return url_path(request, "account_two_factor")
    if account.role == "leader":
        return url_path(request, "leaders:home")
    return url_path(request, "admin:home")


def account_key(email: str) -> str:
    """What failed sign-ins are counted by: the normalised email, else the text lower-cased."""
    try:
        return normalize_email(email)
    except InvalidAccount:
        return email.strip().lower()


def audit_target(email: str) -> str:
    """Whom a sign-in's audit entry names: the email typed when it is one, else nobody.

    A password typed into the email field by mistake is no email (or one that nothing but
    its shape tells apart): it must not end up in the log."""
    try:
        return normalize_email(email)
    except InvalidAccount:
        return ""


def client_of(request: Request) -> str:
    """The client's address, for the throttle only (it keeps a keyed hash of it in memory)."""
    return request.client.host if request.client else ""


def field(form: FormData, name: str) -> str:
    """A text field of a URL-encoded form ("" when absent), at most MAX_FIELD characters."""
    value = form.get(name, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


async def audit(
    request: Request,
    action: str,
    *,
    actor: str,
    target: str = "",
    change: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log (a durable write: off the event loop)."""
    log: AuditLog = request.app.state.audit
    await anyio.to_thread.run_sync(
        functools.partial(log.record, action, actor=actor, target=target, change=change)
    )


def _login_page(
    request: Request,
    *,
    next_path: str = "",
    email: str = "",
    failed: bool = False,
    retry_after: int | None = None,
    status_code: int = 200,
) -> Response:
    notice = request.query_params.get("notice", "")
    context = {
        "next_path": next_path,
        "email": email,
        "failed": failed,
        "retry_minutes": math.ceil(retry_after / 60) if retry_after else 0,
        "notice": notice if notice in NOTICES and request.method == "GET" else "",
    }
    response = console_page(request, "console/login.html", context, status_code)
    if retry_after:
        response.headers["retry-after"] = str(retry_after)
    return response


async def login(request: Request) -> Response:
    """The sign-in form (GET) and signing in (POST)."""
    if request.method != "POST":
        # Shown to someone signed in too: signing in as another account ends this session.
        return _login_page(request, next_path=safe_next(request.query_params.get("next", "")) or "")
    form = await request.form()
    email, password, otp = field(form, "email"), field(form, "password"), field(form, "otp")
    next_path = safe_next(field(form, "next")) or ""
    key, target = account_key(email), audit_target(email)
    throttle: SignInThrottle = request.app.state.throttle
    client = client_of(request)
    try:
        # Counted from here, before the password is checked: a burst of concurrent attempts
        # cannot all pass a check of the failures settled so far.
        attempt = throttle.begin(key, client)
    except Throttled as held:
        # Once per window for the account or client held back: a flood does not fill the log.
        if throttle.first_refusal(key, client):
            await audit(request, "sign_in_throttled", actor="", target=target)
        return _login_page(
            request, next_path=next_path, email=email, retry_after=held.wait, status_code=429
        )
    accounts: Accounts = request.app.state.accounts
    with attempt:
        signed_in = await hashing(
            request, accounts.authenticate, email, password, otp.strip() or None
        )
        if signed_in is None:
            attempt.failed()
        else:
            attempt.succeeded()
    if signed_in is None:
        await audit(request, "sign_in_failed", actor="", target=target)
        return _login_page(request, next_path=next_path, email=email, failed=True, status_code=400)
    response = RedirectResponse(next_path or home_of(request, signed_in), 303)
    await start_session(request, response, signed_in)
    await audit(request, "sign_in", actor=signed_in.email, target=signed_in.email)
    return response


async def start_session(request: Request, response: Response, account: Account) -> None:
    """End the browser's current session, if any, and give it a new one (a new id) for
    `account`: a token known before signing in is never the one after it."""
    sessions: Sessions = request.app.state.sessions
    old: str | None = request.scope.get(TOKEN)
    if old:
        await run(sessions.end, old)
    token, _ = await run(sessions.start, account)
    settings: Settings = request.app.state.settings
    set_session_cookie(response, token, secure=settings.https_only)
    # Sessions of browsers that never came back would stay in the store until the next
    # restart: sign-ins are rare enough to sweep at each (a scan of one small table, one write
    # only when something ended). Links stay: a used one must still say "already used".
    await run(sessions.purge)


async def logout(request: Request) -> Response:
    """Sign out (POST only): the session ends on the server and the cookie is cleared."""
    token: str | None = request.scope.get(TOKEN)
    account: Account | None = request.scope.get(ACCOUNT)
    if token:
        sessions: Sessions = request.app.state.sessions
        await run(sessions.end, token)
    if account is not None:
        await audit(request, "sign_out", actor=account.email, target=account.email)
    login_path = url_path(request, "login")
    response = RedirectResponse(f"{login_path}?notice=signed_out", 303)
    settings: Settings = request.app.state.settings
    # Cleared whether or not a session was found: the browser keeps nothing of it.
    clear_session_cookie(response, secure=settings.https_only)
    return response


# Statuses of a link that cannot be used: gone for good, or never one.
_REFUSED_STATUS = {"expired": 410, "used": 410}


def _invitation_page(
    request: Request,
    token: str,
    *,
    invited: Account | None = None,
    refused: str = "",
    error: Markup | str = "",
    status_code: int = 200,
) -> Response:
    if refused:
        status_code = _REFUSED_STATUS.get(refused, 404)
    context = {
        "token": token,
        "invited": invited,
        "refused": refused,
        "error": error,
        "invitation_hours": INVITATION_HOURS,
    }
    return console_page(request, "console/invitation.html", context, status_code)


async def invitation(request: Request) -> Response:
    """The page of an invitation or reset link: set the account's password, once."""
    token = request.query_params.get("token", "")[:MAX_FIELD]
    invitations: Invitations = request.app.state.invitations
    try:
        found: tuple[Invitation, Account] = await run(invitations.peek, token)
    except InvitationInvalid as exc:
        return _invitation_page(request, token, refused=exc.reason)
    link, invited = found
    if request.method != "POST":
        return _invitation_page(request, token, invited=invited)
    form = await request.form()
    password, confirm = field(form, "password"), field(form, "confirm")
    if password != confirm:
        error = mismatch(request)
        return _invitation_page(request, token, invited=invited, error=error, status_code=400)
    try:
        account: Account = await hashing(request, invitations.accept, token, password)
    except PasswordRejected as exc:
        error = refusal(request, exc)
        return _invitation_page(request, token, invited=invited, error=error, status_code=400)
    except InvitationInvalid as exc:
        return _invitation_page(request, token, refused=exc.reason)
    # An invitation or an admin's forced reset: the log tells which one was used.
    await audit(
        request,
        "invitation_accepted",
        actor=account.email,
        target=account.email,
        change={"kind": link.kind},
    )
    login_path = url_path(request, "login")
    return RedirectResponse(f"{login_path}?notice=password_set", 303)


def mismatch(request: Request) -> Markup:
    """What a form says when its two copies of a new password differ."""
    # Bound to `_` so that `make messages` extracts it (a call on a call is not seen).
    _ = gettext(request)
    return _("The two passwords are not the same.")
