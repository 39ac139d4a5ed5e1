"""Ask an ASGI app for a page in process, the way a browser would, without a network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

from hub.middleware import INTERNAL


@dataclass
class Reply:
    """What the app answered."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


async def get(
    app: ASGIApp,
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    query: bytes = b"",
    internal: bool = True,
) -> Reply:
    """GET `path` from `app`; internal requests are left out of the access log."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"hub"), *headers],
        "client": None,
        "server": None,
        INTERNAL: internal,
    }
    reply = Reply()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            reply.body += message.get("body", b"")

    await app(scope, receive, send)
    return reply
