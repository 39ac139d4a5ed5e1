"""Pure ASGI middleware for the console paths: the session, CSRF, no-store and the locale.

Only requests under CONSOLE_PREFIXES are touched; a reader page passes straight through.
What it finds is put in the scope under the names below for views and templates.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth import Account
from hub.auth.sessions import Session, Sessions
from hub.canonical import location
from hub.preferences import LOCALE_COOKIE

# Paths of the consoles and of signing in: never cached (response cache, service worker).
CONSOLE_PREFIXES = ("/login", "/logout", "/invitation", "/account", "/admin", "/leaders")
SIGN_IN_PREFIXES = ("/login", "/logout", "/invitation")
# The console paths a sign-in may return to (not the sign-in pages themselves).
NEXT_PREFIXES = tuple(p for p in CONSOLE_PREFIXES if p not in SIGN_IN_PREFIXES)

# Scope keys.
ACCOUNT = "hub.account"  # hub.auth.Account of the session, or None
SESSION = "hub.session"  # hub.auth.sessions.Session, or None
CSRF = "hub.csrf"  # the token this request's forms must carry (str)
CONSOLE_LOCALE = "hub.console_locale"  # the console's locale code (str)
NEEDS_TWO_FACTOR = "hub.needs_two_factor"  # an admin who must set up TOTP first (bool)
TOKEN = "hub.session_token"  # the session cookie's value as sent (str), or None

# Cookies.
SESSION_COOKIE = "hub_session"
CSRF_COOKIE = "hub_csrf"  # double-submit token of a browser nobody is signed in on
CONSOLE_LOCALE_COOKIE = "hub_console_locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600

# The form field every unsafe console request carries.
CSRF_FIELD = "csrf_token"
# The detail of the 403 a refused form gets: the error page explains it in words.
FORM_REFUSED = "form refused"
# The console paths whose form may carry a file (multipart/form-data): every other console form
# is URL-encoded, and a multipart one is refused for want of a token.
FILE_FORM_PATHS = frozenset({"/admin/directory/import"})
# A form sent without a session (sign-in, invitation) holds a few short fields; nothing larger
# is read.
MAX_BODY = 64 * 1024
# A signed-in account's form may hold a whole content file (at most 256 KiB): sent URL-encoded,
# each byte of Thai, Khmer or Burmese text takes 3 characters (a 20 KB Burmese article made a
# 60 KB form).
MAX_SIGNED_IN_BODY = 1024 * 1024
MAX_SESSION_COOKIES = 3
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a browser says of a request its own page made (Fetch Metadata); "none" is a typed URL.
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def console_path(scope: Scope) -> bool:
    """Whether the request's path (after any root path) is a console path."""
    return _under(_app_path(scope), CONSOLE_PREFIXES)


