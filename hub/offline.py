"""What the offline app needs: a version for the service worker, and the pages of a pack."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import brotli

from hub import encoding
from hub.content import Library, SearchIndex
from hub.settings import PROJECT_ROOT
from hub.static import StaticAssets

SERVICE_WORKER_DIR = PROJECT_ROOT / "service_worker"
CONFIG_MARKER = "/* CONFIG */"

# Files whose change must ship a new service worker.
VERSIONED_SUFFIXES = {".html", ".md", ".yml", ".yaml", ".po", ".js", ".css", ".png", ".py"}


def tree_version(
    roots: Iterable[Path], extra: Iterable[str] = (), known: Mapping[str, bytes] | None = None
) -> str:
    """A short hash of every versioned file under the roots (names and bytes).

    `known`: the SHA-256 of files already read, by path (`str(root / relative path)`), so they
    are not read twice.
    """
    known = known or {}
    digest = hashlib.sha256()
    for root in roots:
        if not root.exists():
            continue
        base = str(root)
        # os.walk and plain strings: thousands of content files make pathlib's objects cost.
        files: list[tuple[list[str], str]] = []
        for folder, _, names in os.walk(base):
            relative = os.path.relpath(folder, base)
            parts = [] if relative == os.curdir else relative.split(os.sep)
            for name in names:
                if os.path.splitext(name)[1] in VERSIONED_SUFFIXES:
                    files.append(([*parts, name], os.path.join(folder, name)))
        files.sort()
        for parts, path in files:
            found = known.get(path)
            if found is None:
                if not os.path.isfile(path):
                    continue
                found = hashlib.sha256(Path(path).read_bytes()).digest()
            digest.update("/".join(parts).encode())
            digest.update(found)
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:12]


def pack_paths(library: Library, locale: str, origin: str, destination: str) -> list[str]:
    """Every page a reader of `locale` needs offline for one corridor, and the search index."""
    paths = [
        f"/{locale}/",
        f"/{locale}/help",
        f"/{locale}/search",
        f"/{locale}/safety",
        f"/{locale}/alerts",
    ]
    slugs: dict[str, None] = {}
    for topic in library.topics:
        paths.append(f"/{locale}/topics/{topic.id}")
        for article in library.articles_in(topic.id, origin, destination):
            slugs.setdefault(article.slug, None)
    paths += [f"/{locale}/articles/{slug}" for slug in slugs]
    for _, services in library.help_groups(origin, destination):
        paths += [f"/{locale}/services/{service.id}" for service in services]
    paths.append(f"/api/search/{locale}.json")
    return paths


def render_service_worker(version: str, assets: StaticAssets, locales: Iterable[str]) -> bytes:
    """sw.js with its version and the shell to precache written into it."""
    source = (SERVICE_WORKER_DIR / "sw.js").read_text(encoding="utf-8")
    config = {
        "version": version,
        "shell": sorted("/static/" + hashed for hashed in assets.urls.values()),
        "locales": list(locales),
    }
    rendered = source.replace(CONFIG_MARKER, f"const CONFIG = {json.dumps(config)};", 1)
    return rendered.encode("utf-8")


# Brotli's best quality (11) takes about 0.6 s for the starter tree's Burmese index (0.73 MB),
# a quarter smaller than gzip; above this size, quality 9 (a twentieth of the time, 13 % larger).
BROTLI_BEST_UP_TO = 1_000_000  # bytes of JSON


@dataclass(frozen=True)
class Export:
    """One locale's search index as JSON: its bytes, their strong ETag, and each compressed
    copy by content coding ("br", "gzip")."""

    identity: bytes
    etag: str
    coded: Mapping[str, bytes]

    def body(self, coding: str | None) -> bytes:
        """The bytes in `coding` (None: as they are)."""
        return self.identity if coding is None else self.coded[coding]

    def etag_of(self, coding: str | None) -> str:
        """The strong ETag of one representation (`coding` None: the identity one)."""
        return self.etag if coding is None else encoding.coded_etag(self.etag, coding)


def export_of(locale: str, index: SearchIndex) -> Export:
    """The index's JSON for the browser, compressed once: brotli and gzip."""
    data = {"locale": locale, **index.export()}
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    quality = 11 if len(raw) <= BROTLI_BEST_UP_TO else 9
    coded = {"br": brotli.compress(raw, quality=quality), "gzip": encoding.compress(raw)}
    return Export(raw, encoding.identity_etag(raw), coded)


class SearchExports:
    """Each locale's search index as the JSON the browser searches offline, made once per
    locale when first asked for.

    Making one costs about 0.2 s of CPU at 1,000 articles, and its brotli copy up to a second,
    so callers run `build` off the event loop; the lock makes a second caller wait for the first
    one's result instead of making it again (the pack worker and a reader may ask at once).
    """

    def __init__(self, indexes: Mapping[str, SearchIndex]) -> None:
        self._indexes = indexes
        self._built: dict[str, Export] = {}
        self._lock = threading.Lock()

    def ready(self, locale: str) -> Export | None:
        """The export if it is made already, else None."""
        return self._built.get(locale)

    def build(self, locale: str) -> Export:
        """The export of `locale` (a key of the indexes; KeyError otherwise), made if need be."""
        with self._lock:
            found = self._built.get(locale)
            if found is None:
                found = self._built[locale] = export_of(locale, self._indexes[locale])
            return found
