"""Offline budgets: the compressed size of every locale + corridor pack, and of the precache.

A pack is what "Save for offline" downloads: every topic, article, help and service page of one
locale and corridor, and the locale's search index (gzip, as served). The precache is what the
service worker stores when it installs: the static shell (brotli) and four pages (gzip).
Run: .venv/bin/python bench/offline.py
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.app import create_app
from hub.settings import Settings

PACK_BUDGET = 300 * 1000


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as tmp,
        TestClient(create_app(Settings(data_dir=Path(tmp)))) as client,
    ):
        site = client.app.state.library.site  # type: ignore[attr-defined]
        print(f"Offline packs, compressed bytes (budget {PACK_BUDGET:,} B)")
        print(
            f"{'locale':<8}{'corridors':>10}{'pages':>7}{'smallest':>10}{'largest':>10}  corridor"
        )
        worst = 0
        for locale in site.locales:
            sizes = []
            for origin in site.origins:
                for destination in site.destinations:
                    if origin == destination:
                        continue
                    data = client.get(
                        f"/api/packs/{locale}.json", params={"from": origin, "to": destination}
                    ).json()
                    sizes.append((data["bytes"], len(data["paths"]), f"{origin}->{destination}"))
            sizes.sort()
            largest = sizes[-1]
            worst = max(worst, largest[0])
            print(
                f"{locale:<8}{len(sizes):>10}{largest[1]:>7}{sizes[0][0]:>10,}"
                f"{largest[0]:>10,}  {largest[2]}"
            )
        print(f"largest pack: {worst:,} B of {PACK_BUDGET:,} B")

        worker = client.get("/sw.js").text
        shell = re.search(r'"shell": \[(.*?)\]', worker)
        assert shell is not None
        static = re.findall(r'"([^"]+)"', shell.group(1))
        shell_bytes = sum(
            int(client.get(u, headers={"accept-encoding": "br"}).headers["content-length"])
            for u in static
        )
        print()
        print(f"Precache: {len(static)} static files, {shell_bytes:,} B (brotli)")
        for locale in site.locales:
            client.cookies.update({"hub_locale": locale, "hub_from": "PH", "hub_to": "HK"})
            pages = sum(
                int(client.get(path, headers={"accept-encoding": "gzip"}).headers["content-length"])
                for path in (
                    f"/{locale}/unavailable",
                    f"/{locale}/",
                    f"/{locale}/help",
                    f"/{locale}/search",
                )
            )
            print(f"  {locale:<5} + 4 pages {pages:>7,} B = {shell_bytes + pages:>8,} B")
    return 0 if worst <= PACK_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
