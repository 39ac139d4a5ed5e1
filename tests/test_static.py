"""Fingerprinted, compressed, immutable static files; ETags and 304 on HTML."""

from __future__ import annotations

import gzip
import re
import runpy
from pathlib import Path

import brotli
import pytest
from PIL import Image, ImageChops
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

from hub.app import create_app
from hub.settings import PROJECT_ROOT, Settings

STATIC = PROJECT_ROOT / "static"
IMMUTABLE = "max-age=31536000, public, immutable"


def _asset(client: TestClient, pattern: str) -> str:
    found = re.search(pattern, client.get("/en/").text)
    assert found is not None
    return found.group(1)


def test_asset_urls_carry_a_content_hash(shared_client: TestClient) -> None:
    css = _asset(shared_client, r'href="(/static/css/hub\.[0-9a-f]{12}\.css)"')
    js = _asset(shared_client, r'src="(/static/js/hub\.[0-9a-f]{12}\.js)"')
    source = (PROJECT_ROOT / "static" / "css" / "hub.css").read_bytes()
    assert shared_client.get(css).content == source
    assert shared_client.get(js).status_code == 200


def test_assets_are_immutable_for_a_year(shared_client: TestClient) -> None:
    css = _asset(shared_client, r'href="(/static/css/[^"]+)"')
    response = shared_client.get(css)
    assert response.headers["cache-control"] == "max-age=31536000, public, immutable"