def _app_path(scope: Scope) -> str:
    """The request's path after the server's root path."""
    path: str = scope["path"]
    # Inside a Mount, root_path has the mount's path added; app_root_path is the server's.
    root: str = scope.get("app_root_path", scope.get("root_path", ""))
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return path


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def cookies(scope: Scope, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The values of the named cookies of a request, from every Cookie header, in order (a
    browser sends two of one name when they differ in domain or path)."""
    parts = [value.decode("latin-1") for name, value in scope["headers"] if name == b"cookie"]
    found: dict[str, list[str]] = {}
    # Split by hand as hub.reading does: http.cookies' unquoting is slow on hostile values.
    for pair in ";".join(parts).split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name in names:
            found.setdefault(name, []).append(value.strip())
    return found


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None
) -> tuple[bytes, bytes]:
    """A raw Set-Cookie header for a console cookie: HttpOnly, SameSite=Strict, Path=/.

    Without `max_age` it is a session cookie (it goes when the browser closes); `max_age=0`
    deletes it."""
    carrier = Response()
    carrier.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return next((n, v) for n, v in carrier.raw_headers if n == b"set-cookie")


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """Give the browser its new session (a cookie without Max-Age: the server ends it)."""
    response.raw_headers.append(cookie_header(SESSION_COOKIE, token, secure=secure))


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    """Tell the browser to forget its session cookie."""
    response.raw_headers.append(cookie_header(SESSION_COOKIE, "", secure=secure, max_age=0))


class ConsoleGuard:
    """Resumes the session, checks every unsafe request's origin and CSRF token, picks the
    console's locale, and makes every console response `Cache-Control: no-store`.

    `handler` renders a refusal (HTTPException 403 or 413) as the app's error page does."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        handler: ErrorHandler,
        secure: bool = False,
        require_2fa: bool = False,
    ) -> None:
        self.app = app
        self.handler = handler
        self.secure = secure
        self.require_2fa = require_2fa

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not console_path(scope):
            await self.app(scope, receive, send)
            return
        set_cookies: list[tuple[bytes, bytes]] = []

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(n, v) for n, v in message.get("headers", []) if n != b"cache-control"]
                raw.append((b"cache-control", b"no-store"))
                raw.extend(set_cookies)
                message = {**message, "headers": raw}
            await send(message)

        found = cookies(scope, (SESSION_COOKIE, CSRF_COOKIE, CONSOLE_LOCALE_COOKIE, LOCALE_COOKIE))
        redirect = self._locale(scope, found, set_cookies)
        if redirect is not None:
            await _redirect(redirect, send_no_store)
            return
        ended = await self._session(scope, found, set_cookies)
        if scope["method"] not in SAFE_METHODS:
            refusal, sent, receive = await self._check_form(scope, receive)
            if refusal is None and not _same_token(sent, scope[CSRF]):
                if ended:
                    # A page left open past its session's end (idle, revoked): its token is
                    # the dead session's. Sign in again rather than a bare refusal; nothing
                    # runs either way.
                    await _redirect(_sign_in_again(scope), send_no_store)
                    return
                refusal = HTTPException(403, FORM_REFUSED)
            if refusal is not None:
                response = await self.handler(Request(scope, receive), refusal)
                await response(scope, receive, send_no_store)
                return
        await self.app(scope, receive, send_no_store)

    def _locale(
        self, scope: Scope, found: dict[str, list[str]], set_cookies: list[tuple[bytes, bytes]]
    ) -> str | None:
        """Set scope[CONSOLE_LOCALE]; for a GET with ?lang=, the URL to redirect to."""
        codes: tuple[str, ...] = scope["app"].state.i18n.codes
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope["method"] == "GET" and any(name == "lang" for name, _ in query):
            chosen = next(value for name, value in reversed(query) if name == "lang").lower()
            if chosen in codes:
                set_cookies.append(
                    cookie_header(
                        CONSOLE_LOCALE_COOKIE,
                        chosen,
                        secure=self.secure,
                        max_age=LOCALE_COOKIE_MAX_AGE,
                    )
                )
            rest = urlencode([(name, value) for name, value in query if name != "lang"])
            return location(scope["path"], rest.encode("latin-1"))
        for name in (CONSOLE_LOCALE_COOKIE, LOCALE_COOKIE):
            code = next(iter(found.get(name, [])), "").lower()
            if code in codes:
                scope[CONSOLE_LOCALE] = code
                return None
        accept = Request(scope).headers.get("accept-language", "")
        scope[CONSOLE_LOCALE] = scope["app"].state.i18n.negotiate(accept)
        return None

    async def _session(
        self, scope: Scope, found: dict[str, list[str]], set_cookies: list[tuple[bytes, bytes]]
    ) -> bool:
        """Set the session's scope keys (nobody signed in: a pre-session CSRF token); whether
        the request sent a session cookie that resumed no session (ended, or never one)."""
        # A cookie of the same name set for a parent domain must not hide the real one: each
        # is tried (a few at most).
        tokens = [value for value in found.get(SESSION_COOKIE, []) if value][:MAX_SESSION_COOKIES]
        resumed: tuple[Session, Account] | None = None
        token: str | None = None
        if tokens:
            sessions: Sessions = scope["app"].state.sessions
            for token in tokens:
                resumed = await anyio.to_thread.run_sync(sessions.resume, token)
                if resumed is not None:
                    break
            else:
                set_cookies.append(cookie_header(SESSION_COOKIE, "", secure=self.secure, max_age=0))
        scope[TOKEN] = token if resumed is not None else None
        if resumed is not None:
            session, account = resumed
            scope[SESSION] = session
            scope[ACCOUNT] = account
            scope[CSRF] = session.csrf_token
            scope[NEEDS_TWO_FACTOR] = (
                self.require_2fa and account.role == "admin" and not account.two_factor
            )
            return False
        scope[SESSION] = scope[ACCOUNT] = None
        scope[NEEDS_TWO_FACTOR] = False
        csrf = next(iter(found.get(CSRF_COOKIE, [])), "")
        if len(csrf) < 32:
            csrf = secrets.token_urlsafe(32)
            set_cookies.append(cookie_header(CSRF_COOKIE, csrf, secure=self.secure))
        scope[CSRF] = csrf
        return bool(tokens)

    async def _check_form(
        self, scope: Scope, receive: Receive
    ) -> tuple[HTTPException | None, str | None, Receive]:
        """A refusal for a request from another site or too large; else None, the form's
        csrf_token (None: missing or repeated) and a `receive` that replays the body read."""
        headers = Request(scope).headers
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCHES:
            return HTTPException(403, FORM_REFUSED), None, receive
        origin = headers.get("origin")
        # "null" is what a browser sends for every form of a page whose referrer policy is
        # no-referrer (the hub's): it says nothing, so the token and Sec-Fetch-Site decide.
        if origin is not None and origin != "null":
            host = headers.get("host", "").lower()
            if urlsplit(origin).netloc.lower() != host or not host:
                return HTTPException(403, FORM_REFUSED), None, receive
        limit = MAX_BODY if scope[ACCOUNT] is None else MAX_SIGNED_IN_BODY
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > limit:
            return HTTPException(413), None, receive
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return HTTPException(400), None, receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return HTTPException(413), None, receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get("content-type", "")
        if scope["path"] in FILE_FORM_PATHS and _media_type(content_type) == "multipart/form-data":
            sent = await _multipart_token(headers, body)
        else:
            sent = _form_token(content_type, body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return None, sent, replay


def _same_token(sent: str | None, expected: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


def _sign_in_again(scope: Scope) -> str:
    """The sign-in page, saying the session ended, that comes back to this request's page
    when a GET opens it (a form's own page, e.g. an account's), else to nobody's choice."""
    request = Request(scope)
    query = {"notice": "session_ended"}
    path = _app_path(scope)
    if _under(path, ("/logout",)):
        # What she asked for is done: no session is left.
        query = {"notice": "signed_out"}
    elif _under(path, NEXT_PREFIXES) and _opens_by_get(
        scope["app"].routes, {**scope, "method": "GET"}
    ):
        # As hub/views/console/access.py sends a GET of a console page to sign in.
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        query = {"next": target, **query}
    return f"{scope['app'].url_path_for('login')}?{urlencode(query)}"


def _opens_by_get(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    """Whether a GET of the scope's path reaches a route (one inside a Mount too)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount):
                return _opens_by_get(route.routes, {**scope, **child})
            return True
    return False


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _form_token(content_type: str, body: bytes) -> str | None:
    """The csrf_token field of a URL-encoded form (what every console form sends but a file's)."""
    if _media_type(content_type) != "application/x-www-form-urlencoded":
        return None
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        # Not ASCII: not what a browser sends, which percent-encodes every field.
        return None
    values = [
        value for name, value in parse_qsl(text, keep_blank_values=True) if name == CSRF_FIELD
    ]
    return values[0] if len(values) == 1 else None


async def _multipart_token(headers: Headers, body: bytes) -> str | None:
    """The csrf_token field of a multipart form (a file chosen without JavaScript), read from
    the body already in memory; None when the form cannot be read or has not one token."""

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(headers, chunks(), max_files=1, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException:
        return None
    try:
        values = form.getlist(CSRF_FIELD)
        return values[0] if len(values) == 1 and isinstance(values[0], str) else None
    finally:
        await form.close()


async def _redirect(target: str, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", target.encode("ascii")), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
