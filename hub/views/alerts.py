"""The reader's alerts page, the newest alert time for the home page's mark, and the push
subscriptions API (/api/subscriptions), thin over hub/push/subscriptions.py.

The API has no session and no cookie of its own: a phone proves a subscription is its own
with the bearer token it was given. A request that changes something must be JSON (a form of
another site cannot send that without a CORS preflight, which the hub never grants) and must
not come from another site by the browser's own word (Origin, Sec-Fetch-Site), as
hub/console_guard.py checks the consoles' forms.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub import N_
from hub.console_guard import SAME_SITE_FETCHES
from hub.i18n import I18n
from hub.push import TOPICS
from hub.push.alerts import Alerts
from hub.push.endpoints import InvalidSubscription
from hub.push.subscriptions import Subscriptions, SubscriptionTaken
from hub.store.base import Document
from hub.views.public import page
from hub.views.reader import corridor, reader_locale

# A subscription request is some 600 bytes (an endpoint of up to 300, two keys, preferences);
# nothing larger is read.
MAX_BODY = 4096
# A hub page an alert may link to: a path under the locale, nothing that leaves the site.
LOCAL_LINK = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*")
# What readers see by a topic's checkbox (translated in the template).
TOPIC_LABELS = {
    "safety": N_("Safety"),
    "rules": N_("Rules and policy"),
    "events": N_("Events"),
}
NO_STORE = {"cache-control": "no-store"}
# The one answer to a missing or wrong token, or an id that does not exist: never which.
NOT_YOURS = "a subscription's id and its token are needed"
# While the hub cannot send (no VAPID subject), it takes no subscription it could not serve;
# reading and deleting one still work, so a reader can always remove hers.
NOT_READY = "alerts on phones are not available on this hub yet: nothing was stored"


class Refusal(Exception):
    """A request the API answers with a 4xx JSON error."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field


def _error(refusal: Refusal) -> JSONResponse:
    headers = dict(NO_STORE)
    if refusal.status == 401:
        headers["www-authenticate"] = "Bearer"
    if refusal.status == 429:
        headers["retry-after"] = "3600"
    return JSONResponse(
        {"error": refusal.error, "field": refusal.field},
        status_code=refusal.status,
        headers=headers,
    )


def _json(data: object, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=NO_STORE)


def _subscriptions(request: Request) -> Subscriptions:
    found: Subscriptions = request.app.state.subscriptions
    return found


def client_of(request: Request) -> str:
    """The client's address, for the subscribe limit only (a keyed hash of it, in memory)."""
    return request.client.host if request.client else ""