def test_assets_are_served_brotli_or_gzip(shared_client: TestClient) -> None:
    css = _asset(shared_client, r'href="(/static/css/[^"]+)"')
    brotli = shared_client.get(css, headers={"accept-encoding": "br"})
    assert brotli.headers["content-encoding"] == "br"
    gzipped = shared_client.get(css, headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert int(gzipped.headers["content-length"]) < len(gzipped.content)


def test_unhashed_or_unknown_assets_are_404(shared_client: TestClient) -> None:
    # Only content-hashed names are served, so a stale unhashed URL can never be cached forever.
    assert shared_client.get("/static/css/hub.css").status_code == 404
    assert shared_client.get("/static/nope.css").status_code == 404


def test_html_has_an_etag_and_answers_304(shared_client: TestClient) -> None:
    first = shared_client.get("/en/articles/keep-your-passport")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}(-gzip)?"', etag)  # gzip: a representation of its own
    again = shared_client.get("/en/articles/keep-your-passport", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = shared_client.get("/en/articles/keep-your-passport", headers={"if-none-match": '"x"'})
    assert other.status_code == 200 and other.headers["etag"] == etag


def test_etag_differs_by_corridor(shared_client: TestClient) -> None:
    before = shared_client.get("/en/help").headers["etag"]
    shared_client.get("/en/corridor", params={"from": "PH", "to": "HK"})
    after = shared_client.get("/en/help").headers["etag"]
    assert before != after
    assert "Cookie" in shared_client.get("/en/help").headers["vary"]


def test_html_is_compressed(shared_client: TestClient) -> None:
    response = shared_client.get("/en/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(gzip.compress(response.content)) < len(response.content)


def _css(client: TestClient) -> str:
    return _asset(client, r'href="(/static/css/hub\.[0-9a-f]{12}\.css)"')


def _assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


# Accept-Encoding -> the coding of the answer (None: the file as it is).
CHOICES = [
    ("gzip, deflate, br", "br"),  # what a phone's Chrome sends
    ("br", "br"),
    ("gzip", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip;q=1, br;q=0.5", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("*", "br"),
    ("*;q=0.5, br;q=0", "gzip"),
    ("identity", None),
    ("gzip;q=0, br;q=0", None),
    ("", None),
]


def test_each_coding_is_chosen_by_q_value_and_holds_the_file(shared_client: TestClient) -> None:
    css = _css(shared_client)
    source = (STATIC / "css" / "hub.css").read_bytes()
    for accept_encoding, coding in CHOICES:
        response = shared_client.get(css, headers={"accept-encoding": accept_encoding})
        assert response.status_code == 200
        assert response.headers.get("content-encoding") == coding, accept_encoding
        assert response.headers["content-type"] == "text/css; charset=utf-8"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.content == source  # decoded by the client as Content-Encoding says
        sent = int(response.headers["content-length"])
        if coding is None:
            assert sent == len(source)
        else:
            assert sent < len(source) * 0.5  # CSS compresses to well under half


def test_compressed_bodies_are_what_they_say(shared_client: TestClient) -> None:
    css = _css(shared_client)
    source = (STATIC / "css" / "hub.css").read_bytes()
    with shared_client.stream("GET", css, headers={"accept-encoding": "br"}) as response:
        assert brotli.decompress(b"".join(response.iter_raw())) == source
    with shared_client.stream("GET", css, headers={"accept-encoding": "gzip"}) as response:
        assert gzip.decompress(b"".join(response.iter_raw())) == source


def test_each_coding_has_its_own_strong_etag_and_answers_304(shared_client: TestClient) -> None:
    css = _css(shared_client)
    etags = {}
    for coding in ("br", "gzip", "identity"):
        response = shared_client.get(css, headers={"accept-encoding": coding})
        etag = response.headers["etag"]
        assert re.fullmatch(r'"[^"]+"', etag), "strong: no W/ prefix"
        etags[coding] = etag
        again = shared_client.get(css, headers={"accept-encoding": coding, "if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == IMMUTABLE
        assert again.headers["vary"] == "Accept-Encoding"
        _assert_security_headers(again)
        listed = shared_client.get(
            css, headers={"accept-encoding": coding, "if-none-match": f'"x", {etag}'}
        )
        assert listed.status_code == 304
    assert len(set(etags.values())) == 3
    # The client holds the gzip bytes, and now asks for brotli: it gets them, not a 304.
    other = shared_client.get(
        css, headers={"accept-encoding": "br", "if-none-match": etags["gzip"]}
    )
    assert other.status_code == 200
    assert other.headers["content-encoding"] == "br"


async def _sent(app: ASGIApp, method: str, path: str, accept_encoding: str) -> list[Message]:
    """Every message the app sends for one request, as the server would get them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"accept-encoding", accept_encoding.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_head_has_the_headers_of_get_and_no_body(shared_client: TestClient) -> None:
    # Looked at as the app sends it: the test client drops the body of a HEAD answer itself.
    css = _css(shared_client)
    assert shared_client.portal is not None
    for coding in ("br", "identity"):
        get = shared_client.portal.call(_sent, shared_client.app, "GET", css, coding)
        head = shared_client.portal.call(_sent, shared_client.app, "HEAD", css, coding)
        assert head[0]["status"] == get[0]["status"] == 200
        assert head[0]["headers"] == get[0]["headers"]
        assert [m.get("body", b"") for m in head[1:]] == [b""]
        assert b"".join(m.get("body", b"") for m in get[1:])
        response = shared_client.head(css, headers={"accept-encoding": coding})
        _assert_security_headers(response)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("js/hub.js", "text/javascript; charset=utf-8"),
        ("icons/hub-maskable-512.png", "image/png"),
    ],
)
def test_other_files_with_their_type(
    shared_client: TestClient, name: str, content_type: str
) -> None:
    url = "/static/" + shared_client.app.state.assets.url_path(name)  # type: ignore[attr-defined]
    response = shared_client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.content == (STATIC / name).read_bytes()
    if content_type == "image/png":
        # Already compressed: sent as it is, with nothing to vary on.
        assert "content-encoding" not in response.headers
        assert "vary" not in response.headers


def test_unknown_names_and_other_methods_are_refused_with_security_headers(
    shared_client: TestClient,
) -> None:
    for url in ("/static/nope.css", "/static/css/hub.css", "/static/css/", "/static/"):
        response = shared_client.get(url)
        assert response.status_code == 404, url
        _assert_security_headers(response)
    posted = shared_client.post(_css(shared_client))
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    _assert_security_headers(posted)


# The client sends these as they are; the server decodes %2e to "." and %2f to "/".
ESCAPES = [
    "/static/%2e%2e/pyproject.toml",
    "/static/%2E%2E/%2E%2E/main/pyproject.toml",
    "/static/..%2fpyproject.toml",
    "/static/css/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/css/..%5c..%5cpyproject.toml",
    "/static/css/%2e%2e/%2e%2e/hub/static.py",
    "/static/%2e%2e/static/css/hub.css",
]
# What those paths point at, were they joined to a folder.
OUTSIDE = [
    PROJECT_ROOT / "pyproject.toml",
    PROJECT_ROOT / "hub" / "static.py",
    STATIC / "css" / "hub.css",
]


def test_no_path_leaves_the_static_folder(shared_client: TestClient) -> None:
    for url in ESCAPES:
        response = shared_client.get(url)
        assert response.status_code == 404, url
        for target in OUTSIDE:
            assert target.read_bytes()[:200] not in response.content, url


def test_a_damaged_cached_copy_is_made_again(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        css = _css(client)
    cached = settings.data_dir / "static" / (css.removeprefix("/static/") + ".br")
    assert cached.exists()
    cached.write_bytes(b"not brotli at all")
    with TestClient(create_app(settings)) as client:
        response = client.get(css, headers={"accept-encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert response.content == (STATIC / "css" / "hub.css").read_bytes()


def test_icons_are_small_palette_pngs_made_by_the_script() -> None:
    make_icons = runpy.run_path(str(PROJECT_ROOT / "scripts" / "make_icons.py"))
    for source in sorted((PROJECT_ROOT / "icons").glob("*.png")):
        for name, fresh in make_icons["icons_for"](source).items():
            path = STATIC / "icons" / name
            shipped = Image.open(path)
            assert shipped.mode == "P", f"{name}: a palette PNG"
            colours = shipped.convert("RGB").getcolors(256)
            assert colours is not None and len(colours) <= 64, name
            # Chrome downloads the maskable icon on a first visit: a few KB at most.
            assert path.stat().st_size <= (6_000 if "512" in name else 3_000), name
            # RGB, since getbbox of an RGBA difference looks at alpha only.
            difference = ImageChops.difference(fresh.convert("RGB"), shipped.convert("RGB"))
            assert difference.getbbox() is None, f"run make icons: {name}"
