"""Fingerprinted, pre-compressed static files served by WhiteNoise through a2wsgi."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.types import ASGIApp
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

ONE_YEAR = 365 * 24 * 3600
HASH_LENGTH = 12


def fingerprinted(name: str, data: bytes) -> str:
    """`css/hub.css` -> `css/hub.<hash>.css`, the hash taken from the content."""
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Not found"]


def _cache_for_a_year(headers: Any, path: str, url: str) -> None:
    # WhiteNoise caches immutable files for ten years; a year is the usual ceiling.
    headers["Cache-Control"] = f"max-age={ONE_YEAR}, public, immutable"


class StaticAssets:
    """The static folder copied under content-hashed names, with .gz and .br beside each."""

    def __init__(self, source: Path, build_dir: Path) -> None:
        self.source = source
        self.build_dir = build_dir
        self.urls: dict[str, str] = {}
        self._build()

    def _build(self) -> None:
        self.build_dir.mkdir(parents=True, exist_ok=True)
        compressor = Compressor(quiet=True, log=lambda *_: None)
        for path in sorted(p for p in self.source.rglob("*") if p.is_file()):
            name = path.relative_to(self.source).as_posix()
            data = path.read_bytes()
            hashed = fingerprinted(name, data)
            self.urls[name] = hashed
            target = self.build_dir / hashed
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write beside and rename, so a second process never serves half a file.
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
            if compressor.should_compress(str(target)):
                for _ in compressor.compress(str(target)):
                    pass

    def url_path(self, name: str) -> str:
        """The hashed path of a static file, relative to the static mount."""
        return self.urls[name]

    def app(self) -> ASGIApp:
        """An ASGI app serving the hashed files, cached for a year as immutable."""
        hashed = set(self.urls.values())
        wsgi = WhiteNoise(
            _not_found,
            root=str(self.build_dir),
            max_age=ONE_YEAR,
            allow_all_origins=False,
            immutable_file_test=lambda path, url: url.lstrip("/") in hashed,
            add_headers_function=_cache_for_a_year,
        )
        app: ASGIApp = WSGIMiddleware(wsgi)  # type: ignore[assignment]
        return app
