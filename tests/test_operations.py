"""Operations: .env, the server's limits for slow or idle clients, and the scheme behind a
proxy, through the real `hub serve` on loopback."""

from __future__ import annotations

import asyncio
import base64
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from hub.app import create_app
from hub.server import behind_proxy, server_options
from hub.settings import PROJECT_ROOT, Settings, SettingsError, process_environment
from tests.conftest import CONSOLE_ACCOUNTS, ClientFactory, free_port, sign_in

HUB = Path(sys.executable).parent / "hub"
# Far above every limit the served hub is given below, so a wait only ends early.
BOUND = 20.0


def _environ(**extra: str) -> dict[str, str]:
    """This process's environment without any HUB_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**env, **extra}


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/en/", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def _serving(cwd: Path, env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """`hub serve` started in `cwd`, answering on `port`; killed however the block ends."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(HUB), "serve"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while not _answers(port):
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


def _until_closed(sock: socket.socket, bound: float = BOUND) -> bytes | None:
    """All the server sends until it closes the connection; None if still open after `bound`."""
    data = b""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if not readable:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a hub served with small limits, given as exported variables."""
    root = tmp_path_factory.mktemp("limited")
    port = free_port()
    env = _environ(
        HUB_DATA_DIR=str(root / "var"),
        HUB_PORT=str(port),
        HUB_TIMEOUT_KEEP_ALIVE="1",
        HUB_TIMEOUT_REQUEST="2",
        HUB_MAX_HEADER_BYTES="4096",
        HUB_LIMIT_CONCURRENCY="3",
    )
    with _serving(PROJECT_ROOT, env, port, root / "hub.log"):
        yield port


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


@pytest.mark.slow
def test_an_idle_keep_alive_connection_is_closed_by_the_server(limited: int) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /en/ HTTP/1.1\r\nHost: hub.test\r\n\r\n")
        received = _until_closed(sock)
    assert received is not None, "still open"
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200")
    # Kept alive, so it is the idle timer that closed it, not the response.
    assert b"connection: close" not in head


@pytest.mark.slow
def test_a_connection_that_sends_nothing_is_closed(limited: int) -> None:
    with _connect(limited) as sock:
        assert _until_closed(sock) == b""


@pytest.mark.slow
def test_a_request_trickled_byte_by_byte_is_cut_off(limited: int) -> None:
    endless = b"GET /en/ HTTP/1.1\r\nHost: hub.test\r\nX-Slow: " + b"a" * 400
    closed = False
    with _connect(limited) as sock:
        for byte in endless:  # 400 bytes a tenth of a second apart: past BOUND
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                closed = _until_closed(sock, 1.0) is not None
                break
    assert closed


@pytest.mark.slow
def test_a_trickled_request_body_is_cut_off_and_frees_its_place(limited: int) -> None:
    # The review's attack on the sign-in form: whole heads, then bodies a byte at a time, on
    # as many connections as the cap leaves (3, less the one a reader needs).
    head = (
        b"POST /login HTTP/1.1\r\nHost: hub.test\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\nemail="
    )
    started = time.monotonic()
    slow = [_connect(limited), _connect(limited)]
    open_ones = list(slow)
    try:
        for sock in slow:
            sock.sendall(head)
        while open_ones and time.monotonic() - started < BOUND:
            for sock in list(open_ones):
                try:
                    sock.sendall(b"a")
                except OSError:
                    open_ones.remove(sock)
                    continue
                readable, _, _ = select.select([sock], [], [], 0.1)
                if readable and _until_closed(sock, 1.0) is not None:
                    open_ones.remove(sock)
    finally:
        for sock in slow:
            sock.close()
    assert not open_ones, f"{len(open_ones)} still open after {BOUND} s"
    # HUB_TIMEOUT_REQUEST is 2 s here: the body counts toward it like the head.
    assert time.monotonic() - started < 2 + 5
    assert _answers(limited)


@pytest.mark.slow
def test_an_oversized_request_head_is_refused_not_buffered(limited: int) -> None:
    # Twice HUB_MAX_HEADER_BYTES and unfinished; under h11's own default of 16 KiB it would
    # be buffered and waited on. uvicorn answers h11's "too long" with 400, not 431.
    with _connect(limited) as sock:
        sock.sendall(b"GET /en/ HTTP/1.1\r\nHost: hub.test\r\nX-Big: " + b"a" * 8192)
        received = _until_closed(sock)
    assert received is not None, "still open"
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in received.lower()


@pytest.mark.slow
def test_past_the_concurrency_cap_the_server_answers_503(limited: int) -> None:
    idle = [_connect(limited), _connect(limited)]
    try:
        with _connect(limited) as sock:
            sock.sendall(b"GET /en/ HTTP/1.1\r\nHost: hub.test\r\n\r\n")
            received = _until_closed(sock)
    finally:
        for sock in idle:
            sock.close()
    assert received is not None and received.startswith(b"HTTP/1.1 503 ")
    deadline = time.monotonic() + BOUND
    while not _answers(limited):  # the idle connections' slots come back
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.mark.slow
def test_env_file_in_the_working_folder_is_read_and_exported_variables_win(
    tmp_path: Path,
) -> None:
    from_file, exported = free_port(), free_port()
    (tmp_path / ".env").write_text(
        f"# read by hub serve\nHUB_PORT={from_file}\nHUB_DATA_DIR='{tmp_path / 'from-env'}'\n"
    )
    env = _environ(HUB_PORT=str(exported))
    with _serving(tmp_path, env, exported, tmp_path / "hub.log"):
        assert not _answers(from_file)
    assert (tmp_path / "from-env" / "hub.json").is_file()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("HUB_PORT=eighty", "hub: HUB_PORT: invalid literal"),
        ("HUB_TIMEOUT_KEEP_ALIVE=0", "hub: HUB_TIMEOUT_KEEP_ALIVE: at least 1, not 0"),
        ("HUB_PROT=8001", "hub: .env: HUB_PROT is not a setting"),
    ],
)
def test_a_bad_line_in_env_file_is_reported_not_a_traceback(
    tmp_path: Path, line: str, message: str
) -> None:
    (tmp_path / ".env").write_text(line + "\n")
    result = subprocess.run(
        [str(HUB), "check"],
        cwd=tmp_path,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_the_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HUB_PORT=8001\nHUB_DEBUG=yes\nexport HUB_HOST=0.0.0.0\n")
    settings = Settings.from_env(process_environment({"HUB_PORT": "9002"}, env_file))
    assert (settings.port, settings.debug, settings.host) == (9002, True, "0.0.0.0")
    assert Settings.from_env(process_environment({}, tmp_path / "missing")) == Settings()


def test_a_limit_below_its_least_value_is_refused() -> None:
    with pytest.raises(SettingsError, match="HUB_TIMEOUT_REQUEST: at least 1"):
        Settings(timeout_request=0)


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    return None


def test_settings_become_uvicorns_limits() -> None:
    settings = Settings(
        timeout_keep_alive=7,
        limit_concurrency=0,
        max_header_bytes=8192,
        backlog=64,
        timeout_graceful_shutdown=3,
        forwarded_allow_ips="127.0.0.1",
    )
    config = uvicorn.Config(_noop, **server_options(settings, "127.0.0.1", 8123))
    assert (config.host, config.port) == ("127.0.0.1", 8123)
    assert config.timeout_keep_alive == 7
    assert config.limit_concurrency is None
    assert config.h11_max_incomplete_event_size == 8192
    assert config.backlog == 64
    assert config.timeout_graceful_shutdown == 3
    # Client addresses: never uvicorn's access log, never its proxy handling.
    assert config.access_log is False and config.proxy_headers is False
    config = uvicorn.Config(_noop, **server_options(Settings(), "127.0.0.1", 8123))
    assert config.limit_concurrency == 1000


def _seen(settings: Settings, client: tuple[str, int], path: str = "/en/") -> dict[str, Any]:
    """What the app sees of a request for `path` with proxy headers from `client`."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scheme=scope["scheme"], client=scope["client"], headers=scope["headers"])

    scope = {
        "type": "http",
        "scheme": "http",
        "path": path,
        "root_path": "",
        "client": client,
        "headers": [
            (b"host", b"hub.example"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-for", b"203.0.113.7"),
        ],
    }
    # A thread of its own: the browser tests' Playwright keeps a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, behind_proxy(app, settings)(scope, _noop, _noop)).result()
    return seen


def test_https_is_known_from_a_trusted_proxy_and_no_client_address_enters() -> None:
    trusting = Settings(forwarded_allow_ips="127.0.0.1, ::1")
    seen = _seen(trusting, ("127.0.0.1", 40000))
    assert seen["scheme"] == "https"
    assert seen["client"] == ("127.0.0.1", 40000)
    assert b"203.0.113.7" not in b"".join(value for _, value in seen["headers"])
    assert _seen(trusting, ("192.0.2.9", 40000))["scheme"] == "http"
    assert _seen(Settings(), ("127.0.0.1", 40000))["scheme"] == "http"


READER_PATHS = [
    "/",
    "/en/",
    "/th/search",
    "/static/app.css",
    "/en/loginx",
    "/administration",
    "/en/alerts",
    "/api/alerts/en.json",
    "/api/subscriptionsx",
]
CONSOLE_PATHS = ["/login", "/logout", "/invitation", "/account/two-factor", "/admin/", "/leaders/"]
# Where the hub limits subscriptions per client.
SUBSCRIBE_PATHS = ["/api/subscriptions", "/api/subscriptions/some-id"]


def test_on_console_paths_the_client_is_the_address_a_trusted_proxy_forwards() -> None:
    trusting = Settings(forwarded_allow_ips="127.0.0.1, ::1")
    for path in READER_PATHS:
        # A reader's address never enters: the client stays the proxy, the header is gone.
        seen = _seen(trusting, ("127.0.0.1", 40000), path)
        assert seen["client"] == ("127.0.0.1", 40000), path
        assert b"203.0.113.7" not in b"".join(value for _, value in seen["headers"]), path
    for path in CONSOLE_PATHS + SUBSCRIBE_PATHS:
        # Staff's own address, for the sign-in throttle's per-client count; a phone's own,
        # for the subscribe limit's.
        seen = _seen(trusting, ("127.0.0.1", 40000), path)
        assert seen["client"][0] == "203.0.113.7", path
        assert seen["scheme"] == "https"
        # From a sender that is not the proxy, the header is a claim, and ignored.
        assert _seen(trusting, ("192.0.2.9", 40000), path)["client"] == ("192.0.2.9", 40000)
    # Without HUB_FORWARDED_ALLOW_IPS, nobody is trusted.
    assert _seen(Settings(), ("127.0.0.1", 40000), "/login")["client"] == ("127.0.0.1", 40000)


PROXY = ("127.0.0.1", 40000)


def _behind(app: Any, forwarded_for: str | None) -> TestClient:
    """A browser reaching the app through the proxy of docs/operations.md at 127.0.0.1, which
    says where it came from in X-Forwarded-For (without the header: the proxy's own request)."""
    settings = Settings(forwarded_allow_ips="127.0.0.1")
    headers = {"X-Forwarded-Proto": "http"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return TestClient(behind_proxy(app, settings), client=PROXY, headers=headers)


def test_behind_the_proxy_one_person_s_failures_lock_out_only_her(
    make_console_client: ClientFactory,
) -> None:
    # The review: every client had the proxy's address, so anyone's failures counted for all.
    app = make_console_client(signin_failures=2).app
    guesser = _behind(app, "198.51.100.20")
    for n in range(2):
        assert sign_in(guesser, f"guess{n}@hub.example", "wrong wrong 123").status_code == 400
    assert sign_in(guesser, "guess2@hub.example", "wrong wrong 123").status_code == 429
    # A colleague behind the same proxy, from her own address, still signs in.
    curator = CONSOLE_ACCOUNTS["curator"][0]
    assert sign_in(_behind(app, "198.51.100.21"), curator).status_code == 303
    # Readers' pages are served as before, whatever the proxy forwards.
    assert _behind(app, "198.51.100.20").get("/en/").status_code == 200


def test_behind_the_proxy_each_phone_has_its_own_subscribe_limit(tmp_path: Path) -> None:
    # With the proxy's address for every reader, one phone's subscriptions used up everyone's.
    settings = Settings(
        data_dir=tmp_path / "var",
        push_services="https://fcm.googleapis.com",
        subscribe_per_hour=1,
        vapid_subject="mailto:ops@hub.example",
    )
    app = create_app(settings)
    with TestClient(app):
        first = _behind(app, "198.51.100.20")
        assert _subscribe(first, "one").status_code == 201
        assert _subscribe(first, "two").status_code == 429
        # Another phone behind the same proxy still subscribes.
        assert _subscribe(_behind(app, "198.51.100.21"), "three").status_code == 201


def _subscribe(client: TestClient, name: str) -> Any:
    """Subscribe a phone whose push service endpoint ends in `name`."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    keys = {"p256dh": _b64(point), "auth": _b64(bytes(16))}
    endpoint = f"https://fcm.googleapis.com/fcm/send/{name}"
    data = {
        "subscription": {"endpoint": endpoint, "keys": keys},
        "locale": "en",
        "origin": "PH",
        "destination": "HK",
        "topics": ["safety"],
    }
    return client.post("/api/subscriptions", json=data)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
