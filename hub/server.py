"""How `hub serve` runs uvicorn: its limits for slow or idle clients, from Settings."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from hub.console_guard import console_path
from hub.settings import Settings


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request, body
    included, within `request_timeout` seconds of connecting or of the previous response.

    uvicorn's keep-alive timer starts only after a response and stops at the first byte of
    the next request, and nothing of uvicorn's times a body, so a client that connects and
    sends nothing, or trickles a request head or body byte by byte, would hold its connection
    (and a slot under the concurrency cap) forever. A response under way is never cut: a slow
    reader of a large one is the response's own business, not this deadline's.
    """

    # Set by deadline_protocol from HUB_TIMEOUT_REQUEST (the default lives in Settings only).
    request_timeout: float
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection and start the clock for its first request."""
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        """Finish the response and start the clock for the next request."""
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the clock of a closed connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        # Their head or body still to come: IDLE before a request's head is whole, SEND_BODY
        # until its body is. The app may be waiting on that body (its cycle has begun but not
        # answered): that counts as the request still arriving, not as a response.
        arriving = self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        # Once the app has started answering (before the body has come, say a refusal), the
        # response goes out whole; the deadline is armed again when it completes.
        responding = (
            self.cycle is not None
            and self.cycle.response_started
            and not self.cycle.response_complete
        )
        if arriving and not responding and not self.transport.is_closing():
            self.transport.close()


def deadline_protocol(seconds: int) -> type[DeadlineH11Protocol]:
    """DeadlineH11Protocol with a request deadline of `seconds`."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"request_timeout": float(seconds)})


def server_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """Keyword arguments of uvicorn.run (or uvicorn.Config) for `hub serve`."""
    return {
        "host": host,
        "port": port,
        # h11 always, so that max_header_bytes and the request deadline hold even when
        # httptools happens to be installed.
        "http": deadline_protocol(settings.timeout_request),
        "ws": "none",
        "lifespan": "on",
        # uvicorn's own access log prints client addresses; hub.access logs without them.
        "access_log": False,
        "server_header": False,
        "log_level": "info",
        "timeout_keep_alive": settings.timeout_keep_alive,
        "limit_concurrency": settings.limit_concurrency or None,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "backlog": settings.backlog,
        "timeout_graceful_shutdown": settings.timeout_graceful_shutdown,
        # uvicorn's own proxy handling would put X-Forwarded-For into scope["client"] for
        # every request; behind_proxy reads it only where the hub counts per client.
        "proxy_headers": False,
    }


# Where the hub counts requests per client, and so needs the client's own address behind a
# proxy: subscribing a phone to alerts (HUB_SUBSCRIBE_PER_HOUR).
COUNTED_PATHS = ("/api/subscriptions",)


def counts_clients(scope: Scope) -> bool:
    """Whether the hub counts this request per client: a console path (the sign-in throttle)
    or one of COUNTED_PATHS (the subscribe limit)."""
    path: str = scope["path"]
    counted = any(path == p or path.startswith(p + "/") for p in COUNTED_PATHS)
    return counted or console_path(scope)


def behind_proxy(app: ASGIApp, settings: Settings) -> ASGIApp:
    """`app` taking the scheme from X-Forwarded-Proto when the connection comes from one of
    HUB_FORWARDED_ALLOW_IPS, and where the hub counts per client (`counts_clients`) the
    client from X-Forwarded-For; `app` itself when none are named.

    On every other path X-Forwarded-For is dropped before uvicorn's ProxyHeadersMiddleware
    sees it, so the client in scope stays the proxy and a reader's address never enters the
    hub. Where it is kept, a per-client limit counts by it: with the proxy's address, one
    person's failed sign-ins would lock every colleague out, and one phone's subscriptions
    would use up every reader's. The limits keep only a keyed hash of it, in memory; nothing
    stores or logs it."""
    proxies = settings.forwarded_allow_ips.strip()
    if not proxies:
        return app
    inner = ProxyHeadersMiddleware(app, trusted_hosts=proxies)  # type: ignore[arg-type]

    async def from_proxy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not counts_clients(scope):
            headers = [(n, v) for n, v in scope["headers"] if n != b"x-forwarded-for"]
            scope = {**scope, "headers": headers}
        await inner(scope, receive, send)  # type: ignore[arg-type]

    return from_proxy
