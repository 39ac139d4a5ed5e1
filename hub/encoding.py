"""Content coding and validators: gzip where the client takes it, ETags, 304s.

One middleware in place of Starlette's GZipMiddleware and an ETag middleware, because the
two must agree: the gzip and identity bodies of a page are two representations, so they carry
two strong ETags (RFC 9110 section 8.8.3), derived from one hash of the identity body.
"""

from __future__ import annotations

import gzip
import hashlib

from isal import igzip
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Below this a gzip body is hardly smaller, and costs the phone time to inflate.
MIN_SIZE = 500
COMPRESSIBLE = (
    b"text/",
    b"application/json",
    b"application/manifest+json",
    b"application/javascript",
    b"image/svg+xml",
)
GZIP_SUFFIX = "-gzip"
# The smallest bytes for what is kept and sent many times (pages, from the response cache):
# zlib at level 9. An answer a view marks ONE_OFF (a search for one query) is made once and
# sent once, so its compression is most of what it costs beyond the floor: ISA-L's igzip at
# its highest level (3) takes a quarter of zlib level 4's time on a Thai results page, for
# 5 % more bytes (docs/benchmarks.md, "Search").
KEPT_LEVEL = 9
ONE_OFF_LEVEL = 3
# Scope key a view sets when its answer is unlikely to be asked for again.
ONE_OFF = "hub.one_off"
# Headers that describe one representation's bytes; set again for each one sent.
REPRESENTATION_HEADERS = (b"content-length", b"content-encoding", b"etag")


def coding_qualities(accept_encoding: str) -> dict[str, float]:
    """Each content coding an Accept-Encoding header names, in lower case, with its q-value."""
    qualities: dict[str, float] = {}
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        qualities[coding] = quality
    return qualities


def coding_quality(qualities: dict[str, float], *names: str) -> float:
    """The q-value of the coding with these names (the first named wins), else that of `*`."""
    for name in names:
        if name in qualities:
            return qualities[name]
    return qualities.get("*", 0.0)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (RFC 9110 section 12.5.3, q=0 refuses)."""
    return coding_quality(coding_qualities(accept_encoding), "gzip", "x-gzip") > 0


def identity_etag(body: bytes) -> str:
    """The strong ETag of an identity body: a quoted 24-hex-digit BLAKE2b hash."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def coded_etag(identity: str, coding: str) -> str:
    """The strong ETag of one coding of the body whose identity ETag is given: the coding is
    part of it (RFC 9110 section 8.8.3), `"abc"` -> `"abc-br"`."""
    return f'{identity[:-1]}-{coding}"'


def gzip_etag(identity: str) -> str:
    """The ETag of the gzip representation of the body whose identity ETag is given."""
    return coded_etag(identity, "gzip")


def compress(body: bytes, *, one_off: bool = False) -> bytes:
    """Gzip bytes, the same for the same input (no timestamp): zlib at KEPT_LEVEL, or for a
    one-off answer igzip at ONE_OFF_LEVEL."""
    if one_off:
        return igzip.compress(body, ONE_OFF_LEVEL, mtime=0)
    return gzip.compress(body, compresslevel=KEPT_LEVEL, mtime=0)


def one_off(scope: Scope) -> bool:
    """Whether the request's view marked its answer ONE_OFF (compressed quickly)."""
    # Always the same for one page, so its gzip bytes (and their strong ETag) are too.
    return bool(scope.get(ONE_OFF))


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, RFC 9110 13.1.2)."""
    wanted = {tag.strip() for tag in if_none_match.split(",")}
    return etag in wanted or f"W/{etag}" in wanted or "*" in wanted


def without(raw: list[tuple[bytes, bytes]], names: tuple[bytes, ...]) -> list[tuple[bytes, bytes]]:
    """Raw headers without those named (names in lower case)."""
    return [(name, value) for name, value in raw if name.lower() not in names]


def with_vary(raw: list[tuple[bytes, bytes]], token: bytes) -> list[tuple[bytes, bytes]]:
    """Raw headers whose Vary names `token` (added to an existing Vary, or a new one)."""
    out: list[tuple[bytes, bytes]] = []
    done = False
    for name, value in raw:
        if name.lower() == b"vary" and not done:
            tokens = [t.strip().lower() for t in value.split(b",")]
            if token.lower() not in tokens:
                value = value + b", " + token
            done = True
        out.append((name, value))
    if not done:
        out.append((b"vary", token))
    return out


def representation(
    status: int,
    raw: list[tuple[bytes, bytes]],
    body: bytes,
    etag: str | None,
    *,
    gzipped: bool,
    if_none_match: str,
) -> list[Message]:
    """The messages that send one representation, or a 304 when the client has it."""
    headers = without(raw, REPRESENTATION_HEADERS)
    if etag is not None:
        headers.append((b"etag", etag.encode("latin-1")))
        if status == 200 and if_none_match and etag_matches(if_none_match, etag):
            headers = without(headers, (b"content-type",))
            return [
                {"type": "http.response.start", "status": 304, "headers": headers},
                {"type": "http.response.body", "body": b""},
            ]
    if gzipped:
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def compressible(raw: list[tuple[bytes, bytes]]) -> bool:
    """Whether a response of these headers is text the hub may gzip (not already encoded)."""
    content_type = b""
    for name, value in raw:
        lowered = name.lower()
        if lowered == b"content-encoding":
            return False
        if lowered == b"content-type":
            content_type = value.lower()
    return content_type.startswith(COMPRESSIBLE)


class Encoding:
    """Gzips text responses for clients that take it; strong ETags and 304s on 200 GETs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        take_gzip = accepts_gzip(headers.get("accept-encoding", ""))
        if_none_match = headers.get("if-none-match", "")
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_encoded(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                # A response with its own validator (a static file) is left as it was made.
                if compressible(raw) and not any(n.lower() == b"etag" for n, _ in raw):
                    start = message
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            raw = with_vary(list(start.get("headers", [])), b"Accept-Encoding")
            status = start["status"]
            etag = identity_etag(body) if status == 200 else None
            gzipped = take_gzip and len(body) >= MIN_SIZE
            if gzipped:
                body = compress(body, one_off=one_off(scope))
                etag = gzip_etag(etag) if etag is not None else None
            for reply in representation(
                status, raw, body, etag, gzipped=gzipped, if_none_match=if_none_match
            ):
                await send(reply)

        await self.app(scope, receive, send_encoded)