def _same_site(request: Request) -> None:
    """Refuse a request the browser says another site made."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCHES:
        raise Refusal(403, "cross-site requests are refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "").lower()
        if not host or urlsplit(origin).netloc.lower() != host:
            raise Refusal(403, "cross-site requests are refused")


DIGITS = re.compile(r"[0-9]{1,9}")


async def _body(request: Request) -> object:
    """The request's JSON body, refused when too large (before it is read), not JSON or not
    parsable."""
    _same_site(request)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise Refusal(415, "send application/json")
    length = request.headers.get("content-length")
    # ASCII digits only, and few of them: str.isdigit() takes "²", which int() refuses, and
    # int() refuses more than 4,300 digits.
    if length is not None and (DIGITS.fullmatch(length) is None or int(length) > MAX_BODY):
        raise Refusal(413, f"the body must be at most {MAX_BODY} bytes", "body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refusal(413, f"the body must be at most {MAX_BODY} bytes", "body")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as exc:
        raise Refusal(400, "the body is not JSON", "body") from exc


def _token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(401, NOT_YOURS)
    return token.strip()


def _ready(request: Request) -> None:
    """Refuse with 503 while the hub cannot send alerts (the alerts page says so too)."""
    if not getattr(getattr(request.app.state, "vapid", None), "ready", False):
        raise Refusal(503, NOT_READY)


def _invalid(exc: InvalidSubscription) -> Refusal:
    # Another subscription's endpoint: the request is well formed, it conflicts with a record.
    status = 409 if isinstance(exc, SubscriptionTaken) else 400
    return Refusal(status, exc.message, exc.field)


async def subscribe(request: Request) -> Response:
    """POST /api/subscriptions: a phone subscribes; 201 {"id", "token"} (503 while the hub
    cannot send alerts)."""
    try:
        body = await _body(request)
        _ready(request)
        subscriptions = _subscriptions(request)
        if not subscriptions.limit.hit(client_of(request)):
            raise Refusal(429, "too many subscription requests from this network: wait an hour")
        try:
            doc_id, token = await anyio.to_thread.run_sync(subscriptions.subscribe, body)
        except InvalidSubscription as exc:
            raise _invalid(exc) from exc
        await anyio.to_thread.run_sync(subscriptions.purge_due)
    except Refusal as refusal:
        return _error(refusal)
    return _json({"id": doc_id, "token": token}, status=201)


async def subscription(request: Request) -> Response:
    """GET, PUT and DELETE /api/subscriptions/{id} with `Authorization: Bearer <token>`.

    PUT takes the same body as POST and renews `confirmed` (the page sends it whenever it is
    opened; a change is refused with 503 while the hub cannot send alerts, a confirmation is
    not); a 401 never says whether the id exists."""
    doc_id = str(request.path_params["subscription_id"])
    subscriptions = _subscriptions(request)
    try:
        if request.method != "GET":
            _same_site(request)
        token = _token(request)
        if request.method == "GET":
            found = await anyio.to_thread.run_sync(subscriptions.read, doc_id, token)
        elif request.method == "DELETE":
            if not await anyio.to_thread.run_sync(subscriptions.delete, doc_id, token):
                raise Refusal(401, NOT_YOURS)
            return Response(status_code=204, headers=NO_STORE)
        else:
            found = await _update(request, subscriptions, doc_id, token)
        if found is None:
            raise Refusal(401, NOT_YOURS)
    except Refusal as refusal:
        return _error(refusal)
    return _json(found)


async def _update(
    request: Request, subscriptions: Subscriptions, doc_id: str, token: str
) -> Document | None:
    body = await _body(request)
    client = client_of(request)
    # A confirmation that changes nothing is free; a change counts like a subscription.
    changes = await anyio.to_thread.run_sync(subscriptions.changes, doc_id, token, body)
    if changes:
        _ready(request)
    if changes and not subscriptions.limit.hit(client):
        raise Refusal(429, "too many subscription requests from this network: wait an hour")
    try:
        found: Document | None = await anyio.to_thread.run_sync(
            subscriptions.update, doc_id, token, body
        )
    except InvalidSubscription as exc:
        raise _invalid(exc) from exc
    return found


# -- the reader's alerts ----------------------------------------------------------------------


def published(
    app_state: Any, corridor_code: str | None, locale: str, now: dt.datetime
) -> list[Document]:
    """What the alerts page lists (hub/push/alerts.py: published, not expired, with a text in
    `locale`, for the corridor when one is given, newest first)."""
    alerts: Alerts = app_state.alerts
    return alerts.published(corridor_code, locale, now)


def _entry(doc: Mapping[str, Any], locale: str, i18n: I18n) -> dict[str, Any]:
    """One alert as the page shows it: never the author, only her network's name."""
    text = doc["texts"][locale]
    when = _parse(doc.get("published") or doc.get("created") or "")
    link = doc.get("link")
    return {
        "anchor": f"a-{doc['push_topic']}",
        "title": text["title"],
        "paragraphs": [p.strip() for p in re.split(r"\n\s*\n", text["body"]) if p.strip()],
        "network": doc.get("network") or "",
        "date": i18n.date(when.date(), locale) if when else "",
        "datetime": doc.get("published") or "",
        "link": f"/{locale}/{link}" if isinstance(link, str) and LOCAL_LINK.fullmatch(link) else "",
    }


def _parse(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _corridor_code(request: Request) -> str | None:
    origin, destination = corridor(request)
    return f"{origin}-{destination}" if origin and destination else None


async def alerts_page(request: Request) -> Response:
    """/<locale>/alerts: the published alerts for her corridor and language, newest first,
    and the form that subscribes this phone.

    Never kept by the response cache (its key does not hold the alerts' generation): a
    publication, withdrawal or correction shows at the next request."""
    locale = reader_locale(request)
    state = request.app.state
    i18n: I18n = state.i18n
    now = dt.datetime.now(dt.UTC)
    docs = await anyio.to_thread.run_sync(published, state, _corridor_code(request), locale, now)
    vapid = getattr(state, "vapid", None)
    ready = bool(getattr(vapid, "ready", False))
    response = page(
        request,
        "alerts.html",
        {
            "alerts": [_entry(doc, locale, i18n) for doc in docs],
            "newest": docs[0].get("published") or "" if docs else "",
            "push_ready": ready,
            "vapid_key": getattr(vapid, "public_key", "") if ready else "",
            "topics": [(topic, TOPIC_LABELS[topic]) for topic in TOPICS],
        },
        cacheable=False,
    )
    response.headers["cache-control"] = "no-cache"
    return response


async def newest(request: Request) -> Response:
    """GET /api/alerts/{locale}.json: the newest alert her alerts page lists ({"newest": ISO
    time or null}), for the home page's "new since your last visit" mark; never cached, so
    the mark is right on a cached home page."""
    locale = reader_locale(request)
    state = request.app.state
    now = dt.datetime.now(dt.UTC)
    docs = await anyio.to_thread.run_sync(published, state, _corridor_code(request), locale, now)
    return _json({"newest": (docs[0].get("published") or None) if docs else None})
