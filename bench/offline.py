"""Offline budgets: the compressed size of every locale + corridor pack and of the precache, the
time a pack takes to build, and whether the hub keeps answering readers while it builds packs.

A pack is what "Save for offline" downloads: every topic, article, help and service page of one
locale and corridor, and the locale's search index (gzip, as served). The precache is what the
service worker stores when it installs: the static shell (brotli) and four pages (gzip).
The hub runs as `hub serve` runs it (bench/common.py) and is asked over loopback sockets. Each
pack is asked for once, so each answer is a fresh build; meanwhile a probe asks for a cached
page every 20 ms, and the hub counts as responsive when 95% of those answers take under 100 ms.
Settings come from the environment (HUB_CONTENT_DIR may point at another tree, e.g. one made by
bench/tree.py); HUB_DATA_DIR defaults to a temporary folder.
Run: .venv/bin/python bench/offline.py [--locale CODE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PHONE_HEADERS, fetch, hub_server, median

from hub.settings import Settings

PACK_BUDGET = 300 * 1000  # design reference, Budgets: one locale and corridor
# A tap answered within 100 ms feels instant: a page asked for while packs build must be.
RESPONSIVE_MS = 100.0
PROBE_PAUSE = 0.02  # seconds between probe requests
IDLE_SECONDS = 2.0  # probing with nothing else to do, for comparison
PRECACHE_PAGES = ("unavailable", "", "help", "search")


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def probe(port: int, target: str, stop: asyncio.Event, seconds: float | None) -> list[float]:
    """Milliseconds each answer to `target` took, asked every PROBE_PAUSE until `stop` is set
    (or for `seconds`)."""
    took: list[float] = []
    deadline = None if seconds is None else time.perf_counter() + seconds
    while not stop.is_set() and (deadline is None or time.perf_counter() < deadline):
        started = time.perf_counter()
        reply = await fetch(port, target, PHONE_HEADERS)
        took.append((time.perf_counter() - started) * 1000)
        if reply.status != 200:
            raise RuntimeError(f"probe {target}: {reply.status}")
        await asyncio.sleep(PROBE_PAUSE)
    return took


async def build_packs(
    port: int, site: dict[str, Any], locales: Sequence[str]
) -> tuple[dict[str, list[tuple[int, int, str]]], list[float]]:
    """Each locale's packs as (bytes, pages, corridor), and the milliseconds each build took."""
    packs: dict[str, list[tuple[int, int, str]]] = {}
    builds: list[float] = []
    for locale in locales:
        sizes = packs.setdefault(locale, [])
        for origin in site["origins"]:
            for destination in site["destinations"]:
                if origin == destination:
                    continue
                target = f"/api/packs/{locale}.json?from={origin}&to={destination}"
                started = time.perf_counter()
                reply = await fetch(port, target, PHONE_HEADERS)
                builds.append((time.perf_counter() - started) * 1000)
                if reply.status != 200:
                    raise RuntimeError(f"{target}: {reply.status}")
                data = json.loads(reply.decoded())
                sizes.append((data["bytes"], len(data["paths"]), f"{origin}->{destination}"))
        sizes.sort()
    return packs, builds


async def precache(port: int, locales: Sequence[str]) -> None:
    """Print what the worker stores when it installs: the shell, and four pages per locale."""
    worker = (await fetch(port, "/sw.js", PHONE_HEADERS)).decoded().decode()
    shell = re.search(r'"shell": \[(.*?)\]', worker)
    assert shell is not None
    static = re.findall(r'"([^"]+)"', shell.group(1))
    shell_bytes = 0
    for url in static:
        shell_bytes += len((await fetch(port, url, {"accept-encoding": "br"})).body)
    print()
    print(f"Precache: {len(static)} static files, {shell_bytes:,} B (brotli)")
    for locale in locales:
        headers = {
            "accept-encoding": "gzip",
            "cookie": f"hub_locale={locale}; hub_from=PH; hub_to=HK",
        }
        pages = 0
        for name in PRECACHE_PAGES:
            pages += len((await fetch(port, f"/{locale}/{name}", headers)).body)
        print(f"  {locale:<5} + 4 pages {pages:>7,} B = {shell_bytes + pages:>8,} B")


async def measure(port: int, site: dict[str, Any], locales: Sequence[str]) -> int:
    """Run every measurement against the hub on `port`; 0 when every budget is met."""
    target = f"/{locales[0]}/safety"
    await fetch(port, target, PHONE_HEADERS)  # from now on served from the response cache
    idle = await probe(port, target, asyncio.Event(), IDLE_SECONDS)
    stop = asyncio.Event()
    busy = asyncio.create_task(probe(port, target, stop, None))
    try:
        packs, builds = await build_packs(port, site, locales)
    finally:
        stop.set()
    during = await busy

    print(f"Offline packs, compressed bytes (budget {PACK_BUDGET:,} B)")
    print(f"{'locale':<8}{'corridors':>10}{'pages':>7}{'smallest':>10}{'largest':>10}  corridor")
    worst = 0
    for locale, sizes in packs.items():
        largest = sizes[-1]
        worst = max(worst, largest[0])
        print(
            f"{locale:<8}{len(sizes):>10}{largest[1]:>7}{sizes[0][0]:>10,}"
            f"{largest[0]:>10,}  {largest[2]}"
        )
    print(f"largest pack: {worst:,} B of {PACK_BUDGET:,} B")

    print()
    print(
        f"Pack build: median {median(builds):,.0f} ms over {len(builds)} corridors"
        f" (fastest {min(builds):,.0f} ms, slowest {max(builds):,.0f} ms)"
    )
    slow = percentile(during, 0.95)
    responsive = slow < RESPONSIVE_MS
    print(
        f"While building: {target} answered in {median(during):.1f} ms median,"
        f" {slow:.1f} ms p95, {max(during):.1f} ms max ({len(during)} probes);"
        f" idle {median(idle):.1f} ms median, {max(idle):.1f} ms max"
    )
    print(
        f"event loop responsive: {'yes' if responsive else 'NO'}"
        f" (p95 {slow:.1f} ms, budget {RESPONSIVE_MS:.0f} ms)"
    )

    await precache(port, locales)
    return 0 if worst <= PACK_BUDGET and responsive else 1


async def run(locales: Sequence[str]) -> int:
    """Start the hub as `hub serve` does, measure, stop it."""
    settings = Settings.from_env()
    site = yaml.safe_load((settings.content_dir / "site.yml").read_text(encoding="utf-8"))
    chosen = list(locales) or [str(code) for code in site["locales"]]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "HUB_DATA_DIR": os.environ.get("HUB_DATA_DIR") or folder}
        hub = hub_server(env, Path(folder) / "hub.log")
        hub.start()
        try:
            await hub.ready()
            return await measure(hub.port, site, chosen)
        finally:
            hub.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--locale", action="append", default=[], help="only this locale")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.locale))


if __name__ == "__main__":
    sys.exit(main())
