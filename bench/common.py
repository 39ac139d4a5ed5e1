"""Shared parts of the benchmarks: the hub as `hub serve` runs it, a bare floor, a raw load client.

`HubServer` runs `python -m hub.cli serve` in a subprocess: the same uvicorn settings, logging and
middleware as in production, its log (hub.access lines included) written to a file.
`BareServer` runs the same command with uvicorn.run swapped for one that serves a bare Starlette
app (no middleware, one log line per request), so the floor gets exactly the uvicorn settings and
logging configuration of `hub serve`; the bench loads it with the hub's recorded answers.
`load` drives a server over loopback with raw HTTP/1.1 on a few keep-alive connections.
Run as a script only by the benchmarks: `common.py bare PORT` or `common.py canned PORT SIZE`.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
CONTROL_PATH = "/__bench__/answers"
# What a phone's browser sends: Chrome on Android.
PHONE_HEADERS: dict[str, str] = {
    "user-agent": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    ),
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br",
}
# Headers uvicorn writes itself; a replayed answer must not carry them twice.
SERVER_WRITTEN = frozenset({"date", "server", "transfer-encoding", "connection"})
START_TIMEOUT = 180.0

Header = tuple[str, str]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def request_bytes(target: str, port: int, headers: Mapping[str, str]) -> bytes:
    """A keep-alive HTTP/1.1 GET of `target` (path and query, already percent-encoded)."""
    lines = [f"GET {target} HTTP/1.1", f"host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- reading responses -----------------------------------------------------------------------


def response_end(buffer: bytes | bytearray) -> int | None:
    """Offset just past the first complete response in `buffer`, or None if it is incomplete.

    Handles Content-Length and chunked bodies; raises ValueError for a body delimited by close,
    which a keep-alive benchmark cannot measure.
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    body_start = head_end + 4
    head = bytes(buffer[:head_end]).lower()
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        end = body_start + length
        return end if len(buffer) >= end else None
    if b"\r\ntransfer-encoding: chunked" in head:
        position = body_start
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
            position = line_end + 2 + size + 2
            if len(buffer) < position:
                return None
            if size == 0:
                return position
    status = int(buffer[9:12])
    if status in (204, 304) or 100 <= status < 200:
        return body_start
    raise ValueError("response without Content-Length or chunked body")


