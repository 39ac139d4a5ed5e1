"""Fingerprinted, compressed, immutable static files; ETags and 304 on HTML."""

from __future__ import annotations

import gzip
import re

from starlette.testclient import TestClient

from hub.settings import PROJECT_ROOT


def _asset(client: TestClient, pattern: str) -> str:
    found = re.search(pattern, client.get("/en/").text)
    assert found is not None
    return found.group(1)


def test_asset_urls_carry_a_content_hash(client: TestClient) -> None:
    css = _asset(client, r'href="(/static/css/hub\.[0-9a-f]{12}\.css)"')
    js = _asset(client, r'src="(/static/js/hub\.[0-9a-f]{12}\.js)"')
    source = (PROJECT_ROOT / "static" / "css" / "hub.css").read_bytes()
    assert client.get(css).content == source
    assert client.get(js).status_code == 200


def test_assets_are_immutable_for_a_year(client: TestClient) -> None:
    css = _asset(client, r'href="(/static/css/[^"]+)"')
    response = client.get(css)
    assert response.headers["cache-control"] == "max-age=31536000, public, immutable"


def test_assets_are_served_brotli_or_gzip(client: TestClient) -> None:
    css = _asset(client, r'href="(/static/css/[^"]+)"')
    brotli = client.get(css, headers={"accept-encoding": "br"})
    assert brotli.headers["content-encoding"] == "br"
    gzipped = client.get(css, headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert int(gzipped.headers["content-length"]) < len(gzipped.content)


def test_unhashed_or_unknown_assets_are_404(client: TestClient) -> None:
    # Only content-hashed names are served, so a stale unhashed URL can never be cached forever.
    assert client.get("/static/css/hub.css").status_code == 404
    assert client.get("/static/nope.css").status_code == 404


def test_html_has_an_etag_and_answers_304(client: TestClient) -> None:
    first = client.get("/en/articles/keep-your-passport/")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', etag)
    again = client.get("/en/articles/keep-your-passport/", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/en/articles/keep-your-passport/", headers={"if-none-match": '"x"'})
    assert other.status_code == 200 and other.headers["etag"] == etag


def test_etag_differs_by_corridor(client: TestClient) -> None:
    before = client.get("/en/help").headers["etag"]
    client.get("/en/corridor", params={"from": "PH", "to": "HK"})
    after = client.get("/en/help").headers["etag"]
    assert before != after
    assert "Cookie" in client.get("/en/help").headers["vary"]


def test_html_is_compressed(client: TestClient) -> None:
    response = client.get("/en/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(gzip.compress(response.content)) < len(response.content)
