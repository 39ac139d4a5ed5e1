"""An in-process cache of whole reader responses, keyed on what the page depends on.

Content is fixed for the life of the app, so a reader page is a pure function of its path,
query, preference cookies, whether the client takes gzip, and the day (pages say whether an
entry was verified within the last year, so the cache starts afresh each day). A view marks
its response cacheable by setting `scope["hub.cacheable"]`; responses that set a cookie are
never kept.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.middleware import etag_matches, not_modified
from hub.preferences import PREFERENCE_COOKIES

CACHEABLE = "hub.cacheable"
DEFAULT_SIZE = 2048

Key = tuple[str, bytes, bool, tuple[str, ...]]


@dataclass(frozen=True)
class Stored:
    """A complete response: status, raw headers, body and its ETag."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


class ResponseCache:
    """Answers repeat requests for cacheable pages without routing or rendering."""

    def __init__(self, app: ASGIApp, size: int = DEFAULT_SIZE) -> None:
        self.app = app
        self.size = size
        self.entries: OrderedDict[Key, Stored] = OrderedDict()
        self.day = dt.date.today()

    def key(self, scope: Scope, headers: Headers) -> Key:
        """What a reader page can depend on."""
        cookies = cookie_parser(headers.get("cookie", ""))
        return (
            scope["path"],
            scope["query_string"],
            "gzip" in headers.get("accept-encoding", ""),
            tuple(cookies.get(name, "") for name in PREFERENCE_COOKIES),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        today = dt.date.today()
        if today != self.day:
            self.entries.clear()
            self.day = today
        headers = Headers(scope=scope)
        key = self.key(scope, headers)
        stored = self.entries.get(key)
        if stored is not None:
            self.entries.move_to_end(key)
            await self.replay(stored, headers.get("if-none-match", ""), send)
            return
        await self.record(scope, receive, send, key)

    async def replay(self, stored: Stored, if_none_match: str, send: Send) -> None:
        """Send a stored response, or 304 when the client already has it."""
        start = {"type": "http.response.start", "status": stored.status, "headers": stored.headers}
        if if_none_match and etag_matches(if_none_match, stored.etag.decode("latin-1")):
            for reply in not_modified(start):
                await send(reply)
            return
        await send(start)
        await send({"type": "http.response.body", "body": stored.body})

    async def record(self, scope: Scope, receive: Receive, send: Send, key: Key) -> None:
        """Pass the request on, keeping a copy of a cacheable, complete 200 response."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_and_keep(message: Message) -> None:
            nonlocal start
            await send(message)
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.keep(scope, key, start, b"".join(chunks))

        await self.app(scope, receive, send_and_keep)

    def keep(self, scope: Scope, key: Key, start: Message, body: bytes) -> None:
        """Store a finished response if the view marked it and it is safe to share."""
        raw: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        names = {name.lower() for name, _ in raw}
        if not scope.get(CACHEABLE) or start["status"] != 200 or b"set-cookie" in names:
            return
        etag = next((value for name, value in raw if name.lower() == b"etag"), None)
        if etag is None:
            return
        self.entries[key] = Stored(start["status"], raw, body, etag)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
