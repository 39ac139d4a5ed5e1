"""An in-process cache of whole reader responses, keyed on the request's one Reading.

Between two loads of the content, a reader page is a pure function of the values of its
`Reading` (hub/reading.py) and of the day (pages say whether an entry was verified within the
last year, so the cache starts afresh each day, and after each content reload). A view marks
its response cacheable by setting `scope["hub.cacheable"]`; responses that set a cookie are
never kept. Each page is kept once, gzipped when that makes it smaller; a client that does not
take gzip gets it inflated.
The cache holds at most `max_bytes` of bodies, headers and keys, least recently used out first.
It puts itself on `app.state.response_cache` when the lifespan starts, so that a content reload
(hub/reload.py) can empty it.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import encoding
from hub.console_guard import console_path
from hub.reading import Key, reading_of
from hub.remember import PAGE_LOCALE
from hub.settings import RESPONSE_CACHE_BYTES

CACHEABLE = "hub.cacheable"
# What Python spends on an entry besides its bytes: the key tuple, the record, the dict slot.
ENTRY_OVERHEAD = 600
# No one page may take more than this share of the cache, so one cannot empty it.
LARGEST_SHARE = 16


@dataclass(frozen=True)
class Stored:
    """One page: its headers (without those of a representation), body and identity ETag."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bool
    etag: str
    locale: str | None
    size: int


def _size(key: Key, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    keyed = len(key[0]) + sum(len(name) + len(value) for name, value in key[1])
    return len(body) + sum(len(n) + len(v) for n, v in headers) + keyed + ENTRY_OVERHEAD


class ResponseCache:
    """Answers repeat requests for cacheable pages without routing or rendering."""

    def __init__(self, app: ASGIApp, max_bytes: int = RESPONSE_CACHE_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.entries: OrderedDict[Key, Stored] = OrderedDict()
        self.day = dt.date.today()
        # Moves on each clear(): a page rendered before one is not kept after it.
        self.generation = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # The one way the app reaches its instance; the packs' private stack has none.
            scope["app"].state.response_cache = self
        # A console page is one person's: never looked up, never kept.
        if scope["type"] != "http" or scope["method"] != "GET" or console_path(scope):
            await self.app(scope, receive, send)
            return
        today = dt.date.today()
        if today != self.day:
            self.clear()
            self.day = today
        key = reading_of(scope).key
        stored = self.entries.get(key)
        if stored is None:
            await self.record(scope, receive, send, key)
            return
        self.entries.move_to_end(key)
        self.hits += 1
        scope[PAGE_LOCALE] = stored.locale
        headers = Headers(scope=scope)
        for message in self.replay(
            stored,
            encoding.accepts_gzip(headers.get("accept-encoding", "")),
            headers.get("if-none-match", ""),
        ):
            await send(message)

    def clear(self) -> None:
        """Forget every page."""
        self.entries.clear()
        self.bytes = 0
        self.generation += 1

    @staticmethod
    def replay(stored: Stored, take_gzip: bool, if_none_match: str) -> list[Message]:
        """The messages that send a stored page as the client takes it, or a 304."""
        body, etag, gzipped = stored.body, stored.etag, stored.gzipped
        if gzipped and take_gzip:
            etag = encoding.gzip_etag(etag)
        elif gzipped:
            body, gzipped = gzip.decompress(body), False
        return encoding.representation(
            stored.status, stored.headers, body, etag, gzipped=gzipped, if_none_match=if_none_match
        )

    async def record(self, scope: Scope, receive: Receive, send: Send, key: Key) -> None:
        """Pass the request on, keeping a copy of a cacheable, complete 200 response."""
        start: Message | None = None
        chunks: list[bytes] = []
        generation = self.generation

        async def send_and_keep(message: Message) -> None:
            nonlocal start
            await send(message)
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and generation == self.generation:
                    self.keep(scope, key, start, b"".join(chunks))

        await self.app(scope, receive, send_and_keep)

    def keep(self, scope: Scope, key: Key, start: Message, body: bytes) -> None:
        """Store a finished response if the view marked it and it is safe to share."""
        raw: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        found = {name.lower(): value for name, value in raw}
        if not scope.get(CACHEABLE) or start["status"] != 200 or b"set-cookie" in found:
            return
        etag = found.get(b"etag", b"").decode("latin-1")
        coding = found.get(b"content-encoding")
        if not etag or coding not in (None, b"gzip"):
            return
        gzipped = coding == b"gzip"
        if gzipped:
            # The identity ETag is the one kept; the gzip one is made from it again on replay.
            etag = etag.replace(encoding.GZIP_SUFFIX + '"', '"')
        elif len(body) >= encoding.MIN_SIZE and encoding.compressible(raw):
            body, gzipped = encoding.compress(body, one_off=encoding.one_off(scope)), True
        headers = encoding.without(raw, encoding.REPRESENTATION_HEADERS)
        size = _size(key, headers, body)
        if size > self.max_bytes // LARGEST_SHARE:
            return
        locale = scope.get(PAGE_LOCALE)
        stored = Stored(start["status"], headers, body, gzipped, etag, locale, size)
        previous = self.entries.pop(key, None)
        if previous is not None:
            self.bytes -= previous.size
        self.entries[key] = stored
        self.bytes += size
        while self.bytes > self.max_bytes and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped.size
