"""Fingerprinted static files, compressed once and answered from memory by a pure ASGI app.

The files are few, small and fixed for the life of the process, so each is read, hashed and
compressed (brotli, gzip) at start-up, and every answer is bytes and headers made then: no file
system, thread or parsing of paths per request. WhiteNoise through a2wsgi (a WSGI call on a
thread per request) answered at 0.37 of a bare app, ServeStatic at 0.15 and Starlette's
StaticFiles at 0.26 (which also has no pre-compressed variants); see docs/benchmarks.md.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.encoding import (
    COMPRESSIBLE,
    coded_etag,
    coding_qualities,
    coding_quality,
    compress,
    etag_matches,
    identity_etag,
)

ONE_YEAR = 365 * 24 * 3600
HASH_LENGTH = 12
IMMUTABLE = f"max-age={ONE_YEAR}, public, immutable".encode("latin-1")
# A compressed copy is kept only when it saves at least this share of the bytes.
MIN_SAVING = 0.05
# Python 3.11's table says application/javascript; RFC 9239 made text/javascript the one.
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".webmanifest": "application/manifest+json",
}
Raw = list[tuple[bytes, bytes]]


def fingerprinted(name: str, data: bytes) -> str:
    """`css/hub.css` -> `css/hub.<hash>.css`, the hash taken from the content."""
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def media_type(name: str) -> str:
    """The Content-Type of a file by its name; text in UTF-8; unknown ones are octet streams."""
    suffix = Path(name).suffix.lower()
    found = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{found}; charset=utf-8" if found.startswith("text/") else found


@dataclass(frozen=True)
class Coding:
    """How one content coding is made, checked, named in headers and cached on disk."""

    name: str  # as in Accept-Encoding and Content-Encoding
    aliases: tuple[str, ...]  # other names a client may give it
    suffix: str  # of the cached file beside the build
    make: Callable[[bytes], bytes]
    undo: Callable[[bytes], bytes]


# In order of preference at equal q-value: brotli is the smaller.
CODINGS = (
    Coding(
        "br",
        (),
        ".br",
        lambda data: brotli.compress(data, quality=11),
        brotli.decompress,
    ),
    Coding("gzip", ("x-gzip",), ".gz", compress, gzip.decompress),
)


@dataclass(frozen=True)
class Representation:
    """One coding of one file, with the headers of its 200 and of its 304."""

    body: bytes
    etag: str
    headers: Raw
    not_modified: Raw


@dataclass(frozen=True)
class Asset:
    """A served file: its identity bytes and each coding that saves bytes, by coding name."""

    identity: Representation
    coded: dict[str, Representation]


def representation(
    body: bytes, content_type: str, etag: str, coding: str | None, vary: bool
) -> Representation:
    """The bytes and prepared headers of one representation of an immutable file."""
    # A 304 carries what the 200 would have among the validators and caching headers.
    common: Raw = [(b"cache-control", IMMUTABLE), (b"etag", etag.encode("latin-1"))]
    if vary:
        common.append((b"vary", b"Accept-Encoding"))
    headers = [(b"content-type", content_type.encode("latin-1")), *common]
    if coding is not None:
        headers.append((b"content-encoding", coding.encode("latin-1")))
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    return Representation(body, etag, headers, common)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside and rename, so a second process never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)


def _coded(coding: Coding, data: bytes, cached: Path) -> bytes:
    """`data` in this coding: from the cache beside the build when it decodes to `data`."""
    try:
        kept = cached.read_bytes()
        if coding.undo(kept) == data:
            return kept
    except (OSError, ValueError, EOFError, zlib.error, brotli.error):
        pass  # missing or damaged: make it again
    made = coding.make(data)
    _write_atomically(cached, made)
    return made


class StaticAssets:
    """The static folder under content-hashed names, each with its brotli and gzip copies.

    Compressed copies are cached in `build_dir` (`<hashed name>.br`, `.gz`) so a restart does
    not compress again; every answer comes from memory.
    """

    def __init__(self, source: Path, build_dir: Path) -> None:
        self.source = source
        self.build_dir = build_dir
        self.urls: dict[str, str] = {}
        self.assets: dict[str, Asset] = {}
        self._build()

    def _build(self) -> None:
        for path in sorted(p for p in self.source.rglob("*") if p.is_file()):
            name = path.relative_to(self.source).as_posix()
            data = path.read_bytes()
            hashed = fingerprinted(name, data)
            self.urls[name] = hashed
            self.assets[hashed] = self._asset(hashed, data)

    def _asset(self, hashed: str, data: bytes) -> Asset:
        content_type = media_type(hashed)
        bodies: dict[str, bytes] = {}
        if content_type.encode("latin-1").startswith(COMPRESSIBLE):
            for coding in CODINGS:
                body = _coded(coding, data, self.build_dir / (hashed + coding.suffix))
                if len(body) <= len(data) * (1 - MIN_SAVING):
                    bodies[coding.name] = body
        vary = bool(bodies)
        etag = identity_etag(data)
        # One strong ETag per representation (RFC 9110 section 8.8.3): the coding is part of it.
        coded = {
            name: representation(body, content_type, coded_etag(etag, name), name, vary)
            for name, body in bodies.items()
        }
        return Asset(representation(data, content_type, etag, None, vary), coded)

    def url_path(self, name: str) -> str:
        """The hashed path of a static file, relative to the static mount."""
        return self.urls[name]

    def app(self) -> ASGIApp:
        """An ASGI app serving the hashed files from memory, cached for a year as immutable."""
        return StaticFiles(self.assets)


def preferred_codings(accept_encoding: str) -> list[str]:
    """The codings of CODINGS an Accept-Encoding header takes (q > 0), the preferred first."""
    qualities = coding_qualities(accept_encoding)
    ranked = []
    for order, coding in enumerate(CODINGS):
        quality = coding_quality(qualities, coding.name, *coding.aliases)
        if quality > 0:
            ranked.append((-quality, order, coding.name))
    return [name for _, _, name in sorted(ranked)]


class StaticFiles:
    """Pure ASGI app: GET and HEAD of the files it was given, by their path under the mount.

    A name is looked up, never joined to a folder, so no path can reach another file.
    """

    def __init__(self, assets: dict[str, Asset]) -> None:
        self.assets = assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        path: str = scope["path"]
        mount: str = scope.get("root_path", "")
        asset = self.assets.get(path[len(mount) + 1 :]) if path.startswith(mount + "/") else None
        # Errors are the hub's own pages (localized, with the quick exit), not plain text.
        if asset is None:
            raise HTTPException(status_code=404)
        if method not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"allow": "GET, HEAD"})
        reply = self._answer(asset, scope, head=method == "HEAD")
        status, headers, body = reply
        # A fresh list each time: middleware outside may add to the headers it is sent.
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, asset: Asset, scope: Scope, *, head: bool) -> tuple[int, Raw, bytes]:
        accept_encoding = if_none_match = ""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        chosen = asset.identity
        if asset.coded and accept_encoding:
            for coding in preferred_codings(accept_encoding):
                if coding in asset.coded:
                    chosen = asset.coded[coding]
                    break
        if if_none_match and etag_matches(if_none_match, chosen.etag):
            return 304, chosen.not_modified, b""
        return 200, chosen.headers, b"" if head else chosen.body
