"""The response cache's edges that its mutants showed untested (issue 9, point 6).

Each test goes through `ResponseCache` around a bare Starlette app (or the real app), whose pages
say exactly what the cache is given, so what is kept can be counted to the byte.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import gzip
from collections.abc import AsyncIterator

import anyio
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from hub.encoding import ONE_OFF, Encoding
from hub.reading import Known
from hub.response_cache import CACHEABLE, ResponseCache

OCTETS = "application/octet-stream"
# A stored page of BODY bytes of OCTETS (never gzipped), kept with the one header that is no
# representation's: len(b"content-type") + len(OCTETS) = 12 + 24.
KEPT_HEADERS = 36
# What the cache adds to each entry (hub/response_cache.py ENTRY_OVERHEAD).
OVERHEAD = 600


def bare(routes: list[Route], *, max_bytes: int = 1_000_000, encode: bool = False) -> Starlette:
    """An app of these routes behind the cache (and Encoding, when `encode`), as in hub/app.py."""
    middleware = [Middleware(ResponseCache, max_bytes=max_bytes)]
    if encode:
        middleware.append(Middleware(Encoding))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.known = Known(frozenset({"en"}), frozenset({"PH"}), frozenset({"HK"}))
    return app


def cache_in(app: Starlette) -> ResponseCache:
    cache: ResponseCache = app.state.response_cache
    return cache


def octets(request: Request, body: bytes, *, marked: bool = True) -> Response:
    if marked:
        request.scope[CACHEABLE] = True
    return Response(body, media_type=OCTETS, headers={"etag": '"o1"'})


def test_the_cache_is_on_the_app_state_as_soon_as_the_lifespan_starts() -> None:
    # Kills the lifespan test turned `!=` (the cache then put itself there only on a request).
    app = bare([])
    with TestClient(app):
        assert isinstance(app.state.response_cache, ResponseCache)


def test_a_console_page_is_never_kept_even_when_marked() -> None:
    # Kills `... or method != "GET" and console_path(scope)`: a console GET was kept.
    rendered: list[str] = []

    async def page(request: Request) -> Response:
        rendered.append(request.url.path)
        return octets(request, b"one person's page")

    app = bare([Route("/admin/users", page)])
    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/admin/users").content == b"one person's page"
        assert rendered == ["/admin/users", "/admin/users"]
        assert len(cache_in(app).entries) == 0 and cache_in(app).hits == 0


def test_the_request_body_reaches_the_view() -> None:
    # Kills `receive` turned None where the cache passes a GET on (lookup missed) to the app.
    async def echo(request: Request) -> Response:
        return Response(b"read: " + await request.body(), media_type=OCTETS)

    app = bare([Route("/en/echo", echo)])
    with TestClient(app) as client:
        response = client.request("GET", "/en/echo", content=b"hello")
        assert response.content == b"read: hello"


def test_an_unmarked_page_is_not_kept() -> None:
    # Kills `not marked and status != 200 or set-cookie`: an unmarked 200 was kept.
    rendered: list[int] = []

    async def page(request: Request) -> Response:
        rendered.append(1)
        return octets(request, b"x" * 100, marked=False)

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        client.get("/en/x")
        client.get("/en/x")
        assert len(rendered) == 2 and len(cache_in(app).entries) == 0


@pytest.mark.parametrize(
    ("size", "media_type", "coding", "etag"),
    [
        (499, "text/html", None, '"p1"'),
        (500, "text/html", "gzip", '"p1-gzip"'),
        (600, OCTETS, None, '"p1"'),
    ],
)
def test_the_cache_gzips_text_of_500_bytes_or_more(
    size: int, media_type: str, coding: str | None, etag: str
) -> None:
    # Kills `len(body) > MIN_SIZE`, `len(body) >= MIN_SIZE or compressible`, and
    # `gzipped or take_gzip` on replay (an identity page replayed with a gzip ETag).
    body = b"a" * size

    async def page(request: Request) -> Response:
        request.scope[CACHEABLE] = True
        return Response(body, media_type=media_type, headers={"etag": '"p1"'})

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        first = client.get("/en/x", headers={"accept-encoding": "identity"})
        assert first.headers["etag"] == '"p1"' and first.content == body
        again = client.get("/en/x", headers={"accept-encoding": "gzip"})
        assert cache_in(app).hits == 1
        assert again.headers.get("content-encoding") == coding
        assert again.headers["etag"] == etag
        assert again.content == body


def test_a_hit_without_accept_encoding_is_sent_as_identity() -> None:
    # Kills the Accept-Encoding default "" turned None (or dropped): accepts_gzip(None) failed.
    body = b"<p>page</p>" * 100

    async def page(request: Request) -> Response:
        request.scope[CACHEABLE] = True
        return Response(body, media_type="text/html", headers={"etag": '"h1"'})

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        del client.headers["accept-encoding"]
        client.get("/en/x")
        again = client.get("/en/x")
        assert cache_in(app).hits == 1
        assert again.status_code == 200 and "content-encoding" not in again.headers
        assert again.headers["etag"] == '"h1"' and again.content == body


def test_a_one_off_page_is_gzipped_the_same_whoever_asks_first() -> None:
    # Kills `one_off=` dropped or None in keep(): a one-off page first asked for without gzip
    # was compressed by zlib, by igzip when first asked with gzip, under one strong ETag.
    text = "".join(f"<li>result {n}: passport office {n * 7919 % 1000}</li>" for n in range(300))

    async def results(request: Request) -> Response:
        request.scope[CACHEABLE] = True
        request.scope[ONE_OFF] = True
        return Response(text, media_type="text/html")

    stored: dict[str, bytes] = {}
    for first in ("identity", "gzip"):
        app = bare([Route("/en/search", results)], encode=True)
        with TestClient(app) as client:
            client.get("/en/search", headers={"accept-encoding": first})
            [kept] = cache_in(app).entries.values()
            assert kept.gzipped and gzip.decompress(kept.body) == text.encode()
            stored[first] = kept.body
    assert stored["identity"] == stored["gzip"]


def test_an_entry_of_exactly_its_share_is_kept_and_sixteen_fill_the_budget() -> None:
    # Kills `size >= max_bytes // LARGEST_SHARE` and `while self.bytes >= self.max_bytes`.
    # Each entry: 100 bytes, its header, "/en/x" and "q" and a two-digit query, and 600.
    size = 100 + KEPT_HEADERS + len("/en/x") + len("q") + 2 + OVERHEAD
    assert size == 744

    async def page(request: Request) -> Response:
        return octets(request, b"x" * 100)

    app = bare([Route("/en/x", page)], max_bytes=16 * 744)
    with TestClient(app) as client:
        for n in range(16):
            client.get("/en/x", params={"q": f"{n:02}"})
        cache = cache_in(app)
        assert len(cache.entries) == 16 and cache.bytes == 11_904
        client.get("/en/x", params={"q": "16"})
        assert len(cache.entries) == 16 and cache.bytes == 11_904
        assert (("q", "00"),) not in [key[1] for key in cache.entries]


def test_an_entry_over_its_share_by_one_byte_is_not_kept() -> None:
    async def page(request: Request) -> Response:
        return octets(request, b"x" * 101)

    app = bare([Route("/en/x", page)], max_bytes=16 * 744)
    with TestClient(app) as client:
        client.get("/en/x", params={"q": "00"})
        assert len(cache_in(app).entries) == 0 and cache_in(app).bytes == 0


def test_a_new_day_counts_the_bytes_from_zero() -> None:
    # Kills clear()'s `self.bytes = 1`: the count was one byte over what is kept.
    async def page(request: Request) -> Response:
        return octets(request, b"x" * 100)

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        client.get("/en/x")
        cache = cache_in(app)
        assert cache.bytes == 741  # 100 + 36 + len("/en/x") + 600
        cache.day = dt.date(2000, 1, 1)
        client.get("/en/x")
        assert cache.day == dt.date.today()
        assert len(cache.entries) == 1 and cache.bytes == 741 and cache.hits == 0


def test_a_page_rendered_across_a_clear_is_not_kept_after_the_second_clear() -> None:
    # Kills clear()'s `generation = 1` (after one clear, a second left the generation equal) and
    # `not more_body or generation == self.generation` (kept across a clear).
    rendered: list[int] = []

    async def page(request: Request) -> Response:
        rendered.append(1)
        cache_in(app).clear()  # a content reload while the page renders
        return octets(request, b"x" * 100)

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/en/x").content == b"x" * 100
        assert len(rendered) == 3 and len(cache_in(app).entries) == 0
        assert cache_in(app).bytes == 0


def test_a_streamed_page_is_kept_whole() -> None:
    # Kills b"XXXX".join(chunks): the chunks are kept joined with nothing between.
    rendered: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 100
        yield b"b" * 100

    async def page(request: Request) -> Response:
        rendered.append(1)
        request.scope[CACHEABLE] = True
        return StreamingResponse(chunks(), media_type=OCTETS, headers={"etag": '"s1"'})

    app = bare([Route("/en/x", page)])
    with TestClient(app) as client:
        assert client.get("/en/x").content == b"a" * 100 + b"b" * 100
        again = client.get("/en/x")
        assert len(rendered) == 1 and again.content == b"a" * 100 + b"b" * 100
        [kept] = cache_in(app).entries.values()
        assert kept.body == b"a" * 100 + b"b" * 100 and kept.size == 841


def test_a_streamed_page_too_big_for_its_share_keeps_no_part_of_itself() -> None:
    # Kills `message.get("more_body", False)` with its key altered or dropped: each chunk was
    # then a finished page, and the first, small enough, was kept and served as the whole.
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 100
        yield b"b" * 2000

    async def page(request: Request) -> Response:
        request.scope[CACHEABLE] = True
        return StreamingResponse(chunks(), media_type=OCTETS, headers={"etag": '"s1"'})

    app = bare([Route("/en/x", page)], max_bytes=16 * 1000)
    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/en/x").content == b"a" * 100 + b"b" * 2000
        assert len(cache_in(app).entries) == 0 and cache_in(app).hits == 0


class NoBodyKey:
    """A page whose first body message leaves out `body` (ASGI: it defaults to b"")."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[CACHEABLE] = True
        headers = [(b"content-type", OCTETS.encode()), (b"etag", b'"n1"')]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "more_body": True})
        await send({"type": "http.response.body", "body": b"abc"})


