"""Page-weight budget and render speed of the reader pages, measured side by side.

Prints, for home, an article and help in each locale, the compressed bytes a first visit
downloads (HTML + CSS + JS; budget 14 KB), and the requests per second of the cached article
page against a bare Starlette app answering the same bytes, as a ratio.
Run: .venv/bin/python bench/pages.py
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub import subrequest
from hub.app import create_app
from hub.settings import Settings

LOCALES = ("en", "fil", "id", "vi", "th", "km", "my")
PAGES = {"home": "/{loc}/", "article": "/{loc}/articles/keep-your-passport/", "help": "/{loc}/help"}
BUDGET = 14 * 1000
ARTICLE = "/en/articles/keep-your-passport/"
COOKIES = [(b"cookie", b"hub_from=PH; hub_to=HK; hub_locale=en")]


def first_visit_bytes(client: TestClient, url: str) -> tuple[int, int]:
    """Compressed bytes of the page and of the CSS and JS it loads (br where offered)."""
    page = client.get(url, headers={"accept-encoding": "br, gzip"})
    html = int(page.headers.get("content-length", len(page.content)))
    assets = 0
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page.text):
        response = client.get(asset, headers={"accept-encoding": "br, gzip"})
        assets += int(response.headers["content-length"])
    return html, assets


async def requests_per_second(
    app: Any, path: str, seconds: float, *, vary_query: bool = False
) -> float:
    """Drive an ASGI app in process, one request after another, for `seconds`.

    With `vary_query`, each request carries a new query string, so no cache can answer it.
    """
    count = 0
    statuses: set[int] = set()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        query = b"n=%d" % count if vary_query else b""
        reply = await subrequest.get(app, path, COOKIES, query=query, internal=False)
        statuses.add(reply.status)
        count += 1
    elapsed = time.perf_counter() - started
    assert statuses == {200}, statuses
    return count / elapsed


def bare_app(body: bytes) -> Starlette:
    """The framework's floor: one route answering fixed bytes."""

    async def endpoint(request: Request) -> HTMLResponse:
        return HTMLResponse(body)

    return Starlette(routes=[Route(ARTICLE, endpoint)])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp)))
        with TestClient(app) as client:
            client.get("/en/corridor", params={"from": "PH", "to": "HK"})
            print(f"First visit, compressed bytes (budget {BUDGET:,} B), corridor PH -> HK")
            print(f"{'page':<9}{'locale':<8}{'html':>7}{'css+js':>8}{'total':>8}  within")
            worst = 0
            for name, pattern in PAGES.items():
                for locale in LOCALES:
                    html, assets = first_visit_bytes(client, pattern.format(loc=locale))
                    total = html + assets
                    worst = max(worst, total)
                    ok = "yes" if total <= BUDGET else "NO"
                    print(f"{name:<9}{locale:<8}{html:>7}{assets:>8}{total:>8}  {ok}")
            print(f"largest first visit: {worst:,} B of {BUDGET:,} B")

            body = client.get(ARTICLE, headers={"accept-encoding": "identity"}).content
            floor = bare_app(body)
            loop = asyncio.new_event_loop()
            hub_runs: list[float] = []
            bare_runs: list[float] = []
            uncached_runs: list[float] = []
            loop.run_until_complete(requests_per_second(app, ARTICLE, 0.5))  # warm up
            for _ in range(5):
                hub_runs.append(loop.run_until_complete(requests_per_second(app, ARTICLE, 1.0)))
                bare_runs.append(loop.run_until_complete(requests_per_second(floor, ARTICLE, 1.0)))
                uncached_runs.append(
                    loop.run_until_complete(requests_per_second(app, ARTICLE, 1.0, vary_query=True))
                )
            loop.close()
        hub_rps = statistics.median(hub_runs)
        bare_rps = statistics.median(bare_runs)
        uncached_rps = statistics.median(uncached_runs)
        print()
        print(f"Article page ({len(body):,} B), in-process ASGI, 5 interleaved 1 s rounds, median")
        print("(no Accept-Encoding, so neither side compresses)")
        print(f"hub (cached render + middleware): {hub_rps:10.0f} req/s")
        print(f"bare Starlette, same bytes:       {bare_rps:10.0f} req/s")
        print(f"hub, rendering every request:     {uncached_rps:10.0f} req/s")
        print(f"ratio hub / bare:                 {hub_rps / bare_rps:10.2f}")
        print(f"ratio rendering / bare:           {uncached_rps / bare_rps:10.2f}")
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
