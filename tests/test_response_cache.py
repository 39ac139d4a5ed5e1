"""The response cache: fast repeats that never mix up readers' preferences."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.middleware import HTMLETag
from hub.response_cache import CACHEABLE, ResponseCache


def test_repeat_is_identical_and_answers_304(client: TestClient) -> None:
    first = client.get("/en/help")
    second = client.get("/en/help")
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert "default-src 'self'" in second.headers["content-security-policy"]
    again = client.get("/en/help", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_cached_gzip_is_not_served_to_a_client_without_gzip(client: TestClient) -> None:
    zipped = client.get("/en/", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = client.get("/en/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text.startswith("<!doctype html>")


def test_a_new_reader_still_gets_her_locale_cookie(settings: object, client: TestClient) -> None:
    client.get("/km/")
    client.get("/km/")  # now cached for readers whose cookie says km
    with TestClient(client.app) as stranger:
        response = stranger.get("/km/")
        assert response.headers.get("set-cookie", "").startswith("hub_locale=km")


def test_corridors_never_share_a_cached_page(client: TestClient) -> None:
    client.get("/en/corridor", params={"from": "PH", "to": "HK"})
    hong_kong = client.get("/en/help").text
    client.get("/en/corridor", params={"from": "ID", "to": "MY"})
    malaysia = client.get("/en/help").text
    assert "hk-emergency" in hong_kong and "hk-emergency" not in malaysia
    assert "my-emergency" in malaysia


def test_where_she_is_never_shares_a_cached_page(client: TestClient) -> None:
    client.get("/en/corridor", params={"from": "PH", "to": "HK"})
    in_hong_kong = client.get("/en/help").text
    client.get("/en/location", params={"in": "origin"})
    at_home = client.get("/en/help").text
    assert 'href="tel:999"' in in_hong_kong and 'href="tel:999"' not in at_home
    assert 'href="tel:1348"' in at_home and 'href="tel:1348"' not in in_hong_kong
    client.get("/en/location", params={"in": "destination"})
    assert client.get("/en/help").text == in_hong_kong


def _counting_app() -> tuple[Starlette, list[str]]:
    calls: list[str] = []

    async def endpoint(request: Request) -> HTMLResponse:
        calls.append(request.url.path)
        request.scope[CACHEABLE] = request.url.path != "/private"
        return HTMLResponse(f"<p>{request.url.path} {len(calls)}</p>")

    routes = [Route(path, endpoint) for path in ("/a", "/b", "/c", "/private")]
    app = Starlette(routes=routes)
    app.add_middleware(HTMLETag)
    cache = ResponseCache(app, size=2)
    return cache, calls  # type: ignore[return-value]


def test_only_marked_responses_are_kept_and_the_cache_is_bounded() -> None:
    cache, calls = _counting_app()
    with TestClient(cache) as client:  # type: ignore[arg-type]
        assert client.get("/a").text == client.get("/a").text
        assert calls == ["/a"]
        client.get("/private")
        client.get("/private")
        assert calls.count("/private") == 2
        client.get("/b")
        client.get("/c")  # evicts /a, the least recently used
        client.get("/a")
        assert calls.count("/a") == 2
        assert len(cache.entries) == 2  # type: ignore[attr-defined]
        assert client.post("/a").status_code == 405  # not answered from the cache
        before = len(calls)
        client.get("/a", params={"x": "1"})
        assert len(calls) == before + 1  # another query is another page


def test_the_cache_starts_afresh_on_a_new_day() -> None:
    import datetime as dt

    cache, calls = _counting_app()
    with TestClient(cache) as client:  # type: ignore[arg-type]
        client.get("/a")
        cache.day = dt.date(2000, 1, 1)  # type: ignore[attr-defined]
        client.get("/a")
        assert calls == ["/a", "/a"]