def test_a_body_message_without_a_body_adds_nothing() -> None:
    # Kills `message.get("body", b"")` with its default turned None, "XXXX" or dropped.
    app = bare([Route("/en/x", NoBodyKey())])
    with TestClient(app) as client:
        assert client.get("/en/x").content == b"abc"
        again = client.get("/en/x")
        assert cache_in(app).hits == 1 and again.content == b"abc"


def test_two_renders_of_one_page_at_once_count_its_bytes_once() -> None:
    # Kills keep()'s `previous = None` (or `pop(None, None)`), `bytes = previous.size` and
    # `bytes += previous.size`: the second copy of a page replaces the first, and its bytes too.
    started: list[anyio.Event] = []

    async def page(request: Request) -> Response:
        started.append(anyio.Event())
        if len(started) == 2:
            started[0].set()
            started[1].set()
        await started[-1].wait()
        return octets(request, b"x" * 100)

    app = bare([Route("/en/x", page)])

    async def get(sent: list[Message]) -> None:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/en/x",
            "raw_path": b"/en/x",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"hub.test")],
            "client": ("192.0.2.1", 1234),
            "server": ("hub.test", 80),
        }

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(scope, receive, send)

    async def two_readers() -> tuple[list[Message], list[Message]]:
        first: list[Message] = []
        second: list[Message] = []
        async with anyio.create_task_group() as group:
            group.start_soon(get, first)
            group.start_soon(get, second)
        return first, second

    with TestClient(app), concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # In a thread of its own, as in tests/test_middleware_edges.py: after the browser tests
        # an event loop may be left running in the main thread.
        first, second = pool.submit(anyio.run, two_readers).result()
        assert first[-1]["body"] == second[-1]["body"] == b"x" * 100
        cache = cache_in(app)
        assert len(cache.entries) == 1 and cache.bytes == 741