def _dechunk(data: bytes) -> bytes:
    parts: list[bytes] = []
    position = 0
    while True:
        line_end = data.index(b"\r\n", position)
        size = int(data[position:line_end].split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(data[line_end + 2 : line_end + 2 + size])
        position = line_end + 2 + size + 2


@dataclass(frozen=True)
class Reply:
    """One response as received: status, headers (names lower case, in order), body as sent."""

    status: int
    headers: tuple[Header, ...]
    body: bytes
    head: int  # bytes of the status line and headers, blank line included
    wire: int  # bytes on the wire: head and body (with chunk framing, if any)

    @classmethod
    def parse(cls, raw: bytes) -> Reply:
        """Parse one complete raw HTTP/1.1 response."""
        head_end = raw.index(b"\r\n\r\n")
        lines = raw[:head_end].decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        body = raw[head_end + 4 :]
        if ("transfer-encoding", "chunked") in headers:
            body = _dechunk(body)
        return cls(int(lines[0].split(" ", 2)[1]), tuple(headers), body, head_end + 4, len(raw))

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return next((value for key, value in self.headers if key == name), None)

    def decoded(self) -> bytes:
        """The body with its Content-Encoding (gzip or br) undone."""
        encoding = self.header("content-encoding")
        if encoding == "gzip":
            return gzip.decompress(self.body)
        if encoding == "br":
            import brotli

            data: bytes = brotli.decompress(self.body)
            return data
        return self.body

    def replayable(self) -> tuple[int, list[Header], bytes]:
        """Status, headers and body for the bare app, less what uvicorn writes itself."""
        return (
            self.status,
            [(k, v) for k, v in self.headers if k not in SERVER_WRITTEN],
            self.body,
        )


async def fetch(port: int, target: str, headers: Mapping[str, str]) -> Reply:
    """One GET over a fresh loopback connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request_bytes(target, port, headers))
        buffer = bytearray()
        while (end := response_end(buffer)) is None:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError(f"{target}: connection closed mid-response")
            buffer += chunk
        return Reply.parse(bytes(buffer[:end]))
    finally:
        writer.close()


# --- the load generator ----------------------------------------------------------------------


@dataclass
class LoadResult:
    """What one timed run did: completed responses, wall time, statuses, CPU of both ends."""

    requests: int
    seconds: float
    statuses: Counter[int]
    errors: int
    client_cpu: float  # CPU seconds the load client used
    server_cpu: float | None  # CPU seconds of the server process, when /proc tells
    next_index: int  # the index after the last request sent
    recorded: dict[int, bytes] = field(default_factory=dict)  # request index -> raw response

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


class _Run:
    def __init__(self, requests: Sequence[bytes], start: int, seconds: float, record: bool):
        self.requests = requests
        self.next = start
        self.seconds = seconds
        self.deadline = 0.0
        self.record = record
        self.completed = 0
        self.errors = 0
        self.statuses: Counter[int] = Counter()
        self.recorded: dict[int, bytes] = {}

    def take(self) -> int | None:
        if time.perf_counter() >= self.deadline:
            return None
        index = self.next
        self.next += 1
        return index


class _Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight; parsing is all in data_received."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.index = -1
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send_next(self) -> None:
        assert self.transport is not None
        index = self.run.take()
        if index is None:
            self.index = -1
            self.transport.close()
            return
        self.index = index
        requests = self.run.requests
        self.transport.write(requests[index % len(requests)])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = response_end(self.buffer)
        if end is None:
            return
        run = self.run
        run.completed += 1
        run.statuses[int(self.buffer[9:12])] += 1
        if run.record:
            run.recorded[self.index] = bytes(self.buffer[:end])
        del self.buffer[:end]
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.index >= 0:  # closed by the server with a request in flight
            self.run.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    port: int,
    requests: Sequence[bytes],
    seconds: float,
    *,
    connections: int = 4,
    start: int = 0,
    record: bool = False,
    server_pid: int | None = None,
) -> LoadResult:
    """Send `requests` in turn (from index `start`, cycling) on keep-alive connections.

    Each connection keeps one request in flight; the clock starts once all are connected and
    stops when the last answer in flight has arrived. With `record`, every raw response is kept
    by request index.
    """
    loop = asyncio.get_running_loop()
    run = _Run(requests, start, seconds, record)
    made = [
        (await loop.create_connection(lambda: _Connection(run), HOST, port))[1]
        for _ in range(connections)
    ]
    client_before = time.process_time()
    server_before = cpu_seconds(server_pid) if server_pid else None
    started = time.perf_counter()
    run.deadline = started + seconds
    for connection in made:
        connection.send_next()
    await asyncio.gather(*(connection.closed for connection in made))
    elapsed = time.perf_counter() - started
    server_after = cpu_seconds(server_pid) if server_pid else None
    server_cpu = (
        server_after - server_before
        if server_before is not None and server_after is not None
        else None
    )
    return LoadResult(
        requests=run.completed,
        seconds=elapsed,
        statuses=run.statuses,
        errors=run.errors,
        client_cpu=time.process_time() - client_before,
        server_cpu=server_cpu,
        next_index=run.next,
        recorded=run.recorded,
    )


# --- servers in subprocesses -----------------------------------------------------------------


class Server:
    """A server subprocess on a loopback port, its output written to a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_path: Path):
        self.name = name
        self.port = free_port()
        self.argv = [arg.replace("{port}", str(self.port)) for arg in argv]
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the process (returns at once; see ready)."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    async def ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the port accepts connections (uvicorn binds after start-up completes)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            try:
                _, writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return
        raise TimeoutError(f"{self.name} did not listen on port {self.port} in {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_lines(self, marker: str) -> int:
        """How many lines of the log contain `marker`."""
        with self.log_path.open(errors="replace") as log:
            return sum(1 for line in log if marker in line)


def hub_server(env: Mapping[str, str], log_path: Path) -> Server:
    """The hub exactly as `hub serve` runs it."""
    argv = [sys.executable, "-m", "hub.cli", "serve", "--host", HOST, "--port", "{port}"]
    return Server("hub", argv, env, log_path)


def bare_server(env: Mapping[str, str], log_path: Path) -> Server:
    """The bare Starlette floor under `hub serve`'s uvicorn settings and logging."""
    return Server("bare", [sys.executable, __file__, "bare", "{port}"], env, log_path)


def canned_server(env: Mapping[str, str], log_path: Path, size: int) -> Server:
    """A raw asyncio server answering any request with `size` bytes: the client's ceiling."""
    argv = [sys.executable, __file__, "canned", "{port}", str(size)]
    return Server("canned", argv, env, log_path)


async def load_answers(port: int, answers: Mapping[str, Reply]) -> None:
    """Give the bare app these answers: target (path?query) -> the hub's reply, replayed as is."""
    payload: dict[str, dict[str, Any]] = {}
    for target, reply in answers.items():
        path, _, query = target.partition("?")
        status, headers, body = reply.replayable()
        payload.setdefault(path, {})[query] = [status, headers, base64.b64encode(body).decode()]
    data = json.dumps(payload).encode()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            f"POST {CONTROL_PATH} HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        buffer = bytearray()
        while (end := response_end(buffer)) is None:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("bare server closed the control connection")
            buffer += chunk
        reply = Reply.parse(bytes(buffer[:end]))
        if reply.status != 204:
            raise RuntimeError(f"bare server refused the answers: {reply.status}")
    finally:
        writer.close()


def same_answer(hub: Reply, bare: Reply) -> bool:
    """Whether two replies carry the same status, headers (less Date) and body bytes."""
    return hub.replayable() == bare.replayable()


# --- the processes behind bare_server and canned_server ------------------------------------------


def bare_app() -> Any:
    """A Starlette app with no middleware: each route answers the bytes it was given."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    access_log = logging.getLogger("hub.access")
    answers: dict[str, dict[bytes, tuple[int, list[tuple[bytes, bytes]], bytes]]] = {}

    async def answer(request: Request) -> Response:
        started = time.perf_counter()
        scope = request.scope
        status, headers, body = answers[scope["path"]][scope["query_string"]]
        response = Response(body, status_code=status)
        response.raw_headers = list(headers)
        # The hub's AccessLog line, written here since the floor has no middleware.
        access_log.info(
            "%s %s %d %.1fms",
            scope["method"],
            scope["path"],
            status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    async def take_answers(request: Request) -> Response:
        payload = json.loads(await request.body())
        for path, by_query in payload.items():
            if path not in answers:
                app.router.routes.append(Route(path, answer))
            answers[path] = {
                query.encode("latin-1"): (
                    status,
                    [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
                    base64.b64decode(body),
                )
                for query, (status, headers, body) in by_query.items()
            }
        return Response(status_code=204)

    app = Starlette(routes=[Route(CONTROL_PATH, take_answers, methods=["POST"])])
    return app


def serve_bare(port: int) -> int:
    """Run `hub serve`'s own code with the bare app in place of the hub's."""
    import uvicorn

    from hub import cli

    serve = uvicorn.run

    # Same uvicorn options and logging configuration as `hub serve`, whatever they become.
    def run_bare(app: Any, **options: Any) -> None:
        serve(bare_app(), **options)

    uvicorn.run = run_bare
    return cli.main(["serve", "--host", HOST, "--port", str(port)])


class _Canned(asyncio.Protocol):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        data = self.tail + data
        count = data.count(b"\r\n\r\n")
        self.tail = data[data.rfind(b"\r\n\r\n") + 4 :] if count else data
        if count:
            self.transport.write(self.reply * count)


def serve_canned(port: int, size: int) -> int:
    """Answer every GET with `size` bytes of body, as cheaply as asyncio allows."""
    reply = (
        f"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {size}\r\n\r\n".encode()
        + b"x" * size
    )

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: _Canned(reply), HOST, port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
    return 0


# --- figures ---------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "bare":
        sys.exit(serve_bare(int(sys.argv[2])))
    if len(sys.argv) >= 4 and sys.argv[1] == "canned":
        sys.exit(serve_canned(int(sys.argv[2]), int(sys.argv[3])))
    sys.exit("usage: common.py bare PORT | common.py canned PORT SIZE")
