"""Each person's own account (`/account`): her name, her password (the current one is
asked first), her other sessions, and a TOTP second factor (enrol with a QR code, or turn off).

Changing the password ends every session of the account; this browser gets a new one so she
stays signed in here. The enrolment secret is never stored before it is confirmed, nor put in a
URL or a form: it is derived from this session with a key the process holds in memory, so the
page, its QR image and the confirming POST all see the same one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.audit import diff
from hub.auth import Account, Accounts, PasswordRejected, Refused, totp
from hub.auth.sessions import Session, Sessions
from hub.auth.throttle import SignInThrottle, Throttled
from hub.console_guard import ACCOUNT, SESSION
from hub.content import Library
from hub.reading import reading_of
from hub.settings import Settings
from hub.views.console.access import requires
from hub.views.console.page import console_page, gettext, refusal
from hub.views.render import url_path
from hub.views.signin import (
    account_key,
    audit,
    client_of,
    field,
    hashing,
    mismatch,
    run,
    start_session,
)

# What the account page says after a change (`?done=`).
DONE = frozenset({"name", "password", "sessions", "two_factor_on", "two_factor_off"})


def _signed_in(request: Request) -> tuple[Account, Session]:
    account: Account = request.scope[ACCOUNT]
    session: Session = request.scope[SESSION]
    return account, session


def enrolment_secret(request: Request, session: Session) -> str:
    """The TOTP secret this session is offered to set up (base32, 160 bits)."""
    key: bytes = request.app.state.enrolment_key
    digest = hmac.digest(key, f"{session.id}:{session.csrf_token}".encode(), hashlib.sha256)
    return base64.b32encode(digest[:20]).decode("ascii")


def _issuer(request: Request) -> str:
    """The name an authenticator app lists the code under: the neutral one when this browser
    is in discreet mode (a peer leader's phone may be seen by someone else)."""
    library: Library = request.app.state.library
    return library.site.name("en", discreet=reading_of(request.scope).discreet)


async def _account_page(
    request: Request, errors: dict[str, Markup] | None = None, status_code: int = 200
) -> Response:
    account, _ = _signed_in(request)
    sessions: Sessions = request.app.state.sessions
    others = await run(sessions.count, account.id) - 1
    done = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "others": max(others, 0),
        "errors": errors or {},
        "done": done if done in DONE and request.method == "GET" else "",
    }
    return console_page(request, "console/account.html", context, status_code)


@requires(["admin", "curator", "translator", "leader"])
async def account(request: Request) -> Response:
    """Her own account: who she is, and the forms to change it."""
    return await _account_page(request)


def _done(request: Request, name: str, what: str) -> Response:
    return RedirectResponse(f"{url_path(request, name)}?done={what}", 303)


async def _check_password(
    request: Request, account: Account, password: str, otp: str
) -> Markup | int | None:
    """None when `password` (and `otp` with a second factor) are hers; else the message to
    show, or the seconds to wait when too many tries failed (counted like sign-ins, from
    before the check: see hub/auth/throttle.py)."""
    throttle: SignInThrottle = request.app.state.throttle
    try:
        attempt = throttle.begin(account_key(account.email), client_of(request))
    except Throttled as held:
        return held.wait
    accounts: Accounts = request.app.state.accounts
    with attempt:
        found = await hashing(
            request, accounts.authenticate, account.email, password, otp.strip() or None
        )
        if found is None:
            attempt.failed()
        else:
            attempt.succeeded()
    if found is None:
        _ = gettext(request)
        if account.two_factor:
            return _("Your current password or the code is not right.")
        return _("Your current password is not right.")
    return None


def _too_many(wait: int) -> Response:
    raise HTTPException(429, headers={"retry-after": str(wait)})


@requires(["admin", "curator", "translator", "leader"])
async def name(request: Request) -> Response:
    """Change the name other people of the hub see."""
    account, _ = _signed_in(request)
    form = await request.form()
    accounts: Accounts = request.app.state.accounts
    try:
        changed: Account = await run(
            accounts.set_display_name, account.email, field(form, "display_name")
        )
    except Refused as exc:
        return await _account_page(request, {"display_name": refusal(request, exc)}, 400)
    if changed.display_name != account.display_name:
        change = diff(
            {"display_name": account.display_name}, {"display_name": changed.display_name}
        )
        await audit(
            request, "name_changed", actor=account.email, target=account.email, change=change
        )
    return _done(request, "account", "name")


