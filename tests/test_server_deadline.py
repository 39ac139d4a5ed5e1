"""HUB_TIMEOUT_REQUEST covers the whole request, its body included, and never a response under
way: uvicorn run as `hub serve` runs it (hub.server's protocol), on loopback, with a 1 s deadline.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from hub.server import server_options
from hub.settings import Settings

TIMEOUT = 1
# Far above the deadline, so that a wait only ends early: a bounded loop, never a hang.
BOUND = 8.0
# A response larger than what the kernel's buffers and uvicorn's write buffer hold together,
# so that sending it takes as long as the client takes to read it.
BIG = 8 * 1024 * 1024
PIECE = 64 * 1024


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """POST /echo reads the whole body and answers its length; /big streams BIG bytes in
    pieces (as a file is sent), without reading a body."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/big":
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(BIG).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # uvicorn waits for a slow reader between pieces: the response stays under way.
        for _ in range(BIG // PIECE):
            await send({"type": "http.response.body", "body": b"x" * PIECE, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    received = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        received += message.get("body", b"")
        if not message.get("more_body"):
            break
    body = str(len(received)).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """uvicorn with hub serve's options and HUB_TIMEOUT_REQUEST=1, on a free loopback port."""
    settings = Settings(timeout_request=TIMEOUT, timeout_keep_alive=1)
    options = {**server_options(settings, "127.0.0.1", 0), "log_config": None}
    server = uvicorn.Server(uvicorn.Config(_app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _connect(port: int, *, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer is not None:
        # Set before connecting, so that the window the server may fill stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def _closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds (what it sends is
    read and dropped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
    return False


def _head(body_length: int, path: str = "/echo") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: hub.test\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {body_length}\r\n\r\n"
    ).encode()


def test_a_body_sent_whole_is_read_and_answered(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(_head(1000) + b"a" * 1000)
        answer = b""
        while not answer.endswith(b"\r\n\r\n1000"):
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_trickled_body_is_cut_off_at_the_deadline(port: int) -> None:
    # The head at once, then the body a byte every 0.1 s: it would take 20 s to arrive.
    started = time.monotonic()
    closed_after: float | None = None
    with _connect(port) as sock:
        sock.sendall(_head(200))
        for _ in range(int(BOUND / 0.1)):
            try:
                sock.sendall(b"a")
            except OSError:  # reset by the server: it closed
                closed_after = time.monotonic() - started
                break
            if _closed(sock, 0.1):
                closed_after = time.monotonic() - started
                break
    assert closed_after is not None, f"still open after {BOUND} s"
    # The deadline counts from the connection: 1 s, with room for a loaded machine.
    assert TIMEOUT <= closed_after < TIMEOUT + 3, closed_after


def test_a_body_that_never_comes_is_cut_off_too(port: int) -> None:
    started = time.monotonic()
    with _connect(port) as sock:
        sock.sendall(_head(10) + b"abc")
        assert _closed(sock, BOUND), f"still open after {BOUND} s"
    assert time.monotonic() - started < TIMEOUT + 3


def _read_slowly(sock: socket.socket, seconds: float) -> tuple[bytes, bytes]:
    """Read a response of BIG bytes at a pace that takes about `seconds`: its head and body."""
    received = b""
    started = time.monotonic()
    rate = BIG / seconds
    while time.monotonic() - started < BOUND * 2:
        head, found, body = received.partition(b"\r\n\r\n")
        if found and len(body) >= BIG:
            break
        readable, _, _ = select.select([sock], [], [], 0.2)
        if not readable:
            continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
        # Behind the pace until `seconds` have passed: the server waits on this reader.
        time.sleep(max(0.0, started + len(received) / rate - time.monotonic()))
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /big HTTP/1.1\r\nHost: hub.test\r\n\r\n",
        # Answered before the body has come (as a refusal of a body too large is): the
        # request is still arriving, but the response under way is not cut either.
        _head(1000, "/big") + b"abc",
    ],
    ids=["get", "answered-before-the-body"],
)
def test_a_slow_reader_of_a_large_response_is_not_cut(port: int, request_head: bytes) -> None:
    with _connect(port, receive_buffer=16384) as sock:
        sock.sendall(request_head)
        # Three deadlines' worth of reading, most of it while the response is being sent.
        started = time.monotonic()
        head, body = _read_slowly(sock, 3 * TIMEOUT)
    assert time.monotonic() - started > 2 * TIMEOUT
    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(body) == BIG, f"{len(body)} of {BIG} bytes"