@requires(["admin", "curator", "translator", "leader"])
async def password(request: Request) -> Response:
    """Change her password: the current one first; every other session ends."""
    account, _ = _signed_in(request)
    form = await request.form()
    new, confirm = field(form, "new_password"), field(form, "confirm")
    problem = await _check_password(
        request, account, field(form, "current_password"), field(form, "otp")
    )
    if isinstance(problem, int):
        return _too_many(problem)
    if problem is not None:
        return await _account_page(request, {"current_password": problem}, 400)
    if new != confirm:
        return await _account_page(request, {"new_password": mismatch(request)}, 400)
    accounts: Accounts = request.app.state.accounts
    try:
        changed: Account = await hashing(request, accounts.set_password, account.email, new)
    except PasswordRejected as exc:
        return await _account_page(request, {"new_password": refusal(request, exc)}, 400)
    await audit(request, "password_changed", actor=account.email, target=account.email)
    response = _done(request, "account", "password")
    # Every session ended with the old credentials, this one too: she stays signed in here.
    await start_session(request, response, changed)
    return response


@requires(["admin", "curator", "translator", "leader"])
async def end_sessions(request: Request) -> Response:
    """Sign her out everywhere but here (a lost phone, a shared computer)."""
    account, session = _signed_in(request)
    sessions: Sessions = request.app.state.sessions
    ended = await run(lambda: sessions.end_all(account.id, keep=session.id))
    await audit(
        request,
        "sessions_ended",
        actor=account.email,
        target=account.email,
        change={"ended": ended},
    )
    return _done(request, "account", "sessions")


def _two_factor_page(
    request: Request,
    error: Markup | None = None,
    status_code: int = 200,
    errors: dict[str, Markup] | None = None,
) -> Response:
    account, session = _signed_in(request)
    settings: Settings = request.app.state.settings
    secret = "" if account.two_factor else enrolment_secret(request, session)
    context = {
        # In groups of four, as authenticator apps show a key typed in by hand.
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "error": error,
        "errors": errors or {},
        "required": settings.require_2fa and account.role == "admin",
    }
    return console_page(request, "console/two_factor.html", context, status_code)


@requires(["admin", "curator", "translator", "leader"])
async def two_factor(request: Request) -> Response:
    """Set up a second factor (her password, then the QR code and a confirming code), or turn
    it off (her password and a code)."""
    if request.method != "POST":
        return _two_factor_page(request)
    account, session = _signed_in(request)
    form = await request.form()
    accounts: Accounts = request.app.state.accounts
    if not account.two_factor:
        # The password first: whoever holds a session left open (a shared computer, a stolen
        # cookie) could otherwise enrol her own phone and lock the owner out.
        problem = await _check_password(request, account, field(form, "password"), "")
        if isinstance(problem, int):
            return _too_many(problem)
        if problem is not None:
            return _two_factor_page(request, status_code=400, errors={"password": problem})
        secret = enrolment_secret(request, session)
        try:
            changed: Account = await run(
                accounts.set_two_factor, account.email, secret, field(form, "otp").strip()
            )
        except Refused as exc:
            return _two_factor_page(request, status_code=400, errors={"otp": refusal(request, exc)})
        # A session opened elsewhere with the password alone must not outlive the new factor
        # (it may be the very one she is locking out); this one has just shown a code.
        sessions: Sessions = request.app.state.sessions
        ended = await run(lambda: sessions.end_all(account.id, keep=session.id))
        await audit(
            request,
            "two_factor_enabled",
            actor=account.email,
            target=account.email,
            change={"sessions_ended": ended},
        )
        response = _done(request, "account", "two_factor_on")
        if changed.credentials_changed != account.credentials_changed:
            await start_session(request, response, changed)
        return response
    settings: Settings = request.app.state.settings
    if settings.require_2fa and account.role == "admin":
        _ = gettext(request)
        error = _("Admins of this hub must use two-step sign-in: it cannot be turned off.")
        return _two_factor_page(request, error, 400)
    problem = await _check_password(request, account, field(form, "password"), field(form, "otp"))
    if isinstance(problem, int):
        return _too_many(problem)
    if problem is not None:
        return _two_factor_page(request, status_code=400, errors={"password": problem})
    changed = await run(accounts.clear_two_factor, account.email)
    await audit(request, "two_factor_disabled", actor=account.email, target=account.email)
    response = _done(request, "account", "two_factor_off")
    if changed.credentials_changed != account.credentials_changed:
        await start_session(request, response, changed)
    return response


@requires(["admin", "curator", "translator", "leader"])
async def two_factor_qr(request: Request) -> Response:
    """The QR code of the secret offered to this session, as an SVG image."""
    account, session = _signed_in(request)
    if account.two_factor:
        raise HTTPException(404)
    uri = totp.provisioning_uri(enrolment_secret(request, session), account.email, _issuer(request))
    return Response(totp.qr_svg(uri), media_type="image/svg+xml")
